"""sptmotion: learn motion models (anomalous diffusion) from single-particle-tracking data.

Data flows one way through the subpackages (``tests/test_layers.py`` checks it)::

    motion -> optics -> likelihood / tracking / datasets -> represent -> learn
           -> analysis -> studies -> cli

Units: positions in µm, time in s, D in µm²/s (Dα in µm²/s^alpha), photons, ADU.
"""

import os as _os
import tempfile as _tempfile

__version__ = "0.1.0"


def _numba_cache_dir() -> None:
    """Point numba's cache at a writable folder when neither the package folder nor the user's
    cache folder can be written (e.g. a read-only install and no writable HOME): jitted kernels
    are cached there instead of failing at import."""
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    here = _os.path.dirname(_os.path.abspath(__file__))
    home = _os.path.expanduser("~")
    if _os.access(here, _os.W_OK) or (_os.path.isdir(home) and _os.access(home, _os.W_OK)):
        return
    _os.environ["NUMBA_CACHE_DIR"] = _os.path.join(
        _tempfile.gettempdir(), f"sptmotion-numba-{_os.getuid() if hasattr(_os, 'getuid') else 0}"
    )


_numba_cache_dir()


def _refresh_kernel_cache() -> None:
    """Recompile every jitted kernel once after any kernel source changed (see
    :mod:`sptmotion._kernel_cache`)."""
    here = _os.path.dirname(_os.path.abspath(__file__))
    if _os.access(here, _os.W_OK):
        from ._kernel_cache import refresh_kernel_cache

        refresh_kernel_cache(here)


_refresh_kernel_cache()

__all__ = ["__version__"]
