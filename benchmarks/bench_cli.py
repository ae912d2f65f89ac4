"""Start-up time of the command line: ``sptmotion --help`` and every command's ``--help``.

Target: under 0.5 s wall each (heavy libraries load only when a command runs). Best of 5 runs
of ``python -m sptmotion ... --help`` as a fresh process, which is what a user waits for.

    .venv/bin/python benchmarks/bench_cli.py

Writes ``benchmarks/results/cli/cli_help.md`` and ``.json``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli"
COMMANDS = [
    [],
    ["simulate"],
    ["render"],
    ["likelihood", "eval"],
    ["track"],
    ["train"],
    ["predict"],
    ["analyze"],
    ["demo"],
    ["study", "classification-bias"],
    ["benchmark", "andi"],
]
TARGET_S = 0.5


def wall(args: list[str], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "sptmotion", *args, "--help"], capture_output=True, check=True
        )
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    rows = [
        {"command": " ".join(["sptmotion", *c, "--help"]), "wall_s": round(wall(c), 3)}
        for c in COMMANDS
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cli_help.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "# Start-up time of `sptmotion --help`",
        "",
        f"Best of 5 fresh processes, wall seconds; Python {platform.python_version()}; target < {TARGET_S} s.",
        "",
        "| command | wall (s) | target met |",
        "|---|---:|---|",
    ]
    lines += [
        f"| `{r['command']}` | {r['wall_s']:.3f} | {'yes' if r['wall_s'] < TARGET_S else 'NO'} |"
        for r in rows
    ]
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/bench_cli.py`", ""]
    (RESULTS / "cli_help.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if all(r["wall_s"] < TARGET_S for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
