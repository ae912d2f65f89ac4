"""LAPACK's symmetric tridiagonal reduction callable without the GIL (numba over SciPy's
``cython_lapack``).

SciPy's Python wrappers of ``dsytrd``/``dormqr`` hold the GIL, so fits of several track
lengths on threads (:func:`sptmotion.motion.measured`) would run one at a time; called
from a numba function declared ``nogil`` they run in parallel. The functions are compiled
on first use in each process (they hold LAPACK's addresses, which numba cannot cache).
"""

from __future__ import annotations

import llvmlite.binding
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

__all__ = ["tridiagonalize"]


def _external(name: str, n_args: int):
    symbol = f"sptmotion_lapack_{name}"
    llvmlite.binding.add_symbol(
        symbol, get_cython_function_address("scipy.linalg.cython_lapack", name)
    )
    return types.ExternalFunction(symbol, types.void(*([types.voidptr] * n_args)))


_dsytrd = _external("dsytrd", 10)
_dormqr = _external("dormqr", 13)


@njit(cache=True, nogil=True)
def _tridiagonalize_kernel(a, z, diag, off, tau, info):  # pragma: no cover - compiled
    # a: (n, n) symmetric, Fortran order (overwritten); z: (n, k) Fortran order (overwritten)
    n = a.shape[0]
    k = z.shape[1]
    lower = np.array([ord("L")], dtype=np.int8)
    nn = np.array([n], dtype=np.int32)
    lwork = np.array([max(1, 64 * max(n, k))], dtype=np.int32)
    work = np.empty(lwork[0])
    _dsytrd(
        lower.ctypes, nn.ctypes, a.ctypes, nn.ctypes, diag.ctypes, off.ctypes, tau.ctypes,
        work.ctypes, lwork.ctypes, info.ctypes,
    )  # fmt: skip
    if info[0] != 0 or n < 2:
        return
    # Q = H(1)..H(n−1) acts on rows 2..n as the QR reflectors stored in a[1:, :n−1]
    sub = np.asfortranarray(a[1:, : n - 1])
    zs = np.asfortranarray(z[1:, :])
    side = np.array([ord("L")], dtype=np.int8)
    trans = np.array([ord("T")], dtype=np.int8)
    m1 = np.array([n - 1], dtype=np.int32)
    kk = np.array([k], dtype=np.int32)
    _dormqr(
        side.ctypes, trans.ctypes, m1.ctypes, kk.ctypes, m1.ctypes, sub.ctypes, m1.ctypes,
        tau.ctypes, zs.ctypes, m1.ctypes, work.ctypes, lwork.ctypes, info.ctypes,
    )  # fmt: skip
    z[1:, :] = zs


def tridiagonalize(
    M: np.ndarray, z: np.ndarray, overwrite: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``M = Q T Qᵀ`` (Householder, LAPACK ``dsytrd``) and ``Qᵀ z`` (``dormqr`` on the
    stored reflectors, as ``dormtr`` does), without the GIL.

    Parameters
    ----------
    M : ndarray, shape (n, n)
        Symmetric (its lower triangle is read).
    z : ndarray, shape (n, k)
    overwrite : bool
        ``M`` may be destroyed (used in place when it is a Fortran-ordered float64 array).

    Returns
    -------
    diag : ndarray, shape (n,)
    off : ndarray, shape (n − 1,)
        Diagonal and off-diagonal of ``T``.
    w : ndarray, shape (n, k)
        ``Qᵀ z``.
    """
    if overwrite and M.dtype == np.float64 and M.flags.f_contiguous:
        a = M
    else:
        a = np.array(M, dtype=np.float64, order="F", copy=True)
    w = np.array(z, dtype=np.float64, order="F", copy=True)
    n = a.shape[0]
    diag = np.empty(n)
    off = np.empty(max(n - 1, 1))
    tau = np.empty(max(n - 1, 1))
    info = np.zeros(1, dtype=np.int32)
    _tridiagonalize_kernel(a, w, diag, off, tau, info)
    if info[0] != 0:
        raise np.linalg.LinAlgError(f"LAPACK tridiagonal reduction failed (info {info[0]})")
    return diag, off[: n - 1], w
