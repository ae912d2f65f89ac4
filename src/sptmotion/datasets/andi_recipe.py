# ruff: noqa: NPY002  (numba kernels can only use the legacy np.random API, seeded per call)
"""The AnDi-1 challenge dataset recipe, without andi-datasets.

:func:`andi` reproduces ``andi_datasets.datasets_challenge.challenge_theory_dataset``
(Muñoz-Gil et al., Nat. Commun. 12, 6253, 2021): the five theory models ATTM, CTRW, FBM, LW
and SBM on the alpha grid 0.05, 0.10, ..., 2.00 with per-model ranges, the same class mix,
per-axis normalization to unit-std increments, Gaussian localization noise with
``sigma`` in {0.1, 0.5, 1} and the random "diffusion coefficient" factor on the increments.

Where andi-datasets' generators depart from the exact processes of
:mod:`sptmotion.motion` (e.g. its SBM is aged by one step, its ATTM has a truncated
diffusivity range and integer sojourns), this recipe follows andi-datasets so that models
trained on it transfer to andi-datasets test sets; ``docs/andi_differences.md`` lists every
difference. The exact models in :data:`sptmotion.motion.MODELS` are unchanged.

Tracks are dimensionless with unit time step (``dt = 1``), as in AnDi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from numba import njit

from .._checks import BLOCK_SIZE, check_dim, check_int, check_rng, spawn_block_rngs
from ..motion.gaussian import fgn_cholesky, sample_fgn, sbm_weights
from ..motion.jumps import ctrw_counts_kernel, kernel_seed, unit_vector
from .tables import tracks_to_table

__all__ = ["andi", "AndiData", "ANDI_MODELS", "ALPHA_GRID", "andi_class_weights"]

#: AnDi-1 theory models, in andi-datasets' label order (0..4); "bm" is our optional sixth class.
ANDI_MODELS = ("attm", "ctrw", "fbm", "lw", "sbm")
#: The AnDi-1 alpha grid 0.05, 0.10, ..., 2.00.
ALPHA_GRID = np.round(0.05 * np.arange(1, 41), 2)
#: Localization-noise standard deviations (in units of the normalized step) of AnDi-1.
NOISE_LEVELS = (0.1, 0.5, 1.0)
#: FBM series of up to this many steps are drawn through a cached Cholesky factor, longer
#: ones by Davies-Harte circulant embedding (both exact)
CHOLESKY_MAX_STEPS = 512


# ----------------------------------------------------------------------------------------
# class mix
# ----------------------------------------------------------------------------------------
def _andi_n_per_class(N: int) -> np.ndarray:
    """andi-datasets' generated trajectories per (model, exponent) for N requested tracks."""
    n_exp = 40
    n_per_model = np.ceil(1.6 * N / 5)
    sub, sup = n_exp // 2, n_exp // 2 + 1
    npc = np.zeros((5, n_exp))
    npc[:2, :sub] = np.ceil(n_per_model / sub)  # ATTM, CTRW: 0.05 .. 1.00
    npc[2, :] = np.ceil(n_per_model / (n_exp - 1))  # FBM: 0.05 .. 1.95
    npc[2, -1] = 0
    npc[3, sub:] = np.ceil(n_per_model / sup * 0.8)  # LW: 1.05 .. 2.00
    npc[4, :] = np.ceil(n_per_model / n_exp)  # SBM: 0.05 .. 2.00
    return npc


@lru_cache(maxsize=16)
def andi_class_weights(
    task: str, include_bm: bool = False, mix: str = "recipe"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities of the (model, alpha) classes of an AnDi-1 dataset.

    Parameters
    ----------
    task : {"alpha", "model"}
    include_bm : bool
        Add BM (alpha = 1) with the share of one model (task "model") or of one alpha-grid
        point (task "alpha").
    mix : {"recipe", "andi-datasets"}
        ``"recipe"``: the AnDi-1 recipe as published: per-model alpha ranges ATTM, CTRW
        0.05-1.00, FBM 0.05-1.95, LW 1.05-2.00, SBM 0.05-2.00; task "alpha" balanced over the 40
        grid points (models at a grid point in andi-datasets' generation proportions), task
        "model" balanced over models (uniform over each model's range).
        ``"andi-datasets"``: the mix ``challenge_theory_dataset`` actually returns (computed with
        its counting rules at N = 10^6, where its rounding no longer matters): it generates
        ``n_per_class`` tracks ordered by model then exponent and keeps, for task 1, the first
        ``ceil(1.1·N/40)`` of each exponent, for task 2 the first ``int(1.1·N/5)`` of each model.
        This truncates the ranges: in task 1 FBM and SBM only appear with alpha > 1; in task 2
        ATTM and CTRW stop at 0.70, FBM at 1.30-1.35, SBM at 1.40 and LW at 1.95
        (see ``docs/andi_differences.md``).

    Returns
    -------
    model : ndarray of str, alpha : ndarray of float, p : ndarray of float
        The classes with non-zero probability and their probabilities.
    """
    if task not in ("alpha", "model"):
        raise ValueError(f"task must be 'alpha' or 'model', got {task!r}")
    if mix not in ("recipe", "andi-datasets"):
        raise ValueError(f"mix must be 'recipe' or 'andi-datasets', got {mix!r}")
    N = 10**6
    npc = _andi_n_per_class(N)
    n_exp = npc.shape[1]
    if mix == "andi-datasets":
        if task == "alpha":
            before = np.cumsum(npc, axis=0) - npc
            sel = np.minimum(npc, np.maximum(0.0, np.ceil(1.1 * N / n_exp) - before))
        else:
            before = np.cumsum(npc, axis=1) - npc
            sel = np.minimum(npc, np.maximum(0.0, int(1.1 * N / 5) - before))
    elif task == "alpha":
        sel = npc / npc.sum(axis=0, keepdims=True)
    else:
        sel = (npc > 0) / (npc > 0).sum(axis=1, keepdims=True)
    m_idx, a_idx = np.nonzero(sel)
    models = np.asarray(ANDI_MODELS)[m_idx]
    alphas = ALPHA_GRID[a_idx]
    w = sel[m_idx, a_idx]
    if include_bm:
        share = w.sum() / (5 if task == "model" else n_exp)
        models = np.append(models, "bm")
        alphas = np.append(alphas, 1.0)
        w = np.append(w, share)
    return models, alphas, w / w.sum()


# ----------------------------------------------------------------------------------------
# andi-datasets' generators (vectorized over tracks)
# ----------------------------------------------------------------------------------------
@njit(cache=True)
def _attm_andi_kernel(seed, alpha, n_steps, T):
    """Per-step diffusivity of andi-datasets' ATTM (regime 1), ``(n, n_steps)``.

    sigma = 3·U(0.01, 1.1), gamma = sigma/alpha, redrawn until sigma <= gamma <= sigma + 1;
    each sojourn has D = (1 − U(0.1, 0.99))^(1/sigma) and lasts int(min(D^−gamma, T)) steps.
    """
    np.random.seed(seed)
    n = alpha.shape[0]
    eff = np.empty((n, n_steps))
    for i in range(n):
        a = alpha[i]
        while True:
            sigma = 3.0 * (0.01 + 1.09 * np.random.random())
            gam = sigma / a
            if not (sigma > gam or gam > sigma + 1.0):
                break
        j = 0
        while j < n_steps:
            d = (1.0 - (0.1 + 0.89 * np.random.random())) ** (1.0 / sigma)
            ts = d ** (-gam)
            if ts > T:
                ts = T
            m = int(ts)
            for _ in range(m):
                if j < n_steps:
                    eff[i, j] = d
                    j += 1
    return eff


@njit(cache=True)
def _lw_andi_kernel(seed, alpha, speed, T, dim):
    """Increments ``(n, T-1, dim)`` of andi-datasets' Lévy walk, computed as andi-datasets does.

    sigma = 3 − alpha (alpha < 2) or U(0, 1) (alpha = 2); flights last int(τ) unit steps with
    τ = U^(−1/sigma) (τ > T replaced by T + 1) at ``speed[i]`` in an isotropic direction.
    Positions are the float running sum of the steps (from the second step on), and the
    increments those of the mean-subtracted positions, the arithmetic of andi-datasets'
    ``normalize``: a single straight flight then has increments that are constant up to
    round-off, whose std is ~1e-16 of the step (see docs/andi_differences.md).
    """
    np.random.seed(seed)
    n = alpha.shape[0]
    out = np.empty((n, T - 1, dim))
    steps = np.empty((T, dim))
    P = np.empty((T, dim))
    u = np.zeros(dim)
    for i in range(n):
        a = alpha[i]
        sigma = np.random.random() if a == 2.0 else 3.0 - a
        j = 0
        while j < T:
            tau = (1.0 - np.random.random()) ** (-1.0 / sigma)
            if tau > T:
                tau = T + 1.0
            m = int(tau)
            unit_vector(dim, u)
            for _ in range(m):
                if j < T:
                    for k in range(dim):
                        steps[j, k] = speed[i] * u[k]
                    j += 1
        for k in range(dim):
            acc = steps[0, k]
            P[0, k] = 0.0
            tot = 0.0
            for j in range(1, T):
                acc += steps[j, k]
                P[j, k] = acc - steps[0, k]
                tot += P[j, k]
            mean = tot / T
            for j in range(1, T):
                out[i, j - 1, k] = (P[j, k] - mean) - (P[j - 1, k] - mean)
    return out


def _sphere(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Isotropic unit vectors in 3D, ``shape + (3,)``."""
    v = rng.standard_normal((*shape, 3))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return v


@lru_cache(maxsize=128)  # factors of <= CHOLESKY_MAX_STEPS steps: <= 2 MB each
def _fgn_factor_t(alpha: float, n: int) -> np.ndarray:
    """Transposed lower Cholesky factor of the ``n x n`` unit-fGn covariance (cached)."""
    Lt = np.ascontiguousarray(fgn_cholesky(alpha, n).T)
    Lt.setflags(write=False)
    return Lt


def _increments_andi(
    model: str, alpha: np.ndarray, T: int, dim: int, rng: np.random.Generator
) -> np.ndarray:
    """Raw (un-normalized) increments ``(m, T-1, dim)`` of andi-datasets' model ``model``."""
    m = len(alpha)
    n_steps = T - 1
    if model == "ctrw":
        # waiting times U^(−1/alpha) >= 1; position at index k counts the jumps before k + 1
        counts = ctrw_counts_kernel(kernel_seed(rng), alpha, 1.0, np.arange(1.0, T + 1.0))
        if dim < 3:
            return np.sqrt(counts)[:, :, None] * rng.standard_normal((m, n_steps, dim))
        # 3D: Gaussian jump length in an isotropic direction (at most one jump per unit step)
        length = rng.standard_normal((m, n_steps, 1)) * np.sqrt(counts)[:, :, None]
        return length * _sphere(rng, (m, n_steps))
    if model == "attm":
        eff = _attm_andi_kernel(kernel_seed(rng), alpha, n_steps, float(T))
        scale = np.sqrt(2.0 * eff)[:, :, None]
        if dim < 3:
            return scale * rng.standard_normal((m, n_steps, dim))
        return scale * rng.standard_normal((m, n_steps, 1)) * _sphere(rng, (m, n_steps))
    if model == "lw":
        # speed 10·U(0, 1) as in andi-datasets; positions by a float cumulative sum and the
        # increments of the mean-subtracted positions, as andi-datasets' ``normalize`` computes
        # them: a single straight flight then has increments that are constant up to round-off
        # (~1e-16 relative), and dividing by their std blows the track up to steps ~1e15, exactly
        # the andi-datasets artifact (see docs/andi_differences.md)
        return _lw_andi_kernel(kernel_seed(rng), alpha, 10.0 * rng.random(m), T, dim)
    # Gaussian models: the exact samplers of sptmotion.motion.gaussian. Only the shape of the
    # increments matters (every axis is normalized afterwards), so unit amplitudes are used.
    if model == "fbm":
        # exact: unit fGn = Z·Lᵀ with L the Cholesky factor of its Toeplitz covariance (the
        # fallback sampler of MODELS["fbm"]) up to CHOLESKY_MAX_STEPS steps, where it is faster
        # than the Davies-Harte FFT for the few tracks per exponent in a block; longer series
        # (measured_andi's fine grid of up to 4000 steps) by Davies-Harte, whose memory and
        # time grow as n and n log n instead of n² (cached factor) and n³ (its Cholesky)
        inc = np.empty((m, n_steps, dim))
        for a in np.unique(alpha):
            rows = np.flatnonzero(alpha == a)
            if n_steps <= CHOLESKY_MAX_STEPS:
                Lt = _fgn_factor_t(float(a), n_steps)
                fgn = rng.standard_normal((len(rows) * dim, n_steps)) @ Lt
            else:
                fgn = sample_fgn(float(a), len(rows) * dim, n_steps, rng)
            inc[rows] = fgn.reshape(len(rows), dim, n_steps).transpose(0, 2, 1)
        return inc
    inc = rng.standard_normal((m, n_steps, dim))
    if model == "sbm":
        # andi-datasets' SBM drops the first increment: SBM aged by one step (t_age = 1), whose
        # increment k has variance (k + 1)^alpha - k^alpha (MODELS["sbm"](alpha, t_age=1))
        inc *= np.sqrt(sbm_weights(alpha[:, None], np.arange(1.0, T + 1.0)))[:, :, None]
    return inc


@njit(cache=True)
def _postprocess_kernel(inc, noise_z, sigma, scale, X):
    """AnDi-1 post-processing in one pass, written into ``X`` ``(n, T, dim)``.

    Per track and axis: increments divided by their std (ddof 0, two-pass; an exactly zero
    std is replaced by 1, as in andi-datasets' ``normalize``), cumulated from 0; then localization noise
    ``sigma·z`` added to every point (re-referenced so the track starts at 0, as the
    random-diffusion step of andi-datasets does); then everything times ``scale``.
    """
    n, L, dim = inc.shape
    for i in range(n):
        for k in range(dim):
            s1 = 0.0
            for j in range(L):
                s1 += inc[i, j, k]
            mean = s1 / L
            s2 = 0.0
            for j in range(L):
                dv = inc[i, j, k] - mean
                s2 += dv * dv
            sd = np.sqrt(s2 / L) if s2 > 0 else 1.0
            c = scale[i] / sd
            e0 = sigma[i] * noise_z[i, 0, k]
            acc = 0.0
            X[i, 0, k] = 0.0
            for j in range(L):
                acc += inc[i, j, k]
                X[i, j + 1, k] = c * acc + scale[i] * (sigma[i] * noise_z[i, j + 1, k] - e0)


def _generate_block(
    model: np.ndarray,
    alpha: np.ndarray,
    T: int,
    dim: int,
    rng: np.random.Generator,
    noise: np.ndarray | None,
    scale: np.ndarray | None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Tracks ``(n, T, dim)`` with the AnDi-1 post-processing, for given labels (into ``out``)."""
    n = len(model)
    inc = np.empty((n, T - 1, dim))
    for name in ANDI_MODELS + ("bm",):
        rows = np.flatnonzero(model == name)
        if rows.size:
            inc[rows] = _increments_andi(name, alpha[rows], T, dim, rng)
    if noise is None:
        noise, z = np.zeros(n), np.zeros((n, T, dim))
    else:
        z = rng.standard_normal((n, T, dim))
    X = np.empty((n, T, dim)) if out is None else out
    _postprocess_kernel(inc, z, np.asarray(noise, float), np.ones(n) if scale is None else scale, X)
    return X


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------
@dataclass
class AndiData:
    """An AnDi-style dataset.

    Attributes
    ----------
    X : ndarray (n, L, dim) or list of ndarray (L_i, dim)
        Dimensionless positions (unit time step); an array when all tracks have one length.
    alpha : ndarray (n,)
        Anomalous exponent of each track (on the 0.05 grid).
    model : ndarray (n,) of str
        Model of each track: 'attm', 'ctrw', 'fbm', 'lw', 'sbm' (and 'bm').
    noise : ndarray (n,)
        Localization-noise standard deviation of each track (0 without noise), in units of the
        normalized step.
    scale : ndarray (n,)
        The random factor andi-datasets multiplies the increments with (1 without it).
    """

    X: np.ndarray | list[np.ndarray]
    alpha: np.ndarray
    model: np.ndarray
    noise: np.ndarray
    scale: np.ndarray

    def __len__(self) -> int:
        return len(self.alpha)

    @property
    def lengths(self) -> np.ndarray:
        """Number of points of each track."""
        if isinstance(self.X, np.ndarray):
            return np.full(len(self.alpha), self.X.shape[1])
        return np.array([len(x) for x in self.X])

    def to_table(self, particle_offset: int = 0) -> pd.DataFrame:
        """Long-form table (``particle, frame, x[, y, z], t``) with ``model``, ``alpha`` and ``noise`` labels.

        AnDi tracks are dimensionless with ``dt = 1``, so ``t`` equals ``frame``.
        """
        labels = {"model": self.model, "alpha": self.alpha, "noise": self.noise}
        if isinstance(self.X, np.ndarray):
            L = self.X.shape[1]
            return tracks_to_table(
                self.X, t=np.arange(L, dtype=float), labels=labels, particle_offset=particle_offset
            )
        lengths = self.lengths
        frame = (
            np.concatenate([np.arange(L) for L in lengths]) if len(lengths) else np.zeros(0, int)
        )
        pos = np.concatenate(self.X, axis=0)
        data = {
            "particle": np.repeat(
                np.arange(particle_offset, particle_offset + len(lengths)), lengths
            ),
            "frame": frame,
        }
        for k, ax in enumerate("xyz"[: pos.shape[1]]):
            data[ax] = pos[:, k]
        data["t"] = frame.astype(float)
        for key, val in labels.items():
            data[key] = np.repeat(np.asarray(val), lengths)
        return pd.DataFrame(data)


def check_length(length) -> tuple[int, int]:
    if isinstance(length, int | np.integer) and not isinstance(length, bool):
        lo = hi = int(length)
    elif (
        isinstance(length, Sequence)
        and len(length) == 2
        and all(isinstance(v, int | np.integer) for v in length)
    ):
        lo, hi = int(length[0]), int(length[1])
    else:
        raise ValueError(
            f"length must be an int or a pair (min_len, max_len) of ints, got {length!r}"
        )
    if lo < 3 or hi < lo:
        raise ValueError(f"length must satisfy 3 <= min_len <= max_len, got {length!r}")
    return lo, hi


def andi(
    n: int,
    length: int | tuple[int, int] = 100,
    dim: int = 2,
    task: str = "alpha",
    rng: np.random.Generator | int | None = None,
    include_bm: bool = False,
    noise: bool = True,
    *,
    random_scale: bool = True,
    mix: str = "recipe",
    blocks: tuple[int, int] | None = None,
) -> AndiData:
    """Generate an AnDi-1 challenge dataset (tasks 1 and 2) without andi-datasets.

    Parameters
    ----------
    n : int
        Number of tracks (>= 1).
    length : int or (int, int)
        Points per track, or ``(min_len, max_len)`` (inclusive): tracks are generated with
        ``max_len`` points, normalized, then cut to a uniformly drawn length, as in AnDi.
    dim : {1, 2, 3}
        Spatial dimension.
    task : {"alpha", "model"}
        AnDi-1 task 1 (balanced over the alpha grid) or task 2 (balanced over models); the
        labels ``alpha`` and ``model`` are returned for both.
    rng : int or numpy.random.Generator, optional
        Seed. Tracks are generated in blocks of :data:`sptmotion._checks.BLOCK_SIZE`, block
        ``b`` from ``spawn_block_rngs(seed, b, 1)``, so the same seed gives the same dataset
        however the blocks are split over chunks or workers. A Generator is reduced to a seed
        drawn from it.
    include_bm : bool
        Add Brownian motion (alpha = 1) as a sixth class, the null model AnDi-1 lacks.
    noise : bool
        Add Gaussian localization noise with sigma drawn uniformly from {0.1, 0.5, 1} per track
        (in units of the normalized step), as in AnDi-1.
    random_scale : bool, keyword-only
        Multiply each track's increments by a standard-normal factor, as andi-datasets'
        ``challenge_theory_dataset`` does after the noise ("random diffusion coefficients").
    mix : {"recipe", "andi-datasets"}, keyword-only
        Class mix: the published recipe (full per-model ranges, balanced; default) or the
        truncated mix andi-datasets' ``challenge_theory_dataset`` really returns (see
        :func:`andi_class_weights`).
    blocks : (int, int), keyword-only, optional
        Generate only the blocks ``start .. stop-1`` of the dataset of ``n`` tracks (for chunked
        or distributed generation); ``None`` generates all.

    Returns
    -------
    AndiData
        ``X``, ``alpha``, ``model``, ``noise``, ``scale`` and ``to_table()``.

    Notes
    -----
    Per-model alpha ranges: ATTM and CTRW 0.05-1.00, FBM 0.05-1.95, LW 1.05-2.00, SBM
    0.05-2.00 (class mix: :func:`andi_class_weights`). Every axis of every track is normalized to
    unit-std increments before the noise is added.

    References
    ----------
    Muñoz-Gil, G. et al. Objective comparison of methods to decode anomalous diffusion.
    Nat. Commun. 12, 6253 (2021).
    """
    n = check_int(n, "n", 1)
    lo, hi = check_length(length)
    dim = check_dim(dim)
    if task not in ("alpha", "model"):
        raise ValueError(f"task must be 'alpha' or 'model', got {task!r}")
    if mix not in ("recipe", "andi-datasets"):
        raise ValueError(f"mix must be 'recipe' or 'andi-datasets', got {mix!r}")
    if isinstance(rng, np.random.Generator):
        seed = int(rng.integers(0, 2**63 - 1))
    elif rng is None or (
        isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0
    ):
        seed = None if rng is None else int(rng)
        if seed is None:
            seed = int(check_rng(None).integers(0, 2**63 - 1))
    else:
        raise ValueError(
            f"rng must be a non-negative integer seed, a Generator or None, got {rng!r}"
        )
    n_blocks = -(-n // BLOCK_SIZE)
    b0, b1 = (0, n_blocks) if blocks is None else (int(blocks[0]), int(blocks[1]))
    if not 0 <= b0 < b1 <= n_blocks:
        raise ValueError(f"blocks must satisfy 0 <= start < stop <= {n_blocks}, got {blocks!r}")
    models, alphas, p = andi_class_weights(task, bool(include_bm), mix)
    cdf = np.cumsum(p)
    n_sel = min(b1 * BLOCK_SIZE, n) - b0 * BLOCK_SIZE
    fixed = lo == hi
    X_all: np.ndarray | list[np.ndarray] = np.empty((n_sel, hi, dim)) if fixed else []
    out_a, out_m, out_s, out_c = [], [], [], []
    for b, brng in zip(range(b0, b1), spawn_block_rngs(seed, b0, b1 - b0), strict=True):
        m = min(BLOCK_SIZE, n - b * BLOCK_SIZE)
        cls = np.minimum(np.searchsorted(cdf, brng.random(m) * cdf[-1], side="right"), len(p) - 1)
        mod, alp = models[cls], alphas[cls]
        sig = np.asarray(NOISE_LEVELS)[brng.integers(0, 3, m)] if noise else np.zeros(m)
        scale = brng.standard_normal(m) if random_scale else np.ones(m)
        lens = brng.integers(lo, hi + 1, m)
        off = (b - b0) * BLOCK_SIZE
        X = _generate_block(
            mod,
            alp,
            hi,
            dim,
            brng,
            sig if noise else None,
            scale if random_scale else None,
            out=X_all[off : off + m] if fixed else None,
        )
        if not fixed:
            X_all.extend(X[i, : lens[i]] for i in range(m))
        out_a.append(alp)
        out_m.append(mod)
        out_s.append(sig)
        out_c.append(scale)
    return AndiData(
        X=X_all,
        alpha=np.concatenate(out_a).astype(float),
        model=np.concatenate(out_m).astype(str),
        noise=np.concatenate(out_s),
        scale=np.concatenate(out_c),
    )


def andi_model_tracks(
    model: str,
    alpha: float,
    n: int,
    length: int,
    dim: int = 2,
    rng: np.random.Generator | int | None = None,
    *,
    noise: bool = True,
    random_scale: bool = True,
) -> AndiData:
    """AnDi-1 tracks of one model and alpha (same generators and post-processing as :func:`andi`).

    Used to compare with andi-datasets class by class and to build controlled test sets.
    """
    if model not in ANDI_MODELS + ("bm",):
        raise ValueError(f"model must be one of {', '.join(ANDI_MODELS + ('bm',))}, got {model!r}")
    rng = check_rng(rng)
    mod = np.full(n, model)
    alp = np.full(n, float(alpha))
    sig = np.asarray(NOISE_LEVELS)[rng.integers(0, 3, n)] if noise else np.zeros(n)
    scale = rng.standard_normal(n) if random_scale else np.ones(n)
    X = _generate_block(
        mod,
        alp,
        int(length),
        check_dim(dim),
        rng,
        sig if noise else None,
        scale if random_scale else None,
    )
    return AndiData(X=X, alpha=alp, model=mod, noise=sig, scale=scale)
