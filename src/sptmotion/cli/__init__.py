"""The ``sptmotion`` command line (typer).

Every command module defines ``register(app)`` and only parses and calls the library. Errors
from bad input (``ValueError``, ``OSError``) end the program with a one-line message and exit
code 1, usage errors with one line and exit code 2, Ctrl-C with "interrupted" and exit code 130,
all without a traceback; outputs are written atomically so no half-written file is left behind.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading

import typer

from . import analyze, demo, imaging, learn, simulate, study, track

app = typer.Typer(
    name="sptmotion",
    help="Learn motion models (anomalous diffusion) from single-particle-tracking data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for _module in (simulate, imaging, track, learn, study, analyze, demo):
    _module.register(app)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"sptmotion {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Print the version and exit.",
        is_eager=True,
        callback=_print_version,
    ),
) -> None:
    """Learn motion models (anomalous diffusion) from single-particle-tracking data."""


def _click_classes() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """Usage-error, no-args-help and abort exception classes of click and of typer's own copy."""
    usage, no_args, abort = [], [], [typer.Abort]
    modules = []
    try:
        from typer._click import exceptions as bundled

        modules.append(bundled)
    except ImportError:  # a typer that uses the click package itself
        pass
    try:
        import click.exceptions as plain

        modules.append(plain)
    except ImportError:
        pass
    for mod in modules:
        usage.append(mod.UsageError)
        if hasattr(mod, "Abort"):
            abort.append(mod.Abort)
        if hasattr(mod, "NoArgsIsHelpError"):
            no_args.append(mod.NoArgsIsHelpError)
    return tuple(usage), tuple(no_args), tuple(abort)


def _usage_line(exc) -> str:
    """``error: <message> (see 'sptmotion <command> --help')`` on one line."""
    message = " ".join(exc.format_message().replace("Value error, ", "").split())
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None and ctx.command_path else "sptmotion"
    if not path.startswith("sptmotion"):
        path = "sptmotion " + path.split(" ", 1)[-1] if " " in path else "sptmotion"
    return f"error: {message} (see '{path} --help')"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` removes its partial output."""


_SIGNALS = {"terminated": False, "interrupted": False, "in_hook": False, "timers": []}


def _raise_terminated(signum, frame) -> None:
    _SIGNALS["terminated"] = True
    if not _SIGNALS["in_hook"]:  # the hook below delivers it again
        raise Terminated()


def _raise_interrupted(signum, frame) -> None:
    _SIGNALS["interrupted"] = True
    if not _SIGNALS["in_hook"]:
        raise KeyboardInterrupt()


def _catch_signals() -> dict:
    """In the main thread, turn SIGTERM into :class:`Terminated` and note SIGINT before raising
    ``KeyboardInterrupt`` (a library that turns the interrupt into another error, e.g. a
    ``SystemError`` from C code, still ends as an interruption); return the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {
        signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
        signal.SIGINT: signal.signal(signal.SIGINT, _raise_interrupted),
    }


def _deliver(signum) -> None:
    """Send ``signum`` to the main thread: a real signal where possible (it also ends a sleep or
    a blocking call there), else :func:`_thread.interrupt_main`."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident, signum)
    else:
        _thread.interrupt_main(signum)


def _reraise_swallowed(previous):
    """A ``sys.unraisablehook`` that raises a swallowed interruption again.

    A signal can land while C code runs a Python callback (ctypes, e.g. llvmlite's object-cache
    notifier while numba compiles); the callback's exception cannot propagate, so Python would
    print it with a traceback and carry on. For an interruption noted by the handlers above the
    hook prints nothing and delivers the same signal to the main thread again 50 ms later, from a
    timer thread, so that it is raised outside the callback (and outside this hook); anything else
    goes to ``previous``.
    """

    def hook(args) -> None:
        if not (
            isinstance(args.exc_value, KeyboardInterrupt)
            and (_SIGNALS["terminated"] or _SIGNALS["interrupted"])
        ):
            previous(args)
            return
        _SIGNALS["in_hook"] = True
        try:
            signum = signal.SIGTERM if _SIGNALS["terminated"] else signal.SIGINT
            timer = threading.Timer(0.05, _deliver, args=(signum,))
            timer.daemon = True
            _SIGNALS["timers"].append(timer)
            timer.start()
        finally:
            _SIGNALS["in_hook"] = False

    return hook


def _interrupted_code() -> int:
    """Report an interruption (``terminated``/``interrupted``) and return 143 or 130."""
    if _SIGNALS["terminated"]:
        typer.echo("terminated", err=True)
        return 143
    typer.echo("interrupted", err=True)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code.

    0 on success (and for ``--help``, ``--version``); 1 for bad input (a one-line ``error:``
    message naming the problem); 2 for usage errors (unknown option, missing or out-of-range
    argument), as click does; 130 when interrupted (Ctrl-C), 143 when terminated (SIGTERM); no
    partial output file is left behind in either case.
    """
    usage, no_args, abort = _click_classes()
    previous = _catch_signals()
    _SIGNALS.update(terminated=False, interrupted=False, in_hook=False, timers=[])
    unraisable = sys.unraisablehook
    if previous:
        sys.unraisablehook = _reraise_swallowed(unraisable)
    try:
        # typer returns the code of an Exit (--help, --version) and turns Ctrl-C into 130
        code = app(args=argv, prog_name="sptmotion", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except (KeyboardInterrupt, *abort):  # click turns Ctrl-C into Abort
        return _interrupted_code()
    except no_args as exc:  # bare command group: its help, with click's usage exit code
        ctx = exc.ctx
        typer.echo(ctx.get_help() if ctx is not None else "", err=True)
        return 2
    except usage as exc:
        typer.echo(_usage_line(exc), err=True)
        return 2
    except Exception as exc:
        if _SIGNALS["terminated"] or _SIGNALS["interrupted"]:  # an error the signal caused
            return _interrupted_code()
        if not isinstance(exc, ValueError | OSError):
            raise
        typer.echo(f"error: {exc}", err=True)
        return 1
    finally:
        for timer in _SIGNALS["timers"]:  # a delivery not needed any more
            timer.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = unraisable
    code = code if isinstance(code, int) and not isinstance(code, bool) else 0
    if code == 130:  # typer reports any KeyboardInterrupt as 130
        return _interrupted_code()
    return code
