"""Keep numba's on-disk cache of the jitted kernels consistent with their sources.

numba keys a cached function on the modification time and size of the file that defines it,
not on the files of the functions it calls or inlines: after an edit to
``optics/kernels.py`` alone, ``tracking/moves.py``'s cached sweep would still run the old
kernels. At import, :func:`refresh_kernel_cache` hashes every kernel source; when the digest
differs from the one recorded last time, it touches all of them (so numba recompiles every
kernel once) and records the new digest. Nothing happens when the package folder is not
writable (an installed package's files change together).
"""

from __future__ import annotations

import hashlib
import os

#: Modules (relative to the package folder) that define or call numba-jitted kernels.
KERNEL_SOURCES = (
    "optics/kernels.py",
    "motion/_levinson.py",
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


def refresh_kernel_cache(root: str, sources=KERNEL_SOURCES, stamp: str = STAMP) -> bool:
    """Touch the kernel sources under ``root`` when their digest changed; return whether it did.

    Any error (read-only folder, a file that vanished) leaves everything as it is.
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
            if os.path.exists(p):
                os.utime(p)
        os.makedirs(os.path.dirname(stamp_path), exist_ok=True)
        tmp = f"{stamp_path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(digest + "\n")
        os.replace(tmp, stamp_path)
    except OSError:
        return False
    return True
