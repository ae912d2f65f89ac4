"""Classical per-axis diffusion features: the feature-based baseline of the wavelet paper.

Thirty features per spatial axis, following the feature sets of Kowalek, Loch-Olszewska,
Szwabiński (2019, Phys. Rev. E 100, 032410), Janczura et al. (2020, Phys. Rev. E 102,
032402), Loch-Olszewska & Szwabiński (2020, Entropy 22, 1436; AnDi challenge), Pinholt
et al. (2021, PNAS 118, e2104624118) and Meyer et al. (2018, Phys. Rev. E 98, 012134),
as used by the feature baseline of Wang, Zhang, Huang 2025 (arXiv 2512.08510). Each
feature is computed on the 1D series of one axis; all tracks of one length are processed
at once (no per-track Python loop).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.special
import scipy.stats

from ._input import MIN_POINTS, as_track_groups

__all__ = ["FEATURE_NAMES", "features", "feature_columns"]

#: Names of the 30 per-axis features, in column order (suffixed ``_x``, ``_y``, ``_z``).
FEATURE_NAMES: tuple[str, ...] = (
    "alpha",  # 1 slope of log TAMSD vs log lag
    "log_D",  # 2 log generalized diffusion coefficient from the same fit (unit²/frame^alpha)
    "msd_r2",  # 3 R² of the log-log TAMSD fit
    "mean_msd",  # 4 mean TAMSD over the fitted lags (unit²)
    "msd_ratio",  # 5 mean of rho(n)/rho(n+1) - n/(n+1)
    "msd_quadratic",  # 6 quadratic coefficient of rho(n)/rho(1) = a n + b n²
    "efficiency",  # 7 squared end-to-end distance / ((N-1) sum of squared steps)
    "straightness",  # 8 end-to-end distance / path length
    "vacf1",  # 9 normalized step autocorrelation at lag 1
    "max_excursion",  # 10 largest step / range of positions
    "mean_max_excursion",  # 11 mean windowed maximal excursion, standardized
    "std_max_distance",  # 12 max distance from the start / sqrt((N-1) mean step²)
    "p_variation",  # 13 slope of log 2-variation vs log sampling lag
    "asymmetry",  # 14 skewness of the positions
    "kurtosis",  # 15 kurtosis of the positions
    "gaussianity",  # 16 mean over lags of <r^4>/(3<r^2>^2) - 1
    "fractal_dimension",  # 17 Katz-George fractal dimension
    "trappedness",  # 18 Saxton's probability of being trapped
    "residence_mean",  # 19 mean time between crossings of the mean position / N
    "residence_max",  # 20 longest time on one side of the mean position / N
    "mean_step",  # 21 mean absolute step (unit)
    "length",  # 22 number of points
    "normality_logp",  # 23 log p of D'Agostino-Pearson normality test of the steps
    "ks_logp",  # 24 log p of the Kolmogorov-Smirnov test of standardized steps vs N(0,1)
    "noah",  # 25 Noah exponent L (heavy tails of steps)
    "moses",  # 26 Moses exponent M (non-stationarity of step sizes)
    "joseph",  # 27 Joseph exponent J (rescaled range of steps, correlations)
    "dma2",  # 28 detrended moving average over 3 points / mean step²
    "dma4",  # 29 detrended moving average over 5 points / mean step²
    "dma_slope",  # 30 slope of log DMA vs log window
)

_AXES = ("x", "y", "z")
#: Bound on the number of float64 values of the largest temporary array per chunk.
_CHUNK_VALUES = 4_000_000
_TINY = 1e-300


def feature_columns(dim: int) -> list[str]:
    """Column names for ``dim`` axes: ``alpha_x, log_D_x, ..., alpha_y, ...``."""
    return [f"{name}_{_AXES[d]}" for d in range(dim) for name in FEATURE_NAMES]


def _slope(logx: np.ndarray, logy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares line of each row of ``logy`` against the common ``logx``.

    Returns slope, intercept and R² (R² = 1 when the row is constant)."""
    xm = logx - logx.mean()
    sxx = np.sum(xm * xm)
    ym = logy.mean(axis=1, keepdims=True)
    slope = (logy - ym) @ xm / sxx
    intercept = ym[:, 0] - slope * logx.mean()
    resid = logy - (intercept[:, None] + slope[:, None] * logx)
    sst = np.sum((logy - ym) ** 2, axis=1)
    r2 = np.where(
        sst > 1e-24, 1.0 - np.sum(resid**2, axis=1) / np.where(sst > 1e-24, sst, 1.0), 1.0
    )
    return slope, intercept, r2


def _safe_div(a, b, fill=0.0):
    b = np.asarray(b, dtype=float)
    ok = np.abs(b) > _TINY
    return np.where(ok, np.asarray(a) / np.where(ok, b, 1.0), fill)


def _runs_max(b: np.ndarray) -> np.ndarray:
    """Longest run of equal values in each row of a boolean array."""
    n, N = b.shape
    idx = np.broadcast_to(np.arange(N), (n, N))
    change = np.ones((n, N), dtype=bool)
    change[:, 1:] = b[:, 1:] != b[:, :-1]
    start = np.maximum.accumulate(np.where(change, idx, 0), axis=1)
    return (idx - start + 1).max(axis=1)


def _series_features(S: np.ndarray) -> np.ndarray:
    """The 30 features of each row of ``S`` (n_series, N): positions along one axis."""
    n, N = S.shape
    dx = np.diff(S, axis=1)
    n_steps = N - 1
    step2 = np.mean(dx * dx, axis=1)  # mean squared step = TAMSD at lag 1
    abs_dx = np.abs(dx)
    out = np.empty((n, len(FEATURE_NAMES)))
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}

    # --- TAMSD rho(tau), tau = 1..m (m = 10% of the track, at least 4)
    m = max(4, int(np.ceil(0.1 * N)))
    lags = np.arange(1, m + 1)
    rho = np.empty((n, m))
    r4 = np.empty((n, m))
    for j, tau in enumerate(lags):
        d2 = (S[:, tau:] - S[:, :-tau]) ** 2
        rho[:, j] = d2.mean(axis=1)
        r4[:, j] = (d2 * d2).mean(axis=1)
    logrho = np.log(np.maximum(rho, _TINY))
    alpha, intercept, r2 = _slope(np.log(lags), logrho)
    out[:, col["alpha"]] = alpha
    out[:, col["log_D"]] = intercept - np.log(2.0)  # 1D: rho = 2 D tau^alpha
    out[:, col["msd_r2"]] = r2
    out[:, col["mean_msd"]] = rho.mean(axis=1)
    lag_ratio = lags[:-1] / lags[1:]
    ratio = np.where(rho[:, 1:] > _TINY, _safe_div(rho[:, :-1], rho[:, 1:]), lag_ratio) - lag_ratio
    out[:, col["msd_ratio"]] = ratio.mean(axis=1)
    # rho(n)/rho(1) = a n + b n² by least squares (no intercept)
    y = _safe_div(rho, rho[:, :1], fill=0.0)
    A = np.stack([lags, lags**2], axis=1).astype(float)
    coef = np.linalg.lstsq(A, y.T, rcond=None)[0]
    out[:, col["msd_quadratic"]] = coef[1]
    out[:, col["gaussianity"]] = (_safe_div(r4, 3.0 * rho**2, fill=1.0) - 1.0).mean(axis=1)

    # --- path geometry
    end = S[:, -1] - S[:, 0]
    path = abs_dx.sum(axis=1)
    rng_ = S.max(axis=1) - S.min(axis=1)
    out[:, col["efficiency"]] = _safe_div(end**2, n_steps * np.sum(dx * dx, axis=1))
    out[:, col["straightness"]] = _safe_div(np.abs(end), path)
    out[:, col["vacf1"]] = _safe_div(np.mean(dx[:, 1:] * dx[:, :-1], axis=1), step2)
    out[:, col["max_excursion"]] = _safe_div(abs_dx.max(axis=1), rng_)
    win = np.lib.stride_tricks.sliding_window_view(S, m + 1, axis=1)  # (n, N-m, m+1)
    exc = np.abs(win - win[:, :, :1]).max(axis=2).mean(axis=1)
    out[:, col["mean_max_excursion"]] = _safe_div(exc, np.sqrt(m * step2))
    out[:, col["std_max_distance"]] = _safe_div(
        np.abs(S - S[:, :1]).max(axis=1), np.sqrt(n_steps * step2)
    )
    # 2-variation V(k) = sum over non-overlapping k-steps of squared increments
    pv = np.empty((n, m))
    for j, k in enumerate(lags):
        sub = S[:, ::k]
        pv[:, j] = np.sum(np.diff(sub, axis=1) ** 2, axis=1)
    out[:, col["p_variation"]] = _slope(np.log(lags), np.log(np.maximum(pv, _TINY)))[0]

    # --- distribution of positions and steps
    Sc = S - S.mean(axis=1, keepdims=True)
    var = np.mean(Sc * Sc, axis=1)
    out[:, col["asymmetry"]] = _safe_div(np.mean(Sc**3, axis=1), var**1.5)
    out[:, col["kurtosis"]] = _safe_div(np.mean(Sc**4, axis=1), var**2)
    # (N-1) d / L >= 1; a motionless axis counts as a straight path (dimension 1), and the
    # dimension is capped at 20 for paths that retrace one step back and forth
    lr = np.log(_safe_div(n_steps * rng_, path, fill=float(n_steps)).clip(min=1.0))
    out[:, col["fractal_dimension"]] = np.log(n_steps) / np.maximum(lr, np.log(n_steps) / 20.0)
    # Saxton (1993): P = 1 - exp(0.2048 - 0.25117 D t / r²), D from rho(1..4) = 2 D n,
    # t = duration, r = half the largest distance between positions
    D_lin = rho[:, :4] @ lags[:4] / (2.0 * np.sum(lags[:4] ** 2))
    r_half2 = (rng_ / 2.0) ** 2
    out[:, col["trappedness"]] = 1.0 - np.exp(
        0.2048 - 0.25117 * _safe_div(D_lin * n_steps, r_half2)
    )
    side = Sc > 0
    n_runs = 1 + np.sum(side[:, 1:] != side[:, :-1], axis=1)
    out[:, col["residence_mean"]] = 1.0 / n_runs
    out[:, col["residence_max"]] = _runs_max(side) / N
    out[:, col["mean_step"]] = abs_dx.mean(axis=1)
    out[:, col["length"]] = N

    # --- tests of the step distribution (log p-values)
    sd = np.sqrt(np.mean((dx - dx.mean(axis=1, keepdims=True)) ** 2, axis=1))
    moving = sd > 1e-12 * np.maximum(abs_dx.max(axis=1), _TINY)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        p_norm = scipy.stats.normaltest(dx, axis=1).pvalue
    out[:, col["normality_logp"]] = np.where(
        moving, np.log(np.clip(np.nan_to_num(p_norm, nan=1.0), _TINY, 1)), 0.0
    )
    z = np.sort(_safe_div(dx - dx.mean(axis=1, keepdims=True), sd[:, None]), axis=1)
    F = scipy.special.ndtr(z)
    i = np.arange(1, n_steps + 1)
    D_ks = np.maximum((i / n_steps - F).max(axis=1), (F - (i - 1) / n_steps).max(axis=1))
    # Stephens (1970) finite-n correction of the Kolmogorov distribution (vectorized)
    sq = np.sqrt(n_steps)
    p_ks = scipy.special.kolmogorov(D_ks * (sq + 0.12 + 0.11 / sq))
    out[:, col["ks_logp"]] = np.where(moving, np.log(np.clip(p_ks, _TINY, 1)), 0.0)

    # --- Noah, Moses, Joseph exponents (Meyer et al. 2018) from prefix sums of the steps
    t = np.unique(np.round(np.geomspace(4, n_steps, 8)).astype(int))
    logt = np.log(t)
    cum2 = np.cumsum(dx * dx, axis=1)[:, t - 1]  # sum_{i<t} dx² ~ t^(2L+2M-1)
    cum1 = np.cumsum(abs_dx, axis=1)[:, t - 1]  # sum_{i<t} |dx| ~ t^(M+1/2)
    moses = _slope(logt, np.log(np.maximum(cum1, _TINY)))[0] - 0.5
    out[:, col["moses"]] = moses
    out[:, col["noah"]] = (
        _slope(logt, np.log(np.maximum(cum2, _TINY)))[0] + 1.0 - 2.0 * moses
    ) / 2.0
    rs = np.empty((n, t.size))
    for j, tt in enumerate(t):  # rescaled range R/S of the first tt steps ~ tt^J
        seg = dx[:, :tt]
        Y = np.cumsum(seg - seg.mean(axis=1, keepdims=True), axis=1)
        R = np.maximum(Y.max(axis=1), 0.0) - np.minimum(Y.min(axis=1), 0.0)
        rs[:, j] = _safe_div(R, seg.std(axis=1), fill=1.0)
    out[:, col["joseph"]] = _slope(logt, np.log(np.maximum(rs, _TINY)))[0]

    # --- detrended moving average DMA(w) = mean (x_i - mean(x_{i-w..i}))², w = 2, 4, 8, 16
    # (w = 1 is trivially a quarter of the mean squared step)
    ws = [w for w in (2, 4, 8, 16) if w < N // 2]
    dma = np.empty((n, len(ws)))
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(S, axis=1)], axis=1)
    for j, w in enumerate(ws):
        ma = (csum[:, w + 1 :] - csum[:, : N - w]) / (w + 1)
        dma[:, j] = np.mean((S[:, w:] - ma) ** 2, axis=1)
    out[:, col["dma2"]] = _safe_div(dma[:, 0], step2)
    out[:, col["dma4"]] = _safe_div(dma[:, 1], step2)
    out[:, col["dma_slope"]] = _slope(np.log(ws), np.log(np.maximum(dma, _TINY)))[0]
    return out


def features(X) -> pd.DataFrame:
    """Thirty classical diffusion features per axis for each track.

    Parameters
    ----------
    X : array_like (n_tracks, n_points, dim) or (n_points, dim), list of arrays, or DataFrame
        Positions (µm, or pixels: scale-dependent features such as ``log_D``,
        ``mean_msd`` and ``mean_step`` carry the unit; time unit = one frame). A list or
        a track table may mix lengths. At least 20 points per track.

    Returns
    -------
    DataFrame (n_tracks, 30 * dim)
        Columns :func:`feature_columns` ``(dim)``: the :data:`FEATURE_NAMES` of axis x,
        then of y, then of z. Rows in input order (a track table: increasing particle id,
        used as the index). All values finite.

    Notes
    -----
    With the time-averaged MSD :math:`\\rho(n) = \\langle (x_{i+n} - x_i)^2 \\rangle_i`
    for lags :math:`n = 1..m` (:math:`m = \\max(4, \\lceil N/10 \\rceil)`):

    * ``alpha``, ``log_D``, ``msd_r2``: least squares of
      :math:`\\log\\rho(n) = \\log(2D) + \\alpha\\log n` (1D per axis);
    * ``msd_ratio`` (Kowalek 2019): mean of :math:`\\rho(n)/\\rho(n+1) - n/(n+1)`;
    * ``efficiency`` :math:`|x_{N-1} - x_0|^2 / ((N-1)\\sum_i \\Delta x_i^2)` and
      ``straightness`` :math:`|x_{N-1} - x_0| / \\sum_i |\\Delta x_i|` (1 for a straight
      line);
    * ``gaussianity`` (Ernst 2014): mean over lags of
      :math:`\\langle r^4\\rangle / (3\\langle r^2\\rangle^2) - 1` (0 for Gaussian steps in 1D);
    * ``fractal_dimension`` (Katz & George 1985): :math:`\\log(N-1) / \\log((N-1) d / L)`
      with :math:`d` the largest distance between positions and :math:`L` the path length;
    * ``trappedness`` (Saxton 1993): :math:`1 - \\exp(0.2048 - 0.25117\\,D t / r^2)`;
    * ``std_max_distance`` (Janczura 2020): :math:`\\max_i|x_i - x_0| / \\sqrt{(N-1)\\overline{\\Delta x^2}}`;
    * ``p_variation`` (Magdziarz 2009): slope of :math:`\\log V^{(2)}(k)` in
      :math:`\\log k`, :math:`V^{(2)}(k) = \\sum_j (x_{(j+1)k} - x_{jk})^2` (:math:`\\approx \\alpha - 1`);
    * ``noah``, ``moses``, ``joseph`` (Meyer 2018): exponents of the prefix sums
      :math:`\\sum_{i<t}|\\Delta x_i| \\sim t^{M+1/2}`,
      :math:`\\sum_{i<t}\\Delta x_i^2 \\sim t^{2L+2M-1}` and of the rescaled range
      :math:`R/S(t) \\sim t^{J}` (Hurst 1951); all 1/2 for Brownian motion, and
      :math:`H = J + L + M - 1`;
    * ``dma2``, ``dma4``, ``dma_slope`` (Janczura 2020): detrended moving average
      :math:`\\mathrm{DMA}(w) = \\langle(x_i - \\overline{x}^{(w)}_i)^2\\rangle` over the
      :math:`w+1` last points, normalized by the mean squared step, and its log-slope;
    * ``asymmetry``/``kurtosis``: third/fourth standardized moments of the positions
      along the axis (the per-axis analogue of the gyration-tensor features);
      ``residence_mean`` = 1 / number of runs and ``residence_max`` = longest run / N of
      the positions on one side of their mean;
    * ``msd_quadratic``: b of the least squares :math:`\\rho(n)/\\rho(1) = a n + b n^2`;
      ``mean_msd``: mean of :math:`\\rho(n)`; ``vacf1``:
      :math:`\\langle\\Delta x_i\\Delta x_{i+1}\\rangle / \\langle\\Delta x^2\\rangle`;
    * ``max_excursion``: :math:`\\max_i|\\Delta x_i| / (\\max x - \\min x)`;
      ``mean_max_excursion``: mean over start points of
      :math:`\\max_{0<k\\le m}|x_{i+k} - x_i|`, divided by :math:`\\sqrt{m\\,\\overline{\\Delta x^2}}`;
    * ``normality_logp``: log p-value of D'Agostino-Pearson's test of the steps;
      ``ks_logp``: log p-value of Kolmogorov-Smirnov's test of the standardized steps
      against N(0, 1) (Stephens' finite-n approximation of the Kolmogorov distribution);
      both 0 for an axis without motion;
    * ``mean_step`` :math:`\\langle|\\Delta x|\\rangle`, ``length`` N.

    Divisions by zero (a track that does not move along an axis) give 0 (``log_D`` the log
    of a 1e-300 floor, ``fractal_dimension`` 1), never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sptmotion.represent import features
    >>> X = np.random.default_rng(0).normal(size=(5, 100, 2)).cumsum(axis=1)
    >>> features(X).shape
    (5, 60)
    """
    batch = as_track_groups(X, name="X", min_points=MIN_POINTS)
    dim = batch.dim
    values = np.empty((batch.n_tracks, dim * len(FEATURE_NAMES)))
    n_feat = dim * len(FEATURE_NAMES)
    for idx, arr in batch.groups:
        n, N, _ = arr.shape
        # chunks of tracks bound the temporaries (windows of m+1 points per start: ~N*m/10)
        step = max(1, _CHUNK_VALUES // (dim * N * max(4, N // 10)))
        for a in range(0, n, step):
            b = min(n, a + step)
            S = arr[a:b].transpose(0, 2, 1).reshape((b - a) * dim, N)
            values[idx[a:b]] = _series_features(S).reshape(b - a, n_feat)
    if not np.all(np.isfinite(values)):  # pragma: no cover - guarded above; last resort
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    index = pd.Index(batch.particles, name="particle") if batch.particles is not None else None
    return pd.DataFrame(values, columns=feature_columns(dim), index=index)
