"""Conventional detect-localize-link tracking: the baseline of the Bayesian tracker.

1. Detection and sub-pixel localization with :func:`trackpy.locate` on each frame converted to
   expected photons (the camera's mean ADU inverted), so thresholds do not depend on the camera.
2. Optional maximum-likelihood refinement of every localization under the same PSF and camera model
   as the Bayesian tracker: ``(x, y, |z|, photons, background)`` maximize
   ``sum_pixels log p(adu | u)`` in a window around the spot (:func:`scipy.optimize.minimize`);
   the uncertainty is the inverse of the expected Fisher information
   ``I_ab = sum_pixels J(u) du/dtheta_a du/dtheta_b`` with the camera's Fisher information per
   unit of expected photons ``J(u)`` (EMCCD Gamma: ``(beta/2)^2 psi'(beta u / 2)``, i.e.
   ``beta / (2u)`` at high counts, excess-noise factor 2; sCMOS: ``(g beta)^2 / (g^2 beta u + s^2)``).
3. Linking with trackpy (``memory`` = the largest gap) or laptrack (TrackMate-style linear
   assignment with gap closing, Jaqaman et al., Nat. Methods 5, 695, 2008); see :func:`link`.

The output table has the same columns as :meth:`TrackPosterior.to_table`: particle, frame, t, x, y,
z and the bounds ``x_lo .. z_hi`` (µm) at the confidence level ``ci`` (Gaussian, from the Fisher
information). Without refinement, the lateral bounds come from trackpy's static error estimate
``ep`` and ``z`` is 0 (in-focus assumption) with NaN bounds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import special, stats

from .._checks import check_int
from ..optics import kernels as _ok
from ..optics.camera import EMCCDPGN, SCMOS, EMCCDGamma, camera_spec, photons_estimate
from ..optics.io import check_stack
from ..optics.setup import Setup
from . import _refine_kernels as _rk
from .posterior import TABLE_COLUMNS, check_ci

__all__ = [
    "track_modular",
    "locate",
    "noise_minmass",
    "link",
    "drop_short",
    "refine_localizations",
    "camera_fisher_per_photon",
]


def _default_diameter(setup: Setup) -> int:
    """Odd feature diameter (pixels) covering ±3 sigma of the in-focus PSF, at least 5."""
    sigma_px = setup.psf.kernel_params[0] / setup.pixel_size
    d = int(2 * math.ceil(3 * sigma_px) + 1)
    return max(d, 5)


#: False detections per frame that the data-driven detection threshold allows.
FALSE_PER_FRAME = 0.05
#: Background-only frames drawn for the threshold (the false-detection rate is resolved to
#: 2 / NULL_FRAMES per frame).
NULL_FRAMES = 40


def noise_minmass(
    photons: np.ndarray, diameter: int, camera, false_per_frame: float = FALSE_PER_FRAME
) -> float:
    """trackpy ``minmass`` for a stated rate of false detections per frame, from the camera noise.

    Frames of the movie's shape with the movie's own background level (the median photons per
    pixel over up to ten frames) and no spot are drawn from the camera model and go through the
    same photon conversion and trackpy detection as the movie; the threshold is the mass that
    ``false_per_frame`` (0.05) of these background frames' detections exceed. So it follows
    the data's noise and the frame size, whatever the gain or the nominal photon rate, and spots
    in the movie (even one filling a small ROI) cannot inflate it. Deterministic (fixed seed).
    """
    import trackpy

    photons = np.asarray(photons, dtype=float)
    n, R, C = photons.shape
    picks = np.unique(np.linspace(0, n - 1, min(n, 10)).astype(int))
    background = max(float(np.median(photons[picks])), 1e-3)
    rng = np.random.default_rng(0)
    null = photons_estimate(camera.sample(np.full((NULL_FRAMES, R, C), background), rng), camera)
    trackpy.quiet()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = trackpy.batch(null, int(diameter), minmass=0.0, preprocess=True, engine="python",
                          processes=1)  # fmt: skip
    masses = np.sort(f["mass"].to_numpy())[::-1] if len(f) else np.zeros(0)
    allowed = int(math.floor(false_per_frame * NULL_FRAMES))  # exceedances allowed in the null
    if len(masses) <= allowed:
        return 0.0
    return float(masses[allowed])


def locate(
    photons: np.ndarray,
    setup: Setup,
    *,
    diameter: int | None = None,
    minmass: float | None = None,
    topn: int | None = None,
) -> pd.DataFrame:
    """Detect and localize spots in every frame with trackpy (positions in µm).

    Parameters
    ----------
    photons : ndarray (frames, rows, cols)
        Frames in expected photons (see :func:`sptmotion.optics.camera.photons_estimate`).
    setup : Setup
        Gives the pixel size and the PSF width.
    diameter : int, optional
        trackpy feature diameter (odd, pixels); default from the in-focus PSF width.
    minmass : float, optional
        Minimum integrated brightness (band-passed photons); default from the movie's own
        noise (:func:`noise_minmass`), not from a nominal emission rate.
    topn : int, optional
        Keep at most the ``topn`` brightest spots per frame (e.g. the known number of emitters).

    Returns
    -------
    DataFrame with columns frame, x, y (µm, ROI coordinates), mass, ep (µm).
    """
    import trackpy

    trackpy.quiet()
    diameter = _default_diameter(setup) if diameter is None else int(diameter)
    if diameter < 3 or diameter % 2 == 0:
        raise ValueError(f"diameter must be an odd integer >= 3 (pixels), got {diameter}")
    if minmass is None:
        minmass = noise_minmass(photons, diameter, setup.camera)
    a = setup.pixel_size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = trackpy.batch(
            np.asarray(photons, dtype=float),
            diameter,
            minmass=minmass,
            topn=topn,
            preprocess=True,
            engine="python",
            processes=1,
        )
    if len(f) == 0:
        return pd.DataFrame({"frame": [], "x": [], "y": [], "mass": [], "ep": []})
    # trackpy puts pixel centres at integer coordinates; ROI coordinates put them at (j + 1/2) a
    out = pd.DataFrame(
        {
            "frame": f["frame"].to_numpy(dtype=int),
            "x": (f["x"].to_numpy() + 0.5) * a,
            "y": (f["y"].to_numpy() + 0.5) * a,
            "mass": f["mass"].to_numpy(),
            "ep": f["ep"].to_numpy() * a if "ep" in f else np.full(len(f), np.nan),
        }
    )
    return out.reset_index(drop=True)


def camera_fisher_per_photon(
    camera, u: np.ndarray, r: np.ndarray | None = None, c: np.ndarray | None = None
):
    """Fisher information of one pixel's ADU about its expected photons u, ``J(u)`` (1/photon²).

    EMCCD Gamma: ``(beta/2)^2 psi_1(beta u / 2)``; EMCCD PGN: the high-gain value ``beta / (2u)``
    (excess-noise factor 2); sCMOS: ``(g beta)^2 / (g^2 beta u + s^2)`` (Gaussian approximation,
    mean information only). ``r``, ``c`` index the sCMOS maps.
    """
    u = np.asarray(u, dtype=float)
    if isinstance(camera, EMCCDGamma):
        h = 0.5 * camera.qe
        return h * h * special.polygamma(1, h * u)
    if isinstance(camera, EMCCDPGN):
        return camera.qe / (2.0 * u)
    if isinstance(camera, SCMOS):
        g = np.asarray(camera.gain, dtype=float)
        v = np.asarray(camera.read_var, dtype=float)
        if g.ndim == 2:
            g = g[r, c]
        if v.ndim == 2:
            v = v[r, c]
        return (g * camera.qe) ** 2 / (g * g * camera.qe * u + v)
    raise ValueError(f"camera model {type(camera).__name__} is not supported")


def _window_psf(x, y, z, a, psf_par, row0, col0, shape):
    out = np.zeros(shape)
    one = np.ones(1)
    _ok.add_psf_frame(
        np.array([x]),
        np.array([y]),
        np.array([z]),
        one,
        1.0,
        a,
        psf_par[0],
        psf_par[1],
        row0,
        col0,
        out,
    )
    return out


def refine_localizations(
    stack: np.ndarray,
    setup: Setup,
    locs: pd.DataFrame,
    *,
    half_width: int = 4,
    ci: float = 0.98,
) -> pd.DataFrame:
    """Maximum-likelihood refinement of localizations under the PSF and camera model.

    For each row of ``locs`` (frame, x, y in µm) the parameters ``x, y, z, log N, log b`` (µm;
    photons of the spot ``N = H t_E``; background photons per pixel ``b``) maximize the camera
    log-likelihood of the ``(2 half_width + 1)²`` window around the spot. ``z`` is reported as
    ``|z|`` (the PSF is symmetric in z). Bounds ``+- z_{(1+ci)/2} * SE`` with SE from the inverse
    expected Fisher information (see the module docstring).

    Returns
    -------
    DataFrame: the input columns with x, y, z replaced and x_lo .. z_hi, photons, background added.
    """
    ci = check_ci(ci)
    adu = check_stack(stack)
    N, R, C = adu.shape
    a = setup.pixel_size
    psf_par = np.array(setup.psf.kernel_params, dtype=float)
    code, par, maps = camera_spec(setup.camera, (R, C))
    photons = photons_estimate(adu, setup.camera)
    zq = stats.norm.ppf(0.5 + ci / 2)
    res = {
        k: np.full(len(locs), np.nan)
        for k in ("x", "y", "z", "se_x", "se_y", "se_z", "photons", "background")
    }
    frames = locs["frame"].to_numpy(dtype=int)
    # background photons per pixel: the median of each frame (computed once per frame)
    med = np.full(N, np.nan)
    for n in np.unique(frames):
        med[n] = np.median(photons[n])
    xs0 = locs["x"].to_numpy(dtype=float)
    ys0 = locs["y"].to_numpy(dtype=float)
    for i in range(len(locs)):
        n = frames[i]
        col = int(np.clip(np.floor(xs0[i] / a), 0, C - 1))
        row = int(np.clip(np.floor(ys0[i] / a), 0, R - 1))
        r0, r1 = max(row - half_width, 0), min(row + half_width + 1, R)
        c0, c1 = max(col - half_width, 0), min(col + half_width + 1, C)
        win = np.ascontiguousarray(adu[n, r0:r1, c0:c1])
        per_pixel = isinstance(setup.camera, SCMOS) and maps.shape[1] > 1  # not the PGN table
        wmaps = np.ascontiguousarray(maps[:, r0:r1, c0:c1]) if per_pixel else maps
        ph = photons[n, r0:r1, c0:c1]
        b0 = max(float(med[n]), 1e-2)
        N0 = max(float(ph.sum() - b0 * ph.size), 10.0)
        best_x, best_f = None, np.inf
        for z_start in (0.05, 0.4):
            p0 = np.array([xs0[i], ys0[i], z_start, math.log(N0), math.log(b0)])
            x_opt, f_opt = _rk.nelder_mead_spot(
                p0, 1e-5, 1e-4, 2000, win, a, psf_par[0], psf_par[1], r0, c0, code, par, wmaps
            )
            if best_x is None or f_opt < best_f:
                best_x, best_f = x_opt, f_opt
        p = best_x
        p[2] = abs(p[2])
        # expected Fisher information by central differences of u(theta) over the window
        rr, cc = np.mgrid[r0:r1, c0:c1]
        Nph, bph = math.exp(p[3]), math.exp(p[4])

        def u_of(q, bph=bph, Nph=Nph, r0=r0, c0=c0, shape=win.shape):
            return bph + Nph * _window_psf(q[0], q[1], q[2], a, psf_par, r0, c0, shape)

        steps = np.array([1e-4, 1e-4, 1e-3])
        grads = []
        for k in range(3):
            dq = np.zeros(5)
            dq[k] = steps[k]
            grads.append((u_of(p + dq) - u_of(p - dq)) / (2 * steps[k]))
        S0 = _window_psf(p[0], p[1], p[2], a, psf_par, r0, c0, win.shape)
        grads.append(S0)  # du/dN
        grads.append(np.ones(win.shape))  # du/db
        G = np.stack([g.ravel() for g in grads])
        J = camera_fisher_per_photon(setup.camera, u_of(p).ravel(), rr.ravel(), cc.ravel())
        info = (G * J) @ G.T
        try:
            cov = np.linalg.inv(info)
            se = np.sqrt(np.clip(np.diag(cov)[:3], 0, None))
        except np.linalg.LinAlgError:
            se = np.full(3, np.nan)
        if not np.isfinite(se[2]) or se[2] > 10:
            se[2] = np.nan
        res["x"][i], res["y"][i], res["z"][i] = p[0], p[1], p[2]
        res["se_x"][i], res["se_y"][i], res["se_z"][i] = se
        res["photons"][i], res["background"][i] = Nph, bph
    out = locs.copy()
    for ax in "xyz":
        out[ax] = res[ax]
        out[f"{ax}_lo"] = res[ax] - zq * res[f"se_{ax}"]
        out[f"{ax}_hi"] = res[ax] + zq * res[f"se_{ax}"]
    if "z" in out:
        out["z_lo"] = np.maximum(out["z_lo"], 0.0)
    out["photons"] = res["photons"]
    out["background"] = res["background"]
    return out


#: Linkers of the modular tracker.
LINKERS = ("trackpy", "laptrack")


def link(
    locs: pd.DataFrame,
    *,
    search_range: float = 1.5,
    max_gap: int = 3,
    linker: str = "trackpy",
) -> pd.DataFrame:
    """Link localizations into tracks; adds ``particle`` (0, 1, ... by first appearance).

    ``search_range`` (µm) is the largest displacement between linked spots, ``max_gap`` the
    largest number of frames a track may skip.

    - ``"trackpy"`` (default): :func:`trackpy.link` with ``memory = max_gap``. On the full-field
      benchmark (``benchmarks/bench_modular.py``: 30 particles, D 0.05-0.5 µm²/s, blinking) it
      makes half the identity switches of laptrack's LAP at a tenth of the time.
    - ``"laptrack"``: LAP with gap closing (Jaqaman et al. 2008, TrackMate's); starting or
      ending a track costs as much as the largest allowed link, ``search_range²`` (laptrack's
      default, the 90th percentile of all link costs, cuts the tracks of fast particles).
    """
    if linker not in LINKERS:
        raise ValueError(f"linker must be one of {', '.join(LINKERS)}, got {linker!r}")
    max_gap = check_int(max_gap, "max_gap", 0)
    if len(locs) == 0:
        out = locs.copy()
        out["particle"] = np.array([], dtype=int)
        return out
    df = locs.reset_index(drop=True).copy()
    if linker == "trackpy":
        import trackpy

        trackpy.quiet()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tracked = trackpy.link(df, float(search_range), memory=max_gap)
        tracked = tracked.reset_index(drop=True)
    else:
        from laptrack import LapTrack

        cost = float(search_range) ** 2
        lt = LapTrack(
            cutoff=cost,
            gap_closing_cutoff=cost,
            # laptrack counts the frame difference: skipping max_gap frames is max_gap + 1
            gap_closing_max_frame_count=max_gap + 1,
            track_start_cost=cost,
            track_end_cost=cost,
            segment_start_cost=cost,
            segment_end_cost=cost,
            splitting_cutoff=False,
            merging_cutoff=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tracked, _, _ = lt.predict_dataframe(
                df, coordinate_cols=["y", "x"], frame_col="frame", only_coordinate_cols=False
            )
        tracked = tracked.rename(columns={"track_id": "particle"})
        tracked = tracked.drop(columns=[c for c in ("tree_id", "index") if c in tracked.columns])
    # renumber particles 0.. by first appearance
    order = tracked.groupby("particle")["frame"].min().sort_values(kind="stable").index
    tracked["particle"] = tracked["particle"].map({p: i for i, p in enumerate(order)}).astype(int)
    return tracked.sort_values(["particle", "frame"], kind="stable").reset_index(drop=True)


def drop_short(tracked: pd.DataFrame, min_length: int) -> pd.DataFrame:
    """Drop tracks of fewer than ``min_length`` localizations and renumber the rest 0, 1, ...

    A track of one or two spots carries no motion and is most often a false detection (the
    detection threshold allows 0.05 per frame), like trackpy's ``filter_stubs``.
    """
    min_length = check_int(min_length, "min_length", 1)
    if len(tracked) == 0 or min_length <= 1:
        return tracked
    size = tracked.groupby("particle")["frame"].transform("size")
    kept = tracked[size.to_numpy() >= min_length].copy()
    ids = {p: i for i, p in enumerate(pd.unique(kept["particle"]))}
    kept["particle"] = kept["particle"].map(ids).astype(int)
    return kept.reset_index(drop=True)


def track_modular(
    stack,
    setup: Setup,
    *,
    refine: bool = True,
    ci: float = 0.98,
    diameter: int | None = None,
    minmass: float | None = None,
    n_emitters: int | None = None,
    search_range: float = 1.5,
    max_gap: int = 3,
    linker: str = "trackpy",
    min_length: int = 3,
) -> pd.DataFrame:
    """Detect, localize (optionally refine by maximum likelihood) and link emitters in a stack.

    Parameters
    ----------
    stack : array_like (frames, rows, cols)
        Raw movie (ADU).
    setup : Setup
        Optics, timing and calibrated camera (as for the Bayesian tracker).
    refine : bool
        Maximum-likelihood refinement under the camera model (gives z and Fisher-information
        confidence bounds).
    ci : float
        Confidence level of the bounds.
    diameter, minmass : optional
        trackpy detection parameters (see :func:`locate`).
    n_emitters : int, optional
        If known, keep at most this many (brightest) spots per frame.
    search_range : float
        Largest linking displacement (µm).
    max_gap : int
        Largest gap (frames) closed by the linker (3: trackpy's usual ``memory``).
    linker : {"trackpy", "laptrack"}
        See :func:`link`.
    min_length : int
        Tracks of fewer localizations are dropped (:func:`drop_short`; 1 keeps all).

    Returns
    -------
    DataFrame with the columns of :data:`TABLE_COLUMNS` plus t (s), mass, photons, background.
    """
    adu = check_stack(stack)
    ci = check_ci(ci)
    if not isinstance(setup, Setup):
        raise ValueError(f"setup must be an sptmotion.optics.Setup, got {type(setup).__name__}")
    if n_emitters is not None:
        n_emitters = check_int(n_emitters, "n_emitters", 1)
    photons = photons_estimate(adu, setup.camera)
    locs = locate(photons, setup, diameter=diameter, minmass=minmass, topn=n_emitters)
    zq = stats.norm.ppf(0.5 + ci / 2)
    if refine and len(locs):
        locs = refine_localizations(adu, setup, locs, ci=ci)
        keep = np.isfinite(locs[["x", "y", "z"]]).all(axis=1)
        locs = locs[keep].reset_index(drop=True)
    else:
        locs["z"] = 0.0
        for ax in "xy":
            locs[f"{ax}_lo"] = locs[ax] - zq * locs["ep"]
            locs[f"{ax}_hi"] = locs[ax] + zq * locs["ep"]
        locs["z_lo"] = np.nan
        locs["z_hi"] = np.nan
    tracked = link(locs, search_range=search_range, max_gap=max_gap, linker=linker)
    tracked = drop_short(tracked, min_length)
    tracked["t"] = tracked["frame"].to_numpy() * setup.frame_period
    extra = [c for c in ("t", "mass", "photons", "background") if c in tracked.columns]
    return tracked[list(TABLE_COLUMNS) + extra]
