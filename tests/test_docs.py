"""The docs: the tutorial's Python blocks run as written, its command lines use options that
exist, and the site builds (where mkdocs is installed: ``make docs``)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TUTORIAL.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
def test_tutorial_python_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for code in _blocks("python"):
        exec(compile(code, str(TUTORIAL), "exec"), namespace)  # noqa: S102 - our own docs
    results = namespace["results"]
    assert (tmp_path / "report_trackpy" / "report.html").is_file()
    assert (tmp_path / "one.tif").is_file() and (tmp_path / "linked.csv").is_file()
    # the tutorial's claim: D around the true 0.05 µm²/s for most of the tracks
    ok = results[results["error"].fillna("") == ""]
    covered = ((ok["mle_D_lo"] <= 0.05) & (0.05 <= ok["mle_D_hi"])).mean()
    assert len(ok) >= 8 and covered >= 0.7


def _command_lines() -> list[list[str]]:
    lines = []
    for block in _blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("sptmotion "):
                lines.append(shlex.split(line)[1:])
    return lines


def test_tutorial_command_lines_use_existing_options():
    import typer

    from sptmotion.cli import app

    root = typer.main.get_command(app)
    lines = _command_lines()
    assert len(lines) >= 6
    for args in lines:
        cmd = root.commands[args[0]]
        known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
        used = {a.split("=")[0] for a in args[1:] if a.startswith("-")}
        assert used <= known, (args, used - known)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("mkdocs") is None and not (Path(sys.executable).parent / "mkdocs").exists(),
                    reason="mkdocs is not installed (make docs installs it)")  # fmt: skip
def test_docs_site_builds(tmp_path):
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "-d", str(tmp_path / "site")],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )  # fmt: skip
    cli = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "sptmotion analyze" in cli and "--track-figures" in cli
    assert "read_hdf_table" in (
        tmp_path / "site" / "reference" / "datasets" / "index.html"
    ).read_text(encoding="utf-8")
