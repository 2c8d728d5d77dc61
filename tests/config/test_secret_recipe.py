"""The recipe for OUTREACH_SESSION_SECRET works where only `python3` exists (Debian, Ubuntu,
macOS): the README, docs/admin.md and the error message give the same one, and it runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from outreach.config.secrets import KEY_RECIPE

ROOT = Path(__file__).resolve().parents[2]
RECIPE = re.compile(r'OUTREACH_SESSION_SECRET="\$\((.+?)\)"')


def test_the_recipe_is_the_same_everywhere_and_uses_python3() -> None:
    found = {
        name: RECIPE.findall((ROOT / name).read_text()) for name in ("README.md", "docs/admin.md")
    }
    commands = {command for recipes in found.values() for command in recipes}
    assert all(found.values()), found
    assert commands == {KEY_RECIPE.removeprefix("make one with: ")}
    assert all(command.startswith("python3 -c ") for command in commands)


def test_the_recipe_prints_a_secret() -> None:
    command = KEY_RECIPE.removeprefix("make one with: ")
    assert shutil.which("python3")
    printed = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", printed)
