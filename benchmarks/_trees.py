"""Timing this tree against an older commit, each run in a fresh process.

The machine's speed drifts by up to 1.5x over minutes, so the trees alternate: a drift then
hits both alike instead of being taken for one tree's own cost.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def head() -> str:
    """Short hash of this checkout's HEAD."""
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


@contextlib.contextmanager
def trees(before: str) -> Iterator[dict[str, Path]]:
    """``{"before": src of commit before, "after": src of this tree}`` (only "after" when
    ``before`` is "none"); the commit is checked out in a temporary worktree, removed after."""
    if before == "none":
        yield {"after": ROOT / "src"}
        return
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(wt), before],
            check=True, capture_output=True,
        )  # fmt: skip
        try:
            yield {"before": wt / "src", "after": ROOT / "src"}
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)],
                check=False, capture_output=True,
            )  # fmt: skip


def run_child(code: str, src: Path, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter as ``python -c code src *args``; the JSON object
    it prints on its last line. The code puts ``src`` (``sys.argv[1]``) first on sys.path."""
    res = subprocess.run(
        [sys.executable, "-c", code, str(src), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def alternate(
    sources: dict[str, Path], measure: Callable[[Path], dict], rounds: int
) -> dict[str, list[dict]]:
    """One untimed run per tree (caches warm), then ``rounds`` runs per tree, alternating."""
    for src in sources.values():
        measure(src)
    runs: dict[str, list[dict]] = {k: [] for k in sources}
    for _ in range(max(1, rounds)):
        for k, src in sources.items():
            runs[k].append(measure(src))
    return runs


def write_results(folder: Path, stem: str, res: dict, lines: list[str]) -> None:
    """``res`` as ``<stem>.json`` and ``lines`` as ``<stem>.md`` in ``folder``; the lines
    also printed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(res, indent=2))
    (folder / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def timed_row(runs: dict[str, list[dict]], name: str) -> dict:
    """Per tree, the mean wall and CPU seconds of set ``name`` over its runs and every run's
    wall time; and the after/before ratios of the means."""
    row = {}
    for tree in ("before", "after"):
        rs = [r[name] for r in runs[tree]]
        row[tree] = {
            "wall_s": float(sum(r["wall_s"] for r in rs) / len(rs)),
            "cpu_s": float(sum(r["cpu_s"] for r in rs) / len(rs)),
            "wall_runs_s": [r["wall_s"] for r in rs],
        }
    row["ratio_wall"] = row["after"]["wall_s"] / row["before"]["wall_s"]
    row["ratio_cpu"] = row["after"]["cpu_s"] / row["before"]["cpu_s"]
    return row


def timing_cell(x: dict) -> str:
    """``mean wall s / mean CPU s (runs ...)`` of one tree's entry of :func:`timed_row`."""
    runs_s = ", ".join(f"{w:.1f}" for w in x["wall_runs_s"])
    return f"{x['wall_s']:.1f} s / {x['cpu_s']:.1f} s (runs {runs_s} s)"
