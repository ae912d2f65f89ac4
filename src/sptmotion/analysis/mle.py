"""Likelihood-based characterization of tracks through the measurement model.

Every track is fitted by maximum likelihood under BM, DBM, FBM and SBM with motion blur over the
exposure and localization noise (:func:`sptmotion.motion.fit_measured`), on its observed points
only (missing frames are exact for these Gaussian models, nothing is interpolated). BM is the
null model: :func:`sptmotion.motion.select_measured` rejects it at :data:`LEVEL` by
likelihood-ratio tests, and the reported alpha is that of the selected model's likelihood (SBM
when SBM is selected, FBM otherwise). CTRW, ATTM and LW have no Gaussian likelihood and are not
tested here; the learned classifier's probabilities speak for them.

Localization noise ``sigma_loc``:

- ``"auto"``: estimated per track jointly with the motion (``σ >= 0``);
- a number (µm): fixed, the same for every point;
- ``"tracker"``: the tracker's per-point variances as they are (movies: the localizations'
  Fisher variances); with per-point variances, ``"auto"`` estimates one factor on them per
  track. A movie's analysis with ``"auto"`` does better: it calibrates the factor on the movie
  itself by simulating its spots (:func:`sptmotion.tracking.calibrate_fisher_variance`) and
  passes the calibrated variances as ``"tracker"`` ones (:meth:`.TrackSet.calibrated`): a
  factor estimated per track from 100 points costs the tests much of their power, since
  noise and antipersistence look alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..motion import GAUSSIAN_MODELS, fit_measured, select_measured

__all__ = ["LEVEL", "MLE_NOTE", "measured_columns", "parse_sigma_loc"]

#: False-positive level of calling a BM track anything else.
LEVEL = 0.05
MLE_NOTE = (
    "mle_*: maximum likelihood through the measurement model (motion blur over the exposure, "
    "localization noise sigma per track); BM is the null model, rejected at 5% false positives "
    "by likelihood-ratio tests against DBM, FBM and SBM (weighted Bonferroni); mle_alpha is the "
    "selected model's alpha (SBM when SBM is selected, else FBM) with a 95% profile-likelihood "
    "interval. CTRW, ATTM and LW have no Gaussian likelihood: they are not tested by the MLE."
)


def parse_sigma_loc(value) -> float | str:
    """``"auto"``, ``"tracker"`` or a non-negative number of µm (strings from the CLI too)."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("auto", "tracker"):
            return v
        try:
            value = float(v)
        except ValueError:
            raise ValueError(
                f"sigma_loc must be 'auto', 'tracker' or a number of µm, got {value!r}"
            ) from None
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"sigma_loc must be a non-negative number of µm, got {value!r}")
    return v


def measured_columns(
    tracks: Sequence[np.ndarray],
    dt: float,
    *,
    frames: Sequence[np.ndarray] | None = None,
    point_var: Sequence[np.ndarray | None] | None = None,
    exposure: float = 0.0,
    sigma_loc: float | str = "auto",
) -> pd.DataFrame:
    """The ``mle_*`` columns for observed tracks (one row per track, in order).

    Parameters
    ----------
    tracks : sequence of (n_points, dim) arrays
        Observed positions in µm (at least 3 points each).
    dt : float
        Frame period in s.
    frames : sequence of int arrays, optional
        Observed frame numbers of each track (gaps allowed); consecutive by default.
    point_var : sequence of (n_points,) arrays, optional
        Per-point localization variances in µm² (a tracker's), used unless ``sigma_loc`` is a
        number.
    exposure : float
        Exposure time in s.
    sigma_loc : "auto", "tracker" or float
        See the module docstring.

    Returns
    -------
    DataFrame
        ``mle_p_<m>, mle_bic_<m>`` (BIC weights), ``mle_pvalue_bm``, ``mle_best``,
        ``mle_alpha, mle_alpha_lo, mle_alpha_hi, mle_alpha_se, mle_alpha_model``,
        ``mle_D, mle_D_lo, mle_D_hi`` (µm²/s^alpha), ``mle_sigma, mle_sigma_lo, mle_sigma_hi``
        (µm).
    """
    sigma_loc = parse_sigma_loc(sigma_loc)
    use_var = point_var is not None and not isinstance(sigma_loc, float)
    if use_var and any(v is None for v in point_var):
        use_var = False
    if use_var:
        kw = {"point_var": point_var, "sigma_loc": 1.0 if sigma_loc == "tracker" else "auto"}
    else:
        kw = {"sigma_loc": "auto" if isinstance(sigma_loc, str) else sigma_loc}
    fits = {
        m: fit_measured(tracks, dt, m, exposure=exposure, frames=frames, **kw)
        for m in GAUSSIAN_MODELS
    }
    sel = select_measured(
        tracks, dt, exposure=exposure, frames=frames, level=LEVEL, fits=fits, **kw
    )
    out = pd.DataFrame(index=range(len(sel)))
    for m in GAUSSIAN_MODELS:
        out[f"mle_p_{m}"] = sel[f"p_{m}"].to_numpy(dtype=float)
    for m in GAUSSIAN_MODELS:
        out[f"mle_bic_{m}"] = sel[f"bic_{m}"].to_numpy(dtype=float)
    out["mle_pvalue_bm"] = sel["pvalue_bm"].to_numpy(dtype=float)
    out["mle_best"] = sel["best"].to_numpy(dtype=object)
    is_sbm = (sel["best"] == "sbm").to_numpy()
    for src, dst in (
        ("alpha", "mle_alpha"),
        ("alpha_lo", "mle_alpha_lo"),
        ("alpha_hi", "mle_alpha_hi"),
        ("alpha_se", "mle_alpha_se"),
        ("D", "mle_D"),
        ("D_lo", "mle_D_lo"),
        ("D_hi", "mle_D_hi"),
        ("sigma", "mle_sigma"),
        ("sigma_lo", "mle_sigma_lo"),
        ("sigma_hi", "mle_sigma_hi"),
    ):
        out[dst] = np.where(
            is_sbm, fits["sbm"][src].to_numpy(dtype=float), fits["fbm"][src].to_numpy(dtype=float)
        )
    out["mle_alpha_model"] = np.where(is_sbm, "sbm", "fbm")
    return out
