"""Likelihood-based model selection between the Gaussian motion models (BIC).

Each candidate model is fitted to each track by maximum likelihood; the Bayesian information
criterion ``BIC = −2·log L̂ + k·ln n`` (``k`` free parameters, ``n = (n_points − 1)·dim``
observed increments) approximates ``−2·log p(data | model)``, so the normalized weights
``exp(−BIC/2)`` approximate posterior model probabilities under equal prior odds
(Schwarz 1978; Kass & Raftery 1995).

References
----------
Schwarz, G. (1978). Estimating the dimension of a model. Ann. Stat. 6, 461-464.
Kass, R. E. & Raftery, A. E. (1995). Bayes factors. J. Am. Stat. Assoc. 90, 773-795.
Monnier, N. et al. (2012). Bayesian approach to MSD-based analysis of particle motion in live
cells. Biophys. J. 103, 616-626.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .._checks import check_positions, check_positive
from .base import get_model

__all__ = ["select"]


def select(
    positions,
    dt: float,
    candidates: Sequence[str] = ("bm", "dbm", "fbm", "sbm"),
    sigma_loc: float = 0.0,
) -> pd.DataFrame:
    """Per-track model selection by BIC among motion models with a likelihood.

    Parameters
    ----------
    positions : array_like, shape (n_tracks, n_points, dim) or (n_points, dim)
        Positions in µm on a regular grid (at least 3 points per track).
    dt : float
        Time step in s.
    candidates : sequence of str
        Model names (``MODELS`` keys) with an exact likelihood. BM, the null model, is
        always added if missing.
    sigma_loc : float
        Localization noise (µm) accounted for in every likelihood.

    Returns
    -------
    pandas.DataFrame
        One row per track with, for each candidate ``m``: ``loglik_m``, ``n_params_m``,
        ``bic_m`` and ``p_m`` (approximate posterior probability, the ``p_*`` sum to 1), and
        ``best``: the candidate with the smallest BIC. A track where no candidate can be
        fitted (all increments zero) gets NaN probabilities and ``best = None``.

    Examples
    --------
    >>> from sptmotion.motion import MODELS, select
    >>> X, _ = MODELS["fbm"](alpha=0.4, D=0.1).sample(5, 200, dim=2, dt=0.03, rng=0)
    >>> select(X, dt=0.03)["best"].tolist()   # doctest: +SKIP
    ['fbm', 'fbm', 'fbm', 'fbm', 'fbm']
    """
    X = check_positions(positions, min_points=3)
    dt = check_positive(dt, "dt")
    sigma_loc = check_positive(sigma_loc, "sigma_loc", allow_zero=True)
    if isinstance(candidates, str):
        candidates = (candidates,)
    names: list[str] = []
    for name in ("bm", *candidates):
        key = str(name).lower()
        cls = get_model(key)
        if not cls.has_likelihood:
            raise ValueError(
                f"motion model {key!r} has no tractable likelihood; it cannot be a candidate"
            )
        if key not in names:
            names.append(key)
    n_obs = (X.shape[1] - 1) * X.shape[2]
    out: dict[str, np.ndarray] = {}
    bic = np.empty((X.shape[0], len(names)))
    for j, key in enumerate(names):
        est = get_model(key).fit(X, dt=dt, sigma_loc=sigma_loc)
        ll = est["log_likelihood"].to_numpy()
        k = est["n_params"].to_numpy()
        bic[:, j] = np.where(np.isfinite(ll), -2.0 * ll + k * np.log(n_obs), np.inf)
        out[f"loglik_{key}"] = ll
        out[f"n_params_{key}"] = k
        out[f"bic_{key}"] = bic[:, j]
    log_w = -0.5 * bic
    defined = np.any(np.isfinite(bic), axis=1)  # e.g. a track that never moves: no fit at all
    prob = np.full_like(bic, np.nan)
    if np.any(defined):
        lw = log_w[defined]
        prob[defined] = np.exp(lw - logsumexp(lw, axis=1, keepdims=True))
    for j, key in enumerate(names):
        out[f"p_{key}"] = prob[:, j]
    best = np.asarray(names, dtype=object)[np.argmin(bic, axis=1)]
    out["best"] = np.where(defined, best, None)
    return pd.DataFrame(out)
