"""Keep numba's on-disk cache of the jitted kernels consistent with their sources.

numba keys a cached function on the content of the file that defines it (a hash of the source
in numba 0.68; its modification time in older versions), not on the files of the functions it
calls or inlines: after an edit to ``optics/kernels.py`` alone, ``tracking/moves.py``'s cached
frame moves still run the old camera code, compiled into them. At import,
:func:`refresh_kernel_cache` hashes every kernel source; when the digest differs from the one
recorded last time, it removes the cached files (``__pycache__/<module>.*.nbi``, ``.nbc``) of
every kernel module, so numba recompiles every kernel once, and records the new digest.
(Touching the sources, this guard's first form, does not invalidate a content-hashed cache.)
Nothing happens when the package folder is not writable (an installed package's files change
together); with ``NUMBA_CACHE_DIR`` set, the cache lives elsewhere and is not touched.
"""

from __future__ import annotations

import hashlib
import os

#: Modules (relative to the package folder) that define or call numba-jitted kernels.
KERNEL_SOURCES = (
    "optics/kernels.py",
    "motion/_lapack.py",
    "motion/_levinson.py",
    "learn/_kernels.py",
    "motion/jumps.py",
    "datasets/andi_recipe.py",
    "represent/wavelet.py",
    "tracking/_mcmc_kernels.py",
    "tracking/_refine_kernels.py",
    "tracking/moves.py",
)
STAMP = os.path.join("__pycache__", "kernel-sources.sha256")


def sources_digest(paths) -> str:
    """SHA-256 over the names and contents of ``paths`` (missing files count as empty)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(os.path.basename(p).encode())
        try:
            with open(p, "rb") as f:
                h.update(f.read())
        except OSError:
            pass
        h.update(b"\0")
    return h.hexdigest()


def cached_files(path: str) -> list[str]:
    """numba's cache files of the functions defined in the module at ``path`` (in-tree)."""
    folder = os.path.join(os.path.dirname(path), "__pycache__")
    stem = os.path.splitext(os.path.basename(path))[0] + "."
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [
        os.path.join(folder, n)
        for n in names
        if n.startswith(stem) and (n.endswith(".nbi") or n.endswith(".nbc"))
    ]


def refresh_kernel_cache(root: str, sources=KERNEL_SOURCES, stamp: str = STAMP) -> bool:
    """Remove the kernel modules' cached files under ``root`` when the sources' digest changed;
    return whether it did.

    A file another process removes first is skipped (numba treats a missing cache file as a
    miss); any other error (read-only folder) leaves everything as it is.
    """
    paths = [os.path.join(root, s) for s in sources]
    stamp_path = os.path.join(root, stamp)
    digest = sources_digest(paths)
    try:
        with open(stamp_path) as f:
            if f.read().strip() == digest:
                return False
    except OSError:
        pass
    try:
        for p in paths:
            for f in cached_files(p):
                try:
                    os.remove(f)
                except FileNotFoundError:
                    pass
        os.makedirs(os.path.dirname(stamp_path), exist_ok=True)
        tmp = f"{stamp_path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(digest + "\n")
        os.replace(tmp, stamp_path)
    except OSError:
        return False
    return True
