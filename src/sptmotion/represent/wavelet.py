"""Continuous-wavelet scalograms of tracks (the representation of Wang, Zhang, Huang 2025).

Each coordinate of a track is standardized and transformed with six continuous wavelets
at 24 scales; the moduli are stacked as image channels ``(6*dim, 24, n_points)``.
The values equal ``pywt.cwt(signal, scales, wavelet)`` (default ``method='conv'``), but
all tracks of one length are transformed at once with precomputed filters.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass
from math import floor

import numba
import numpy as np
import pywt
import scipy.fft

from ._input import MIN_POINTS, as_track_groups, standardize

__all__ = ["WAVELETS", "SCALES", "wavelet", "wavelet_filters", "wavelet_padded"]

#: The six continuous wavelets of the paper, in channel order.
WAVELETS: tuple[str, ...] = (
    "morl",
    "mexh",
    "cgau1",
    "cmor1.5-1.0",
    "shan1.5-1.0",
    "fbsp3-0.5-0.5",
)

#: The 24 scales of the paper: 0.1, 0.2, ..., 0.9, 1, 2, ..., 15 (in samples).
SCALES: np.ndarray = np.r_[np.arange(1, 10) / 10.0, np.arange(1, 16, dtype=float)]
SCALES.setflags(write=False)

try:  # pywt's own default length 2**precision of the integrated wavelet (12 in pywt 1.9)
    _PRECISION = int(inspect.signature(pywt.cwt).parameters["precision"].default)
except (KeyError, TypeError, ValueError):  # pragma: no cover - older pywt without the argument
    _PRECISION = 10

#: Tracks up to this length use banded Toeplitz products (BLAS); longer ones use FFTs.
_GEMM_MAX_POINTS = 1024
#: Relative |tap| mass that may be dropped from the tails of a filter (error <= this
#: fraction of sum|g| times max|x|; far below the 1e-5 tolerance to pywt).
_TAIL_MASS = 1e-10
#: Price of one more BLAS call, in multiply-adds per signal (choice of the block length).
_CALL_COST = 2000
#: Signals (track coordinates) per chunk of the matrix products.
_CHUNK_ROWS = 256
#: Candidate time-block widths of the banded products (multiples of the SIMD width).
_BLOCKS = (16, 32, 48)
#: Output columns of a group of whole-track / banded units: their products fill a
#: scratch of (chunk rows x columns) that stays in cache until the group's modulus.
_GROUP_COLS = 400
_BANDED_GROUP_COLS = 400
#: Whole-track products use the Karatsuba split (3 half products instead of 4) when
#: the track length is even and half of it is at least this long.
_KARA_MIN_HALF = 20
#: Bound (bytes) on the temporary spectra of one chunk of signals (FFT path).
_FFT_CHUNK_BYTES = 32 * 2**20


# --------------------------------------------------------------------------- filters


def _is_continuous(name) -> bool:
    if not isinstance(name, str):
        return False
    try:
        return isinstance(pywt.DiscreteContinuousWavelet(name), pywt.ContinuousWavelet)
    except (ValueError, TypeError):
        return False


def _check_wavelet_names(wavelets) -> tuple[str, ...]:
    names = (wavelets,) if isinstance(wavelets, str) else tuple(wavelets)
    if not names:
        raise ValueError("wavelets must name at least one continuous wavelet")
    for w in names:
        if not _is_continuous(w):
            raise ValueError(
                f"unknown continuous wavelet {w!r}; use names from pywt.wavelist(kind='continuous') "
                f"with their parameters, e.g. {', '.join(WAVELETS)}"
            )
    return names


def _check_scales(scales) -> tuple[float, ...]:
    s = np.atleast_1d(np.asarray(scales, dtype=np.float64))
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(
            f"scales must be a non-empty 1D sequence of positive numbers, got {scales!r}"
        )
    return tuple(float(v) for v in s)


_INT_PSI_CACHE: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}


def _integrated(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """pywt's integrated wavelet (conjugated for complex wavelets), its grid, complex flag."""
    if name not in _INT_PSI_CACHE:
        wav = pywt.DiscreteContinuousWavelet(name)
        int_psi, x = pywt.integrate_wavelet(wav, precision=_PRECISION)
        if wav.complex_cwt:
            int_psi = np.conj(int_psi)
        int_psi = np.asarray(int_psi, dtype=np.complex128 if wav.complex_cwt else np.float64)
        _INT_PSI_CACHE[name] = (int_psi, np.asarray(x, dtype=np.float64), bool(wav.complex_cwt))
    return _INT_PSI_CACHE[name]


def wavelet_filters(name: str, scale: float) -> tuple[np.ndarray, int]:
    """Equivalent convolution filter of ``pywt.cwt`` for one wavelet and scale.

    ``pywt.cwt`` resamples the integrated wavelet ``int_psi`` at the scale
    (``j = floor(arange(scale*(x[-1]-x[0]) + 1) / (scale*step))``, ``h = int_psi[j][::-1]``),
    convolves, takes ``-sqrt(scale) * diff`` and keeps the centre. Folding the difference
    into the filter gives

    .. math:: c(t) = \\sum_k x_k\\, g_{t + c_0 - k},\\qquad
              g_m = -\\sqrt{s}\\,(h_m - h_{m-1}),\\ m = 0..M,

    with ``h_{-1} = h_M = 0`` and ``c_0 = floor((M - 2)/2) + 1``.

    Returns
    -------
    g : ndarray, shape (M + 1,)
        Filter taps (complex for complex wavelets).
    c0 : int
        Offset of the output sample ``t = 0`` in the full convolution.
    """
    int_psi, x, _ = _integrated(name)
    scale = np.float64(scale)
    step = x[1] - x[0]
    j = np.arange(scale * (x[-1] - x[0]) + 1) / (scale * step)
    j = j.astype(int)
    if j[-1] >= int_psi.size:
        j = np.extract(j < int_psi.size, j)
    h = int_psi[j][::-1]
    M = h.size
    if M < 2:
        raise ValueError(f"scale {float(scale)} too small for wavelet {name!r}")
    g = np.zeros(M + 1, dtype=h.dtype)
    g[:M] += h
    g[1:] -= h
    g *= -np.sqrt(scale)
    d = (M - 2) / 2.0
    return g, floor(d) + 1


@dataclass(frozen=True)
class _Unit:
    """One (wavelet, scale) output channel: 1 real part, or real and imaginary parts."""

    e0: int  # offset of (wavelet, scale) in a signal's flattened (n_wavelets, n_scales, T) row
    parts: tuple[np.ndarray, ...]  # real taps g (one per part)
    c0: int
    m_lo: int  # kept taps (tails of negligible mass dropped)
    m_hi: int


@functools.lru_cache(maxsize=8)
def _unit_filters(
    wavelets: tuple[str, ...], scales: tuple[float, ...]
) -> tuple[tuple[tuple[np.ndarray, ...], int, int, int], ...]:
    """Per (wavelet, scale): real filter parts, c0 and the kept tap range (any length)."""
    out = []
    for name in wavelets:
        for scale in scales:
            g, c0 = wavelet_filters(name, scale)
            parts = (g.real.copy(), g.imag.copy()) if np.iscomplexobj(g) else (g,)
            for p in parts:
                p.setflags(write=False)
            mag = np.sqrt(sum(p * p for p in parts))
            total = mag.sum()
            cum = np.cumsum(mag)
            rcum = np.cumsum(mag[::-1])
            lim = _TAIL_MASS * total
            m_lo = int(np.searchsorted(cum, lim, side="right")) if total > 0 else 0
            m_hi = g.size - 1 - int(np.searchsorted(rcum, lim, side="right")) if total > 0 else 0
            if m_hi < m_lo:
                m_lo, m_hi = 0, g.size - 1
            out.append((parts, c0, m_lo, m_hi))
    return tuple(out)


def _units(wavelets: tuple[str, ...], scales: tuple[float, ...], T: int) -> list[_Unit]:
    return [
        _Unit(j * T, parts, c0, m_lo, m_hi)
        for j, (parts, c0, m_lo, m_hi) in enumerate(_unit_filters(wavelets, scales))
    ]


# --------------------------------------------------------------------------- GEMM plan


@dataclass(frozen=True)
class _Op:
    """One (batched) product ``window @ matrix`` written into its group's scratch.

    Output samples ``t0 + b*S .. t0 + b*S + B - 1`` (``b < n_blocks``, step S) of one
    unit part need the padded-input window starting at ``k_start + b*S`` of length
    ``K``; every block uses the same Toeplitz matrix (the filter does not change along
    the track), so the blocks form one strided batch for ``np.matmul``.
    """

    imag: bool  # imaginary part (scratch ``im``) instead of real part (scratch ``re``)
    e0: int  # first scratch column (the unit's offset j*T inside its group)
    width: int  # B, samples per block
    n_blocks: int
    step: int  # samples between block starts (<= B)
    k_start: int  # first column of the window, unpadded input (the plan's pad_left is added)
    matrix: np.ndarray  # (K, B) float32


@dataclass(frozen=True)
class _Group:
    """Consecutive units of one kind whose products fill the scratch (``re`` and, for
    complex wavelets, ``im``), followed at once by their modulus into the output while
    the scratch is still in cache."""

    ops: tuple[_Op, ...]
    start: int  # first output column of the group
    size: int  # output (and scratch) columns of the group
    cplx: bool
    kara: tuple[np.ndarray, ...] = ()  # whole-track units: (P, Q1, Q2) matrices, see _kara_mats


@dataclass(frozen=True)
class _GemmPlan:
    """Banded Toeplitz products for one track length (see :func:`_gemm_plan`)."""

    groups: tuple[_Group, ...]
    pad_left: int
    pad_right: int
    n_scratch: int  # columns of the scratch (widest group)


def _block_schedule(u: _Unit, T: int) -> tuple[int, int, int, bool]:
    """Time blocks of one unit: width B, count, step between block starts, and whether
    a last block at ``T - B`` completes them; fewest multiply-adds plus call costs.

    Blocks may overlap (step < B) so that equally spaced blocks end exactly at T: one
    strided batch covers the track (overlapping samples are written twice, with the
    same value up to rounding). B = T: one block, the whole track (wide filters)."""
    return _schedule(u.m_hi - u.m_lo + 1, T)


@functools.lru_cache(maxsize=1 << 16)
def _schedule(w: int, T: int) -> tuple[int, int, int, bool]:
    """:func:`_block_schedule` of a filter ``w`` taps wide (it depends on nothing else)."""
    best = (T * T + _CALL_COST, T, 1, T, False)
    for B in _BLOCKS:
        if B >= T:
            continue
        K = B + w - 1
        nb0 = T // B
        options = [(nb0, B, T % B > 0)]
        for nb in range(-(-T // B), -(-T // B) + 3):
            if (T - B) % (nb - 1) == 0:
                options.append((nb, (T - B) // (nb - 1), False))
                break
        for nb, step, tail in options:
            cost = (nb + tail) * B * K + _CALL_COST * (1 + tail)
            if cost < best[0]:
                best = (cost, B, nb, step, tail)
    return best[1:]


#: Banded Toeplitz blocks (they depend on the filter and the block width, not on the
#: track length): key (id of the taps, c0, block width) -> (taps, matrix); the taps are
#: held so that their id stays theirs.
_BANDED: OrderedDict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_MAX_BANDED = 2048


def _banded_block(g: np.ndarray, u: _Unit, B: int) -> np.ndarray:
    key = (id(g), u.c0, B)
    with _PLANS_LOCK:
        hit = _BANDED.get(key)
        if hit is not None:
            _BANDED.move_to_end(key)
            return hit[1]
    w = u.m_hi - u.m_lo + 1
    # M[k, t] = g[t + c0 - (k_lo + k)] with k_lo = c0 - m_hi
    M = _toeplitz(g, u.m_hi, B + w - 1, B, 1).astype(np.float32)
    M.setflags(write=False)
    with _PLANS_LOCK:
        _BANDED[key] = (g, M)
        if len(_BANDED) > _MAX_BANDED:
            _BANDED.popitem(last=False)
    return M


def _unit_ops(u: _Unit, T: int, e0: int) -> list[_Op]:
    """Banded products of one unit (unpadded input coordinates) into scratch columns from
    e0 (units whose best block is the whole track go through :func:`_dense_mats`)."""
    B, nb, step, tail = _block_schedule(u, T)
    ops = []
    for p, g in enumerate(u.parts):
        imag = p == 1
        k_lo = u.c0 - u.m_hi
        M = _banded_block(g, u, B)
        ops.append(_Op(imag, e0, B, nb, step, k_lo, M))
        if tail:
            ops.append(_Op(imag, e0 + T - B, B, 1, B, k_lo + T - B, M))
    return ops


def _kara_mats(units: list[_Unit], T: int, cplx: bool) -> tuple[np.ndarray, ...]:
    """Karatsuba split of the whole-track products of a group of units (T even).

    With the even / odd samples ``X0``, ``X1`` of a signal and the even / odd output
    samples ``Y0``, ``Y1``, the Toeplitz product ``y_t = sum_k x_k f(t - k)``
    (``f(d) = g[d + c0]``) reads ``Y_b = sum_a X_a M_ab`` with H x H Toeplitz blocks
    ``M_ab[k, t] = f(2 (t - k) + b - a)``, ``M_00 = M_11``. Hence

    .. math:: P = (X_0 + X_1) M_{00},\\quad Y_0 = P + X_1 (M_{10} - M_{00}),\\quad
              Y_1 = P + X_0 (M_{01} - M_{00}),

    three products of H x H instead of four (Karatsuba). Returns the three (H, cols)
    matrices, columns ``(part * n_units + j) * H + t``.
    """
    H = T // 2
    n_parts = 2 if cplx else 1
    mats = [np.empty((H, n_parts * len(units) * H), dtype=np.float32) for _ in range(3)]
    for p in range(n_parts):
        for j, u in enumerate(units):
            cols = slice((p * len(units) + j) * H, (p * len(units) + j + 1) * H)
            g = u.parts[p]
            f0 = _toeplitz(g, u.c0, H, H, 2)
            mats[0][:, cols] = f0
            mats[1][:, cols] = _toeplitz(g, u.c0 - 1, H, H, 2) - f0
            mats[2][:, cols] = _toeplitz(g, u.c0 + 1, H, H, 2) - f0
    return tuple(mats)


def _toeplitz(g: np.ndarray, c: int, n_rows: int, n_cols: int, step: int) -> np.ndarray:
    """Read-only view ``M[k, t] = g[step * (t - k) + c]`` (0 outside the taps), float64."""
    pad = step * (n_rows + n_cols) + abs(c) + 1
    gp = np.zeros(g.size + 2 * pad)
    gp[pad : pad + g.size] = g
    it = gp.itemsize
    return np.ndarray((n_rows, n_cols), gp.dtype, gp, it * (pad + c), (-step * it, step * it))


def _dense_mats(units: list[_Unit], T: int, cplx: bool) -> list[np.ndarray]:
    """Whole-track Toeplitz matrices of a group, one ``(T, n_units * T)`` per part:
    ``M[k, j T + t] = g_j[t + c0_j - k]``."""
    mats = []
    for p in range(2 if cplx else 1):
        M = np.empty((T, len(units) * T), dtype=np.float32)
        for j, u in enumerate(units):
            M[:, j * T : (j + 1) * T] = _toeplitz(u.parts[p], u.c0, T, T, 1)
        mats.append(M)
    return mats


def _gemm_plan(units: list[_Unit], T: int) -> _GemmPlan:
    """Cut each unit's output into time blocks of B samples; a block needs only the
    ``K = B + width - 1`` input samples its (tail-trimmed) taps reach. B and the block
    spacing are chosen per unit to minimize multiply-adds plus a per-call cost
    (:func:`_block_schedule`); wide filters use one block (B = T, the whole track).

    Consecutive units of one kind (real or complex; banded or whole-track) form groups
    of at most ``_GROUP_COLS`` / ``_BANDED_GROUP_COLS`` output columns; the whole-track
    products of a group are joined into one wide product per part (one BLAS call with
    many columns runs faster). A group's products fill a small scratch and its modulus
    is written to the output right after them, while the scratch is still in cache."""
    kinds = []
    for u in units:
        B = _block_schedule(u, T)[0]
        kinds.append((B == T, len(u.parts) == 2, B))
    groups_u: list[list[int]] = []
    for i, (dense, cplx, _) in enumerate(kinds):
        prev = groups_u[-1] if groups_u else None
        if (
            prev is not None
            and kinds[prev[-1]][:2] == (dense, cplx)
            and units[prev[-1]].e0 + T == units[i].e0
            and (len(prev) + 1) * T <= (_GROUP_COLS if dense else _BANDED_GROUP_COLS)
        ):
            prev.append(i)
        else:
            groups_u.append([i])
    groups = []
    for idx in groups_u:
        dense, cplx, _ = kinds[idx[0]]
        start = units[idx[0]].e0
        if dense and T % 2 == 0 and T // 2 >= _KARA_MIN_HALF:
            kara = _kara_mats([units[i] for i in idx], T, cplx)
            groups.append(_Group((), start, T * len(idx), cplx, kara))
            continue
        if dense:  # one wide product per part
            mats = _dense_mats([units[i] for i in idx], T, cplx)
            n_cols = T * len(idx)
            ops = [_Op(p == 1, 0, n_cols, 1, n_cols, 0, M) for p, M in enumerate(mats)]
        else:
            ops = []
            for j, i in enumerate(idx):
                ops.extend(_unit_ops(units[i], T, j * T))
        groups.append(_Group(tuple(ops), start, T * len(idx), cplx))
    all_ops = [op for g in groups for op in g.ops]
    lo = min([op.k_start for op in all_ops] + [0])
    hi = max(
        [op.k_start + (op.n_blocks - 1) * op.step + op.matrix.shape[0] for op in all_ops] + [T]
    )
    pad_left, pad_right = -lo, hi - T
    n_scratch = max(g.size for g in groups)
    return _GemmPlan(tuple(groups), pad_left, pad_right, n_scratch)


@numba.njit(cache=True, fastmath=True, nogil=True)
def _modulus_group(out, re, im, a, n, cplx):  # pragma: no cover - compiled
    """out[:, a:a+n] <- sqrt(re² + im²) (complex) or |re| (real), from the scratch."""
    for r in range(out.shape[0]):
        oo = out[r, a : a + n]
        x = re[r, :n]
        if cplx:
            y = im[r, :n]
            for t in range(n):
                oo[t] = np.sqrt(x[t] * x[t] + y[t] * y[t])
        else:
            for t in range(n):
                oo[t] = abs(x[t])


@numba.njit(cache=True, fastmath=True, nogil=True)
def _kara_modulus(prods, out, start, n_units, n_parts, H, s0, s1):  # pragma: no cover
    """Even / odd samples ``P + Q1`` / ``P + Q2`` of every unit of a Karatsuba group,
    modulus, interleaved into ``out[:, start : start + n_units * 2H]``."""
    nc = n_units * n_parts * H
    ncu = n_units * H
    for r in range(out.shape[0]):
        p = prods[0, r]
        q1 = prods[1, r]
        q2 = prods[2, r]
        for c in range(nc):
            s0[c] = p[c] + q1[c]
            s1[c] = p[c] + q2[c]
        o = out[r, start : start + 2 * ncu]
        if n_parts == 2:
            for c in range(ncu):
                o[2 * c] = np.sqrt(s0[c] * s0[c] + s0[ncu + c] * s0[ncu + c])
                o[2 * c + 1] = np.sqrt(s1[c] * s1[c] + s1[ncu + c] * s1[ncu + c])
        else:
            for c in range(ncu):
                o[2 * c] = abs(s0[c])
                o[2 * c + 1] = abs(s1[c])


@numba.njit(cache=True, nogil=True)
def _standardize_into(X, lengths, xp, pad_left):  # pragma: no cover - compiled
    """Standardized coordinates of tracks X (n, T, dim) into rows i*dim + d of xp.

    Track i is its first ``lengths[i]`` points (mean and population std over them, in
    float64; a constant coordinate gives zeros); its row is zero from there to T."""
    n, T, dim = X.shape
    for i in range(n):
        L = lengths[i]
        for d in range(dim):
            s = 0.0
            mx = 0.0
            for t in range(L):
                s += X[i, t, d]
                mx = max(mx, abs(X[i, t, d]))
            mean = s / L
            v = 0.0
            for t in range(L):
                c = X[i, t, d] - mean
                v += c * c
            std = np.sqrt(v / L)
            row = i * dim + d
            if std > 1e-12 * max(mx, 1e-300):
                inv = 1.0 / std
                for t in range(L):
                    xp[row, pad_left + t] = (X[i, t, d] - mean) * inv
            else:
                for t in range(L):
                    xp[row, pad_left + t] = 0.0
            for t in range(L, T):
                xp[row, pad_left + t] = 0.0


def _run_gemm(plan: _GemmPlan, X: np.ndarray, lengths: np.ndarray, out2d: np.ndarray) -> None:
    """Scalograms of tracks ``X`` (n, T, dim) into ``out2d`` (n*dim, n_units*T); track i is
    its first ``lengths[i]`` points, zero-padded (:func:`_standardize_into`)."""
    n, T, dim = X.shape
    width = plan.pad_left + T + plan.pad_right
    chunk_tracks = max(1, min(n, _CHUNK_ROWS // dim))
    rows = chunk_tracks * dim
    xp = np.zeros((rows, width), dtype=np.float32)
    re = np.empty((rows, plan.n_scratch), dtype=np.float32)
    im = np.empty((rows, plan.n_scratch), dtype=np.float32)
    f4 = np.dtype(np.float32)
    # every product reads a window of xp and writes a window of re / im: views made once
    views = []
    for grp in plan.groups:
        vs = []
        for op in grp.ops:
            K = op.matrix.shape[0]
            k0 = op.k_start + plan.pad_left
            dest = im if op.imag else re
            if op.n_blocks == 1:
                xv = xp[:, k0 : k0 + K]
                ov = dest[:, op.e0 : op.e0 + op.width]
            else:
                st = (4 * op.step, xp.strides[0], 4)
                xv = np.ndarray((op.n_blocks, rows, K), f4, xp, 4 * k0, st)
                st = (4 * op.step, dest.strides[0], 4)
                ov = np.ndarray((op.n_blocks, rows, op.width), f4, dest, 4 * op.e0, st)
            vs.append((xv, ov, op.matrix))
        views.append(vs)
    kara = [g for g in plan.groups if g.kara]
    if kara:
        H = T // 2
        nc = max(g.kara[0].shape[1] for g in kara)
        z = np.empty((3, rows, H), dtype=np.float32)
        prods = np.empty((3, rows, nc), dtype=np.float32)
        s0 = np.empty(nc, dtype=np.float32)
        s1 = np.empty(nc, dtype=np.float32)
        x0 = xp[:, plan.pad_left : plan.pad_left + T : 2]
        x1 = xp[:, plan.pad_left + 1 : plan.pad_left + T : 2]
    for a in range(0, n, chunk_tracks):
        b = min(n, a + chunk_tracks)
        m = (b - a) * dim
        _standardize_into(X[a:b], lengths[a:b], xp, plan.pad_left)
        o = out2d[a * dim : b * dim]
        if kara:
            np.add(x0[:m], x1[:m], out=z[0, :m])
            z[1, :m] = x1[:m]
            z[2, :m] = x0[:m]
        for grp, vs in zip(plan.groups, views, strict=True):
            if grp.kara:
                nc = grp.kara[0].shape[1]
                for p in range(3):
                    np.matmul(z[p, :m], grp.kara[p], out=prods[p, :m, :nc])
                n_parts = 2 if grp.cplx else 1
                n_units = grp.size // T
                _kara_modulus(prods, o, grp.start, n_units, n_parts, H, s0, s1)
                continue
            if m == rows:
                for xv, ov, mat in vs:
                    np.matmul(xv, mat, out=ov)
            else:
                for xv, ov, mat in vs:
                    np.matmul(xv[..., :m, :], mat, out=ov[..., :m, :])
            _modulus_group(o, re, im, grp.start, grp.size, grp.cplx)


# --------------------------------------------------------------------------- FFT plan


@dataclass(frozen=True)
class _FFTGroup:
    n_fft: int
    spectra: np.ndarray  # (n_parts, n_fft//2 + 1) complex64
    starts: np.ndarray  # per part: index of output sample t = 0 in the circular result
    unit_e0: np.ndarray  # per unit
    unit_part0: np.ndarray  # per unit: first part index
    unit_ncomp: np.ndarray


def _fft_plan(units: list[_Unit], T: int) -> list[_FFTGroup]:
    """Per unit: the taps that can reach the output, padded length without aliasing."""
    by_n: dict[int, list[tuple[_Unit, int, int]]] = {}
    for u in units:
        M = u.parts[0].size - 1
        lo = max(0, u.c0 - (T - 1))
        hi = min(M, u.c0 + T - 1)
        n_min = u.c0 - lo  # output t=0 sits at index n_min of x * g[lo:hi+1]
        length = hi - lo + 1
        need = max(T + length - 1 - n_min, T + n_min)
        n_fft = scipy.fft.next_fast_len(need, real=True)
        by_n.setdefault(n_fft, []).append((u, lo, hi))
    plans = []
    for n_fft, items in sorted(by_n.items()):
        spectra, starts, e0, part0, ncomp = [], [], [], [], []
        for u, lo, hi in items:
            part0.append(len(spectra))
            ncomp.append(len(u.parts))
            e0.append(u.e0)
            for g in u.parts:
                spectra.append(scipy.fft.rfft(g[lo : hi + 1], n_fft))
                starts.append(u.c0 - lo)
        plans.append(
            _FFTGroup(
                n_fft=n_fft,
                spectra=np.asarray(spectra, dtype=np.complex64),
                starts=np.asarray(starts, dtype=np.int64),
                unit_e0=np.asarray(e0, dtype=np.int64),
                unit_part0=np.asarray(part0, dtype=np.int64),
                unit_ncomp=np.asarray(ncomp, dtype=np.int64),
            )
        )
    return plans


@numba.njit(cache=True, fastmath=True, nogil=True)
def _fft_modulus_into(y, out, starts, e0, part0, ncomp, T):  # pragma: no cover - compiled
    n = y.shape[0]
    for r in range(n):
        for u in range(e0.size):
            p = part0[u]
            s0 = starts[p]
            e = e0[u]
            if ncomp[u] == 2:
                s1 = starts[p + 1]
                for t in range(T):
                    re = y[r, p, s0 + t]
                    im = y[r, p + 1, s1 + t]
                    out[r, e + t] = np.sqrt(re * re + im * im)
            else:
                for t in range(T):
                    out[r, e + t] = abs(y[r, p, s0 + t])


def _run_fft(plan: list[_FFTGroup], sig: np.ndarray, out2d: np.ndarray) -> None:
    n, T = sig.shape
    for g in plan:
        n_parts = g.spectra.shape[0]
        chunk = max(1, min(n, _FFT_CHUNK_BYTES // (8 * n_parts * (g.n_fft // 2 + 1) * 3)))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            spec = scipy.fft.rfft(sig[a:b], g.n_fft, axis=-1, workers=1)
            y = scipy.fft.irfft(spec[:, None, :] * g.spectra[None], g.n_fft, axis=-1, workers=1)
            _fft_modulus_into(
                np.ascontiguousarray(y, dtype=np.float32),
                out2d[a:b],
                g.starts,
                g.unit_e0,
                g.unit_part0,
                g.unit_ncomp,
                T,
            )


# --------------------------------------------------------------------------- plans cache

_PLANS: OrderedDict[tuple, tuple[str, list]] = OrderedDict()
_MAX_PLANS = 16
_PLANS_LOCK = threading.Lock()


def _plan(wavelets: tuple[str, ...], scales: tuple[float, ...], T: int) -> tuple[str, list]:
    """Filters of every (wavelet, scale) for tracks of T points, built once and cached."""
    key = (wavelets, scales, T)
    with _PLANS_LOCK:
        if key in _PLANS:
            _PLANS.move_to_end(key)
            return _PLANS[key]
    units = _units(wavelets, scales, T)
    if T <= _GEMM_MAX_POINTS:
        plan = ("gemm", _gemm_plan(units, T))
    else:
        plan = ("fft", _fft_plan(units, T))
    with _PLANS_LOCK:
        _PLANS[key] = plan
        if len(_PLANS) > _MAX_PLANS:
            _PLANS.popitem(last=False)
    return plan


def _transform_batch(
    X: np.ndarray,
    wavelets: tuple[str, ...],
    scales: tuple[float, ...],
    dtype,
    lengths: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Scalograms of one batch ``(n, T, dim)`` of equal-length tracks, or with ``lengths``
    of tracks ``X[i, :lengths[i]]`` zero-padded to T (:func:`wavelet_padded`), into
    ``out`` (float32, C-contiguous) when given."""
    n, T, dim = X.shape
    kind, plan = _plan(wavelets, scales, T)
    nw, ns = len(wavelets), len(scales)
    if out is None:
        out = np.empty((n, dim * nw, ns, T), dtype=np.float32)
    out2d = out.reshape(n * dim, nw * ns * T)  # row i*dim + d: channels d*nw .. d*nw + nw-1
    if kind == "gemm":
        own = np.full(n, T, dtype=np.int64) if lengths is None else lengths
        _run_gemm(plan, np.ascontiguousarray(X, dtype=np.float64), own, out2d)
    else:
        step = max(1, (64 * 2**20) // (8 * T * dim * 3))  # standardize in bounded slices
        for a in range(0, n, step):
            b = min(n, a + step)
            own = None if lengths is None else lengths[a:b]
            sig = (
                standardize(np.asarray(X[a:b], dtype=np.float64), own)
                .transpose(0, 2, 1)
                .reshape((b - a) * dim, T)
            )
            _run_fft(plan, np.ascontiguousarray(sig, dtype=np.float32), out2d[a * dim : b * dim])
    return out if np.dtype(dtype) == np.float32 else out.astype(dtype)


def wavelet_padded(X, lengths, wavelets=WAVELETS, scales=SCALES, *, out=None) -> np.ndarray:
    """:func:`wavelet` of tracks of different lengths held zero-padded in one array.

    Track ``i`` is ``X[i, :lengths[i]]``; it is standardized over those points, zero-padded
    to the array's length and transformed, all tracks together with the filters of that one
    length. The CWT pads a signal with zeros anyway, so the first ``lengths[i]`` samples of
    track ``i``'s scalograms are those of :func:`wavelet` on the track alone (up to float32
    rounding, the products being blocked differently); the samples after them are the
    filters' response beyond the track's end and belong to no scalogram. For batched
    prediction over tracks of similar lengths: one pass and one set of filters instead of
    one per length.

    Parameters
    ----------
    X : ndarray (n_tracks, n_points, dim)
        Tracks, each in its first ``lengths[i]`` points (what follows is ignored).
    lengths : array_like of int (n_tracks,)
        Points per track, ``MIN_POINTS <= lengths[i] <= n_points``.
    wavelets, scales
        As for :func:`wavelet`.
    out : ndarray, optional
        Written in full and returned: float32, C-contiguous, of the result's shape (a buffer
        reused over many batches saves the first-touch cost of fresh memory).

    Returns
    -------
    ndarray (n_tracks, len(wavelets)*dim, len(scales), n_points), float32

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(2, 40, 2)).cumsum(axis=1)
    >>> S = wavelet_padded(X, [30, 40])
    >>> bool(np.allclose(S[0, ..., :30], wavelet(X[:1, :30])[0], atol=1e-5))
    True
    """
    names = _check_wavelet_names(wavelets)
    sc = _check_scales(scales)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3:
        raise ValueError(f"X must be (n_tracks, n_points, dim), got shape {X.shape}")
    lengths = np.asarray(lengths)
    if lengths.shape != (X.shape[0],) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be {X.shape[0]} integers, one per track")
    lengths = lengths.astype(np.int64)
    if len(lengths) and (lengths.min() < MIN_POINTS or lengths.max() > X.shape[1]):
        raise ValueError(
            f"lengths must lie in [{MIN_POINTS}, {X.shape[1]}] (points per track, at most "
            "the array's length)"
        )
    if not np.all(np.isfinite(X[np.arange(X.shape[1])[None, :] < lengths[:, None]])):
        raise ValueError("X has non-finite positions inside the tracks")
    shape = (X.shape[0], X.shape[2] * len(names), len(sc), X.shape[1])
    if out is not None and (
        out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous float32 array of shape {shape}")
    return _transform_batch(X, names, sc, np.float32, lengths, out)


def wavelet(
    X,
    wavelets=WAVELETS,
    scales=SCALES,
    dtype=np.float32,
) -> np.ndarray | list[np.ndarray]:
    """Continuous-wavelet scalograms of tracks: moduli of six CWTs per coordinate.

    Each coordinate of each track is standardized (zero mean, unit population standard
    deviation, ``ddof=0``; a constant coordinate becomes zeros), transformed with every
    wavelet at every scale exactly as ``pywt.cwt(signal, scales, wavelet)`` (default
    ``method='conv'``) and replaced by the modulus of the coefficients. Channels are
    ordered per dimension, then per wavelet: channel ``d * len(wavelets) + w``.

    Parameters
    ----------
    X : array_like (n_tracks, n_points, dim) or (n_points, dim), list of arrays, or DataFrame
        Positions (any length unit: the standardization removes it). A list of
        ``(n_points_i, dim)`` arrays or a long-form track table (``particle``, ``frame``,
        ``x`` [, ``y``, ``z``]) may mix lengths. At least 20 points per track.
    wavelets : sequence of str
        Continuous pywt wavelet names (default: the six of the paper, :data:`WAVELETS`).
    scales : sequence of float
        Scales in samples (default: the 24 of the paper, :data:`SCALES`).
    dtype : numpy dtype
        Output dtype (float32 by default).

    Returns
    -------
    ndarray (n_tracks, len(wavelets)*dim, len(scales), n_points), or list of ndarray
        One array for array input. For a list or a table, a list with one
        ``(len(wavelets)*dim, len(scales), n_points_i)`` array per track, in input order
        (a table: in increasing particle id); tracks of one length share one batch.

    Notes
    -----
    ``pywt.cwt`` integrates the wavelet (``2**precision`` samples), resamples the integral
    at each scale, convolves it with the signal, differentiates (``-sqrt(s) * diff``) and
    keeps the central ``n_points`` samples. That chain is one linear filter per
    (wavelet, scale) (:func:`wavelet_filters`); here the filters of all wavelets and
    scales are precomputed once per track length and applied to all signals of that
    length together. For tracks up to 1024 points the filters act as banded Toeplitz
    matrices: each (wavelet, scale) output is cut into time blocks of B samples (16, 32
    or 48, equally spaced and possibly overlapping so that they end at the last sample,
    or the whole track for wide filters); a block needs only the ``B + width - 1`` input
    samples its taps reach, and all blocks share one matrix, so one strided batch of
    BLAS products per filter part computes the coefficients (the signal is zero-padded,
    which is exact). Whole-track products of even-length tracks are split into even and
    odd samples and computed as three half-size products instead of four (Karatsuba,
    :func:`_kara_mats`). Neighbouring (wavelet, scale) pairs are processed in groups whose
    coefficients fit in cache; right after a group's products, ``|re|`` or
    ``sqrt(re² + im²)`` is written to the output, which is thus written once.
    Longer tracks use real FFTs padded to avoid wrap-around.
    Complex wavelets (cgau, cmor, shan, fbsp) are applied as two real filters.
    Filter taps whose summed magnitude is below 1e-10 of the filter's total are skipped.
    The result agrees with pywt to ~1e-6 of the array maximum (float32 arithmetic).

    The paper's code (Wang, Zhang, Huang 2025, arXiv 2512.08510) calls pywt per track
    and wavelet and resizes the maps to 256 x 256; the native ``24 x n_points`` maps are
    kept here.

    Examples
    --------
    >>> import numpy as np
    >>> from sptmotion.represent import wavelet
    >>> X = np.random.default_rng(0).normal(size=(3, 50, 2)).cumsum(axis=1)
    >>> wavelet(X).shape
    (3, 12, 24, 50)
    """
    names = _check_wavelet_names(wavelets)
    sc = _check_scales(scales)
    batch = as_track_groups(X, name="X", min_points=MIN_POINTS)
    if batch.single_array:
        return _transform_batch(batch.groups[0][1], names, sc, dtype)
    result: list[np.ndarray | None] = [None] * batch.n_tracks
    for idx, arr in batch.groups:
        maps = _transform_batch(arr, names, sc, dtype)
        for j, i in enumerate(idx):
            result[i] = maps[j]
    return result  # type: ignore[return-value]
