"""How long `outreach --help`, `outreach status` and `outreach replies try` take to start and
finish, each as a whole process.

    uv run python bench/startup.py
    uv run python bench/startup.py --json
    uv run python bench/startup.py --checkout /tmp/before   # an earlier commit, to compare

Each command runs --repeat times as a new process (`python -m outreach.cli ...`, what the
`outreach` script runs), timed by the wall clock from start to exit, and the median is
reported. `status` reads a fresh migrated database (a SQLite file by default) named in a
temporary config.toml; `replies try` reads the real rules and templates and no database.

Nearly all of a short command's time is importing, and importing costs several times as
much when Python has no bytecode cache to read. So every command is timed twice:
- compiled: with a bytecode cache (a private PYTHONPYCACHEPREFIX, filled by one untimed run
  of each command), as an installed outreach starts;
- uncached: under PYTHONDONTWRITEBYTECODE=1, reading only the caches the installation
  already has and compiling the rest at every start (a virtualenv made by `uv sync` has none
  for its packages: then every library is compiled at each start).
Target: each command within 0.3 s, compiled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import add_run_options, busy_share, emit, fresh_database, machine_cpu

TARGET_SECONDS = 0.3
COMMANDS = {
    "--help": ["--help"],
    "status": ["status"],
    "replies try": ["replies", "try", "my heel is bleeding", "--asked", "foot_check"],
}
REGIMES = ("compiled", "uncached")


def environment(regime: str, cache: Path, checkout: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OUTREACH_CONFIG", None)
    env.pop("OUTREACH_DATABASE_URL", None)
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    if regime == "compiled":
        # A cache of our own: the figure does not depend on what caches the installation
        # has, and nothing is written into it.
        env["PYTHONPYCACHEPREFIX"] = str(cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env.pop("PYTHONPYCACHEPREFIX", None)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_once(argv: list[str], env: dict[str, str], folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[3:])} exited {done.returncode}:\n{done.stderr}")
    return seconds


def measure(database_url: str, repeat: int, checkout: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="outreach-startup-") as name:
        # The commands run here, so that `python -m` finds outreach where it is installed
        # (or in --checkout), not in the current directory.
        folder = Path(name)
        config = folder / "config.toml"
        config.write_text(f'[database]\nurl = "{database_url}"\n')
        base = [sys.executable, "-m", "outreach.cli", "--config", str(config)]
        timings: dict[str, dict[str, list[float]]] = {c: {r: [] for r in REGIMES} for c in COMMANDS}
        before = machine_cpu()
        for regime in REGIMES:
            env = environment(regime, folder / "pycache", checkout)
            for args in COMMANDS.values():
                run_once(base + args, env, folder)  # fills the caches (bytecode, files); not timed
            # In turn, so that a slow spell of the shared machine falls on every command.
            for _ in range(repeat):
                for command, args in COMMANDS.items():
                    timings[command][regime].append(run_once(base + args, env, folder))
        busy = busy_share(before, machine_cpu())
    return {
        "target_seconds": TARGET_SECONDS,
        "runs": repeat,
        "python": sys.version.split()[0],
        "checkout": str(checkout) if checkout else None,
        "machine_busy": round(busy, 2) if busy is not None else None,
        "commands": {
            command: {
                regime: {
                    "median": round(statistics.median(runs), 3),
                    "min": round(min(runs), 3),
                    "max": round(max(runs), 3),
                }
                for regime, runs in by_regime.items()
            }
            for command, by_regime in timings.items()
        },
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['runs']} runs of each, seconds from start to exit (median, min-max)")
    print(f"{'command':<14}{'compiled':>10}{'':>14}{'uncached':>10}{'':>14}  target")
    for command, regimes in result["commands"].items():
        cells = ""
        for regime in REGIMES:
            t = regimes[regime]
            spread = f"({t['min']:.2f}-{t['max']:.2f})"
            cells += f"{t['median']:>10.3f}{spread:>14}"
        verdict = "pass" if regimes["compiled"]["median"] <= result["target_seconds"] else "FAIL"
        print(f"{command:<14}{cells}  {verdict} (<= {result['target_seconds']} s compiled)")
    if result["machine_busy"] is not None:
        print(f"the machine's CPUs were {result['machine_busy']:.0%} busy meanwhile")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_options(parser, repeat=10, repeat_help="runs of each command to take the median of")
    parser.add_argument(
        "--checkout",
        type=Path,
        help="run the outreach package in this directory (e.g. an earlier commit made with "
        "`git archive COMMIT | tar -x -C DIR`) instead of the installed one",
    )
    args = parser.parse_args()
    with fresh_database(args.database_url) as url:
        result = measure(url, args.repeat, args.checkout)
    emit(result, args.json, print_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
