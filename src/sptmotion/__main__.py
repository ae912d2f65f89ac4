"""``python -m sptmotion`` and the ``sptmotion`` console script.

The command line's imports (NumPy, numba, PyTorch, ...) take seconds; :func:`run` catches an
interrupt during them too, so Ctrl-C at any moment ends with "interrupted" and exit code 130,
never a traceback.
"""

import signal
import sys


def run() -> None:
    """Import the command line, run it, exit with its code (130 when interrupted)."""
    try:
        from sptmotion.cli import main

        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    # the run is over: a late second Ctrl-C must not turn its exit code into a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    run()
