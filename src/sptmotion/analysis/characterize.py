"""Per-track characterization: learned alpha and model, likelihood fits through the measurement model.

Posterior-aware verdicts
------------------------
Hendrix, Xu, Pressé (2025) warn that localization error biases motion classification: a
point-estimate track carries its localization noise into the learned verdict, as if it were
motion. With the Bayesian tracker each track comes with posterior sample tracks
``x^(s), s = 1..S``. The learned models are run over every sample and combined by the law of
total variance,

    alpha_post        = mean_s  mu_s
    Var(alpha_post)   = mean_s  sigma_s^2   +   Var_s(mu_s)
                        (model uncertainty)     (localization / tracking uncertainty)

where ``mu_s, sigma_s`` are the regressor's predictive mean and std on sample ``s``; the
second term is reported separately as ``alpha_post_spread``. Model probabilities are
averaged over the samples, ``p_post(m) = mean_s p_s(m)`` (a Monte-Carlo estimate of the
posterior predictive class probability), with their spread ``std_s p_s(m)``. The verdict is
the most probable class of ``p_post`` (``learned_verdict``).

Verdict
-------
The ``verdict`` column combines the two kinds of evidence, each where it is sound:

- The Gaussian models (BM, FBM, SBM, DBM) have an exact likelihood through the measurement
  model (motion blur, localization noise, gaps; :func:`sptmotion.motion.select_measured`):
  BM is the null, rejected only at the 5% level, and among the alternatives that reject it
  the smallest BIC wins (``mle_best``).
- The non-Gaussian models (CTRW, ATTM, LW: :data:`NON_GAUSSIAN`) have no such likelihood
  here; only the learned classifier sees them. Its probabilities (posterior-averaged for
  Bayesian tracks) give ``p_ng`` per non-Gaussian class and ``gaussian_p = 1 - sum p_ng``.

Rule, with ``NON_GAUSSIAN_MIN_P = 0.5`` and ``GAUSSIAN_MIN_P = 0.3``:

1. a non-Gaussian class with learned probability ``>= 0.5`` is the verdict
   (``verdict_source = "learned"``, ``verdict_p`` = that probability);
2. otherwise, if ``gaussian_p >= 0.3``, the likelihood's model ``mle_best`` is the verdict
   (``"likelihood"``, ``verdict_p = gaussian_p x`` its BIC weight); without a likelihood fit,
   the learned Gaussian class if its probability is ``>= 0.5``;
3. otherwise ``"inconclusive"`` (the classifier doubts the Gaussian models but names no
   non-Gaussian one; ``verdict_p`` = the larger of the two probabilities that fell short).

Claiming a non-Gaussian model takes learned evidence that outweighs all others, as rejecting
BM takes a 5% test: the non-Gaussian threshold is the most accurate on a grid that keeps BM
tracks called another model at or below 5% for tracks of 100 and of 300 points
(``bench_verdict.py --sweep``, other tracks than the reported run); the Gaussian-family
threshold 0.3 costs at most 0.001 of accuracy there against none and keeps the
"inconclusive" answer. On measured AnDi + BM tracks the verdict is then right more often
than the likelihood alone and calls about 5% of BM tracks another model
(``benchmarks/results/verdict``).

Without learned probabilities the verdict is the likelihood's alone. ``bm_compatible`` is a
likelihood statement: ``mle_best`` is BM or the alpha interval contains 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .._checks import check_rng
from .._parallel import available_cores, torch_thread_count, torch_threads
from ..motion.measured import fit_cores
from .mle import measured_columns
from .pretrained import LearnedModels
from .trackset import TrackSet

__all__ = [
    "MAX_TRACK_POINTS",
    "ALPHA_CI",
    "NON_GAUSSIAN",
    "NON_GAUSSIAN_MIN_P",
    "GAUSSIAN_MIN_P",
    "Z_ALPHA",
    "likelihood_table",
    "characterize",
    "learned_measurement",
    "mle_from_localizations",
]


#: Motion models without a Gaussian likelihood: only the learned classifier speaks for them.
NON_GAUSSIAN = ("attm", "ctrw", "lw")
#: Learned probability a non-Gaussian model needs to be the verdict, and the learned
#: probability of the Gaussian family below which the likelihood's model is not taken
#: (module docstring, "Verdict"; chosen in ``benchmarks/bench_verdict.py`` on other seeds).
NON_GAUSSIAN_MIN_P = 0.5
GAUSSIAN_MIN_P = 0.3

#: Two-sided level of the alpha intervals (normal quantile 1.959964).
ALPHA_CI = 0.95


Z_ALPHA = 1.959963984540054


def _learned(
    models: LearnedModels, X: np.ndarray, measurement: dict | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """alpha, its predictive std and class probabilities for tracks ``X (n, L, dim)``;
    ``measurement`` (per track exposure ratio and sigma) for models that read it."""
    from ..learn import predict_tracks

    alpha, std, proba = predict_tracks(
        models.regressor, models.classifier, X, measurement=measurement
    )
    return (
        np.asarray(alpha, dtype=float).reshape(-1),
        np.asarray(std, dtype=float).reshape(-1),
        np.asarray(proba, dtype=float).reshape(len(X), -1),
    )


def _alpha_interval(alpha: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% interval ``alpha +- Z_ALPHA std`` cut to the exponents that exist, [0, 2] (but
    never past the point estimate itself)."""
    lo = np.maximum(alpha - Z_ALPHA * std, np.minimum(0.0, alpha))
    hi = np.minimum(alpha + Z_ALPHA * std, np.maximum(2.0, alpha))
    return lo, hi


def learned_measurement(trackset: TrackSet, idx: Sequence[int]) -> dict:
    """What the learned models are told of the measurement of tracks ``idx``: the same as the
    likelihood fits assume.

    ``exposure_ratio`` = exposure / dt for every track; ``sigma`` (µm): ``sigma_loc`` when it
    is a number, the root-mean-square of the track's per-point standard deviations when the
    fits take the tracker's variances as they are (``"tracker"``, also after a movie's
    calibration), unknown (NaN) when the fits estimate it (``"auto"``). Only learners built
    with ``measurement_inputs`` read them.
    """
    n = len(idx)
    ratio = np.full(n, float(trackset.exposure) / float(trackset.dt))
    sigma = np.full(n, np.nan)
    if isinstance(trackset.sigma_loc, int | float):
        sigma[:] = float(trackset.sigma_loc)
    elif trackset.sigma_loc == "tracker" and trackset.point_var is not None:
        for k, i in enumerate(idx):
            v = trackset.point_var[i]
            if v is not None and len(v):
                sigma[k] = float(np.sqrt(np.mean(np.asarray(v, dtype=float))))
    return {"exposure_ratio": np.clip(ratio, 0.0, 1.0), "sigma": sigma}


def likelihood_table(trackset: TrackSet) -> pd.DataFrame:
    """The ``mle_*`` columns (fits through the measurement model) of every track of a TrackSet.

    The same fits :func:`characterize` adds to its table: on the observed points with their
    frames, the TrackSet's exposure and localization noise (:mod:`.mle`).
    """
    return _mle(trackset, list(range(len(trackset.tracks))))


def _mle(trackset: TrackSet, idx: Sequence[int]) -> pd.DataFrame:
    """Likelihood fits (measurement model) and the TAMSD alpha of tracks ``idx``."""
    from ..datasets import group_by_length
    from ..motion.msd import fit_tamsd_alpha

    obs = trackset.observed or trackset.tracks
    frames = trackset.observed_frames
    pvar = trackset.point_var
    out = measured_columns(
        [obs[i] for i in idx],
        trackset.dt,
        frames=None if frames is None else [frames[i] for i in idx],
        point_var=None if pvar is None else [pvar[i] for i in idx],
        exposure=trackset.exposure,
        sigma_loc=trackset.sigma_loc,
    )
    out.index = list(idx)
    tamsd = np.full(len(idx), np.nan)
    for sub, X in group_by_length([trackset.tracks[i] for i in idx]).values():
        tamsd[sub] = fit_tamsd_alpha(X, trackset.dt)["alpha"].to_numpy(dtype=float)
    out["tamsd_alpha"] = tamsd
    return out


#: Longest track analyzed (points): the likelihood fits cost O(n^3) per track length, and
#: longer recordings are better split into segments (each analyzed as a track).
MAX_TRACK_POINTS = 5000


def _unusable(track: np.ndarray, min_len: int) -> str:
    """Why a track cannot be characterized ("" if it can): too short, too long, or immobile."""
    n = len(track)
    if n < min_len:
        return f"track has {n} points; the learned models need at least {min_len}"
    if n > MAX_TRACK_POINTS:
        return (
            f"track has {n:,} points; at most {MAX_TRACK_POINTS:,} per track are analyzed "
            "(split it into segments)"
        )
    if not np.any(np.abs(np.diff(track, axis=0)) > 1e-9):
        return "immobile track: the position never changes (a stuck or fixed particle?)"
    return ""


def _posterior_learned(
    trackset: TrackSet,
    models: LearnedModels,
    idx: Sequence[int],
    max_samples: int,
    rng: np.random.Generator,
) -> pd.DataFrame | None:
    """Learned models over the posterior sample tracks of tracks ``idx`` (one dimension):
    the ``*_post`` columns (module docstring), or None without samples.

    Tracks of one length form a group whose tracks all need at least two samples; each
    track of a group contributes the same number of samples (the group's smallest count, at
    most ``max_samples``, drawn without replacement with ``rng``). All groups' samples run
    through the models in one call.
    """
    if trackset.samples is None:
        return None
    classes = models.classes
    groups: dict[int, list[int]] = {}
    for i in idx:
        groups.setdefault(len(trackset.tracks[i]), []).append(int(i))
    parts = []  # (track indices, S)
    XS: list[np.ndarray] = []
    meas: dict[str, list[np.ndarray]] = {}
    for _L, gi in sorted(groups.items()):
        samp = [trackset.samples[i] for i in gi]
        if not all(s is not None and len(s) >= 2 for s in samp):
            continue
        S = min(min(len(s) for s in samp), int(max_samples))
        for s in samp:
            pick = rng.choice(len(s), size=S, replace=False) if len(s) > S else np.arange(S)
            xs = np.asarray(s)[pick]
            XS.extend(xs - xs[:, :1])
        for k, v in learned_measurement(trackset, gi).items():
            meas.setdefault(k, []).append(np.repeat(v, S))
        parts.append((gi, S))
    if not parts:
        return None
    mu_all, sig_all, ps_all = _learned(models, XS, {k: np.concatenate(v) for k, v in meas.items()})
    blocks = []
    start = 0
    for gi, S in parts:
        stop = start + len(gi) * S
        mu = mu_all[start:stop].reshape(len(gi), S)
        sig = sig_all[start:stop].reshape(len(gi), S)
        ps = ps_all[start:stop].reshape(len(gi), S, -1)
        start = stop
        block = pd.DataFrame(index=gi)
        spread = mu.std(axis=1, ddof=1)
        total = np.sqrt(np.mean(sig**2, axis=1) + spread**2)
        block["alpha_post"] = mu.mean(axis=1)
        block["alpha_post_std"] = total
        block["alpha_post_spread"] = spread
        block["alpha_post_lo"], block["alpha_post_hi"] = _alpha_interval(
            block["alpha_post"].to_numpy(dtype=float), total
        )
        for k, c in enumerate(classes):
            block[f"p_{c}_post"] = ps[:, :, k].mean(axis=1)
            block[f"p_{c}_post_std"] = ps[:, :, k].std(axis=1, ddof=1)
        block["n_posterior_samples"] = S
        blocks.append(block)
    return pd.concat(blocks, axis=0)


def characterize(
    trackset: TrackSet,
    models: LearnedModels,
    *,
    max_samples: int = 50,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Characterize every track: learned alpha and model probabilities, MLE selection.

    The learned models run once over all tracks of one dimension (batched by length). Tracks
    shorter than the learned models' minimum, longer than :data:`MAX_TRACK_POINTS` or immobile get a row with an ``error`` message
    and no numbers.

    Parameters
    ----------
    trackset : TrackSet
        Tracks in µm, frame period in s, optional posterior sample tracks.
    models : LearnedModels
        The alpha regressor and model classifier.
    max_samples : int
        At most this many posterior sample tracks per track (drawn without replacement
        with ``rng`` when more are available).
    rng : Generator or int, optional
        Chooses the posterior samples.

    Returns
    -------
    DataFrame
        One row per track; columns described in :func:`analyze_table`.
    """
    rng = check_rng(rng)
    classes = models.classes
    min_len = models.min_length
    rows = pd.DataFrame(
        {
            "particle": np.asarray(trackset.particles),
            "tracker": trackset.source,
            "n_points": [len(tr) for tr in trackset.tracks],
            "dim": [tr.shape[1] for tr in trackset.tracks],
        }
    )
    rows["error"] = [_unusable(tr, min_len) for tr in trackset.tracks]
    short = rows["error"].to_numpy() != ""
    # one batched call of the learned models per dimension (their transform batches tracks of
    # similar lengths itself); posterior samples in groups of one length
    by_dim: dict[int, list[int]] = {}
    for i in np.flatnonzero(~short):
        by_dim.setdefault(trackset.tracks[i].shape[1], []).append(int(i))
    blocks = []
    usable = np.flatnonzero(~short).tolist()
    split = _core_split() if usable and trackset.fit_motion else None
    with ThreadPoolExecutor(1, thread_name_prefix="sptmotion-fits") as pool:
        # the likelihood fits on their share of the cores while the networks run
        fits = pool.submit(_mle_on, trackset, usable, split[1]) if split else None
        with torch_threads(split[0]) if split else contextlib.nullcontext():
            for _d, idx in sorted(by_dim.items()):
                X0 = [trackset.tracks[i] - trackset.tracks[i][:1] for i in idx]
                alpha, std, proba = _learned(models, X0, learned_measurement(trackset, idx))
                block = pd.DataFrame(index=idx)
                block["alpha"] = alpha
                block["alpha_std"] = std
                block["alpha_lo"], block["alpha_hi"] = _alpha_interval(alpha, std)
                for k, c in enumerate(classes):
                    block[f"p_{c}"] = proba[:, k]
                post = _posterior_learned(trackset, models, idx, max_samples, rng)
                if post is not None:
                    block = block.join(post)
                blocks.append(block)
        if usable:
            block = pd.concat(blocks, axis=0)
            if trackset.fit_motion:
                block = block.join(fits.result() if fits else _mle(trackset, usable))
            rows = rows.join(block, how="left")
    for key, values in trackset.extra.items():
        rows[key] = list(values)
    return _verdicts(rows, classes)


def _core_split() -> tuple[int, int] | None:
    """Cores for the networks and for the likelihood fits when :func:`characterize` runs them at
    once: half of torch's threads each (at least one), or None when torch has one thread (a
    batch worker) or the process one core. On two cores the mixed-length set of
    ``benchmarks/bench_analyze_speed.py`` (10,000 tracks) took 17% less time: torch's
    convolutions on small tensors use a second thread poorly, the fits (LAPACK, no GIL) well.
    """
    n = min(torch_thread_count(), available_cores())
    if n < 2:
        return None
    return n // 2, n - n // 2


def _mle_on(trackset: TrackSet, idx: Sequence[int], cores: int) -> pd.DataFrame:
    """:func:`_mle` with the fits on at most ``cores`` cores (run in its own thread)."""
    with fit_cores(cores):
        return _mle(trackset, idx)


def _verdicts(rows: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Verdict columns: learned evidence for the non-Gaussian models, the likelihood through
    the measurement model for the Gaussian ones (module docstring, "Verdict")."""
    n = len(rows)
    post = all(f"p_{c}_post" in rows for c in classes)
    pcols = [f"p_{c}_post" if post else f"p_{c}" for c in classes]
    P = None
    if classes and all(c in rows for c in pcols):
        P = rows[pcols].to_numpy(dtype=float)
        ok = np.all(np.isfinite(P), axis=1)
        best = np.where(ok, np.argmax(np.nan_to_num(P, nan=-1.0), axis=1), 0)
        rows["learned_verdict"] = np.where(ok, np.asarray(classes, dtype=object)[best], "")
        rows["learned_verdict_p"] = np.where(ok, P[np.arange(n), best], np.nan)
    if "mle_best" in rows:
        mb = rows["mle_best"]
        has = (mb.notna() & (mb.astype(str) != "None") & (mb.astype(str) != "nan")).to_numpy()
        lik = np.where(has, mb.astype(str), "")
        lik_p = np.full(n, np.nan)
        for m in set(lik) - {""}:
            sel = lik == m
            lik_p[sel] = rows.loc[sel, f"mle_p_{m}"].to_numpy(dtype=float)
    else:
        has = np.zeros(n, dtype=bool)
        lik, lik_p = np.full(n, "", dtype=object), np.full(n, np.nan)
    verdict = np.where(has, lik, "").astype(object)
    vp = np.where(has, lik_p, np.nan)
    source = np.where(has, "likelihood", "").astype(object)
    gauss_p = np.full(n, np.nan)
    if P is not None:
        ok = np.all(np.isfinite(P), axis=1)
        non_g = [k for k, c in enumerate(classes) if c in NON_GAUSSIAN]
        pn = P[:, non_g] if non_g else np.zeros((n, 1))
        top = np.argmax(pn, axis=1)
        p_top = pn[np.arange(n), top]
        gauss_p = np.where(ok, 1.0 - pn.sum(axis=1), np.nan)
        learned_non_g = ok & (p_top >= NON_GAUSSIAN_MIN_P)
        if non_g:
            names = np.asarray(classes, dtype=object)[non_g]
            verdict[learned_non_g] = names[top[learned_non_g]]
            vp[learned_non_g] = p_top[learned_non_g]
            source[learned_non_g] = "learned"
        gaussian = ok & ~learned_non_g & (gauss_p >= GAUSSIAN_MIN_P)
        # Gaussian family: the likelihood's model; its probability = P(family) x BIC weight
        vp[gaussian & has] = gauss_p[gaussian & has] * lik_p[gaussian & has]
        # no likelihood answer (fit switched off): the learned Gaussian class, if it is sure
        only = gaussian & ~has
        lv = rows["learned_verdict"].to_numpy(dtype=object)
        lvp = rows["learned_verdict_p"].to_numpy(dtype=float)
        sure = only & (lvp >= NON_GAUSSIAN_MIN_P)
        verdict[sure], vp[sure], source[sure] = lv[sure], lvp[sure], "learned"
        undecided = ok & ~learned_non_g & ((gauss_p < GAUSSIAN_MIN_P) | (only & ~sure))
        verdict[undecided] = "inconclusive"
        vp[undecided] = np.maximum(p_top, gauss_p)[undecided]
        source[undecided] = "none"
    rows["verdict"] = verdict
    rows["verdict_p"] = vp
    rows["verdict_source"] = source
    rows["gaussian_p"] = gauss_p
    if "mle_best" in rows:
        lo = rows["mle_alpha_lo"].to_numpy(dtype=float)
        hi = rows["mle_alpha_hi"].to_numpy(dtype=float)
        rows["bm_compatible"] = has & ((lik == "bm") | ((lo <= 1.0) & (hi >= 1.0)))
    else:
        rows["bm_compatible"] = False
    return rows


def mle_from_localizations(
    res_b: pd.DataFrame, loc_ts: TrackSet, n_frames, classes: Sequence[str]
) -> pd.DataFrame:
    """Give each Bayesian track the likelihood answer of its own localizations.

    The Bayesian posterior-mean tracks are smoothed under the tracker's Brownian prior; fitting
    motion models to them would report the prior. Each emitter instead gets the ``mle_*``
    columns of its localizations (:func:`emitter_localizations`), named in ``mle_source``
    (with the emitter's number of frames: ``n_frames``, an int or a mapping particle -> int).
    """
    res_b = res_b.copy()
    res_b["mle_source"] = "none: no localizations (run with the modular tracker)"
    if not loc_ts.tracks:
        return _verdicts(res_b, classes)
    mle = likelihood_table(loc_ts)
    for c in mle.columns:
        if c not in res_b:
            res_b[c] = pd.Series([np.nan] * len(res_b), dtype=mle[c].dtype, index=res_b.index)
    for k, m in enumerate(loc_ts.particles):
        hit = res_b.index[res_b["particle"] == m]
        if not len(hit):
            continue
        for c in mle.columns:
            res_b.at[hit[0], c] = mle[c].iloc[k]
        res_b.at[hit[0], "mle_source"] = (
            f"localizations: {len(loc_ts.observed[k])} of "
            f"{n_frames[m] if isinstance(n_frames, dict) else n_frames} frames"
        )
    return _verdicts(res_b, classes)
