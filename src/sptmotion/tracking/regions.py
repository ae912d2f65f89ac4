"""A full field of view tracked as independent spatio-temporal regions.

1. Spots are detected, localized and linked over the whole movie by the modular tracker
   (:func:`sptmotion.tracking.modular.track_modular`, threshold from the movie's own noise);
   the median photons of its spots calibrate one emitter's brightness for every region.
2. Every detection claims a disk of ``margin`` pixels in its frame, held for ``gap`` frames
   before and after (blinks, missed detections); the connected components of the claimed
   pixels in (frame, row, column) are the regions: particles that come within about twice the
   margin of each other, at about the same time, share one.
3. Each region's bounding box (frames, rows, columns) is tracked on its own by
   :func:`sptmotion.tracking.track_bayes` with an unknown, changing number of emitters; regions
   run in parallel threads (the MCMC sweeps release the GIL).
4. The tables are stitched with global particle ids; a region keeps only the rows whose
   position lies in its own claimed pixels (a particle of another region that crosses the box is
   reported by that region), and the number of emitters of the movie has the posterior of the
   sum over regions (independent regions: the convolution of their posteriors).
"""

from __future__ import annotations

import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from .._checks import check_int
from ..optics.camera import SCMOS, photons_estimate
from ..optics.io import check_stack
from ..optics.setup import Setup
from .posterior import check_ci

__all__ = [
    "Region",
    "FieldResult",
    "find_regions",
    "track_field",
    "sum_posteriors",
    "predicted_blur",
    "STREAK_SUBFRAMES",
    "STREAK_BLUR_FRACTION",
    "SMEAR_SUBFRAMES",
    "SMEAR_BLUR_FRACTION",
    "BLUR_MIN_STEPS",
    "STREAK_MAX_CONCURRENT",
    "concurrent_fraction",
    "region_subframes",
]

#: Sub-frame positions per exposure of a region whose spots are smeared (``subframes="auto"``)
STREAK_SUBFRAMES = 3
#: ``subframes="auto"``: a region is tracked with :data:`STREAK_SUBFRAMES` when the motion blur
#: its spots predict (rms per axis) exceeds this fraction of the in-focus PSF width
STREAK_BLUR_FRACTION = 0.3
#: Sub-frame positions per exposure of a region whose spots are smeared beyond
#: :data:`SMEAR_BLUR_FRACTION` of the PSF width (``subframes="auto"``): with three, the points of
#: such a streak lie over a PSF width apart and cannot hold its light between them
SMEAR_SUBFRAMES = 5
#: ``subframes="auto"``: blur (rms per axis, over the in-focus PSF width) above which a region
#: gets :data:`SMEAR_SUBFRAMES`
SMEAR_BLUR_FRACTION = 0.75
#: ``subframes="auto"``: regions with two or more detections at once in over this fraction of
#: their frames keep K = 1. One D serves all emitters of a region (unless ``emitter_D_sd``)
#: and sets how far an emitter's sub-frame points may spread; a fast particle's D lets a slow
#: neighbour's streak stretch over both, and the chains trade the particles
STREAK_MAX_CONCURRENT = 0.05
#: Displacements over one and over two frames a particle needs in :func:`predicted_blur`
BLUR_MIN_STEPS = 20
#: Level of the modular spots' bounds in :func:`track_field` (what :func:`predicted_blur` reads)
_SPOT_CI = 0.98


@dataclass(frozen=True)
class Region:
    """A box of the movie: frames ``[t0, t1)``, rows ``[r0, r1)``, columns ``[c0, c1)``, and the
    label of its claimed pixels in :func:`find_regions`' label array."""

    label: int
    t0: int
    t1: int
    r0: int
    r1: int
    c0: int
    c1: int
    n_detections: int

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.t1 - self.t0, self.r1 - self.r0, self.c1 - self.c0)


@dataclass
class FieldResult:
    """Stitched tracks of a movie's regions (:func:`track_field`).

    Attributes
    ----------
    table : DataFrame
        particle (global id), frame, t (s), x, y, z and bounds (µm, movie coordinates),
        p_present, the particle's D there (posterior mean ``D`` and credible bounds ``D_lo``,
        ``D_hi``, µm²/s: its region's, or with ``emitter_D_sd > 0`` its own,
        :meth:`~sptmotion.tracking.TrackPosterior.row_D`), region.
    regions : list of dict
        Per region: box, number of detections, posterior of its number of emitters (those
        present in its own claimed pixels in at least one frame; ``n_emitters_posterior_box``:
        all in its box), diagnostics (R-hat/ESS), D summary (its emitters' D averaged over their
        present frames in a draw), time (s).
    n_emitters_posterior : dict
        Posterior of the number of emitters in the whole movie ``{M: probability}``.
    wall_s : float
        Wall time of the whole run (s).
    samples : ndarray (n_samples, n_rows, 3), optional
        Posterior sample positions (µm, movie coordinates) at the table's rows
        (:meth:`~sptmotion.tracking.TrackPosterior.table_draws`), when asked for.
    spots : DataFrame, optional
        The modular tracker's localizations over the whole movie (the regions' detections).
    """

    table: pd.DataFrame
    regions: list = field(default_factory=list)
    n_emitters_posterior: dict = field(default_factory=dict)
    wall_s: float = 0.0
    samples: np.ndarray | None = None
    spots: pd.DataFrame | None = None

    def summary(self) -> dict:
        post = self.n_emitters_posterior
        mode = int(max(post, key=lambda k: (post[k], -k))) if post else 0
        return {
            "method": "bayes-regions",
            "n_regions": len(self.regions),
            "n_emitters": mode,
            "n_emitters_posterior": post,
            "regions": self.regions,
            "wall_s": self.wall_s,
        }


def default_margin(setup: Setup) -> int:
    """Claimed radius (pixels) around a detection: 3 in-focus PSF widths plus one pixel."""
    return int(math.ceil(3.0 * setup.psf.kernel_params[0] / setup.pixel_size)) + 1


def find_regions(
    stack,
    setup: Setup,
    *,
    margin: int | None = None,
    gap: int = 3,
    min_detections: int = 3,
    locs: pd.DataFrame | None = None,
) -> tuple[list[Region], np.ndarray]:
    """Independent spatio-temporal regions of a movie (see the module docstring).

    Parameters
    ----------
    stack : array_like (frames, rows, cols)
        Raw movie (ADU).
    setup : Setup
        The movie's optics and camera.
    margin : int, optional
        Radius (pixels) claimed around every detection (default :func:`default_margin`).
    gap : int
        Frames a claim is held before and after its detection.
    min_detections : int
        Regions with fewer detections are dropped (the detection threshold allows 0.05 false
        detections per frame; like the modular tracker's shortest track, 3).
    locs : DataFrame, optional
        Detections (frame, x, y in µm) to use instead of detecting here.

    Returns
    -------
    regions : list of Region
        Sorted by first frame, then position.
    labels : ndarray (frames, rows, cols) of int32
        The region label of every claimed pixel (0: none).
    """
    from .modular import locate

    adu = check_stack(stack)
    N, R, C = adu.shape
    margin = default_margin(setup) if margin is None else check_int(margin, "margin", 1)
    gap = check_int(gap, "gap", 0)
    if locs is None:
        locs = locate(photons_estimate(adu, setup.camera), setup)
    a = setup.pixel_size
    seeds = np.zeros((N, R, C), dtype=bool)
    if len(locs):
        f = locs["frame"].to_numpy(dtype=int)
        r = np.clip((locs["y"].to_numpy() / a).astype(int), 0, R - 1)
        c = np.clip((locs["x"].to_numpy() / a).astype(int), 0, C - 1)
        seeds[f, r, c] = True
    yy, xx = np.mgrid[-margin : margin + 1, -margin : margin + 1]
    disk = (yy**2 + xx**2 <= margin**2)[None]
    claimed = ndimage.binary_dilation(seeds, structure=disk)
    if gap:
        claimed = ndimage.binary_dilation(claimed, structure=np.ones((2 * gap + 1, 1, 1), bool))
    labels, n = ndimage.label(claimed, structure=np.ones((3, 3, 3), bool))
    labels = labels.astype(np.int32)
    counts = np.bincount(labels[seeds], minlength=n + 1) if n else np.zeros(1, int)
    regions = []
    for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        if counts[lab] < min_detections:
            box = labels[sl]
            box[box == lab] = 0
            continue
        regions.append(
            Region(
                lab,
                sl[0].start,
                sl[0].stop,
                sl[1].start,
                sl[1].stop,
                sl[2].start,
                sl[2].stop,
                int(counts[lab]),
            )  # fmt: skip
        )
    regions.sort(key=lambda g: (g.t0, g.r0, g.c0))
    return regions, labels


def crop_setup(setup: Setup, region: Region) -> Setup:
    """The setup of a region's box (per-pixel sCMOS maps cropped)."""
    cam = setup.camera
    if isinstance(cam, SCMOS):
        sl = (slice(region.r0, region.r1), slice(region.c0, region.c1))

        def crop(v):
            v = np.asarray(v)
            return v[sl] if v.ndim == 2 else v

        cam = SCMOS(gain=crop(cam.gain), offset=crop(cam.offset), read_var=crop(cam.read_var),
                    qe=cam.qe, approx=cam.approx, rel_tol=cam.rel_tol)  # fmt: skip
    return setup.replace(rows=region.r1 - region.r0, cols=region.c1 - region.c0, camera=cam)


def predicted_blur(
    spots: pd.DataFrame, labels, region: Region, setup: Setup, ci: float = 0.98
) -> float:
    """Motion blur (µm, rms per axis about the exposure mean) that a region's linked spots predict.

    For each particle of ``spots`` (the modular tracker's table: particle, frame, x, y and
    bounds at level ``ci``) with at least :data:`BLUR_MIN_STEPS` displacements over one and
    over two frames in the region's claimed pixels, the per-axis displacement variances ``m₁``
    and ``m₂`` are the median squared 2D displacements over ``2 ln 2`` (robust to linking
    errors). For Brownian motion seen through blur and localization noise
    ``m_k = 2D (kΔt − t_E/3) + 2σ²`` and the blur variance is ``D t_E / 3``. Two estimates of
    ``2D Δt``: ``m₂ − m₁``, free of any static jitter (noise, or an unresolved pair whose
    localization jumps between its two spots) but scaled by ``2^α − 1`` for anomalous motion;
    and ``(m₁ − 2σ²) Δt / (Δt − t_E/3)`` with ``σ²`` from the bounds, which does not depend
    on how the displacements grow with the lag but is inflated by jitter. The smaller counts,
    and the fastest particle of the region.

    Returns
    -------
    float
        The blur (µm); 0 without exposure or without such particles.
    """
    from scipy.stats import norm

    t_e, dt = float(setup.exposure), float(setup.frame_period)
    if t_e <= 0.0 or not len(spots):
        return 0.0
    s = _region_rows(spots, labels, region, setup)
    zq = float(norm.ppf(0.5 + ci / 2))
    s = pd.DataFrame(
        {
            "particle": s["particle"].to_numpy(),
            "frame": s["frame"].to_numpy(dtype=int),
            "x": s["x"].to_numpy(dtype=float),
            "y": s["y"].to_numpy(dtype=float),
            # per-axis localization variance from the bounds
            "v": (((s["x_hi"] - s["x_lo"]) ** 2 + (s["y_hi"] - s["y_lo"]) ** 2).to_numpy())
            / (8.0 * zq**2),
        }
    )
    var = []
    for lag in (1, 2):
        later = s.assign(frame=s["frame"] - lag)
        pairs = s.merge(later, on=["particle", "frame"], suffixes=("", "_2"))
        r2 = (pairs["x_2"] - pairs["x"]) ** 2 + (pairs["y_2"] - pairs["y"]) ** 2
        per = pd.DataFrame({"r2": r2, "v": pairs["v"] + pairs["v_2"]}).groupby(pairs["particle"])
        per = per.agg(n=("r2", "size"), m=("r2", "median"), v=("v", "median"))
        per = per[per["n"] >= BLUR_MIN_STEPS]
        var.append(pd.DataFrame({f"m{lag}": per["m"] / (2.0 * np.log(2.0)), f"v{lag}": per["v"]}))
    both = pd.concat(var, axis=1, join="inner")
    if not len(both):
        return 0.0
    slope = both["m2"] - both["m1"]
    first = (both["m1"] - np.nan_to_num(both["v1"])) * dt / (dt - t_e / 3.0)
    s2 = float(np.max(np.minimum(slope, first)))
    return float(np.sqrt(max(s2, 0.0) * t_e / (6.0 * dt)))


def concurrent_fraction(spots: pd.DataFrame, labels, region: Region, setup: Setup) -> float:
    """Fraction of a region's frames with detections in which ``spots`` has two or more in
    the region's claimed pixels (0 without detections)."""
    mine = _region_rows(spots, labels, region, setup)["frame"].to_numpy(dtype=int)
    if not len(mine):
        return 0.0
    counts = np.bincount(mine - mine.min())
    counts = counts[counts > 0]
    return float(np.mean(counts >= 2))


def _region_rows(spots: pd.DataFrame, labels, region: Region, setup: Setup) -> pd.DataFrame:
    """The rows of ``spots`` (frame, x, y in µm) that lie in the region's claimed pixels."""
    if not len(spots):
        return spots
    f = spots["frame"].to_numpy(dtype=int)
    x, y = spots["x"].to_numpy(dtype=float), spots["y"].to_numpy(dtype=float)
    return spots.loc[_own(labels, region, f, x, y, setup.pixel_size)]


def _check_subframes(subframes):
    """``subframes`` as given ("auto" or a whole number >= 1), else a message naming it."""
    if isinstance(subframes, str):
        if subframes != "auto":
            raise ValueError(f"subframes must be 'auto' or a whole number >= 1, got {subframes!r}")
        return subframes
    return check_int(subframes, "subframes", 1)


def region_subframes(subframes, blur: float, concurrent: float, setup: Setup) -> int:
    """Sub-frame positions per exposure K that :func:`track_field` gives a region.

    Parameters
    ----------
    subframes : int or "auto"
        A number is returned as it is. With "auto": :data:`STREAK_SUBFRAMES` when ``blur``
        exceeds :data:`STREAK_BLUR_FRACTION` of the in-focus PSF width
        (:data:`SMEAR_SUBFRAMES` beyond :data:`SMEAR_BLUR_FRACTION`), at most a
        :data:`STREAK_MAX_CONCURRENT` fraction of the region's frames hold two or more
        detections, and the exposure leaves a gap before the next frame (which K >= 2 needs);
        else 1.
    blur : float
        Motion blur the region's spots predict (µm, rms per axis; :func:`predicted_blur`).
    concurrent : float
        Fraction of its frames with two or more detections (:func:`concurrent_fraction`).
    setup : Setup
        Optics (PSF width), exposure and frame period (s).

    Returns
    -------
    int
        K.
    """
    subframes = _check_subframes(subframes)
    if subframes != "auto":
        return subframes
    width = float(setup.psf.kernel_params[0])
    alone = concurrent <= STREAK_MAX_CONCURRENT
    if not (blur > STREAK_BLUR_FRACTION * width and alone and setup.exposure < setup.frame_period):
        return 1
    return SMEAR_SUBFRAMES if blur > SMEAR_BLUR_FRACTION * width else STREAK_SUBFRAMES


def _own(labels, region: Region, frames, x, y, a: float) -> np.ndarray:
    """Whether positions (µm, movie coordinates) in ``frames`` lie in the region's claimed pixels."""
    r = np.clip((np.asarray(y) / a).astype(int), 0, labels.shape[1] - 1)
    c = np.clip((np.asarray(x) / a).astype(int), 0, labels.shape[2] - 1)
    return labels[np.asarray(frames, dtype=int), r, c] == region.label


def _run_all(run, results: list, n: int, workers: int, progress, cost=None) -> None:
    """``results[i] = run(i)`` for every region, in ``workers`` threads; with ``cost`` (one
    number per region) the costliest are started first, so that no long region starts last
    while the other threads idle (each region's result does not depend on the order).
    ``progress(done, n)`` is called as each region finishes."""
    if workers == 1 or n <= 1:
        for i in range(n):
            results[i] = run(i)
            if progress is not None:
                progress(i + 1, n)
        return
    order = range(n) if cost is None else np.argsort(-np.asarray(cost, float), kind="stable")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run, int(i)): int(i) for i in order}
        for done, fut in enumerate(as_completed(futures), start=1):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(done, n)


def sum_posteriors(posteriors: list[dict]) -> dict:
    """Posterior of the sum of independent counts, each given as ``{value: probability}``."""
    total = np.ones(1)
    for post in posteriors:
        top = max(post) if post else 0
        p = np.zeros(top + 1)
        for k, v in post.items():
            p[int(k)] += v
        total = np.convolve(total, p)
    return {int(k): float(v) for k, v in enumerate(total) if v > 1e-12}


def track_field(
    stack,
    setup: Setup,
    *,
    n_iterations: int = 2000,
    n_chains: int = 2,
    seed: int | None = None,
    ci: float = 0.98,
    workers: int = 2,
    margin: int | None = None,
    gap: int = 3,
    min_detections: int = 3,
    spot_photons: float | None = None,
    n_samples: int = 0,
    subframes: int | str = "auto",
    progress=None,
    **bayes_kwargs,
) -> FieldResult:
    """Track a full field of view region by region with an unknown number of emitters.

    Parameters
    ----------
    stack : array_like (frames, rows, cols)
        Raw movie (ADU).
    setup : Setup
        The movie's optics, timing and calibrated camera.
    n_iterations, n_chains, ci
        Passed to :func:`~sptmotion.tracking.track_bayes` for every region.
    seed : int, optional
        Seed of the whole run; region i gets child seed i (same seed, same result, whatever
        the number of workers).
    workers : int
        Regions tracked at once (threads).
    margin, gap, min_detections
        Passed to :func:`find_regions`.
    spot_photons : float, optional
        Photons of one emitter per exposure for every region's emission-rate prior; default
        the median maximum-likelihood photons of the modular tracker's spots over the whole
        movie (mostly single emitters, unlike a crowded region's).
    n_samples : int
        Posterior sample positions kept per table row (:attr:`FieldResult.samples`); 0: none.
    subframes : int or "auto"
        Positions per exposure K of every region's model; "auto" (default): per region,
        :data:`STREAK_SUBFRAMES` where its spots are smeared by the motion during the exposure
        (:func:`predicted_blur` over :data:`STREAK_BLUR_FRACTION` of the PSF width; the K = 1
        blur-aware emission widens a round spot and cannot fit a streak), or
        :data:`SMEAR_SUBFRAMES` beyond :data:`SMEAR_BLUR_FRACTION` of it, unless it holds two
        particles at once in over :data:`STREAK_MAX_CONCURRENT` of its frames, else 1. With
        ``blur_psf=True`` "auto" keeps K = 1.
    progress : callable(done, total), optional
        Called after each region.
    **bayes_kwargs
        Further arguments of :func:`~sptmotion.tracking.track_bayes` (not ``n_emitters``).

    Returns
    -------
    FieldResult
    """
    from .bayes import track_bayes

    t_start = time.perf_counter()
    adu = check_stack(stack)
    ci = check_ci(ci)
    workers = check_int(workers, "workers", 1)
    n_samples = check_int(n_samples, "n_samples", 0)
    if "n_emitters" in bayes_kwargs:
        raise ValueError("track_field samples the number of emitters; do not pass n_emitters")
    subframes = _check_subframes(subframes)
    if subframes == "auto" and bayes_kwargs.get("blur_psf") is True:
        subframes = 1
    from .modular import track_modular

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spots = track_modular(adu, setup, ci=_SPOT_CI)
    if spot_photons is None and len(spots):
        ph = spots["photons"].to_numpy(dtype=float)
        ph = ph[np.isfinite(ph)]
        spot_photons = float(np.median(ph)) if len(ph) else None
    regions, labels = find_regions(
        adu, setup, margin=margin, gap=gap, min_detections=min_detections, locs=spots
    )
    seeds = np.random.SeedSequence(seed).spawn(max(len(regions), 1))
    a = setup.pixel_size

    plan = []  # each region's predicted blur, concurrent fraction and K
    for g in regions:
        blur = predicted_blur(spots, labels, g, setup, ci=_SPOT_CI)
        concurrent = concurrent_fraction(spots, labels, g, setup)
        plan.append((blur, concurrent, region_subframes(subframes, blur, concurrent, setup)))
    # a region's time grows with its voxels and, less, with K (measured on the field benchmark)
    cost = [(g.t1 - g.t0) * (g.r1 - g.r0) * (g.c1 - g.c0) * (1.0 + 0.1 * (k - 1))
            for g, (_, _, k) in zip(regions, plan, strict=True)]  # fmt: skip

    def run(i: int):
        g = regions[i]
        t0 = time.perf_counter()
        sub = adu[g.t0 : g.t1, g.r0 : g.r1, g.c0 : g.c1]
        blur, concurrent, K = plan[i]
        post = track_bayes(
            sub, crop_setup(setup, g), n_emitters=None, n_iterations=n_iterations,
            n_chains=n_chains, seed=int(seeds[i].generate_state(1)[0]), ci=ci,
            spot_photons=spot_photons, subframes=K, **bayes_kwargs,
        )  # fmt: skip
        lab = post.relabel_frames()  # once for the table and its draws
        tab = lab.to_table(ci)
        own_D = lab.row_D(ci)
        region_D = post.D_summary(ci)
        for key, col in (("mean", "D"), ("lo", "D_lo"), ("hi", "D_hi")):
            tab[col] = np.full(len(tab), region_D[key]) if own_D is None else own_D[key]
        draws = lab.table_draws(n_samples) if n_samples else None
        tab["frame"] += g.t0
        tab["t"] = tab["frame"].to_numpy() * setup.frame_period
        for ax, off in (("x", g.c0 * a), ("y", g.r0 * a)):
            for col in (ax, f"{ax}_lo", f"{ax}_hi"):
                tab[col] += off
        # keep the rows in this region's own claimed pixels
        own = _own(labels, g, tab["frame"].to_numpy(dtype=int), tab["x"].to_numpy(),
                   tab["y"].to_numpy(), a)  # fmt: skip
        tab = tab[own].reset_index(drop=True)
        if draws is not None:
            draws = draws[:, own] + [g.c0 * a, g.r0 * a, 0.0]
        # the region's emitters: present in at least one frame inside its own claimed pixels
        # (a particle of another region that crosses the box is counted there)
        fs = post.frame_samples
        frames = np.broadcast_to(g.t0 + np.arange(fs.shape[3]), fs.shape[:4])
        mine = _own(labels, g, frames, fs[..., 0] + g.c0 * a, fs[..., 1] + g.r0 * a, a)
        counts = (post.present & mine).any(axis=3).sum(axis=2).ravel()
        values, n = np.unique(counts, return_counts=True)
        own_post = {int(v): float(k / counts.size) for v, k in zip(values, n, strict=True)}
        diag = post.diagnostics()
        info = {
            "region": i,
            "frames": [g.t0, g.t1],
            "rows": [g.r0, g.r1],
            "cols": [g.c0, g.c1],
            "n_detections": g.n_detections,
            "candidates": post.n_emitters,
            "subframes": K,
            "predicted_blur_um": blur,
            "concurrent_fraction": concurrent,
            "n_emitters_posterior": own_post,
            "n_emitters_posterior_box": post.count_posterior(),
            "diagnostics": diag,
            "D": post.D_summary(ci),
            "time_s": time.perf_counter() - t0,
        }
        return tab, info, draws

    results = [None] * len(regions)
    with warnings.catch_warnings():
        # the detectors silence their libraries' warnings with catch_warnings, which is not
        # thread-safe (a thread's exit can restore another's filters): silence them here too
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        _run_all(run, results, len(regions), workers, progress, cost)
    tables, infos, samples, next_id = [], [], [], 0
    for i, (tab, info, draws) in enumerate(results):
        if len(tab):
            ids = {p: next_id + k for k, p in enumerate(pd.unique(tab["particle"]))}
            tab = tab.assign(particle=tab["particle"].map(ids).astype(int), region=i)
            next_id += len(ids)
            tables.append(tab)
            samples.append(draws)
        infos.append(info)
    field_samples = None
    if tables:
        table = pd.concat(tables, ignore_index=True)
        order = np.lexsort((table["frame"].to_numpy(), table["particle"].to_numpy()))
        table = table.iloc[order].reset_index(drop=True)
        if n_samples:
            S = min(d.shape[0] for d in samples)
            field_samples = np.concatenate([d[:S] for d in samples], axis=1)[:, order]
    else:
        from .posterior import TABLE_COLUMNS

        table = pd.DataFrame(
            {c: [] for c in (*TABLE_COLUMNS, "t", "p_present", "D", "D_lo", "D_hi", "region")}
        )
        if n_samples:
            field_samples = np.zeros((0, 0, 3))
    total = sum_posteriors([info["n_emitters_posterior"] for info in infos])
    return FieldResult(
        table, infos, total, time.perf_counter() - t_start, samples=field_samples, spots=spots
    )
