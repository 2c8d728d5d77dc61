"""The report's daily rollups (staff/report/rollups.py owns their writes).

`reportday` holds, per clinic-local day, one count per figure and key (texts sent of a kind,
escalations of a severity, a bucket of a duration histogram...), so a year's report sums a
few thousand rows instead of recounting millions. Triggers (migration 0010) put the UTC
date of every write that can change a figure into `reportdirty`; the next read recounts
the clinic days around those dates from the raw rows first. `reportmeta` remembers the
clinic zone the days were cut in: a new zone rebuilds them all.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class ReportDay(SQLModel, table=True):
    day: date = Field(primary_key=True)  # clinic-local
    figure: str = Field(primary_key=True, max_length=24)
    key: str = Field(primary_key=True, max_length=40)
    value: int


class ReportDirty(SQLModel, table=True):
    day: date = Field(primary_key=True)  # a UTC date with writes not yet counted


class ReportMeta(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=24)
    value: str = Field(max_length=80)
