"""Tracking a movie file into a track table with credible (or confidence) bounds and a summary."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

__all__ = ["track_movie", "MCMCProgress", "REGIONS_ABOVE", "use_regions", "single_subframes"]

logger = logging.getLogger("sptmotion")


class MCMCProgress:
    """A progress bar over all MCMC sweeps of all chains: the ``progress`` callback of
    :func:`sptmotion.tracking.track_bayes`. The bar appears at the first sweep, not before the
    input is read, so an error message stands alone."""

    def __init__(self, iterations: int, chains: int):
        self.iterations, self.chains = iterations, chains
        self.bar = None
        self.done = 0

    def __call__(self, chain: int, it: int, lp: float) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.chains * self.iterations, desc="MCMC", unit="sweep", leave=False
            )
        n = chain * self.iterations + it + 1
        self.bar.update(n - self.done)
        self.done = n
        self.bar.set_postfix_str(f"chain {chain + 1}/{self.chains} log-posterior {lp:.6g}")

    def regions(self, done: int, total: int) -> None:
        """The ``progress`` callback of :func:`sptmotion.tracking.track_field`: regions done."""
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="regions", unit="region", leave=False)
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


#: Frames of more pixels than this are tracked by regions when the number of emitters is unknown.
REGIONS_ABOVE = 64 * 64


def use_regions(regions: bool | None, shape) -> bool:
    """Whether a movie of ``shape`` (frames, rows, cols) is tracked by regions with M unknown:
    as asked (``regions``), or by default when its frames have over :data:`REGIONS_ABOVE` pixels."""
    if regions is None:
        return shape[1] * shape[2] > REGIONS_ABOVE
    return bool(regions)


def single_subframes(subframes: int | str) -> int:
    """K of a movie tracked as one region: ``subframes``, or 1 for "auto" (which only
    :func:`sptmotion.tracking.regions.track_field` chooses, per region)."""
    return 1 if subframes == "auto" else int(subframes)


def track_movie(
    movie: str | Path,
    output: str | Path,
    *,
    method: str = "bayes",
    iterations: int = 6000,
    chains: int = 2,
    seed: int | None = None,
    ci: float = 0.98,
    emitters: int | None = None,
    extra_candidates: int = 2,
    subframes: int | str = "auto",
    burn: float = 0.5,
    fix_background: bool = False,
    fix_emission_rate: bool = False,
    refine: bool = True,
    max_gap: int = 3,
    search_range: float = 1.5,
    minmass: float | None = None,
    linker: str = "trackpy",
    min_length: int = 3,
    init: str | None = None,
    blur_psf: bool | str = "auto",
    planar: bool = False,
    regions: bool | None = None,
    workers: int = 2,
    quiet: bool = True,
    movie_setup: dict | None = None,
) -> tuple[Path, Path]:
    """Track a movie and write the table (CSV/Parquet) and its JSON summary beside it, atomically.

    Parameters
    ----------
    movie : path
        TIFF stack with its JSON sidecar (:func:`sptmotion.optics.load_movie`).
    output : path
        Track table (``.csv`` or ``.parquet``); the summary goes to the same name with ``.json``.
    method : {"bayes", "modular"}
        MCMC posterior from the pixels (:func:`sptmotion.tracking.track_bayes`) or
        detect-localize-link (:func:`sptmotion.tracking.track_modular`).
    iterations, chains, seed, ci, emitters, extra_candidates, subframes, burn, fix_background,
    fix_emission_rate, init, blur_psf, planar
        Passed to :func:`~sptmotion.tracking.track_bayes` (``emitters`` is ``n_emitters``: None,
        the default, samples the number of emitters and their presence per frame; the table
        then has ``p_present`` and the summary ``n_emitters_posterior``). ``subframes``
        "auto" (default): by regions chosen per region from its spots' motion blur
        (:func:`~sptmotion.tracking.regions.track_field`), otherwise 1.
    refine : bool
        Maximum-likelihood refinement of the modular localizations.
    max_gap, search_range, minmass, linker, min_length
        Modular tracker: largest gap closed by the linker (frames), largest link (µm),
        detection threshold (band-passed photons; default from the movie's noise), linker
        (``"trackpy"`` or ``"laptrack"``), shortest track kept (localizations).
    regions : bool, optional
        With an unknown number of emitters (``emitters=None``), track the movie as independent
        regions (:func:`sptmotion.tracking.regions.track_field`); default: when a frame has
        more than :data:`REGIONS_ABOVE` pixels.
    workers : int
        Regions tracked at once (threads).
    quiet : bool
        No progress bar.
    movie_setup : dict, optional
        Imaging parameters for a movie without sidecar, or overrides of it (``preset``,
        ``camera``, ``gain``, ``conversion``, ``dt``, ``pixel_size``, ``exposure``), as
        :func:`sptmotion.optics.load_movie` takes them.

    Returns
    -------
    (Path, Path)
        The table and the summary written.
    """
    from .._io import atomic_path, check_not_inputs, check_output_file
    from .._io import jsonable as _jsonable
    from ..datasets.tables import TABLE_SUFFIXES, write_table
    from ..optics.io import load_movie, sidecar_path
    from ..tracking import track_bayes, track_modular
    from ..tracking.posterior import check_ci
    from .report import convergence_warnings, region_warnings

    method = method.lower()
    if method not in ("bayes", "modular"):
        raise ValueError(f"--method must be 'bayes' or 'modular', got {method!r}")
    ci = check_ci(ci)
    out = check_output_file(output, TABLE_SUFFIXES)
    json_path = out.with_suffix(".json")  # a table suffix was checked: never the table itself
    check_not_inputs(
        [out, json_path],
        [movie, sidecar_path(movie), (movie_setup or {}).get("camera_file")],
    )
    stack, setup, _ = load_movie(movie, **(movie_setup or {}))
    by_regions = method == "bayes" and emitters is None and use_regions(regions, stack.shape)
    if by_regions:
        from ..tracking.regions import track_field

        bar = None if quiet else MCMCProgress(iterations, chains)
        try:
            result = track_field(
                stack, setup, n_iterations=iterations, n_chains=chains, seed=seed, ci=ci,
                workers=workers, subframes=subframes, burn=burn, fix_background=fix_background,
                fix_emission_rate=fix_emission_rate, blur_psf=blur_psf, planar=planar,
                extra_candidates=extra_candidates, progress=None if bar is None else bar.regions,
            )  # fmt: skip
        finally:
            if bar is not None:
                bar.close()
        table = result.table
        warnings = region_warnings(result.regions, json_path.name)
        summary = result.summary()
        summary["ci"] = ci
        summary["warnings"] = warnings
        for warning in summary["warnings"]:
            logger.warning(warning)
    elif method == "bayes":
        progress = None if quiet else MCMCProgress(iterations, chains)
        try:
            post = track_bayes(
                stack,
                setup,
                n_emitters=emitters,
                extra_candidates=extra_candidates,
                subframes=single_subframes(subframes),
                n_iterations=iterations,
                n_chains=chains,
                burn=burn,
                seed=seed,
                ci=ci,
                fix_background=fix_background,
                fix_emission_rate=fix_emission_rate,
                init=init,
                blur_psf=blur_psf,
                planar=planar,
                progress=progress,
            )
        finally:
            if progress is not None:
                progress.close()
        table = post.to_table(ci)
        summary = post.summary(ci)
        summary["warnings"] = convergence_warnings(summary["diagnostics"])
        for warning in summary["warnings"]:
            logger.warning(warning)
    else:
        table = track_modular(
            stack, setup, refine=refine, ci=ci,
            max_gap=max_gap, search_range=search_range, minmass=minmass, linker=linker,
            min_length=min_length,
        )  # fmt: skip
        se = (table["x_hi"] - table["x_lo"]).to_numpy()
        summary = {
            "method": "modular",
            "ci": ci,
            "refine": bool(refine),
            "max_gap": int(max_gap),
            "search_range_um": float(search_range),
            "linker": linker,
            "min_length": int(min_length),
            "n_tracks": int(table["particle"].nunique()) if len(table) else 0,
            "n_localizations": int(len(table)),
            "n_frames": int(stack.shape[0]),
            "median_interval_width_x": float(np.nanmedian(se)) if len(se) else None,
        }
    summary["movie"] = str(movie)
    summary["setup"] = setup.to_dict()  # the imaging parameters used (sidecar, metadata, flags)
    summary["table"] = out.name
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False))
    try:
        write_table(table, out)
    except BaseException:
        json_path.unlink(missing_ok=True)
        raise
    return out, json_path
