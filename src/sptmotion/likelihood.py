"""The decomposed log-probability of a movie and its emitter tracks.

For a movie ``w`` (ADU), the fine-grid positions ``r`` of its emitters (K sub-frame positions per
exposure) and a motion model, the joint log-probability splits into three parts
(Hendrix, Xu & Pressé 2025):

``ln P(w, r) = ln P(r_0)  +  ln P(w | r)  +  ln P(r_1..r_L | r_0, motion)``

- ``initial``: Gaussian prior of each emitter's first position, centred on the ROI centre (z = 0)
  with standard deviations half the ROI width / height in x / y and ``prior_sigma_z`` (0.5 µm,
  about twice the PSF's axial scale z0) in z (only the axes the tracks have);
- ``emission``: the camera log-density of every pixel of every frame given the expected photons
  computed from the positions (:func:`sptmotion.optics.expected_photons`);
- ``motion``: ``motion.log_likelihood`` of the increments on the fine time grid
  (:meth:`sptmotion.optics.Setup.fine_times`), for any model with a likelihood (BM, DBM, FBM, SBM).

The paper's point: the emission part dominates by orders of magnitude (its share
``|emission| / (|emission| + |motion|)`` is > 99 %), so the likelihood of a movie says little
about the motion model unless the emission part is integrated out carefully.

The frame-local API (:func:`frame_loglik`) evaluates a single frame from that frame's
positions only, as an MCMC tracker needs when it proposes new positions for one frame.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .motion.base import MotionModel
from .optics import _kernels
from .optics.camera import EMCCDGamma
from .optics.psf import GaussianLorentzianPSF
from .optics.render import _expected, check_fine_tracks
from .optics.setup import Setup

__all__ = [
    "Decomposition",
    "decompose",
    "emission_loglik",
    "motion_loglik",
    "initial_log_prior",
    "frame_loglik",
    "check_stack",
]


@dataclass(frozen=True)
class Decomposition:
    """The parts of ``ln P(movie, positions)`` (natural log).

    Attributes
    ----------
    initial : float
        ``ln P(r_0)``, Gaussian prior of the first positions.
    emission : float
        ``ln P(data | positions)``.
    motion : float
        ``ln P(positions | r_0, motion model)``.
    n_frames, n_emitters, subframes : int
        Sizes of the problem.
    """

    initial: float
    emission: float
    motion: float
    n_frames: int = 0
    n_emitters: int = 0
    subframes: int = 1

    @property
    def total(self) -> float:
        """``initial + emission + motion``."""
        return self.initial + self.emission + self.motion

    @property
    def emission_share(self) -> float:
        """``|emission| / (|emission| + |motion|)``."""
        den = abs(self.emission) + abs(self.motion)
        return abs(self.emission) / den if den > 0 else float("nan")

    def to_dict(self) -> dict:
        """All parts plus ``total`` and ``emission_share``."""
        d = asdict(self)
        d["total"] = self.total
        d["emission_share"] = self.emission_share
        return d


def check_stack(stack, setup: Setup, n_frames: int | None = None) -> np.ndarray:
    """Validate a movie ``(frames, rows, cols)`` of ADU against a setup; return float64."""
    try:
        w = np.asarray(stack, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("stack must be a numeric array (frames, rows, cols)") from None
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or w.shape[1:] != (setup.rows, setup.cols):
        raise ValueError(
            f"stack must have shape (frames, {setup.rows}, {setup.cols}), got {w.shape}"
        )
    if n_frames is not None and w.shape[0] != n_frames:
        raise ValueError(
            f"stack has {w.shape[0]} frames but the tracks cover {n_frames} frames "
            f"({setup.subframes} subframes per frame)"
        )
    if not np.isfinite(w).all():
        raise ValueError("stack contains NaN or inf ADU values")
    return w


def emission_loglik(stack, fine_tracks, setup: Setup, *, allow_outside: bool = False) -> float:
    """``ln P(data | positions)``: the camera log-density summed over all pixels and frames."""
    X = check_fine_tracks(fine_tracks, setup, allow_outside=allow_outside)
    w = check_stack(stack, setup, X.shape[1] // setup.subframes)
    return setup.camera.log_pdf_sum(w, _expected(X, setup))


def _check_times(times, n_points: int) -> np.ndarray:
    t = np.asarray(times, dtype=np.float64)
    if t.shape != (n_points,) or not np.isfinite(t).all() or np.any(np.diff(t) <= 0):
        raise ValueError(
            f"times must be {n_points} finite, strictly increasing instants (s), got shape {t.shape}"
        )
    return t


def _motion_part(
    X: np.ndarray, dims: int, setup: Setup, motion: MotionModel, times: np.ndarray | None = None
) -> float:
    """Sum of ``motion.log_likelihood`` over emitters; NaN points (absent) are left out."""
    if times is None:
        times = setup.fine_times(X.shape[1] // setup.subframes)
    P = X[..., :dims]
    present = np.isfinite(P).all(axis=2)
    total = 0.0
    # emitters with the same presence pattern are evaluated together (usually one group)
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)
    for g, mask in enumerate(patterns):
        if mask.sum() < 2:
            continue
        idx = np.flatnonzero(inverse.ravel() == g)
        t = times[mask]
        total += float(np.sum(motion.log_likelihood(P[idx][:, mask], times=t - t[0])))
    return total


def motion_loglik(fine_tracks, setup: Setup, motion: MotionModel, *, times=None) -> float:
    """``ln P(positions | r_0, motion)`` on the fine time grid of ``setup``.

    Parameters
    ----------
    fine_tracks : array_like (M, N*K, dim)
        Positions in µm (NaN: absent; only the present points of each emitter are used).
    setup : Setup
        Gives the fine time grid (K, exposure, frame period).
    motion : MotionModel
        Any model with a likelihood (``MODELS["bm"](D=...)``, DBM, FBM, SBM).
    times : array_like (N*K,), optional
        Times (s) of the points; default ``setup.fine_times(N)``.
    """
    X = check_fine_tracks(fine_tracks, setup, allow_outside=True)
    dims = np.asarray(fine_tracks).shape[-1]
    t = None if times is None else _check_times(times, X.shape[1])
    return _motion_part(X, dims, setup, _check_motion(motion), t)


def initial_log_prior(
    first_positions, setup: Setup, *, prior_sigma_z: float = 0.5, dims: int | None = None
) -> float:
    """Gaussian log-prior of the emitters' first positions (see the module docstring).

    Parameters
    ----------
    first_positions : array_like, shape (M, dim)
        First position of each emitter (µm, ROI coordinates).
    setup : Setup
        Gives the ROI.
    prior_sigma_z : float
        Standard deviation of the prior along z (µm).
    dims : int, optional
        Number of axes to include (default: all columns of ``first_positions``).
    """
    r0 = np.atleast_2d(np.asarray(first_positions, dtype=float))
    d = r0.shape[1] if dims is None else dims
    w, h = setup.roi_size
    mean = np.array([w / 2, h / 2, 0.0])[:d]
    sd = np.array([w / 2, h / 2, prior_sigma_z])[:d]
    r0 = r0[:, :d]
    ok = np.isfinite(r0).all(axis=1)
    z = (r0[ok] - mean) / sd
    return float(-0.5 * np.sum(z**2) - ok.sum() * np.sum(np.log(sd) + 0.5 * math.log(2 * math.pi)))


def _check_motion(motion) -> MotionModel:
    if not isinstance(motion, MotionModel):
        raise ValueError(
            f"motion must be a MotionModel (e.g. MODELS['bm'](D=0.05)), got {motion!r}"
        )
    if not motion.has_likelihood:
        raise ValueError(f"motion model {motion.name!r} has no tractable likelihood")
    return motion


def decompose(
    stack,
    fine_tracks,
    setup: Setup,
    motion: MotionModel | None = None,
    *,
    prior_sigma_z: float = 0.5,
    allow_outside: bool = False,
    times=None,
) -> Decomposition:
    """Decompose ``ln P(movie, positions)`` into initial, emission and motion parts.

    Parameters
    ----------
    stack : array_like, shape (N, rows, cols)
        The movie in ADU.
    fine_tracks : array_like, shape (M, N*K, 2 or 3)
        Emitter positions (µm, ROI coordinates) at the K = ``setup.subframes`` sub-frame instants.
    setup : Setup
        Imaging parameters (e.g. from :func:`sptmotion.optics.read_movie`).
    motion : MotionModel, optional
        Motion model with a likelihood; default Brownian motion with D = 0.05 µm²/s.
    prior_sigma_z : float
        Standard deviation (µm) of the Gaussian prior of the first z.
    allow_outside : bool
        Accept positions far outside the ROI (see :func:`sptmotion.optics.render.check_fine_tracks`).
    times : array_like (N*K,), optional
        Times (s) of the fine points for the motion part; default ``setup.fine_times(N)`` (K points
        spanning each exposure, then the dead time). Pass the tracks' own times when they were
        sampled on another grid (e.g. ``sptmotion simulate --subframes K`` uses a uniform dt/K).

    Returns
    -------
    Decomposition
        ``.initial``, ``.emission``, ``.motion``, ``.total``, ``.emission_share``.

    Examples
    --------
    >>> from sptmotion import optics, likelihood
    >>> from sptmotion.motion import MODELS
    >>> setup = optics.preset("hendrix2025")
    >>> bm = MODELS["bm"](D=0.05)
    >>> X, t = bm.sample(1, 0, dim=3, rng=0, times=setup.fine_times(50))
    >>> X += [2.1, 2.1, 0.0]
    >>> parts = likelihood.decompose(optics.render(X, setup, rng=1), X, setup, motion=bm)
    >>> parts.emission_share > 0.99
    True
    """
    if motion is None:
        from .motion import MODELS

        motion = MODELS["bm"](D=0.05)
    motion = _check_motion(motion)
    dims = np.asarray(fine_tracks).shape[-1] if np.ndim(fine_tracks) >= 2 else 3
    X = check_fine_tracks(fine_tracks, setup, allow_outside=allow_outside)
    N = X.shape[1] // setup.subframes
    w = check_stack(stack, setup, N)
    emission = setup.camera.log_pdf_sum(w, _expected(X, setup))
    # first present point of each emitter
    present = np.isfinite(X).all(axis=2)
    first = np.where(present.any(axis=1), present.argmax(axis=1), 0)
    r0 = X[np.arange(X.shape[0]), first]
    initial = initial_log_prior(r0, setup, prior_sigma_z=prior_sigma_z, dims=dims)
    t = None if times is None else _check_times(times, X.shape[1])
    mot = _motion_part(X, dims, setup, motion, t)
    return Decomposition(
        initial=initial,
        emission=float(emission),
        motion=mot,
        n_frames=N,
        n_emitters=X.shape[0],
        subframes=setup.subframes,
    )


def frame_loglik(frame, frame_positions, setup: Setup, *, row0: int = 0, col0: int = 0) -> float:
    """Frame-local emission log-likelihood ``ln P(frame | positions of this frame)``.

    Only the pixels of ``frame`` are evaluated, so an MCMC move on the positions of one frame
    costs one call (the rest of the stack is untouched). Uses the same kernels as the renderer.

    Parameters
    ----------
    frame : array_like, shape (rows, cols)
        ADU of one frame, or of a window of it starting at pixel ``(row0, col0)`` of the ROI.
    frame_positions : array_like, shape (M, K, 2 or 3)
        The K sub-frame positions (µm, ROI coordinates) of the M emitters during this exposure.
    setup : Setup
        Imaging parameters.
    row0, col0 : int
        Index of the window's first row / column in the ROI.

    Notes
    -----
    Inside numba code call :func:`sptmotion.optics._kernels.frame_emission_loglik_emccd_gamma`
    (Gamma EMCCD) or :func:`~sptmotion.optics._kernels.expected_photons_frame` followed by a camera
    kernel directly; this wrapper validates and dispatches to them.
    """
    a = np.ascontiguousarray(frame, dtype=np.float64)
    if (
        a.ndim != 2
        or row0 < 0
        or col0 < 0
        or row0 + a.shape[0] > setup.rows
        or col0 + a.shape[1] > setup.cols
    ):
        raise ValueError(
            f"frame must be a 2D window inside the {setup.rows}x{setup.cols} ROI, got shape "
            f"{a.shape} at ({row0}, {col0})"
        )
    P = np.asarray(frame_positions, dtype=np.float64)
    if P.ndim == 2:
        P = P[None]
    K = setup.subframes
    if P.ndim != 3 or P.shape[1] != K or P.shape[2] not in (2, 3):
        raise ValueError(
            f"frame_positions must have shape (emitters, K={K}, 2 or 3), got {P.shape}"
        )
    if P.shape[2] == 2:
        P = np.concatenate([P, np.zeros(P.shape[:2] + (1,))], axis=2)
    cam = setup.camera
    psf = setup.psf
    if not isinstance(psf, GaussianLorentzianPSF):  # any other PSF: its own add_to_stack
        u = np.empty((1,) + a.shape)
        psf.add_to_stack(
            P[..., 0], P[..., 1], P[..., 2], setup.weights, setup.background_photons,
            setup.photons_per_frame, setup.pixel_size, u, origin=(row0, col0),
        )  # fmt: skip
        return cam.log_pdf_sum(a, u[0])
    xs, ys, zs = (np.ascontiguousarray(P[..., i].ravel()) for i in range(3))
    ws = np.tile(setup.weights, P.shape[0])
    sigma0, z0 = psf.kernel_params
    if isinstance(cam, EMCCDGamma):
        if not np.isfinite(a).all() or (a < cam.offset).any():
            raise ValueError("frame has NaN, inf or values below the camera offset")
        return float(
            _kernels.frame_emission_loglik_emccd_gamma(
                a, xs, ys, zs, ws, setup.background_photons, setup.photons_per_frame, setup.pixel_size,
                sigma0, z0, int(row0), int(col0), *cam.kernel_params,
            )
        )  # fmt: skip
    u = np.empty_like(a)
    _kernels.expected_photons_frame(
        xs, ys, zs, ws, setup.background_photons, setup.photons_per_frame, setup.pixel_size,
        sigma0, z0, int(row0), int(col0), u,
    )  # fmt: skip
    return cam.log_pdf_sum(a, u)


# ------------------------------------------------------------------------------------------
# The sweep of Hendrix, Xu & Pressé (2025): how large is each part across realistic settings?
# ------------------------------------------------------------------------------------------

#: Reference values of the sweep (besides the hendrix2025 preset): BM with D = 0.05 µm²/s in 3D,
#: N = 50 frames, one emitter starting at the ROI centre in focus, K = 5 positions per exposure
#: (the value of the paper's reference implementation, LabPresse/WidefieldMotionModels,
#: ``Infer/Chain/initialParameters.m``: "K = 5; Interpolations per Frame").
SWEEP_REFERENCE = {"D": 0.05, "N": 50, "H": 1e4, "F": 1e5, "G": 350.0, "K": 5}

#: The values taken by each swept parameter (one parameter varied at a time).
SWEEP_GRID = {
    "D": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
    "N": [2, 4, 8, 16, 32, 50, 64, 128],
    "H": [1e3, 3e3, 1e4, 3e4, 1e5],
    "F": [1e3, 1e4, 1e5, 1e6],
    "G": [10.0, 50.0, 350.0, 1000.0],
    "K": [1, 2, 5, 10, 20],
}

#: Few frames x D at K = 1 (one position per frame, the resolution of a post-processed track) and
#: at the reference K: where does the motion part, counted with the initial-position prior as in
#: the paper's code (``logMotion = logPriorR0 + logPriorR``), turn negative?
SWEEP_SIGN_MAP = {"K": [1, 5], "N": [2, 3, 5, 10, 20], "D": [0.01, 0.1, 1.0, 10.0]}

#: Movies generated by other models (Dα in µm²/s^alpha), evaluated with BM.
SWEEP_OTHER_MODELS = {
    "bm": ("bm", {"D": 0.05}),
    "fbm (alpha=0.5)": ("fbm", {"alpha": 0.5, "D": 0.05}),
    "fbm (alpha=1.5)": ("fbm", {"alpha": 1.5, "D": 0.05}),
    "sbm (alpha=0.5)": ("sbm", {"alpha": 0.5, "D": 0.05}),
    "ctrw (alpha=0.5)": ("ctrw", {"alpha": 0.5, "D": 0.05}),
    "attm (alpha=0.5)": ("attm", {"alpha": 0.5, "D": 0.05}),
    "lw (alpha=1.5)": ("lw", {"alpha": 1.5, "v": 0.5}),
}


def bm_mle_D(fine_tracks, times) -> float:
    """Maximum-likelihood D (µm²/s) of BM from tracks on an irregular grid: ``sum |dr|^2/dt / (2 d n)``."""
    X = np.asarray(fine_tracks, dtype=float)
    dr2 = np.sum(np.diff(X, axis=1) ** 2, axis=2)
    return float(np.mean(dr2 / np.diff(times)[None, :]) / (2 * X.shape[2]))


def _sweep_one(
    setup: Setup, gen, eval_D: float | None, n_frames: int, rng: np.random.Generator
) -> dict:
    from .motion import MODELS

    times = setup.fine_times(n_frames)
    X, _ = gen.sample(1, len(times) - 1, dim=3, rng=rng, times=times)
    w, h = setup.roi_size
    X = X + np.array([w / 2, h / 2, 0.0])
    movie = setup.camera.sample(_expected(X, setup), rng)
    D = bm_mle_D(X, times) if eval_D is None else eval_D
    if D <= 0:  # the emitter never moved (e.g. a CTRW waiting the whole movie): BM degenerate
        return None
    parts = decompose(movie, X, setup, MODELS["bm"](D=D), allow_outside=True)
    d = parts.to_dict()
    d["eval_D"] = D
    return d


def likelihood_sweep(
    seed: int = 0,
    repeats: int = 3,
    *,
    grid: dict | None = None,
    other_models: dict | None = None,
    sign_map: dict | None = None,
):
    """Decompose the likelihood of simulated movies, varying one parameter at a time.

    BM movies with the hendrix2025 preset and :data:`SWEEP_REFERENCE` values; each parameter of
    ``grid`` (default :data:`SWEEP_GRID`: D, frames N, emission rate H, background F, EM gain G,
    sub-frame count K) is varied alone. Then movies generated by the models of ``other_models``
    (default :data:`SWEEP_OTHER_MODELS`) are evaluated with the BM motion model at its
    maximum-likelihood D. Finally every combination of ``sign_map`` (default
    :data:`SWEEP_SIGN_MAP`: K, few frames N, D) maps where the motion part turns negative.
    Emitters start at the ROI centre in focus and move in 3D; emitters that diffuse out of the
    ROI are still rendered (they then add nothing to the image).

    Parameters
    ----------
    seed : int
        Seed of the whole sweep (each row uses its own child generator).
    repeats : int
        Movies per setting; the table holds the mean of each part and the share of the means.
    grid, other_models, sign_map : dict, optional
        Replace the defaults; an empty dict skips that part.

    Returns
    -------
    pandas.DataFrame
        One row per setting: ``group`` (the varied parameter, ``"model"`` or ``"sign"``),
        ``value``, ``D, N, H, F, G, K``, ``initial, emission, motion, total, emission_share``
        (means), ``motion_r0 = initial + motion`` (the motion part as the paper's code counts it,
        ``ln P(r_0, ..., r_L | motion)``), ``motion_sd`` (standard deviation over repeats),
        ``eval_D`` and ``n_static``: movies left out of the means because the generated emitter
        never moved (possible for CTRW and ATTM: BM at the maximum-likelihood D = 0 is degenerate).

    Notes
    -----
    For BM each fine-grid step contributes, in expectation, ``d * (-ln(4 pi D dt) - 1) / 2``
    (``d`` axes) to the motion part: positive while ``2 D dt < 1/(2 pi e)`` µm², so the motion
    part grows with N and K and falls with D; the initial-position prior adds a constant
    (about -3.6 here). The motion part is therefore negative at large D, and for few frames only
    when the steps are coarse (K = 1) and D not small.
    """
    import pandas as pd

    from .motion import MODELS
    from .optics.setup import preset

    grid = SWEEP_GRID if grid is None else grid
    other_models = SWEEP_OTHER_MODELS if other_models is None else other_models
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    ref = SWEEP_REFERENCE
    jobs = []
    for group, values in grid.items():
        if group not in ref:
            raise ValueError(f"unknown sweep parameter {group!r}; choose among {', '.join(ref)}")
        for v in values:
            p = dict(ref)
            p[group] = v
            jobs.append((group, v, p, "bm", {"D": p["D"]}, p["D"]))
    for label, (name, params) in other_models.items():
        jobs.append(("model", label, dict(ref), name, params, None))
    sign_map = SWEEP_SIGN_MAP if sign_map is None else sign_map
    if sign_map:
        for key in ("K", "N", "D"):
            if not sign_map.get(key):
                raise ValueError(f"sign_map needs a non-empty list for {key!r}")
        for K in sign_map["K"]:
            for N in sign_map["N"]:
                for D in sign_map["D"]:
                    p = {**ref, "K": K, "N": N, "D": D}
                    jobs.append(("sign", f"K={K:g} N={N:g} D={D:g}", p, "bm", {"D": D}, D))
    base = preset("hendrix2025")
    rows = []
    children = np.random.SeedSequence(seed).spawn(len(jobs))
    for (group, value, p, name, params, eval_D), ss in zip(jobs, children, strict=True):
        setup = base.replace(
            emission_rate=float(p["H"]),
            background_flux=float(p["F"]),
            subframes=int(p["K"]),
            camera=type(base.camera)(**{**base.camera.params, "gain": float(p["G"])}),
        )
        gen = MODELS[name](**params)
        rng = np.random.default_rng(ss)
        runs = [_sweep_one(setup, gen, eval_D, int(p["N"]), rng) for _ in range(repeats)]
        res = [r for r in runs if r is not None]
        mean = {
            k: float(np.mean([r[k] for r in res])) if res else float("nan")
            for k in ("initial", "emission", "motion", "total", "eval_D")
        }
        mean["motion_r0"] = mean["initial"] + mean["motion"]
        share = abs(mean["emission"]) / (abs(mean["emission"]) + abs(mean["motion"]))
        rows.append(
            {
                "group": group,
                "value": value,
                "generator": name,
                **{k: p[k] for k in ("D", "N", "H", "F", "G", "K")},
                **mean,
                "emission_share": share,
                "motion_sd": float(np.std([r["motion"] for r in res])) if res else float("nan"),
                "n_static": repeats - len(res),
            }
        )
    return pd.DataFrame(rows)


_GROUP_LABELS = {
    "D": "D (µm²/s)",
    "N": "frames N",
    "H": "emission rate H (photons/s)",
    "F": "background F (photons/µm²/s)",
    "G": "EM gain G",
    "K": "sub-frame positions K",
}


def sweep_markdown(df) -> str:
    """Markdown tables of a :func:`likelihood_sweep` result (one table per varied parameter)."""
    lines = []
    ref = ", ".join(f"{k} = {v:g}" for k, v in SWEEP_REFERENCE.items())
    lines.append(
        f"Reference: hendrix2025 preset, BM in 3D, {ref}. One parameter varied at a time.\n"
    )
    lines.append(
        "Units: ln P(data | r) is a density over ADU (continuous, EMCCD Gamma model) and "
        "ln P(r | motion) a density over µm; both parts shift with the units (e.g. by -ln(phi) per "
        "pixel if the data were in electrons), so the emission share refers to these conventional "
        "units, as in the paper (µm, s, ADU; the paper's code: LabPresse/WidefieldMotionModels). "
        "K is the number of positions per exposure that discretize the motion blur (a modelling "
        "choice, not an experimental setting): the motion part holds 3 axes x K terms per frame, so "
        "it grows with K (the reference K = 5 is the value of the paper's code, "
        "`Infer/Chain/initialParameters.m`; the K table shows the others). Each BM step adds about (3/2)(-ln(4 pi D dt) - 1): positive while the step "
        "variance 2 D dt < 1/(2 pi e) µm².\n"
    )
    head = "| {} | ln P(r0) | ln P(data \\| r) | ln P(r \\| motion) | total | emission share |"
    sep = "|---|---:|---:|---:|---:|---:|"
    for group in [g for g in df["group"].unique() if g not in ("model", "sign")]:
        sub = df[df["group"] == group]
        lines.append(f"### {_GROUP_LABELS.get(group, group)}\n")
        lines.append(head.format(group))
        lines.append(sep)
        for _, r in sub.iterrows():
            lines.append(
                f"| {r['value']:g} | {r['initial']:.1f} | {r['emission']:.4g} | {r['motion']:.4g} "
                f"| {r['total']:.4g} | {100 * r['emission_share']:.2f} % |"
            )
        lines.append("")
    lines.extend(_sweep_summary(df))
    lines.extend(_sign_map_markdown(df))
    sub = df[df["group"] == "model"]
    if len(sub):
        lines.append(
            "### Movies generated by other models, evaluated with BM (D by maximum likelihood)\n"
        )
        lines.append(
            "| generator | BM D (µm²/s) | ln P(r0) | ln P(data \\| r) | ln P(r \\| BM) | total "
            "| emission share | static movies left out |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for _, r in sub.iterrows():
            lines.append(
                f"| {r['value']} | {r['eval_D']:.3g} | {r['initial']:.1f} | {r['emission']:.4g} "
                f"| {r['motion']:.4g} | {r['total']:.4g} | {100 * r['emission_share']:.2f} % "
                f"| {int(r['n_static'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def _sweep_summary(df) -> list[str]:
    """Findings computed from the table (ranges, minima, sign changes of the motion part)."""
    out = ["### Summary (computed from the rows above)\n"]
    ref = SWEEP_REFERENCE
    bm = df[~df["group"].isin(["model", "sign"])]
    if not len(bm):
        return []
    at_ref = bm[np.all([bm[k] == v for k, v in ref.items()], axis=0)]
    if len(at_ref):
        r = at_ref.iloc[0]
        out.append(
            f"- Reference settings ({ref['N']} frames of 32x32): ln P(data | r) = {r['emission']:.3g}, "
            f"ln P(r | motion) = {r['motion']:.3g}, emission share {100 * r['emission_share']:.2f} %."
        )

    def _share_range(sub, what):
        lo = sub.loc[sub["emission_share"].idxmin()]
        hi = sub.loc[sub["emission_share"].idxmax()]
        n99 = int((sub["emission_share"] >= 0.99).sum())
        below = sub[sub["emission_share"] < 0.99]
        tail = (
            " (below: "
            + ", ".join(f"{g} = {v:g}" for g, v in zip(below["group"], below["value"], strict=True))
            + ")"
            if len(below)
            else ""
        )
        return (
            f"- Emission share over {what}: {100 * lo['emission_share']:.2f} % "
            f"({lo['group']} = {lo['value']:g}) to {100 * hi['emission_share']:.2f} % "
            f"({hi['group']} = {hi['value']:g}); >= 99 % in {n99} of {len(sub)}{tail}."
        )

    physical = bm[bm["group"] != "K"]
    if len(physical):
        groups = ", ".join(physical["group"].unique())
        out.append(_share_range(physical, f"the {len(physical)} experimental settings ({groups})"))
    disc = bm[bm["group"] == "K"]
    if len(disc):
        out.append(_share_range(disc, "the discretization K"))
    neg = bm[bm["motion"] < 0]
    if len(neg):
        where = ", ".join(f"{g} = {v:g}" for g, v in zip(neg["group"], neg["value"], strict=True))
        out.append(f"- ln P(r | motion) is negative for: {where}.")
    else:
        out.append("- ln P(r | motion) is positive for every BM setting.")
    out.append("")
    return out


def _sign_map_markdown(df) -> list[str]:
    """Tables N x D (one per K) of ``ln P(r0) + ln P(r | motion)`` and where it is negative."""
    sub = df[df["group"] == "sign"]
    if not len(sub):
        return []
    out = [
        "### Few frames and large D: sign of the motion part\n",
        "The motion part as the paper's code counts it, ln P(r0) + ln P(r | BM) (initial-position "
        "prior included), for few frames N (rows) and D in µm²/s (columns); negative values in bold. "
        "K = 1 is one position per frame, the resolution of a post-processed track.\n",
    ]
    Ds = sorted(sub["D"].unique())
    for K in sorted(sub["K"].unique()):
        part = sub[sub["K"] == K]
        out.append(f"K = {K:g}:\n")
        out.append("| N | " + " | ".join(f"D = {D:g}" for D in Ds) + " |")
        out.append("|---|" + "---:|" * len(Ds))
        for N in sorted(part["N"].unique()):
            cells = []
            for D in Ds:
                r = part[(part["N"] == N) & (part["D"] == D)]
                if not len(r):
                    cells.append("")
                    continue
                v = float(r["motion_r0"].iloc[0])
                cells.append(f"**{v:.3g}**" if v < 0 else f"{v:.3g}")
            out.append(f"| {N:g} | " + " | ".join(cells) + " |")
        out.append("")
    neg = sub[sub["motion_r0"] < 0]
    if len(neg):
        by_k = []
        for K in sorted(neg["K"].unique()):
            nk = neg[neg["K"] == K]
            by_k.append(
                f"K = {K:g}: "
                + ", ".join(
                    f"(N = {n:g}, D = {d:g})" for n, d in zip(nk["N"], nk["D"], strict=True)
                )
            )
        out.append(f"- Negative in {len(neg)} of {len(sub)} cells: " + "; ".join(by_k) + ".")
    else:
        out.append(f"- Positive in all {len(sub)} cells.")
    out.append("")
    return out


def plot_sweep(df, path) -> None:
    """Figure of a :func:`likelihood_sweep`: the two parts (symlog) and the emission share per parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._io import atomic_path

    groups = [g for g in df["group"].unique() if g not in ("model", "sign")]
    fig, axes = plt.subplots(2, len(groups), figsize=(3.2 * len(groups), 6), squeeze=False)
    for c, group in enumerate(groups):
        sub = df[df["group"] == group]
        x = sub["value"].to_numpy(dtype=float)
        ax = axes[0, c]
        ax.plot(x, sub["emission"], "o-", label="ln P(data | r)")
        ax.plot(x, sub["motion"], "s-", label="ln P(r | BM)")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_yscale("symlog", linthresh=10)
        ax.set_xscale("log")
        ax.set_title(_GROUP_LABELS.get(group, group), fontsize=9)
        if c == 0:
            ax.set_ylabel("log-probability (nats)")
            ax.legend(fontsize=7)
        ax = axes[1, c]
        ax.plot(x, 100 * sub["emission_share"], "o-", color="C2")
        ax.axhline(99, color="k", lw=0.5, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel(group)
        if c == 0:
            ax.set_ylabel("emission share (%)")
    fig.suptitle(
        "Decomposed likelihood of simulated widefield movies (hendrix2025 preset)", fontsize=10
    )
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
