"""Numba kernels of the modular tracker's maximum-likelihood spot refinement.

:func:`nelder_mead_spot` minimizes the negative camera log-likelihood of one window over
``(x, y, z, log N, log b)`` with the Nelder-Mead method as :func:`scipy.optimize.minimize`
runs it (``adaptive=False``, no bounds: the same initial simplex, coefficients, order of
operations, stable sorting and stopping rule), so it returns the same optimum as the SciPy
call it replaces, without a Python call per likelihood evaluation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..optics import kernels as _ok

#: A non-finite log-likelihood is replaced by this cost (as the SciPy objective did).
BAD_COST = 1e300


@njit(cache=True)
def spot_nll(p, win, pixel_size, sigma0, z0, row0, col0, code, par, maps, sbuf, ubuf, obuf):
    """Negative camera log-likelihood of a window for one spot at ``p = (x, y, z, log N, log b)``."""
    sbuf[:, :] = 0.0
    xs = np.empty(1)
    ys = np.empty(1)
    zs = np.empty(1)
    ws = np.ones(1)
    xs[0] = p[0]
    ys[0] = p[1]
    zs[0] = p[2]
    _ok.add_psf_frame(xs, ys, zs, ws, 1.0, pixel_size, sigma0, z0, row0, col0, sbuf)
    v = _ok.camera_frame_loglik(
        win, sbuf, math.exp(p[4]), math.exp(p[3]), code, par, maps, ubuf, obuf
    )
    if math.isfinite(v):
        return -v
    return BAD_COST


@njit(cache=True)
def _sort(sim, fsim):
    ind = np.argsort(fsim, kind="mergesort")  # stable, as numpy's sort of a few entries
    return sim[ind].copy(), fsim[ind].copy()


@njit(cache=True)
def nelder_mead_spot(
    x0, xatol, fatol, maxiter, win, pixel_size, sigma0, z0, row0, col0, code, par, maps
):
    """Nelder-Mead minimum ``(x, f)`` of :func:`spot_nll` from ``x0`` (SciPy's algorithm)."""
    R, C = win.shape
    sbuf = np.empty((R, C))
    ubuf = np.empty((R, C))
    obuf = np.empty((R, C))
    N = x0.shape[0]
    sim = np.empty((N + 1, N))
    sim[0] = x0
    for k in range(N):
        y = x0.copy()
        if y[k] != 0:
            y[k] = (1 + 0.05) * y[k]
        else:
            y[k] = 0.00025
        sim[k + 1] = y
    fsim = np.empty(N + 1)
    for k in range(N + 1):
        fsim[k] = spot_nll(sim[k], win, pixel_size, sigma0, z0, row0, col0, code, par, maps,
                           sbuf, ubuf, obuf)  # fmt: skip
    sim, fsim = _sort(sim, fsim)
    sim, fsim = _sort(sim, fsim)
    iterations = 1
    while iterations < maxiter:
        dx = 0.0
        for j in range(1, N + 1):
            for k in range(N):
                dx = max(dx, abs(sim[j, k] - sim[0, k]))
        df = 0.0
        for j in range(1, N + 1):
            df = max(df, abs(fsim[0] - fsim[j]))
        if dx <= xatol and df <= fatol:
            break
        xbar = sim[0].copy()
        for j in range(1, N):  # np.add.reduce over rows: sequential
            xbar += sim[j]
        xbar /= N
        xr = 2.0 * xbar - 1.0 * sim[N]
        fxr = spot_nll(xr, win, pixel_size, sigma0, z0, row0, col0, code, par, maps,
                       sbuf, ubuf, obuf)  # fmt: skip
        shrink = False
        if fxr < fsim[0]:
            xe = 3.0 * xbar - 2.0 * sim[N]
            fxe = spot_nll(xe, win, pixel_size, sigma0, z0, row0, col0, code, par, maps,
                           sbuf, ubuf, obuf)  # fmt: skip
            if fxe < fxr:
                sim[N] = xe
                fsim[N] = fxe
            else:
                sim[N] = xr
                fsim[N] = fxr
        elif fxr < fsim[N - 1]:
            sim[N] = xr
            fsim[N] = fxr
        else:
            if fxr < fsim[N]:
                xc = 1.5 * xbar - 0.5 * sim[N]
                fxc = spot_nll(xc, win, pixel_size, sigma0, z0, row0, col0, code, par, maps,
                               sbuf, ubuf, obuf)  # fmt: skip
                if fxc <= fxr:
                    sim[N] = xc
                    fsim[N] = fxc
                else:
                    shrink = True
            else:
                xcc = 0.5 * xbar + 0.5 * sim[N]
                fxcc = spot_nll(xcc, win, pixel_size, sigma0, z0, row0, col0, code, par, maps,
                                sbuf, ubuf, obuf)  # fmt: skip
                if fxcc < fsim[N]:
                    sim[N] = xcc
                    fsim[N] = fxcc
                else:
                    shrink = True
            if shrink:
                for j in range(1, N + 1):
                    sim[j] = sim[0] + 0.5 * (sim[j] - sim[0])
                    fsim[j] = spot_nll(sim[j], win, pixel_size, sigma0, z0, row0, col0, code,
                                       par, maps, sbuf, ubuf, obuf)  # fmt: skip
        iterations += 1
        sim, fsim = _sort(sim, fsim)
    return sim[0].copy(), fsim.min()
