"""Training tracks as a camera records them: AnDi-1 motion, BM and DBM through a measurement model.

:func:`measured_andi` draws the motion of each track from the AnDi-1 recipe (:func:`andi`, with
Brownian motion as the null class) or directed Brownian motion, then applies what a widefield
camera does to it:

1. **Motion blur.** The motion is generated on ``subframes`` K points per frame (the model's
   own time step is ``dt / K``); each frame records the mean of the first ``m`` points of its
   frame period, ``m = max(1, round(f K))`` for an exposure ratio ``f = t_E / dt`` drawn
   uniformly in ``exposure_ratio`` (``f = 0``: an instantaneous position).
2. **Diffusivity.** Positions are multiplied by ``sqrt(D)`` with ``D`` log-uniform over
   ``D_range`` (three decades by default), so the learners see tracks of every scale.
3. **Localization noise.** White Gaussian noise per axis with ``sigma = s / snr``, where ``s`` is
   the standard deviation of the track's recorded frame-to-frame steps and ``snr`` is
   log-uniform in ``snr_range``; a fraction ``noise_free`` of the tracks gets none.
4. **Missing frames.** Each interior frame is dropped with a probability drawn uniformly in
   ``missing`` per track (blinking, failed detections); the table then has gaps.

Lengths are log-uniform in ``lengths`` (20-1000 points by default: the learners' shortest is 20),
before frames go missing.
The labels (``model``, ``alpha``) are those of the motion; the measurement parameters are
stored per track (``D``, ``exposure_ratio``, ``snr``, ``sigma``, ``missing``) so that a learner
or a benchmark can condition on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._checks import BLOCK_SIZE, check_dim, check_int
from .andi_recipe import andi

__all__ = ["measured_andi", "MEASURED_DEFAULTS"]

#: Default ranges of the measurement model.
MEASURED_DEFAULTS = {
    "lengths": (20, 1000),
    "exposure_ratio": (0.0, 1.0),
    "D_range": (0.01, 10.0),
    "snr_range": (0.5, 20.0),
    "noise_free": 0.2,
    "missing": (0.0, 0.2),
    "subframes": 4,
}


def _loguniform(rng, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def measured_andi(
    n: int,
    *,
    dim: int = 2,
    task: str = "model",
    rng: int | None = 0,
    include_dbm: bool = True,
    blocks: tuple[int, int] | None = None,
    **ranges,
) -> pd.DataFrame:
    """AnDi-1 (+ BM, DBM) tracks through motion blur, random D, localization noise, missing frames.

    Parameters
    ----------
    n : int
        Number of tracks.
    dim : {1, 2, 3}
        Spatial dimension.
    task : {"alpha", "model"}
        Class balance of the AnDi-1 draws (see :func:`sptmotion.datasets.andi`).
    rng : int, optional
        Seed; block ``b`` of :data:`sptmotion._checks.BLOCK_SIZE` tracks is generated from it
        alone, so the same seed gives the same table however the blocks are split.
    include_dbm : bool
        Make one track in seven directed Brownian motion (``model = "dbm"``, alpha 1; drift per
        frame 0.2-2 times the step standard deviation, random direction).
    blocks : (int, int), optional
        Generate only the blocks ``start .. stop-1`` (chunked or distributed generation).
    **ranges
        Override :data:`MEASURED_DEFAULTS`: ``lengths``, ``exposure_ratio``, ``D_range``,
        ``snr_range``, ``noise_free``, ``missing``, ``subframes``.

    Returns
    -------
    DataFrame
        Long-form table (``particle, frame, x[, y, z]``) with the per-track labels ``model``,
        ``alpha``, ``D`` (relative units²/frame^alpha), ``exposure_ratio``, ``snr`` (inf without
        noise), ``sigma`` and ``missing``; frames missing inside a track are absent rows.
    """
    n = check_int(n, "n", 1)
    dim = check_dim(dim)
    unknown = set(ranges) - set(MEASURED_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown measurement setting(s): {', '.join(sorted(unknown))}")
    opt = {**MEASURED_DEFAULTS, **ranges}
    lo, hi = (int(v) for v in opt["lengths"])
    if not 10 <= lo <= hi:
        raise ValueError(f"lengths must satisfy 10 <= min <= max, got {opt['lengths']!r}")
    K = check_int(opt["subframes"], "subframes", 1)
    seed = 0 if rng is None else check_int(rng, "rng", 0)
    n_blocks = -(-n // BLOCK_SIZE)
    b0, b1 = (0, n_blocks) if blocks is None else (int(blocks[0]), int(blocks[1]))
    tables = []
    for b in range(b0, b1):
        m = min(BLOCK_SIZE, n - b * BLOCK_SIZE)
        motion = andi(
            n,
            hi * K,
            dim,
            task,
            rng=seed,
            include_bm=True,
            noise=False,
            random_scale=False,
            blocks=(b, b + 1),
        )
        brng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b, 1)))
        tables.append(_measure(motion, m, b * BLOCK_SIZE, K, opt, brng, include_dbm))
    return pd.concat(tables, ignore_index=True)


def _unit_steps(x: np.ndarray) -> np.ndarray:
    """The part of the track kept, with unit root-mean-square increments per axis (the AnDi
    normalization, by RMS so that a ballistic stretch with constant steps keeps its scale);
    axes that never move are left as they are."""
    inc = np.diff(x, axis=0, prepend=x[:1])
    with np.errstate(invalid="ignore", over="ignore"):
        sd = np.sqrt(np.mean(inc[1:] ** 2, axis=0))
    ok = np.isfinite(sd) & (sd > 0)
    inc[:, ok] /= sd[ok]
    inc[~np.isfinite(inc)] = 0.0
    return np.cumsum(inc, axis=0)


def _measure(motion, m: int, offset: int, K: int, opt: dict, rng, include_dbm: bool):
    """The measurement model applied to one block of ``m`` fine-grid tracks."""
    X = np.asarray(motion.X)  # (m, hi*K, dim), unit-std fine increments
    dim = X.shape[2]
    model = motion.model.astype(object)
    alpha = motion.alpha.copy()
    lengths = np.floor(_loguniform(rng, opt["lengths"][0], opt["lengths"][1] + 1, m)).astype(int)
    lengths = np.clip(lengths, opt["lengths"][0], opt["lengths"][1])
    f = rng.uniform(*opt["exposure_ratio"], m)
    D = _loguniform(rng, *opt["D_range"], m)
    snr = _loguniform(rng, *opt["snr_range"], m)
    snr[rng.random(m) < opt["noise_free"]] = np.inf
    p_miss = rng.uniform(*opt["missing"], m)
    dbm = (rng.random(m) < 1 / 7) if include_dbm else np.zeros(m, bool)
    drift_size = rng.uniform(0.2, 2.0, m)
    direction = rng.standard_normal((m, dim))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    rows = []
    sigma = np.zeros(m)
    for i in range(m):
        L = lengths[i]
        fine = _unit_steps(X[i, : L * K]).reshape(L, K, dim)
        if dbm[i]:  # BM steps plus a constant drift (alpha 1)
            fine = np.cumsum(rng.standard_normal((L * K, dim)), axis=0).reshape(L, K, dim)
            fine = fine + drift_size[i] * np.sqrt(K) * direction[i] * (
                np.arange(L * K).reshape(L, K, 1) / K
            )
            model[i], alpha[i] = "dbm", 1.0
        n_avg = max(1, int(round(f[i] * K)))
        frames = fine[:, :n_avg].mean(axis=1) * np.sqrt(D[i])
        step = np.std(np.diff(frames, axis=0)) if L > 1 else 0.0
        if np.isfinite(snr[i]) and step > 0:
            sigma[i] = step / snr[i]
            frames = frames + sigma[i] * rng.standard_normal(frames.shape)
        keep = rng.random(L) >= p_miss[i]
        keep[0] = keep[-1] = True
        idx = np.flatnonzero(keep)
        rows.append((idx, frames[idx]))
    counts = np.array([len(r[0]) for r in rows])
    data = {
        "particle": np.repeat(np.arange(offset, offset + m), counts),
        "frame": np.concatenate([r[0] for r in rows]),
    }
    pos = np.concatenate([r[1] for r in rows])
    for k, ax in enumerate("xyz"[:dim]):
        data[ax] = pos[:, k]
    labels = {
        "model": model.astype(str),
        "alpha": alpha,
        "D": D,
        "exposure_ratio": f,
        "snr": snr,
        "sigma": sigma,
        "missing": p_miss,
    }
    for key, val in labels.items():
        data[key] = np.repeat(np.asarray(val), counts)
    return pd.DataFrame(data)
