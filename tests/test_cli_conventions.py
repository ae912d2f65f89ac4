"""Command-line conventions, checked on the installed entry point (``python -m sptmotion``).

Usage errors print one line and exit 2 (click's convention); bad input exits 1 with one line;
Ctrl-C exits 130 with "interrupted"; no traceback ever. Every command's help shows plain
metavars, the choices of fixed-value options and an Examples section; shared options have one
name and one default across commands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import typing

import pytest
import typer

from sptmotion import __version__
from sptmotion.cli import _common, app

ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "100"}


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sptmotion", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )


def _commands():
    """(path, click command) of every leaf command."""
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append((" ".join(path), cmd))

    walk(root, [])
    return out


COMMANDS = _commands()


def test_version():
    res = _cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"sptmotion {__version__}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--model", "bm", "--bogus", "-o", "x.csv"], "No such option: --bogus"),
        (["track"], "Missing argument"),
        (["simulate", "--model", "bm", "--n", "0", "-o", "x.csv"], "Invalid value for '--n'"),
        (["track", "m.tif", "--method", "magic", "-o", "x.csv"], "'magic' is not one of"),
        (["analyze", "t.csv", "--iterations", "many"], "Invalid value for '--iterations'"),
        (["analyze", "t.csv", "--dt", "0.03", "--fps", "30"], "give --dt or --fps, not both"),
        (["analyze", "t.csv", "--dt", "0.03", "--track-figures", "a"], "--track-figures"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(tmp_path, args, message):
    res = subprocess.run(
        [sys.executable, "-m", "sptmotion", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        cwd=tmp_path,
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in res.stderr and "--help" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_bare_command_shows_help_with_exit_2():
    for args in ([], ["study"], ["benchmark"]):
        res = _cli(*args)
        assert res.returncode == 2
        assert "Usage:" in res.stdout + res.stderr and "Traceback" not in res.stderr


def test_bad_input_is_one_line_with_exit_1(tmp_path):
    res = _cli("analyze", str(tmp_path / "missing.csv"), "--dt", "0.03", "-o", str(tmp_path / "o"))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not found" in lines[0]


def test_ctrl_c_exits_130_and_leaves_no_file(tmp_path):
    """Ctrl-C (SIGINT) in the middle of a long MCMC run: exit 130, "interrupted", no file."""
    import numpy as np

    from sptmotion import optics

    setup = optics.preset("hendrix2025", rows=10, cols=10, subframes=1, emission_rate=3e4)
    movie = optics.render(np.full((1, 5, 3), [0.6, 0.6, 0.1]), setup, rng=0)
    optics.write_movie(tmp_path / "m.tif", movie, setup)
    out = tmp_path / "t.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sptmotion", "track", str(tmp_path / "m.tif")]
        + ["--iterations", "2000000", "-q", "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    time.sleep(6.0)  # past the imports, inside the sampler
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=120)  # a cold numba cache on a loaded machine is slow
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"no exit 120 s after SIGINT; stderr: {err[-2000:]}")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.tif"]


def test_ctrl_c_during_the_imports_exits_130():
    """An interrupt while the command line is still importing: "interrupted", 130, no traceback
    (an import hook raises it deterministically where a real Ctrl-C would land)."""
    code = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sptmotion.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "sys.argv = ['sptmotion', '--version']\n"
        "from sptmotion.__main__ import run\n"
        "run()\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ENV
    )
    assert res.returncode == 130, res.stderr
    assert res.stderr.strip() == "interrupted"


def test_an_error_caused_by_ctrl_c_still_exits_130(tmp_path, monkeypatch, capsys):
    """C code may turn the interrupt into another error (e.g. a ``SystemError``); after a
    SIGINT any error ends as the interruption, without traceback or file; without the signal the
    same error is not hidden."""
    import os

    from sptmotion.cli import main
    from sptmotion.datasets import simulate as sim

    def interrupted_in_c(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises at the next bytecode
        except KeyboardInterrupt:
            raise SystemError(
                "<built-in function> returned a result with an exception set"
            ) from None
        raise AssertionError("SIGINT was not delivered")

    def broken(*args, **kwargs):
        raise SystemError("a genuine bug")

    out = tmp_path / "t.csv"
    args = ["simulate", "--model", "bm", "--D", "0.1", "--dt", "0.1", "--n", "2", "-o", str(out)]
    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(sim, "simulate_table", interrupted_in_c)
    assert main(args) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before and not out.exists()
    monkeypatch.setattr(sim, "simulate_table", broken)
    with pytest.raises(SystemError, match="genuine"):
        main(args)


def test_ctrl_c_inside_a_c_callback_still_interrupts(tmp_path, monkeypatch, capsys):
    """A SIGINT that lands inside a ctypes callback (numba's compiler calls one while it fills its
    cache) is swallowed by C: it must still end the command with "interrupted" and 130, without
    the "Exception ignored" traceback Python prints for it, and without running on."""
    import ctypes
    import os

    from sptmotion.cli import main
    from sptmotion.datasets import simulate as sim

    @ctypes.CFUNCTYPE(None)
    def callback():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises here, inside the callback

    def compiling(*args, **kwargs):
        callback()  # C swallows the KeyboardInterrupt
        time.sleep(5)  # ... and the interruption must arrive here
        raise AssertionError("the swallowed interrupt was not raised again")

    out = tmp_path / "t.csv"
    args = ["simulate", "--model", "bm", "--D", "0.1", "--dt", "0.1", "--n", "2", "-o", str(out)]
    hook = sys.unraisablehook
    monkeypatch.setattr(sim, "simulate_table", compiling)
    start = time.perf_counter()
    assert main(args) == 130
    assert time.perf_counter() - start < 4
    assert capsys.readouterr().err.strip() == "interrupted"
    assert sys.unraisablehook is hook and not out.exists()


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[p for p, _ in COMMANDS])
def test_help_has_examples_plain_metavars_and_choices(path, cmd):
    res = _cli(*path.split(), "--help")
    assert res.returncode == 0
    text = res.stdout
    assert "Examples:" in text and "sptmotion " + path.split()[0] in text.split("Examples:")[1]
    for ugly in ("<bool>", "<int range>", "<float range>", "<list[str]>", "Traceback"):
        assert ugly not in text
    for param in cmd.params:
        choices = _choices(param)
        if choices:
            assert "<" + "|".join(str(c) for c in choices) + ">" in text, (path, param.opts)


def _choices(param) -> tuple:
    """The Literal choices of a parameter (also inside ``Literal[...] | None``)."""
    ann = param.type_descriptor.annotation
    if typing.get_origin(ann) is typing.Union:
        ann = next(
            (a for a in typing.get_args(ann) if typing.get_origin(a) is typing.Literal), None
        )
    return typing.get_args(ann) if typing.get_origin(ann) is typing.Literal else ()


def _option(cmd, name):
    return next((p for p in cmd.params if name in getattr(p, "opts", ())), None)


def test_shared_options_have_one_name_and_one_default():
    iterations = set()
    for path, cmd in COMMANDS:
        for flag in ("--quiet", "--verbose"):
            assert _option(cmd, flag) is not None, (path, flag)
        assert _option(cmd, "-q") is not None and _option(cmd, "-v") is not None, path
        seed = _option(cmd, "--seed")
        if seed is not None:
            assert seed.default == 0, path
        it = _option(cmd, "--iterations")
        if it is not None:
            iterations.add(it.default)
        model = _option(cmd, "--model")
        if model is not None:  # --model always names a motion model
            assert set(_choices(model)) <= set(typing.get_args(_common.MotionModelName)), path
    assert iterations == {6000}


def test_choice_lists_match_the_registries():
    from sptmotion.motion import MODELS
    from sptmotion.optics import CAMERAS

    assert set(typing.get_args(_common.MotionModelName)) == set(MODELS)
    assert set(typing.get_args(_common.CameraName)) == set(CAMERAS)
    gaussian = {name for name, cls in MODELS.items() if cls.has_likelihood}
    assert set(typing.get_args(_common.GaussianModelName)) == gaussian


def test_outputs_honour_the_umask(tmp_path):
    """Files and report folders get the mode the umask allows (not mkstemp's 0600 / 0700)."""
    from sptmotion.analysis.output import staged_output
    from sptmotion.cli import main

    old = os.umask(0o027)
    try:
        out = tmp_path / "t.csv"
        assert (
            main(["simulate", "--model", "bm", "--n", "3", "--steps", "5", "-q", "-o", str(out)])
            == 0
        )
        with staged_output(tmp_path / "report") as tmp:
            (tmp / "results.csv").write_text("x\n")
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "report").stat().st_mode & 0o777 == 0o750
