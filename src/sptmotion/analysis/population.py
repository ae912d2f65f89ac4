"""Population views of an analysis: ensemble and time-averaged MSD with the fitted models.

The per-track answers (``results.csv``) say what each track is; a biophysicist with hundreds
of tracks also wants to see the population at once: the ensemble-averaged TAMSD and the
ensemble MSD from the start against the models the likelihood fitted, drawn through the same
measurement model (motion blur over the exposure, localization noise) as the fits, next to
the motion alone. The figures are drawn by :mod:`.figures`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..motion.msd import measured_msd, ragged_msd
from .trackset import TrackSet

__all__ = ["PopulationMSD", "population_msd", "msd_lags", "track_model_msd", "verdict_of"]

#: Most lags on the population MSD's log-spaced grid.
N_LAGS = 24


class PopulationMSD(NamedTuple):
    """MSD curves of a set of tracks (µm², summed over axes) at ``lag_s`` (s)."""

    lag_s: np.ndarray
    #: Time-averaged MSD per track, (n_tracks, n_lags), NaN where a track is shorter.
    tamsd: np.ndarray
    #: Squared displacement from each track's first point, (n_tracks, n_lags).
    eamsd: np.ndarray
    #: (label, curve, verdict or "") of the fitted models, measured (blur + noise) or not.
    models: list[tuple[str, np.ndarray, str, bool]]


def msd_lags(lengths, n_lags: int = N_LAGS) -> np.ndarray:
    """Log-spaced lags (steps) from 1 to a quarter of the median track length (at least 2)."""
    med = int(np.median(np.asarray(lengths))) if len(lengths) else 2
    hi = max(2, med // 4)
    return np.unique(np.round(np.geomspace(1, hi, min(n_lags, hi))).astype(np.int64))


def verdict_of(results: pd.DataFrame) -> pd.Series:
    """The verdict per row (``""`` where a track was skipped; see
    :mod:`sptmotion.analysis.characterize`, "Verdict")."""
    v = results.get("verdict", pd.Series([""] * len(results), index=results.index))
    return v.fillna("").astype(str)


def _usable(results: pd.DataFrame) -> np.ndarray:
    err = results.get("error", pd.Series([""] * len(results))).fillna("").astype(str)
    ok = (err == "").to_numpy().copy()
    for col in ("mle_alpha", "mle_D"):
        if col not in results:
            return np.zeros(len(results), dtype=bool)
        ok &= np.isfinite(results[col].to_numpy(dtype=float))
    return ok


def _median_params(rows: pd.DataFrame) -> tuple[float, float, float]:
    sig = rows["mle_sigma"].to_numpy(dtype=float) if "mle_sigma" in rows else np.zeros(len(rows))
    sig = sig[np.isfinite(sig)]
    return (
        float(np.median(rows["mle_alpha"])),
        float(np.median(rows["mle_D"])),
        float(np.median(sig)) if sig.size else 0.0,
    )


def track_model_msd(
    row, lag_s: np.ndarray, dt: float, exposure: float, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """One track's fitted FBM MSD with blur and noise, and the motion alone (µm²)."""
    a, D = float(row["mle_alpha"]), float(row["mle_D"])
    s = float(row.get("mle_sigma", 0.0))
    s = s if np.isfinite(s) else 0.0
    measured = measured_msd(lag_s, D, a, dt, exposure=exposure, sigma=s, dim=dim)
    return measured, measured_msd(lag_s, D, a, dt, dim=dim)


def population_msd(trackset: TrackSet, results: pd.DataFrame) -> PopulationMSD:
    """MSD curves of every track and the fitted models per verdict.

    Parameters
    ----------
    trackset : TrackSet
        The tracks (gap-filled, µm), in the order of ``results``' rows.
    results : DataFrame
        The per-track results of these tracks (``mle_alpha``, ``mle_D``, ``mle_sigma``,
        ``verdict``).

    Returns
    -------
    PopulationMSD
        Per verdict with at least one track: FBM at the median alpha, D and sigma of its
        tracks, as measured (``measured_msd`` with the exposure and sigma); and for all
        usable tracks together the motion alone at their median alpha and D.
    """
    tracks = trackset.tracks
    dim = tracks[0].shape[1] if tracks else 2
    lags = msd_lags([len(t) for t in tracks])
    ta, ea = ragged_msd(tracks, lags)
    lag_s = lags * trackset.dt
    res = results.reset_index(drop=True)
    ok = _usable(res)
    models = []
    if ok.any():
        verdicts = verdict_of(res)
        for v in sorted(set(verdicts[ok])):
            rows = res[ok & (verdicts == v).to_numpy()]
            a, D, s = _median_params(rows)
            curve = measured_msd(
                lag_s, D, a, trackset.dt, exposure=trackset.exposure, sigma=s, dim=dim
            )
            label = (
                f"verdict {v or '?'} ({len(rows)} tracks): FBM fit, median alpha {a:.2f}, "
                f"D {D:.3g}, sigma {1e3 * s:.0f} nm"
            )
            models.append((label, curve, v, True))
        a, D, _ = _median_params(res[ok])
        models.append(
            (
                f"motion alone (no blur, no noise), all tracks: alpha {a:.2f}, D {D:.3g}",
                measured_msd(lag_s, D, a, trackset.dt, dim=dim),
                "",
                False,
            )
        )
    return PopulationMSD(lag_s, ta, ea, models)
