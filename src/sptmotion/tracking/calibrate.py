"""How far a localization's Fisher variance is from its actual error: calibrated by simulation.

The maximum-likelihood refinement of :mod:`.modular` reports each localization's variance as
the inverse expected Fisher information at the fitted spot. At the photon counts of single
particle tracking (a few hundred photons over tens of background photons per pixel), with five
free parameters per spot (x, y, |z|, photons, background), the fit's error exceeds that bound:
at the reference optics (``hendrix2025``: 300 photons, 53 background photons per pixel) the
squared error over the Fisher variance averages 1.2 for static and for moving spots.

:func:`calibrate_fisher_variance` measures that factor for a movie by simulation through the
measurement model: spots are drawn at the movie's own fitted photons, backgrounds and depths
(resampled from its localizations), optionally moving by Brownian motion over the exposure,
rendered with the movie's optics and camera, and localized by the same refinement; the factor
is the mean of ``(error / Fisher SE)²`` over the spots and both lateral axes, with its
standard error. Errors are taken from the exposure-weighted mean position, the position the
motion layer's measurement model places a localization at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import check_int, check_positive
from ..optics import Setup, render
from ..optics.camera import SCMOS
from .modular import refine_localizations

__all__ = ["VarianceCalibration", "calibrate_fisher_variance", "step_diffusion"]

#: Spots whose error exceeds this many Fisher SEs are counted as failed fits, not as error.
_FAILED_SE = 8.0
#: Pixels on each side of the refinement window in the calibration frames.
_PAD = 2


@dataclass(frozen=True)
class VarianceCalibration:
    """The calibrated factor on the localizations' Fisher variances.

    Attributes
    ----------
    factor : float
        Mean squared error over Fisher variance (1 = the Fisher variances are right).
    se : float
        Standard error of ``factor`` (from the spread of the squared standardized errors).
    n_spots : int
        Simulated spots that entered ``factor``.
    failed : float
        Share of the simulated spots whose fit failed (error beyond 8 Fisher SEs or no SE).
    blur_D : float
        Diffusion coefficient (µm²/s) of the simulated motion over the exposure.
    """

    factor: float
    se: float
    n_spots: int
    failed: float
    blur_D: float

    def to_dict(self) -> dict:
        """The fields as plain floats and ints (for JSON)."""
        return {
            "factor": float(self.factor),
            "se": float(self.se),
            "n_spots": int(self.n_spots),
            "failed": float(self.failed),
            "blur_D": float(self.blur_D),
        }


def calibrate_fisher_variance(
    setup: Setup,
    locs: pd.DataFrame,
    *,
    n_spots: int = 400,
    blur_D: float = 0.0,
    half_width: int = 4,
    rng: np.random.Generator | int | None = 0,
) -> VarianceCalibration:
    """Calibrate the Fisher variances of :func:`.modular.refine_localizations` by simulation.

    Parameters
    ----------
    setup : Setup
        The movie's optics, timing and camera (an sCMOS's per-pixel maps enter by their
        medians).
    locs : DataFrame
        The movie's refined localizations (columns ``photons``, ``background`` and ``z``: photons
        of the spot per frame, background photons per pixel, ``|z|`` in µm); rows with a
        non-finite value are skipped.
    n_spots : int
        Spots to simulate (the factor's standard error falls as ``1 / sqrt(n_spots)``: about
        6% of the factor at 400 spots, 3.5% at 1000, at the reference optics).
    blur_D : float
        Diffusion coefficient (µm²/s) of a lateral Brownian motion of each spot over the
        exposure, sampled at the setup's sub-frame instants (0: static spots).
    half_width : int
        Half width (pixels) of the refinement window, as in the movie's refinement.
    rng : Generator, int or None
        Randomness of the spots (positions, draws of the operating points, camera noise).

    Returns
    -------
    VarianceCalibration

    Raises
    ------
    ValueError
        If ``locs`` has no usable row (no refined localization with photons, background and z).
    """
    n_spots = check_int(n_spots, "n_spots", 10)
    blur_D = check_positive(blur_D, "blur_D (µm²/s)", allow_zero=True)
    half_width = check_int(half_width, "half_width", 1)
    rng = np.random.default_rng(rng)
    cols = ("photons", "background", "z")
    if not set(cols) <= set(locs.columns):
        raise ValueError("the localizations have no photons/background/z: refine them first")
    ops = locs[list(cols)].to_numpy(dtype=float)
    ops = ops[np.all(np.isfinite(ops), axis=1) & (ops[:, 0] > 0) & (ops[:, 1] >= 0)]
    if len(ops) == 0:
        raise ValueError("no refined localization to calibrate the Fisher variances on")
    size = 2 * (half_width + _PAD) + 1
    a = float(setup.pixel_size)
    small = setup.replace(rows=size, cols=size, camera=_uniform_camera(setup.camera))
    K = small.subframes
    t_fine = small.fine_times(1)
    pick = ops[rng.integers(0, len(ops), n_spots)]
    centre = np.full(2, 0.5 * size * a) + rng.uniform(-0.5 * a, 0.5 * a, (n_spots, 2))
    z = pick[:, 2] * rng.choice((-1.0, 1.0), n_spots)
    frames = np.empty((n_spots, size, size))
    truth = np.empty((n_spots, 2))
    for i in range(n_spots):
        path = np.repeat(np.append(centre[i], z[i])[None, :], K, axis=0)
        if blur_D > 0 and K > 1:
            steps = rng.normal(size=(K - 1, 2)) * np.sqrt(2.0 * blur_D * np.diff(t_fine))[:, None]
            path[1:, :2] += np.cumsum(steps, axis=0)
            path[:, :2] -= small.weights @ path[:, :2] - centre[i]
        spot = small.replace(
            emission_rate=pick[i, 0] / small.exposure,
            background_flux=pick[i, 1] / (a * a * small.exposure),
        )
        frames[i] = render(path[None], spot, rng=rng)[0]
        truth[i] = small.weights @ path[:, :2]
    start = truth + rng.normal(scale=0.02, size=truth.shape)
    table = pd.DataFrame({"frame": np.arange(n_spots), "x": start[:, 0], "y": start[:, 1]})
    zq = float(stats.norm.ppf(0.5 + 0.98 / 2))
    fit = refine_localizations(frames, small, table, half_width=half_width, ci=0.98)
    se = np.stack(
        [(fit[f"{ax}_hi"] - fit[f"{ax}_lo"]).to_numpy(dtype=float) / (2 * zq) for ax in "xy"],
        axis=1,
    )
    err = fit[["x", "y"]].to_numpy(dtype=float) - truth
    with np.errstate(divide="ignore", invalid="ignore"):
        u2 = (err / se) ** 2
    ok = np.all(np.isfinite(u2) & (se > 0), axis=1) & np.all(u2 <= _FAILED_SE**2, axis=1)
    if ok.sum() < 5:
        raise ValueError("the simulated spots could not be localized: no calibration")
    spot_mean = u2[ok].mean(axis=1)
    factor = float(spot_mean.mean())
    return VarianceCalibration(
        factor=factor,
        se=float(spot_mean.std(ddof=1) / np.sqrt(ok.sum())),
        n_spots=int(ok.sum()),
        failed=float(1.0 - ok.mean()),
        blur_D=blur_D,
    )


def _uniform_camera(camera):
    """The camera itself, or for an sCMOS with per-pixel maps one with the maps' medians (the
    calibration frames are small and sit anywhere on the chip)."""
    if not isinstance(camera, SCMOS) or all(
        np.ndim(m) == 0 for m in (camera.gain, camera.offset, camera.read_var)
    ):
        return camera
    return SCMOS(
        gain=float(np.median(camera.gain)),
        offset=float(np.median(camera.offset)),
        read_var=float(np.median(camera.read_var)),
        qe=camera.qe,
        approx=camera.approx,
        rel_tol=camera.rel_tol,
    )


def step_diffusion(table: pd.DataFrame, dt: float, noise_var: float = 0.0) -> float:
    """A Brownian-equivalent lateral diffusion coefficient (µm²/s) of linked localizations.

    The mean squared step per lateral axis between consecutive frames of the same particle,
    less twice the localization variance ``noise_var`` (µm² per axis), over ``2 dt``; 0 when the
    noise explains the steps or no particle has two consecutive frames. It sets the scale of
    the motion blur in :func:`calibrate_fisher_variance`, not an answer about the motion.

    Parameters
    ----------
    table : DataFrame
        Linked localizations (columns ``particle``, ``frame``, ``x``, ``y`` in µm).
    dt : float
        Frame period (s).
    noise_var : float
        Localization variance per axis (µm²).
    """
    dt = check_positive(dt, "dt (s)")
    noise_var = check_positive(noise_var, "noise_var (µm²)", allow_zero=True)
    t = table.sort_values(["particle", "frame"])
    same = (t["particle"].diff() == 0) & (t["frame"].diff() == 1)
    steps = t[["x", "y"]].diff().to_numpy(dtype=float)[same.to_numpy()]
    steps = steps[np.all(np.isfinite(steps), axis=1)]
    if len(steps) == 0:
        return 0.0
    return max(float(np.mean(steps**2)) - 2.0 * float(noise_var), 0.0) / (2.0 * dt)
