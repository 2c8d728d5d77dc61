"""Names as staff search and sort them: lowercase and without accents, so "ramirez" finds
Ramírez and Ávila sorts among the a's, on SQLite and PostgreSQL alike (neither folds accents
by itself). The key is kept on the patient row (patient.name_key) by the patient writer."""

from __future__ import annotations

from outreach.rules.privacy import fold


def folded(text: str) -> str:
    """' Luis  RAMÍREZ ' -> 'luis ramirez': no capitals, no accents, single spaces."""
    return " ".join(fold(text).split())


def name_key(first_name: str, last_name: str) -> str:
    """Last name first, for sorting: 'ramirez luis'."""
    return folded(f"{last_name} {first_name}")
