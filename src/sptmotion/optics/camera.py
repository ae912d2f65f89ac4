"""Camera noise models: from expected photons per pixel to ADU, and back to a log-density.

Each camera is an object with its parameters fixed at construction (like a frozen
``scipy.stats`` distribution) with

- ``sample(u, rng)`` -> ADU, elementwise over an array ``u`` of expected photons (the camera
  applies its quantum efficiency ``qe``);
- ``log_pdf(adu, u)`` -> elementwise log-density (per ADU) of the observed values;
- ``log_pdf_sum(adu, u)`` -> the sum of ``log_pdf`` (a fused loop, no temporaries).

ADU are treated as continuous (no digitization). Cameras are registered by name in
:data:`CAMERAS`: ``"emccd"`` (:class:`EMCCDGamma`), ``"emccd-pgn"`` (:class:`EMCCDPGN`) and
``"scmos"`` (:class:`SCMOS`).
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from .._checks import check_positive, check_range, check_rng
from . import kernels

__all__ = [
    "Camera",
    "EMCCDGamma",
    "EMCCDPGN",
    "SCMOS",
    "CAMERAS",
    "get_camera",
    "camera_from_dict",
    "camera_spec",
    "photons_estimate",
    "pgn_table",
    "PGN_TABLE_GRID",
]


def _as_pair(adu, u) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast ``adu`` and ``u`` to one float64 shape with at least 2 dimensions."""
    try:
        adu = np.asarray(adu, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("adu and u must be numeric arrays") from None
    try:
        shape = np.broadcast_shapes(adu.shape, u.shape)
    except ValueError:
        raise ValueError(
            f"adu of shape {adu.shape} and u of shape {u.shape} do not broadcast"
        ) from None
    if np.isnan(adu).any() or not np.isfinite(adu).all():
        raise ValueError("adu contains NaN or inf values")
    if not np.isfinite(u).all() or (u < 0).any():
        raise ValueError("expected photons u must be finite and >= 0")
    return np.broadcast_to(adu, shape), np.broadcast_to(u, shape)


def _to2d(a: np.ndarray) -> np.ndarray:
    """C-contiguous 2D view/copy ``(-1, last)`` of an array of any rank (scalars -> (1, 1))."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        return a.reshape(1, -1)
    return a.reshape(-1, a.shape[-1])


def _check_u(u) -> np.ndarray:
    try:
        u = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("expected photons u must be a numeric array") from None
    if not np.isfinite(u).all() or (u < 0).any():
        raise ValueError("expected photons u must be finite and >= 0")
    return u


class Camera:
    """Base class of the camera noise models (see the module docstring)."""

    name: ClassVar[str] = ""

    @property
    def params(self) -> dict:
        """Constructor parameters (JSON-serializable)."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """``{"name": ..., **params}``, the inverse of :func:`camera_from_dict`."""
        return {"name": self.name, **self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if not isinstance(v, list))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self))

    def sample(self, u, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ADU for expected photons ``u`` (array, elementwise)."""
        raise NotImplementedError

    def log_pdf(self, adu, u) -> np.ndarray:
        """Elementwise log-density (per ADU) of ``adu`` given expected photons ``u``."""
        raise NotImplementedError

    def log_pdf_sum(self, adu, u) -> float:
        """Sum of :meth:`log_pdf` over all elements."""
        return float(np.sum(self.log_pdf(adu, u)))

    def mean(self, u) -> np.ndarray:
        """Expected ADU for expected photons ``u``."""
        raise NotImplementedError


def _check_offset(offset) -> float:
    """The camera offset (ADU): any finite number."""
    value = float(offset)
    if not np.isfinite(value):
        raise ValueError(f"offset must be finite, got {offset!r}")
    return value


class EMCCDGamma(Camera):
    """High-gain EMCCD: the offset-subtracted signal is Gamma distributed.

    ``adu - offset = w ~ Gamma(shape = qe u / 2, scale = 2 G / phi)`` (ADU), the high-gain limit of
    the Poisson-Gamma EM register (excess noise factor 2 absorbed in the halved shape).

    Parameters
    ----------
    gain : float
        EM gain G (> 0).
    conversion : float
        Conversion factor phi (e-/ADU, > 0).
    qe : float
        Quantum efficiency beta in (0, 1].
    offset : float
        Bias (ADU) subtracted before the Gamma model applies (default 0).

    Notes
    -----
    Mean ``qe u G / phi`` ADU, variance ``2 qe u (G/phi)^2``. Hendrix, Xu & Pressé (2025) Table 2.
    The density is that of ``scipy.stats.gamma(a=qe*u/2, scale=2*G/phi, loc=offset)``.
    """

    name = "emccd"

    def __init__(
        self, gain: float = 350.0, conversion: float = 3.5, qe: float = 0.95, offset: float = 0.0
    ):
        self.gain = check_positive(gain, "gain")
        self.conversion = check_positive(conversion, "conversion")
        self.qe = check_range(qe, "qe", 0.0, 1.0, high_open=False, owner="EMCCDGamma")
        self.offset = _check_offset(offset)

    @property
    def params(self) -> dict:
        return {
            "gain": self.gain,
            "conversion": self.conversion,
            "qe": self.qe,
            "offset": self.offset,
        }

    @property
    def shape_factor(self) -> float:
        """``qe / 2``: Gamma shape per expected photon."""
        return 0.5 * self.qe

    @property
    def scale(self) -> float:
        """Gamma scale ``2 G / phi`` (ADU)."""
        return 2.0 * self.gain / self.conversion

    @property
    def kernel_params(self) -> tuple[float, float, float]:
        """``(qe/2, 2G/phi, offset)``: the scalars of ``kernels.emccd_gamma_logpdf_sum``."""
        return self.shape_factor, self.scale, self.offset

    def mean(self, u) -> np.ndarray:
        return self.offset + self.qe * _check_u(u) * self.gain / self.conversion

    def sample(self, u, rng=None) -> np.ndarray:
        u = _check_u(u)
        rng = check_rng(rng)
        return rng.gamma(self.shape_factor * u, self.scale) + self.offset

    def _prepare(self, adu, u):
        adu, u = _as_pair(adu, u)
        if (u <= 0).any():
            raise ValueError("the Gamma EMCCD model needs expected photons u > 0 in every pixel")
        if (adu < self.offset).any():
            raise ValueError(
                f"negative offset-subtracted ADU (adu < offset = {self.offset}) is impossible under "
                "the Gamma EMCCD model; use the 'emccd-pgn' camera for data with read noise"
            )
        return adu, u

    def log_pdf(self, adu, u) -> np.ndarray:
        adu, u = self._prepare(adu, u)
        a2, u2 = _to2d(adu), _to2d(u)
        out = np.empty_like(a2)
        kernels.emccd_gamma_logpdf(a2, u2, self.shape_factor, self.scale, self.offset, out)
        return out.reshape(adu.shape)

    def log_pdf_sum(self, adu, u) -> float:
        a = np.asarray(adu)
        b = np.asarray(u)
        if a.shape == b.shape and a.dtype == np.float64 and b.dtype == np.float64 and a.ndim >= 1:
            # fast path: the kernel validates in the same pass (NaN on bad input)
            total = kernels.emccd_gamma_logpdf_sum(_to2d(a), _to2d(b), *self.kernel_params)
            if np.isfinite(total):
                return float(total)
        adu, u = self._prepare(adu, u)  # raises with a precise message on bad input
        return float(kernels.emccd_gamma_logpdf_sum(_to2d(adu), _to2d(u), *self.kernel_params))


class EMCCDPGN(Camera):
    """EMCCD Poisson-Gamma-Normal model, exact at any photon count.

    ``n ~ Poisson(qe u + spurious)`` photoelectrons (``spurious``: dark counts and clock-induced
    charge, e-/pixel/frame), EM register ``m | n ~ Gamma(n, G)`` (m = 0 when n = 0), Gaussian read
    noise ``N(0, read_noise^2)`` (e-, output referred), ``adu = offset + (m + noise) / phi``.

    Parameters
    ----------
    gain : float
        EM gain G (> 0).
    conversion : float
        phi (e-/ADU, > 0).
    qe : float
        Quantum efficiency in (0, 1].
    read_noise : float
        Read-noise standard deviation (e-, > 0).
    spurious : float
        Dark counts + clock-induced charge per pixel and frame (e-, >= 0).
    offset : float
        Bias (ADU).
    rel_tol : float
        Relative truncation error of the series over n (see Notes).
    approx : {"table", "exact"}
        ``"table"`` (default): the exact log-density tabulated once per (gain, read noise) over
        the photoelectrons and the signal (:func:`pgn_table`) and interpolated, ~1000x faster;
        pixels outside the table are computed exactly. ``"exact"``: every pixel by the series.

    Notes
    -----
    ``log_pdf`` is exact up to stated numerical errors: the series over n is summed outwards from
    its largest term and stopped by a geometric bound on the remainder (relative error
    <= 2 rel_tol, the terms being log-concave in n); the read-noise convolution is a 64-point
    Gauss-Legendre quadrature over ``m`` within ±``n_sigma``=10 read-noise standard deviations
    (neglected Gaussian mass < 2e-23). Unlike :class:`EMCCDGamma` it has the point mass of n = 0
    blurred by read noise and is therefore valid at low counts. Hirsch et al., PLoS ONE 8, e53671
    (2013); Mortensen et al., Nat. Methods 7, 377 (2010).

    The table's interpolation error against the exact log-density, over the signals the model
    produces, is below 2e-5 nats per pixel on average up to 300 photoelectrons and below 3e-4
    at any pixel up to 2000 (tests; ``benchmarks/bench_pgn_table.py``).
    """

    name = "emccd-pgn"
    n_sigma = 10.0

    def __init__(
        self,
        gain: float = 350.0,
        conversion: float = 3.5,
        qe: float = 0.95,
        read_noise: float = 50.0,
        spurious: float = 0.005,
        offset: float = 100.0,
        rel_tol: float = 1e-10,
        approx: str = "table",
    ):
        if approx not in ("table", "exact"):
            raise ValueError(f"approx must be 'table' or 'exact', got {approx!r}")
        self.approx = approx
        self.gain = check_positive(gain, "gain")
        self.conversion = check_positive(conversion, "conversion")
        self.qe = check_range(qe, "qe", 0.0, 1.0, high_open=False, owner="EMCCDPGN")
        self.read_noise = check_positive(read_noise, "read_noise")
        self.spurious = check_positive(spurious, "spurious", allow_zero=True)
        self.offset = _check_offset(offset)
        self.rel_tol = check_range(rel_tol, "rel_tol", 0.0, 1e-3, high_open=False, owner="EMCCDPGN")

    @property
    def params(self) -> dict:
        return {
            "gain": self.gain,
            "conversion": self.conversion,
            "qe": self.qe,
            "read_noise": self.read_noise,
            "spurious": self.spurious,
            "offset": self.offset,
            "rel_tol": self.rel_tol,
            "approx": self.approx,
        }

    def mean(self, u) -> np.ndarray:
        return self.offset + (self.qe * _check_u(u) + self.spurious) * self.gain / self.conversion

    @property
    def kernel_params(self) -> np.ndarray:
        """``[qe, spurious, gain, conversion, read_noise, offset, n_sigma, rel_tol]`` and, with
        the table, its grid ``[rho0, h_rho, y0, h_y]``."""
        par = [self.qe, self.spurious, self.gain, self.conversion, self.read_noise,
               self.offset, self.n_sigma, self.rel_tol]  # fmt: skip
        if self.approx == "table":
            par += list(pgn_table(self.gain, self.read_noise, self.n_sigma, self.rel_tol)[1:])
        return np.array(par, dtype=float)

    def sample(self, u, rng=None) -> np.ndarray:
        u = _check_u(u)
        rng = check_rng(rng)
        n = rng.poisson(self.qe * u + self.spurious)
        m = rng.gamma(n, self.gain)  # shape 0 gives exactly 0 (no photoelectron)
        return (
            self.offset + (m + rng.normal(0.0, self.read_noise, size=np.shape(m))) / self.conversion
        )

    def log_pdf(self, adu, u) -> np.ndarray:
        adu, u = _as_pair(adu, u)
        a2, u2 = _to2d(adu), _to2d(u)
        out = np.empty_like(a2)
        if self.approx == "table":
            table = pgn_table(self.gain, self.read_noise, self.n_sigma, self.rel_tol)[0]
            kernels.emccd_pgn_table_logpdf(a2, u2, self.kernel_params, table, out)
            return out.reshape(adu.shape)
        kernels.emccd_pgn_logpdf(
            a2,
            u2,
            self.qe,
            self.spurious,
            self.gain,
            self.conversion,
            self.read_noise,
            self.offset,
            self.n_sigma,
            self.rel_tol,
            out,
        )
        return out.reshape(adu.shape)


class SCMOS(Camera):
    """sCMOS camera: Poisson photoelectrons, per-pixel gain, offset and Gaussian read noise.

    ``adu = offset_ij + gain_ij * Poisson(qe u) + N(0, read_var_ij)``.

    Parameters
    ----------
    gain : float or array (rows, cols)
        Gain map (ADU/e-, > 0).
    offset : float or array (rows, cols)
        Offset map (ADU).
    read_var : float or array (rows, cols)
        Read-noise variance map (ADU^2, > 0).
    qe : float
        Quantum efficiency in (0, 1].
    approx : {"exact", "poisson", "gaussian"}
        ``"exact"``: the Poisson-Gaussian mixture ``sum_n Pois(n; qe u) N(adu - o - g n; 0, var)``
        (series over n truncated with relative error <= 2 rel_tol, ~1 µs per pixel);
        ``"poisson"`` (the default): the shifted Poisson approximation of Huang et al. (2013),
        ``(adu - o) / g + var / g^2 ~ Poisson(qe u + var / g^2)``
        (:func:`~sptmotion.optics.kernels.scmos_poisson_logpdf`; its error and the tracker's
        coverage with it in ``benchmarks/results/scmos``); ``"gaussian"``:
        ``N(o + g qe u, g^2 qe u + var)``, whose symmetric shape misstates likelihood ratios
        at many photons.
    rel_tol : float
        Relative truncation error of the exact series.

    Notes
    -----
    Huang et al., Nat. Methods 10, 653 (2013). Maps broadcast against the trailing axes of ``u``.
    """

    name = "scmos"

    def __init__(
        self,
        gain=2.0,
        offset=100.0,
        read_var=4.0,
        qe: float = 0.8,
        approx: str = "poisson",
        rel_tol: float = 1e-10,
    ):
        self.gain = self._map(gain, "gain", positive=True)
        self.offset = self._map(offset, "offset", positive=False)
        self.read_var = self._map(read_var, "read_var", positive=True)
        self.qe = check_range(qe, "qe", 0.0, 1.0, high_open=False, owner="SCMOS")
        if approx not in ("exact", "poisson", "gaussian"):
            raise ValueError(f"approx must be 'exact', 'poisson' or 'gaussian', got {approx!r}")
        self.approx = approx
        self.rel_tol = check_range(rel_tol, "rel_tol", 0.0, 1e-3, high_open=False, owner="SCMOS")
        try:
            np.broadcast_shapes(self.gain.shape, self.offset.shape, self.read_var.shape)
        except ValueError:
            raise ValueError(
                f"gain {self.gain.shape}, offset {self.offset.shape} and read_var "
                f"{self.read_var.shape} maps must have compatible shapes"
            ) from None

    @staticmethod
    def _map(value, name: str, positive: bool) -> np.ndarray:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or a numeric array (rows, cols)") from None
        if arr.ndim > 2:
            raise ValueError(
                f"{name} map must be a scalar or a (rows, cols) array, got shape {arr.shape}"
            )
        if not np.isfinite(arr).all() or (positive and (arr <= 0).any()):
            raise ValueError(f"{name} must be finite{' and > 0' if positive else ''} everywhere")
        return arr

    @property
    def params(self) -> dict:
        def jsonable(a):
            return float(a) if a.ndim == 0 else a.tolist()

        return {
            "gain": jsonable(self.gain),
            "offset": jsonable(self.offset),
            "read_var": jsonable(self.read_var),
            "qe": self.qe,
            "approx": self.approx,
            "rel_tol": self.rel_tol,
        }

    def mean(self, u) -> np.ndarray:
        return self.offset + self.gain * self.qe * _check_u(u)

    def sample(self, u, rng=None) -> np.ndarray:
        u = _check_u(u)
        rng = check_rng(rng)
        shape = np.broadcast_shapes(
            u.shape, self.gain.shape, self.offset.shape, self.read_var.shape
        )
        n = rng.poisson(np.broadcast_to(self.qe * u, shape))
        return self.offset + self.gain * n + rng.normal(size=shape) * np.sqrt(self.read_var)

    def log_pdf(self, adu, u) -> np.ndarray:
        adu, u = _as_pair(adu, u)
        try:
            shape = np.broadcast_shapes(
                adu.shape, self.gain.shape, self.offset.shape, self.read_var.shape
            )
        except ValueError:
            raise ValueError(
                f"sCMOS maps of shape {self.gain.shape} do not match frames of shape {adu.shape}"
            ) from None
        a2 = _to2d(np.broadcast_to(adu, shape))
        u2 = _to2d(np.broadcast_to(u, shape))
        g2 = _to2d(np.broadcast_to(self.gain, shape))
        o2 = _to2d(np.broadcast_to(self.offset, shape))
        v2 = _to2d(np.broadcast_to(self.read_var, shape))
        out = np.empty_like(a2)
        if self.approx == "exact":
            kernels.scmos_logpdf(a2, u2, self.qe, g2, o2, v2, self.rel_tol, out)
        elif self.approx == "poisson":
            kernels.scmos_poisson_logpdf(a2, u2, self.qe, g2, o2, v2, out)
        else:
            kernels.scmos_gauss_logpdf(a2, u2, self.qe, g2, o2, v2, out)
        return out.reshape(shape)


#: Registry ``{name: class}`` of the camera models.
CAMERAS: dict[str, type[Camera]] = {cls.name: cls for cls in (EMCCDGamma, EMCCDPGN, SCMOS)}


def get_camera(name: str, **params) -> Camera:
    """Build a camera by registry name (``"emccd"``, ``"emccd-pgn"``, ``"scmos"``)."""
    key = str(name).lower()
    if key not in CAMERAS:
        raise ValueError(f"unknown camera {name!r}; choose one of {', '.join(sorted(CAMERAS))}")
    try:
        return CAMERAS[key](**params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for camera {name!r}: {exc}") from None


def camera_from_dict(d: dict) -> Camera:
    """Inverse of :meth:`Camera.to_dict`."""
    d = dict(d)
    if "name" not in d:
        raise ValueError("camera description lacks its 'name'")
    return get_camera(d.pop("name"), **d)


#: Grid of :func:`pgn_table`: row step (in :func:`~sptmotion.optics.kernels.pgn_row_coordinate`),
#: column step (in asinh(signal / read noise)), photoelectron range.
PGN_TABLE_GRID = {"h_rho": 0.2, "h_y": 0.02, "lam_min": 1e-3, "lam_max": 2500.0}


@functools.lru_cache(maxsize=8)
def pgn_table(gain: float, read_noise: float, n_sigma: float = 10.0, rel_tol: float = 1e-10):
    """The exact Poisson-Gamma-Normal log-density tabulated for interpolation.

    Rows: ``rho = ln lam + 2 sqrt(lam)`` (:func:`~sptmotion.optics.kernels.pgn_row_coordinate`)
    from ``lam_min`` to ``lam_max`` photoelectrons
    (:data:`PGN_TABLE_GRID`); columns: ``y = asinh(x / read_noise)`` of the signal ``x`` (e-)
    from -12 read-noise sd to 20 gain units above ``lam_max``'s mean plus 8 of its sd; one
    node beyond each end for the bicubic stencil. Every node is the exact density
    (:func:`~sptmotion.optics.kernels.pgn_table_fill`: the series over photoelectrons and the
    read-noise quadrature), rows in parallel. Cached per (gain, read noise).

    Returns
    -------
    table : ndarray (rows, cols)
        Log-density per e-.
    rho0, h_rho, y0, h_y : float
        The grid's first nodes and steps.
    """
    g = PGN_TABLE_GRID
    h_rho, h_y = g["h_rho"], g["h_y"]
    rho_lo = kernels.pgn_row_coordinate(g["lam_min"]) - h_rho
    rho_hi = kernels.pgn_row_coordinate(g["lam_max"]) + 2 * h_rho
    rho = rho_lo + h_rho * np.arange(int(np.ceil((rho_hi - rho_lo) / h_rho)) + 1)
    lam = _pgn_row_lambda(rho)
    x_hi = gain * (g["lam_max"] + 8.0 * np.sqrt(2.0 * g["lam_max"]) + 20.0) + 12.0 * read_noise
    y_lo = np.arcsinh(-12.0) - h_y
    y_hi = np.arcsinh(x_hi / read_noise) + 2 * h_y
    y = y_lo + h_y * np.arange(int(np.ceil((y_hi - y_lo) / h_y)) + 1)
    table = np.empty((len(lam), len(y)))
    kernels.pgn_table_fill(lam, read_noise * np.sinh(y), gain, read_noise, n_sigma, rel_tol, table)
    return table, float(rho[0]), h_rho, float(y[0]), h_y


def _pgn_row_lambda(rho: np.ndarray) -> np.ndarray:
    """Inverse of ``rho = ln lam + 2 sqrt(lam)`` (Newton's method in ``v = sqrt(lam)``)."""
    v = np.where(rho < 2.0, np.exp(rho / 2.0), rho / 2.0)  # the dominant term's inverse
    for _ in range(60):
        v = v - (2.0 * np.log(v) + 2.0 * v - rho) / (2.0 / v + 2.0)
    return v * v


def camera_spec(camera: Camera, shape: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    """Camera code, scalar parameters and per-pixel maps for the numba kernels.

    Returns ``(code, par, maps)``; see the ``CAM_*`` constants of :mod:`sptmotion.optics.kernels`.
    """
    R, C = shape
    dummy = np.zeros((3, 1, 1))
    if isinstance(camera, EMCCDGamma):
        return kernels.CAM_EMCCD_GAMMA, np.array(camera.kernel_params, dtype=float), dummy
    if isinstance(camera, EMCCDPGN):
        if camera.approx == "table":
            table = pgn_table(camera.gain, camera.read_noise, camera.n_sigma, camera.rel_tol)[0]
            return kernels.CAM_EMCCD_PGN_TABLE, camera.kernel_params, table[None]
        return kernels.CAM_EMCCD_PGN, camera.kernel_params, dummy
    if isinstance(camera, SCMOS):
        try:
            maps = np.stack(
                [np.broadcast_to(m, (R, C)) for m in (camera.gain, camera.offset, camera.read_var)]
            )
        except ValueError:
            raise ValueError(
                f"sCMOS maps of shape {camera.gain.shape} do not match frames of shape {(R, C)}"
            ) from None
        maps = np.ascontiguousarray(maps, dtype=float)
        if camera.approx == "exact":
            return kernels.CAM_SCMOS, np.array([camera.qe, camera.rel_tol]), maps
        if camera.approx == "poisson":
            return kernels.CAM_SCMOS_POISSON, np.array([camera.qe]), maps
        return kernels.CAM_SCMOS_GAUSS, np.array([camera.qe]), maps
    raise ValueError(
        f"camera model {type(camera).__name__} is not supported by the Bayesian tracker"
    )


def photons_estimate(stack: np.ndarray, camera: Camera) -> np.ndarray:
    """Moment estimate of the expected photons per pixel, inverting the camera's mean ADU (affine in u)."""
    m0 = np.asarray(camera.mean(np.zeros(stack.shape[1:])), dtype=float)
    m1 = np.asarray(camera.mean(np.ones(stack.shape[1:])), dtype=float)
    return (stack - m0) / (m1 - m0)
