"""scikit-learn estimators learning the anomalous exponent and the motion model of tracks.

:class:`AlphaRegressor` predicts the anomalous exponent alpha (with a predictive standard
deviation); :class:`ModelClassifier` predicts the motion model (calibrated probabilities).
Both read tracks of any length ``>= 20`` points and any dimension 1-3, given as an array
``(n_tracks, n_points, dim)`` in µm, a list of ``(n_points_i, dim)`` arrays, or a track table.

Three representations (:mod:`sptmotion.represent`) with a learner designed for each:

``"wavelet"``
    Six-wavelet modulus scalograms ``(6, 24, T)`` per coordinate, log-transformed and
    standardized per (wavelet, scale) row, read by a compact CNN
    (:class:`~sptmotion.learn.nets.ScalogramCNN`) that pools over time, so any length works.
    An ensemble of ``n_models`` CNNs (different seeds) gives the uncertainty. Training
    batches are transformed on the fly from randomly rotated, randomly cut tracks
    (:func:`augment_tracks`); predictions average over ``test_rotations`` fixed rotations.
``"features"``
    The 30 classical per-track features, read by gradient-boosted trees (LightGBM).
``"trajectory"``
    Normalized increments read by a WADNet-style network
    (:class:`~sptmotion.learn.nets.WADNet`: gated dilated convolutions + bidirectional LSTM).

Uncertainty and calibration
---------------------------
Regression networks have a Gaussian head (mean, log-variance) trained with the β-NLL loss
(or, with ``loss="laplace"``, a Laplace head (median, log-variance), see
:func:`~sptmotion.learn._torch_train.laplace_beta_nll`);
the ensemble's predictive variance is the mixture variance
:math:`\\bar{\\sigma^2} + \\mathrm{Var}_k(\\mu_k)` (Lakshminarayanan et al., NeurIPS 2017),
rescaled by one factor so that the mean squared z-score on the validation split is 1. LightGBM
uses the 15.87 % / 84.13 % quantile models, ``std = (q84 - q16) / 2`` (floored at half its
median on the validation split, :data:`LGBM_HALF_FLOOR`), rescaled the same way.
Class probabilities are the ensemble-mean probabilities with one temperature fitted on the
validation split (Guo et al., ICML 2017).

Examples
--------
>>> import numpy as np
>>> from sptmotion.learn import AlphaRegressor
>>> from sptmotion.motion import MODELS
>>> y = np.repeat([0.5, 1.5], 40)
>>> X = np.concatenate([MODELS["fbm"](alpha=a, D=1.0).sample(40, 49, dim=2, dt=1.0, rng=0)[0]
...                     for a in (0.5, 1.5)])
>>> reg = AlphaRegressor(representation="features", random_state=0).fit(X, y)
>>> alpha, alpha_std = reg.predict(X[:3], return_std=True)
>>> alpha.shape, bool(np.all(alpha_std > 0))
((3,), True)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from .._checks import check_int, check_rng
from ..represent import MIN_POINTS, REPRESENTATIONS, SCALES, WAVELETS, wavelet_padded
from ._kernels import normalize_into, row_moments
from ._torch_train import check_regression_loss, predict_net, torch_context, train_net
from .nets import ScalogramCNN, WADNet, channels_last_copy, inference_copy, to_channels_last
from .serialize import read_model, restore_fitted, save_estimator, stored_params

__all__ = [
    "AlphaRegressor",
    "ModelClassifier",
    "MIN_POINTS",
    "REPRESENTATION_NAMES",
    "check_tracks",
    "check_measurement",
    "MEASUREMENT_KEYS",
    "load_estimator",
    "predict_tracks",
    "step_scale",
    "tta_count",
    "window_groups",
    "track_lengths",
    "bucket_length",
]

REPRESENTATION_NAMES = tuple(REPRESENTATIONS)
N_WAVELETS = len(WAVELETS)
N_SCALES = len(SCALES)


class Learner(NamedTuple):
    """The learner behind a representation.

    Attributes
    ----------
    network : str or None
        Network name (:func:`sptmotion.learn.nets.build_net`), None for LightGBM on features.
    scalograms : bool
        The network reads normalized scalograms (normalization fitted on the training set,
        test-time rotations of the tracks).
    label_smoothing : float
        Default label smoothing of the classifier.
    """

    network: str | None
    scalograms: bool
    label_smoothing: float


#: Representation name -> its learner.
LEARNERS = {
    "wavelet": Learner("scalogram_cnn", True, 0.1),
    "features": Learner(None, False, 0.0),
    "trajectory": Learner("wadnet", False, 0.0),
}
#: Offset of the log transform of the scalograms of standardized coordinates.
LOG_EPS = 1e-3
#: Above this many bytes, scalograms are computed per batch instead of stored.
MAX_PRECOMPUTE_BYTES = 1.5e9
#: Tracks per call of the representation at prediction time (bounds memory).
PREDICT_CHUNK = 2048
#: Points (tracks x length) per network batch at prediction time: a few thousand keep the
#: activations of the scalogram CNN in cache on CPU (3200 points: per point ~1.5x faster
#: than 128 tracks of 100 points, ~2.5x faster than 128 tracks of 400 points). With the
#: channels-last layout (:data:`CHANNELS_LAST_POINTS`), 6400 points: on the mixed 10,000
#: tracks of 20-500 points 33.6 s against 37.1 s for 3200 and 33.6 s for 12,800 (medians of
#: three alternating runs, ``benchmarks/results/inference/layout.md``).
PREDICT_BATCH_POINTS = 6400
#: On CPU, scalograms padded to at least this many time points go through the networks in
#: channels-last layout (:func:`~sptmotion.learn.nets.channels_last_copy`): on the same set
#: 33.6 s from 64 points, 36.8 s from 128, 43.1 s for the plain layout in 3200-point
#: batches (10,000 x 100 points: 14.4 s against 18.5 s). Below ~36 points the NHWC kernels
#: are slower than the reorders they save.
CHANNELS_LAST_POINTS = 64
#: Test-time rotations are limited to ``TTA_POINT_BUDGET // n_points`` (see :func:`tta_count`).
TTA_POINT_BUDGET = 120
#: Training augmentation of the wavelet learner (see :func:`augment_tracks`): random
#: rotations of the tracks, and random windows of at least this fraction of the points.
AUGMENT_ROTATE = True
AUGMENT_MIN_FRACTION = 0.75
#: Measurement settings a wavelet learner with ``measurement_inputs`` reads per track
#: (:func:`check_measurement`), the side inputs they make per coordinate
#: (:func:`_side_inputs`), and the probability with which a training batch hides each
#: known value (so that the network also answers when a user does not know it).
MEASUREMENT_KEYS = ("exposure_ratio", "sigma")
N_MEASUREMENT_SIDE = 4
MEASUREMENT_HIDE = 0.3
#: Global time pooling of new scalogram CNNs and their per-(wavelet, scale) time statistics
#: branch (see :class:`~sptmotion.learn.nets.ScalogramCNN`; saved models keep their own).
POOLING = "mean,max"
SCALE_STATS = True
#: LightGBM settings (shrinkage, leaves, early-stopping rounds, maximal rounds).
LGBM_PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
}
LGBM_MAX_ROUNDS = 2000
LGBM_EARLY_STOP = 50
#: Half-width of a central 95 % Gaussian interval in standard deviations.
Z95 = 1.959963984540054
#: Quantiles of the LightGBM uncertainty: mean +- one standard deviation of a Gaussian.
Q_LOW, Q_HIGH = 0.15865525393145707, 0.8413447460685429
#: Floor of the quantile half-width ``(q84 - q16) / 2``, as a fraction of its median on the
#: validation split: the two quantile boosters are trained apart and can touch or cross for
#: a few tracks (1-2 % of FBM tracks of 100 points), whose near-zero widths otherwise give
#: those tracks near-zero intervals and inflate the calibration factor of all the others.
LGBM_HALF_FLOOR = 0.5


# --------------------------------------------------------------------------------------
# input checking and length groups
# --------------------------------------------------------------------------------------
Groups = dict[int, tuple[np.ndarray, np.ndarray]]


def check_tracks(X, name: str = "X", *, dim: int | None = None) -> tuple[Groups, int, int]:
    """Validate tracks and group them by length.

    Parameters
    ----------
    X : array (n_tracks, n_points, dim), list of arrays (n_points_i, dim), or track table
        Positions in µm; every track needs at least :data:`MIN_POINTS` points.
    dim : int, optional
        Required spatial dimension.

    Returns
    -------
    groups : dict
        ``{n_points: (indices, array (n, n_points, dim))}``.
    n_tracks, dim : int
    """
    if isinstance(X, pd.DataFrame):
        from ..datasets.tables import table_to_tracks

        X, _ = table_to_tracks(X)
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim in (2, 3):
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        tracks: Sequence[np.ndarray] = []
        groups_in = {arr.shape[1]: (np.arange(arr.shape[0]), arr)} if arr.shape[0] else {}
        n = arr.shape[0]
        dims = {arr.shape[2]}
    else:
        try:
            tracks = [np.asarray(t, dtype=np.float64) for t in X]
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be an array (n_tracks, n_points, dim) or a list of (n_points, dim) arrays"
            ) from None
        for i, t in enumerate(tracks):
            if t.ndim != 2:
                raise ValueError(
                    f"{name}: track {i} must be an array (n_points, dim), got shape {t.shape}"
                )
        n = len(tracks)
        dims = {t.shape[1] for t in tracks}
        if len(dims) > 1:
            raise ValueError(
                f"{name}: all tracks need the same spatial dimension, got {sorted(dims)}"
            )
        lengths = np.array([len(t) for t in tracks])
        groups_in = {}
        for L in np.unique(lengths):
            idx = np.flatnonzero(lengths == L)
            groups_in[int(L)] = (idx, np.stack([tracks[i] for i in idx]))
    if n == 0:
        raise ValueError(f"{name} holds no tracks")
    if len(dims) != 1:
        raise ValueError(f"{name}: all tracks need the same spatial dimension, got {sorted(dims)}")
    d = dims.pop()
    if d not in (1, 2, 3):
        raise ValueError(f"{name}: tracks must have 1, 2 or 3 spatial dimensions, got {d}")
    if dim is not None and d != dim:
        raise ValueError(f"{name}: expected tracks of dim={dim}, got dim={d}")
    short = min(groups_in)
    if short < MIN_POINTS:
        raise ValueError(
            f"{name}: tracks need at least {MIN_POINTS} points, got a track of {short}"
        )
    for _, arr in groups_in.values():
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or inf positions")
    return groups_in, n, d


def _subset(groups: Groups, sel: np.ndarray) -> Groups:
    """Groups restricted to the items ``sel`` (sorted), re-indexed 0..len(sel)-1."""
    pos = np.full(max(int(idx.max()) for idx, _ in groups.values()) + 1, -1)
    pos[sel] = np.arange(len(sel))
    out = {}
    for L, (idx, arr) in groups.items():
        keep = pos[idx] >= 0
        if keep.any():
            out[L] = (pos[idx[keep]], arr[keep])
    return out


def window_groups(groups: Groups, window_points: int) -> tuple[Groups, np.ndarray]:
    """Cut every track longer than ``window_points`` into consecutive windows.

    A track of ``L > window_points`` points becomes ``k = ceil(L / window_points)`` windows of
    ``L // k`` points each (its last ``L - k (L // k) < k`` points are left out); shorter
    tracks stay whole, as one window.

    Returns
    -------
    windows : dict
        ``{n_points: (window indices, array (n, n_points, dim))}``.
    owner : ndarray (n_windows,)
        The index of the track of each window.
    """
    W = check_int(window_points, "window_points", 1)
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    owners = []
    start = 0
    for L, (idx, arr) in groups.items():
        k = -(-L // W)
        w = L // k
        win = arr[:, : k * w].reshape(-1, w, arr.shape[2])
        owners.append(np.repeat(idx, k))
        parts.setdefault(w, []).append((start + np.arange(len(win)), win))
        start += len(win)
    out = {
        w: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps]))
        for w, ps in parts.items()
    }
    return out, np.concatenate(owners)


def _mean_by_owner(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Mean of the rows of ``values`` (n_windows, k) per track index ``owner``: (n, k)."""
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, owner, values)
    return out / np.bincount(owner, minlength=n)[:, None]


def track_lengths(groups: Groups, n: int) -> np.ndarray:
    """Points of each of the ``n`` tracks of ``groups``."""
    out = np.empty(n, dtype=np.int64)
    for L, (idx, _) in groups.items():
        out[idx] = L
    return out


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' requested but no CUDA GPU is available")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return device


# --------------------------------------------------------------------------------------
# data sources (representations as torch batches)
# --------------------------------------------------------------------------------------
def _wavelet(arr: np.ndarray) -> np.ndarray:
    """Scalograms ``(n, dim, 6, 24, T)`` of one length group."""
    from .. import represent

    S = np.asarray(represent.wavelet(arr), dtype=np.float32)
    n, _, d = arr.shape
    # represent.wavelet stacks channels per dimension, then per wavelet: c = k * 6 + w
    return S.reshape(n, d, N_WAVELETS, S.shape[-2], S.shape[-1])


def step_scale(arr: np.ndarray) -> np.ndarray:
    """log10 of each coordinate's step scale ``(n, dim)``: the population standard deviation
    of its increments (unit of the positions), floored at 1e-12."""
    inc = np.diff(np.asarray(arr, dtype=np.float64), axis=1)
    return np.log10(np.maximum(inc.std(axis=1), 1e-12))


def check_measurement(measurement, n: int) -> np.ndarray | None:
    """Per-track measurement settings as an array ``(n, 2)``: exposure ratio, sigma.

    Parameters
    ----------
    measurement : mapping or DataFrame, optional
        ``exposure_ratio`` (exposure time over frame period, in [0, 1]) and / or ``sigma``
        (localization noise per axis, in the unit of the positions, >= 0), each one value
        for all tracks or one per track; NaN marks a track's value as unknown, a missing
        key all of them.
    n : int
        Number of tracks.

    Returns
    -------
    ndarray (n, 2) or None
        Columns :data:`MEASUREMENT_KEYS`, NaN where unknown; None without ``measurement``.
    """
    if measurement is None:
        return None
    keys = list(measurement.columns if isinstance(measurement, pd.DataFrame) else measurement)
    unknown = [k for k in keys if k not in MEASUREMENT_KEYS]
    if unknown:
        raise ValueError(
            f"measurement has unknown key(s) {', '.join(map(str, unknown))}; "
            f"known: {', '.join(MEASUREMENT_KEYS)}"
        )
    out = np.full((n, len(MEASUREMENT_KEYS)), np.nan)
    for j, key in enumerate(MEASUREMENT_KEYS):
        if key not in keys:
            continue
        try:
            v = np.asarray(measurement[key], dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"measurement {key!r} must be numbers") from None
        if v.size not in (1, n):
            raise ValueError(f"measurement {key!r} has {v.size} values for {n} tracks")
        known = v[~np.isnan(v)]
        hi = 1.0 if key == "exposure_ratio" else np.inf
        bad = known[~(np.isfinite(known) & (known >= 0) & (known <= hi))]
        if bad.size:
            rng_txt = "[0, 1]" if key == "exposure_ratio" else ">= 0 and finite"
            raise ValueError(
                f"measurement {key!r} must be {rng_txt} (NaN: unknown), got {bad[0]!r}"
            )
        out[:, j] = v
    return out


def _side_inputs(
    arr: np.ndarray, side_norm: np.ndarray, meta: np.ndarray | None = None, n_side: int = 1
) -> np.ndarray:
    """Normalized side inputs ``(n, dim, n_side)`` float32 of tracks ``arr`` (n, L, dim).

    Column 0: the coordinate's log10 step scale, normalized by ``side_norm``. With
    ``n_side = 1 + N_MEASUREMENT_SIDE`` (``measurement_inputs``), from ``meta`` (n, 2) as
    :func:`check_measurement` returns it: exposure ratio known (0 / 1), exposure ratio - 0.5,
    sigma known (0 / 1), log10 of sigma over the coordinate's step scale (clipped to
    [-3, 0]) + 1.5; unknown values are 0 with their flag 0.
    """
    log_s = step_scale(arr)  # (n, dim)
    out = np.zeros((*log_s.shape, n_side), dtype=np.float32)
    out[..., 0] = (log_s - float(side_norm[0])) / float(side_norm[1])
    if n_side == 1 or meta is None:
        return out
    f, sig = meta[:, 0], meta[:, 1]
    kf, ks = np.isfinite(f), np.isfinite(sig)
    out[kf, :, 1] = 1.0
    out[kf, :, 2] = (f[kf] - 0.5)[:, None]
    with np.errstate(divide="ignore"):  # sigma 0: log10 -inf, clipped to -3
        log_ratio = np.clip(np.log10(sig[ks])[:, None] - log_s[ks], -3.0, 0.0)
    out[ks, :, 3] = 1.0
    out[ks, :, 4] = log_ratio + 1.5
    return out


def _hide_measurement(meta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``meta`` with each known value hidden (NaN) with probability
    :data:`MEASUREMENT_HIDE` (training: the network also learns to do without them)."""
    out = meta.copy()
    out[rng.random(out.shape) < MEASUREMENT_HIDE] = np.nan
    return out


def _log_scalogram(S: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(log(S + eps) - mean) / std`` per (wavelet, scale), float32, in place when ``S`` is."""
    out = S if S.dtype == np.float32 else S.astype(np.float32)
    np.add(out, np.float32(LOG_EPS), out=out)
    np.log(out, out=out)
    out -= mean[:, :, None].astype(np.float32)
    out /= std[:, :, None].astype(np.float32)
    return out


def random_rotations(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Haar-uniform random orthogonal matrices ``(n, dim, dim)`` (rotations and reflections).

    QR decomposition of a matrix of i.i.d. standard normals, with the signs of ``R``'s
    diagonal moved into ``Q``, gives a Haar-distributed orthogonal matrix (Mezzadri,
    "How to generate random matrices from the classical compact groups", Notices AMS 54,
    592 (2007)).
    """
    G = rng.standard_normal((n, dim, dim))
    Q, R = np.linalg.qr(G)
    return Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]


def augment_tracks(
    arr: np.ndarray,
    rng: np.random.Generator,
    *,
    rotate: bool = True,
    min_fraction: float = 1.0,
) -> np.ndarray:
    """Physically valid random variants of tracks ``(n, n_points, dim)`` of one length.

    - ``rotate``: every track is multiplied by its own random orthogonal matrix
      (:func:`random_rotations`). All AnDi motion models are isotropic, so the rotated track
      has the same model and the same alpha, but its coordinates - the signals the wavelet
      transform reads one by one - are new projections of the motion.
    - ``min_fraction < 1``: one random window of ``T'`` consecutive points, ``T'`` uniform in
      ``[max(MIN_POINTS, min_fraction * n_points), n_points]``, common to the batch: a part of
      a track is a track of the same model and exponent (the models used here have
      stationary increments or, for SBM / ATTM, are read through the time-averaged MSD over
      any window; see the AnDi challenge definition, Muñoz-Gil et al. 2021).
    """
    n, T, d = arr.shape
    out = arr
    if min_fraction < 1.0:
        t_len = int(rng.integers(max(MIN_POINTS, int(math.ceil(min_fraction * T))), T + 1))
        t0 = int(rng.integers(0, T - t_len + 1))
        out = out[:, t0 : t0 + t_len]
    if rotate and d >= 2:
        out = np.einsum("ntj,nij->nti", out, random_rotations(n, d, rng))
    return np.ascontiguousarray(out)


def tta_count(test_rotations: int, n_points: int, budget: int | None = None) -> int:
    """Test-time rotations used for tracks of ``n_points``: at most ``test_rotations``.

    ``min(test_rotations, budget // n_points)``, at least 1, with ``budget`` an estimator's
    ``tta_points`` or by default :data:`TTA_POINT_BUDGET` (120): short tracks, where
    averaging over orientations helps most (held-out AnDi tracks of 30 points: model accuracy
    0.468 with one rotation, 0.505 with four), get up to ``test_rotations``; from
    ``TTA_POINT_BUDGET`` points on one pass, which keeps the cost per track proportional to
    its length. That pass costs some accuracy: with the bundled models at 100 points alpha
    MAE 0.2227 vs 0.2209 with four rotations (300 points: no difference;
    ``benchmarks/results/inference``); with a wavelet regressor trained on 1000 AnDi tracks
    (``benchmarks/results/learn_andi``) alpha MAE 0.2511 vs 0.2459 with two rotations and
    0.2453 with four at 100 points, a paired gain of two rotations of 0.0018 +- 0.0015 at
    200 points and 0.0017 +- 0.0012 at 400.
    """
    budget = TTA_POINT_BUDGET if budget is None else int(budget)
    return max(1, min(int(test_rotations), budget // max(int(n_points), 1)))


def bucket_length(n_points: int) -> int:
    """Padded length of a track of ``n_points`` in batched prediction (at most 1/8 longer).

    ``n_points`` rounded up to a multiple of ``max(1, 2**floor(log2(n_points)) // 8)``:
    eight buckets per octave (lengths 20-1000: about 45 shapes), a function of the track's
    own length only.
    """
    n = int(n_points)
    step = max(1, (1 << (n.bit_length() - 1)) // 8)
    return -(-n // step) * step


def _tta_rotations(dim: int, k: int) -> np.ndarray:
    """``k`` fixed rotations ``(k, dim, dim)`` for test-time augmentation (identity first).

    2D: angles ``j * (pi / 2) / k``; the per-coordinate scalogram network is already
    invariant to quarter turns and reflections (they swap or negate the coordinates, and the
    modulus of the transform of a standardized coordinate ignores its sign), so ``[0, pi/2)``
    covers all orientations. 3D: the identity and ``k - 1`` Haar-random rotations of a fixed
    seed. Fixed matrices keep predictions deterministic and independent of the batch.
    """
    if dim == 2:
        th = np.arange(k) * (0.5 * np.pi / k)
        c, s = np.cos(th), np.sin(th)
        return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1)
    R = random_rotations(k, dim, np.random.default_rng(0))
    R[0] = np.eye(dim)
    return R


class _WaveletSource:
    """Normalized log-scalograms, stored or (for large sets) computed per batch.

    With ``augment`` (training), every batch is transformed on the fly from randomly rotated
    and cropped tracks (:func:`augment_tracks`); the transform costs ~0.1 ms per track, far
    less than the network's forward and backward pass.
    """

    def __init__(
        self,
        groups: Groups,
        mean: np.ndarray,
        std: np.ndarray,
        augment: bool,
        side_norm: np.ndarray | None = None,
        meta: np.ndarray | None = None,
        n_side: int = 1,
    ) -> None:
        self.mean, self.std, self.augment = mean, std, augment
        self.side_norm, self.n_side = side_norm, n_side
        self.groups = {L: idx for L, (idx, _) in groups.items()}
        self.rows = {}
        self.data: dict[int, Any] = {}
        self.tracks: dict[int, np.ndarray] = {}
        self.meta = {L: None if meta is None else meta[idx] for L, (idx, _) in groups.items()}
        n_bytes = sum(
            arr.shape[0] * arr.shape[2] * N_WAVELETS * N_SCALES * L * 4
            for L, (_, arr) in groups.items()
        )
        self.precomputed = (not augment) and n_bytes <= MAX_PRECOMPUTE_BYTES
        for L, (idx, arr) in groups.items():
            self.rows[L] = {int(i): r for r, i in enumerate(idx)}
            self.tracks[L] = arr
            if self.precomputed:
                blocks = [
                    _log_scalogram(_wavelet(arr[s : s + PREDICT_CHUNK]), mean, std)
                    for s in range(0, len(arr), PREDICT_CHUNK)
                ]
                self.data[L] = torch.from_numpy(np.concatenate(blocks))

    def batch(self, idx: np.ndarray, train: bool, rng: np.random.Generator | None):
        """Scalograms ``(n, dim, 6, 24, L)``, with the side inputs ``(n, dim, n_side)`` if any."""
        L = next(L for L, rows in self.rows.items() if int(idx[0]) in rows)
        r = np.array([self.rows[L][int(i)] for i in idx])
        meta = None if self.meta[L] is None else self.meta[L][r]
        if train and rng is not None and meta is not None:
            meta = _hide_measurement(meta, rng)
        if train and self.augment and rng is not None:
            arr = augment_tracks(
                self.tracks[L][r], rng, rotate=AUGMENT_ROTATE, min_fraction=AUGMENT_MIN_FRACTION
            )
            x = torch.from_numpy(_log_scalogram(_wavelet(arr), self.mean, self.std))
        elif self.precomputed:
            arr = self.tracks[L][r]
            x = self.data[L][torch.from_numpy(r)]
        else:
            arr = self.tracks[L][r]
            x = torch.from_numpy(_log_scalogram(_wavelet(arr), self.mean, self.std))
        if self.side_norm is None:
            return x
        return x, torch.from_numpy(_side_inputs(arr, self.side_norm, meta, self.n_side))


class _TrajectorySource:
    """Normalized increments ``(n, dim, L - 1)`` (WADNet input)."""

    def __init__(self, groups: Groups, augment: bool) -> None:
        from .. import represent

        self.augment = augment
        self.groups = {L: idx for L, (idx, _) in groups.items()}
        self.rows = {}
        self.data = {}
        for L, (idx, arr) in groups.items():
            self.rows[L] = {int(i): r for r, i in enumerate(idx)}
            inc = np.asarray(represent.trajectory(arr), dtype=np.float32)  # (n, L-1, dim)
            self.data[L] = torch.from_numpy(np.ascontiguousarray(inc.transpose(0, 2, 1)))

    def batch(self, idx: np.ndarray, train: bool, rng: np.random.Generator | None) -> torch.Tensor:
        L = next(L for L, rows in self.rows.items() if int(idx[0]) in rows)
        r = torch.from_numpy(np.array([self.rows[L][int(i)] for i in idx]))
        x = self.data[L][r]
        if train and self.augment and rng is not None:
            # reflection x -> -x of each coordinate is a symmetry of every motion model
            sign = torch.from_numpy(
                rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=x.shape[:2])
            )
            x = x * sign[:, :, None]
        return x


def _wavelet_norm(
    groups: Groups, rng: np.random.Generator, n_max: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per (wavelet, scale) of the log-scalograms of up to ``n_max`` tracks."""
    n = sum(len(idx) for idx, _ in groups.values())
    frac = min(1.0, n_max / n)
    s1 = np.zeros((N_WAVELETS, N_SCALES))
    s2 = np.zeros((N_WAVELETS, N_SCALES))
    cnt = 0
    for _, arr in groups.values():
        k = max(1, int(round(frac * len(arr))))
        sub = arr[np.sort(rng.choice(len(arr), size=k, replace=False))]
        logS = np.log(_wavelet(sub).astype(np.float64) + LOG_EPS)  # (k, d, 6, 24, T)
        s1 += logS.sum(axis=(0, 1, 4))
        s2 += (logS**2).sum(axis=(0, 1, 4))
        cnt += logS.shape[0] * logS.shape[1] * logS.shape[4]
    mean = s1 / cnt
    std = np.sqrt(np.maximum(s2 / cnt - mean**2, 1e-12))
    return mean.astype(np.float32), std.astype(np.float32)


def _features(groups: Groups, n: int) -> tuple[np.ndarray, list[str] | None]:
    """Feature matrix ``(n, n_features)`` (NaN where undefined) and the feature names."""
    from .. import represent

    F, names = None, None
    for idx, arr in groups.values():
        f = represent.features(arr)
        if hasattr(f, "columns"):
            names = [str(c) for c in f.columns]
        f = np.asarray(f, dtype=np.float64)
        if F is None:
            F = np.empty((n, f.shape[1]))
        F[idx] = f
    F[~np.isfinite(F)] = np.nan  # LightGBM treats NaN as missing
    return F, names


# --------------------------------------------------------------------------------------
# the common estimator
# --------------------------------------------------------------------------------------
class _TrackLearner(BaseEstimator):
    """Shared fit/predict machinery (see :class:`AlphaRegressor` for the parameters)."""

    _task = ""

    def __sklearn_tags__(self):
        """Input is a set of tracks ``(n_tracks, n_points, dim)`` or a ragged list of them, not a
        2D feature matrix; scikit-learn's generic checks (built on 2D ``X``) therefore skip these
        estimators, and ``tests/test_sklearn_api.py`` runs the API checks that apply."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.device not in ("cpu", "auto")
        return tags

    def __init__(
        self,
        representation: str = "wavelet",
        *,
        n_models: int = 3,
        max_epochs: int = 60,
        patience: int = 8,
        batch_size: int = 64,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-3,
        validation_fraction: float = 0.15,
        augment: bool = True,
        test_rotations: int = 4,
        tta_points: int | None = None,
        window_points: int | None = None,
        scale_inputs: bool = False,
        measurement_inputs: bool = False,
        label_smoothing: float | None = None,
        lr_schedule: str = "plateau",
        loss: str = "gaussian",
        backbone: str = "auto",
        device: str = "auto",
        n_threads: int | None = None,
        random_state: int | np.random.Generator | None = None,
        verbose: bool = False,
    ) -> None:
        self.representation = representation
        self.n_models = n_models
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.augment = augment
        self.test_rotations = test_rotations
        self.tta_points = tta_points
        self.window_points = window_points
        self.scale_inputs = scale_inputs
        self.measurement_inputs = measurement_inputs
        self.label_smoothing = label_smoothing
        self.lr_schedule = lr_schedule
        self.loss = loss
        self.backbone = backbone
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    # -- validation of the hyperparameters ----------------------------------------------
    def _check_params(self) -> None:
        if self.representation not in REPRESENTATION_NAMES:
            raise ValueError(
                f"representation must be one of {', '.join(REPRESENTATION_NAMES)}, got {self.representation!r}"
            )
        for name in ("n_models", "max_epochs", "patience", "batch_size", "test_rotations"):
            check_int(getattr(self, name), name, 1)
        if self.tta_points is not None:
            check_int(self.tta_points, "tta_points", 1)
        self._check_window_points()
        if self.scale_inputs not in (True, False):
            raise ValueError(f"scale_inputs must be True or False, got {self.scale_inputs!r}")
        if self.scale_inputs and self.representation != "wavelet":
            raise ValueError("scale_inputs applies to the wavelet representation only")
        if self.measurement_inputs not in (True, False):
            raise ValueError(
                f"measurement_inputs must be True or False, got {self.measurement_inputs!r}"
            )
        if self.measurement_inputs and not self.scale_inputs:
            raise ValueError("measurement_inputs needs scale_inputs=True (wavelet learner)")
        if not 0.05 <= float(self.validation_fraction) <= 0.5:
            raise ValueError(
                f"validation_fraction must lie in [0.05, 0.5], got {self.validation_fraction!r}"
            )
        if self.backbone not in ("auto", "compact", "large"):
            raise ValueError(
                f"backbone must be 'auto', 'compact' or 'large', got {self.backbone!r}"
            )
        for name in ("learning_rate", "weight_decay"):
            v = float(getattr(self, name))
            if not np.isfinite(v) or v < 0 or (name == "learning_rate" and v == 0):
                raise ValueError(f"{name} must be a finite positive number, got {v!r}")
        if not 0.0 <= self._label_smoothing() < 1.0:
            raise ValueError(f"label_smoothing must lie in [0, 1), got {self.label_smoothing!r}")
        if self.lr_schedule not in ("plateau", "cosine", "cosine_steps"):
            raise ValueError(
                "lr_schedule must be 'plateau', 'cosine' or 'cosine_steps', "
                f"got {self.lr_schedule!r}"
            )
        check_regression_loss(self.loss)
        _resolve_device(self.device)

    @property
    def _learner(self) -> Learner:
        """What the representation implies for training and prediction (:data:`LEARNERS`)."""
        return LEARNERS[self.representation]

    def _label_smoothing(self) -> float:
        if self._task != "classification":
            return 0.0
        if self.label_smoothing is None:
            return self._learner.label_smoothing
        return float(self.label_smoothing)

    def _check_fitted(self) -> None:
        if not hasattr(self, "dim_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    # -- targets (task-specific) ---------------------------------------------------------
    def _encode_y(self, y, n: int, refit: bool = True) -> np.ndarray:
        raise NotImplementedError

    def _n_out(self) -> int:
        raise NotImplementedError

    # -- fit -----------------------------------------------------------------------------
    def fit(self, X, y, *, data_description: str | None = None, measurement=None):
        """Fit on tracks ``X`` (µm) with targets ``y``.

        Parameters
        ----------
        X : array (n_tracks, n_points, dim), list of (n_points_i, dim) arrays, or track table
            Training tracks, at least 20 points each.
        y : array_like (n_tracks,)
            Anomalous exponents (regressor) or motion-model names (classifier).
        data_description : str, optional
            Free text stored with the model (where the training data came from).
        measurement : mapping or DataFrame, optional
            Exposure ratio and localization noise of each training track
            (:func:`check_measurement`); required with ``measurement_inputs``, ignored
            otherwise.

        Returns
        -------
        self
        """
        self._check_params()
        groups, n, dim = check_tracks(X)
        if n < 10:
            raise ValueError(f"need at least 10 training tracks, got {n}")
        y_enc = self._encode_y(y, n)
        meta = self._check_measurement(measurement, n, training=True)
        rng = check_rng(self.random_state)
        tr, va = self._split(n, y_enc, rng)
        self.dim_ = dim
        self.n_features_in_ = dim  # the spatial dimension: each point has dim coordinates
        self.n_tracks_ = n
        lengths = track_lengths(groups, n)
        self.training_data_ = {
            "n_tracks": int(n),
            "dim": int(dim),
            "min_points": int(lengths.min()),
            "max_points": int(lengths.max()),
            "n_train": int(len(tr)),
            "n_validation": int(len(va)),
            "description": data_description or "",
            **self._label_summary(y_enc),
        }
        if self._learner.network is None:
            self._fit_lgbm(groups, n, y_enc, tr, va, rng)
        else:
            self._fit_torch(groups, y_enc, tr, va, rng, meta)
        return self

    def _check_measurement(self, measurement, n: int, training: bool = False):
        """The measurement array the networks read (None for learners without
        ``measurement_inputs``, which ignore it)."""
        if not self.measurement_inputs:
            return None
        meta = check_measurement(measurement, n)
        if training and (meta is None or np.isnan(meta).all()):
            raise ValueError(
                "measurement_inputs=True needs the training tracks' measurement "
                "(exposure_ratio and / or sigma)"
            )
        return meta

    def _split(
        self, n: int, y_enc: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Train/validation split (stratified by class for the classifier)."""
        frac = float(self.validation_fraction)
        if self._task == "classification":
            val = []
            for c in np.unique(y_enc):
                members = rng.permutation(np.flatnonzero(y_enc == c))
                k = int(round(frac * len(members)))
                if len(members) >= 2:
                    k = min(max(k, 1), len(members) - 1)
                val.append(members[:k])
            va = np.sort(np.concatenate(val))
        else:
            va = np.sort(rng.permutation(n)[: max(2, int(round(frac * n)))])
        tr = np.setdiff1d(np.arange(n), va)
        return tr, va

    def _make_source(self, groups: Groups, sel: np.ndarray, augment: bool, meta=None):
        sub = _subset(groups, sel) if sel is not None else groups
        if self._learner.scalograms:
            if meta is not None and sel is not None:
                meta = meta[sel]
            return _WaveletSource(
                sub,
                self.norm_mean_,
                self.norm_std_,
                augment,
                self._side_norm(),
                meta,
                self._n_side(),
            )
        return _TrajectorySource(sub, augment)

    def _side_norm(self) -> np.ndarray | None:
        """(mean, std) of the log step scale when the network takes it (``scale_inputs``)."""
        return getattr(self, "side_norm_", None) if self.scale_inputs else None

    def _n_side(self) -> int:
        """Side inputs per coordinate of the scalogram network (0: none)."""
        if not self.scale_inputs:
            return 0
        return 1 + (N_MEASUREMENT_SIDE if self.measurement_inputs else 0)

    def _new_net(self, device: str):
        if self._learner.network == "scalogram_cnn":
            large = self.backbone == "large" or (self.backbone == "auto" and device == "cuda")
            return ScalogramCNN(
                self._n_out(),
                N_WAVELETS,
                N_SCALES,
                width=32 if large else 12,
                pooling=POOLING,
                scale_stats=SCALE_STATS,
                n_side=self._n_side(),
            )
        return WADNet(self._n_out())

    def _fit_torch(self, groups, y_enc, tr, va, rng, meta=None) -> None:
        if self._learner.scalograms:
            self.norm_mean_, self.norm_std_ = _wavelet_norm(_subset(groups, tr), rng)
        if self.scale_inputs:
            logs = np.concatenate(
                [step_scale(arr[np.isin(idx, tr)]).ravel() for idx, arr in groups.values()]
            )
            self.side_norm_ = np.array(
                [logs.mean(), max(float(logs.std()), 1e-6)], dtype=np.float32
            )
        self.nets_ = None
        self.history_ = self._train_nets(
            groups, y_enc, tr, va, rng, float(self.learning_rate), int(self.max_epochs), meta
        )
        self.net_name_ = self._learner.network
        self.net_config_ = dict(self.nets_[0].config)

    def _train_nets(
        self, groups, y_enc, tr, va, rng, learning_rate: float, max_epochs: int, meta=None
    ) -> list[dict]:
        """Train new networks (``nets_`` is None) or continue training them; calibrate on ``va``."""
        device = _resolve_device(self.device)
        src_tr = self._make_source(groups, tr, bool(self.augment), meta)
        src_va = self._make_source(groups, va, False, meta)
        y_fit = self._y_fit(y_enc, tr)
        n_nets = int(self.n_models) if self.nets_ is None else len(self.nets_)
        seeds = rng.integers(0, 2**31 - 1, size=n_nets)
        nets, history = [], []
        for k, seed in enumerate(seeds):
            with torch_context(int(seed), self.n_threads):
                net = self._new_net(device) if self.nets_ is None else self.nets_[k]
                hist = train_net(
                    net,
                    self._task,
                    src_tr,
                    y_fit[tr],
                    src_va,
                    y_fit[va],
                    max_epochs=max_epochs,
                    patience=int(self.patience),
                    batch_size=int(self.batch_size),
                    learning_rate=learning_rate,
                    weight_decay=float(self.weight_decay),
                    label_smoothing=self._label_smoothing(),
                    lr_schedule=str(self.lr_schedule),
                    loss=str(self.loss),
                    rng=np.random.default_rng(int(seed)),
                    device=device,
                    verbose=bool(self.verbose),
                    desc=f"{self.representation} {self._task} net {k + 1}/{len(seeds)}",
                )
            nets.append(net.cpu().eval())
            history.append(hist)
        self.nets_ = nets
        va_groups, owner, va_meta = self._windowed(_subset(groups, va), _rows(meta, va))
        with torch_context(None, self.n_threads):
            outs = self._torch_outputs(va_groups, len(va) if owner is None else len(owner), va_meta)
        self._calibrate_torch(outs, y_enc[va], owner)
        return history

    def fine_tune(
        self,
        X,
        y,
        *,
        learning_rate: float | None = None,
        max_epochs: int | None = None,
        data_description: str | None = None,
        measurement=None,
    ):
        """Continue training the fitted networks on new tracks (transfer learning).

        The networks, the scalogram normalization and (for alpha) the target scaling are
        kept; the networks are trained further on ``X, y`` with their own validation split,
        early stopping and a smaller learning rate (default: a third of ``learning_rate``),
        and the uncertainty / probability calibration is refitted on the new validation split.

        Parameters
        ----------
        X, y
            As in :meth:`fit`; for the classifier the labels must be among ``classes_``.
        learning_rate : float, optional
            Initial learning rate of the fine-tuning.
        max_epochs : int, optional
            Epoch limit (default ``max_epochs``).
        data_description : str, optional
            Free text stored with the model.
        measurement : mapping or DataFrame, optional
            As in :meth:`fit`.

        Returns
        -------
        self
        """
        self._check_fitted()
        if self._learner.network is None:
            raise ValueError(
                "fine_tune needs a network learner (representation 'wavelet' or 'trajectory')"
            )
        groups, n, dim = check_tracks(X)
        if n < 10:
            raise ValueError(f"need at least 10 tracks to fine-tune, got {n}")
        y_enc = self._encode_y(y, n, refit=False)
        meta = self._check_measurement(measurement, n, training=True)
        rng = check_rng(self.random_state)
        tr, va = self._split(n, y_enc, rng)
        lr = float(learning_rate) if learning_rate is not None else float(self.learning_rate) / 3
        hist = self._train_nets(
            groups, y_enc, tr, va, rng, lr, int(max_epochs or self.max_epochs), meta
        )
        self.history_ = list(self.history_) + hist
        self.training_data_ = dict(self.training_data_)
        self.training_data_["fine_tuned_on"] = {
            "n_tracks": int(n),
            "dim": int(dim),
            "description": data_description or "",
            **self._label_summary(y_enc),
        }
        return self

    def _torch_outputs(self, groups: Groups, n: int, meta=None) -> list[np.ndarray]:
        """Raw outputs ``(n, n_out)`` of every ensemble member.

        The networks run with their batch norms folded into the convolutions
        (:func:`~sptmotion.learn.nets.inference_copy`). Wavelet learner: see
        :meth:`_scalogram_outputs`; trajectory learner: one batch per track length.
        """
        device = _resolve_device(self.device)
        n_out = self._n_out()
        with torch_context(None, self.n_threads):
            nets = [inference_copy(net).to(device) for net in self.nets_]
            if self._learner.scalograms:
                return _scalogram_outputs([(self, nets)], groups, n, device, meta)[0]
            outs = [np.empty((n, n_out)) for _ in nets]
            for idx, arr in groups.values():
                for s in range(0, len(idx), PREDICT_CHUNK):
                    part = arr[s : s + PREDICT_CHUNK]
                    src = self._make_source(
                        {part.shape[1]: (np.arange(len(part)), part)}, None, False
                    )
                    for k, net in enumerate(nets):
                        outs[k][idx[s : s + PREDICT_CHUNK]] = predict_net(
                            net, src, len(part), n_out, device=device
                        )
        return outs

    def _average_tta(self, o: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit_lgbm(self, groups, n, y_enc, tr, va, rng) -> None:
        import lightgbm as lgb

        F, names = _features(groups, n)
        self.feature_names_ = names or [f"f{i}" for i in range(F.shape[1])]
        seed = int(rng.integers(0, 2**31 - 1))
        base = {
            **LGBM_PARAMS,
            "seed": seed,
            "deterministic": True,
            "force_col_wise": True,
            "verbosity": -1,
            "num_threads": int(self.n_threads or 0),
        }

        def train(params: dict, y: np.ndarray) -> lgb.Booster:
            dtr = lgb.Dataset(F[tr], y[tr], free_raw_data=False)
            dva = lgb.Dataset(F[va], y[va], reference=dtr, free_raw_data=False)
            b = lgb.train(
                {**base, **params},
                dtr,
                num_boost_round=LGBM_MAX_ROUNDS,
                valid_sets=[dva],
                callbacks=[lgb.early_stopping(LGBM_EARLY_STOP, verbose=False)],
            )
            # keep the best iteration only, as the saved model will
            return lgb.Booster(model_str=b.model_to_string(num_iteration=b.best_iteration))

        if self._task == "classification":
            K = len(self.classes_)
            self.boosters_ = {"classes": train({"objective": "multiclass", "num_class": K}, y_enc)}
        else:
            y = y_enc.astype(np.float64)
            # point estimate: the conditional mean (L2) or, with loss="laplace", the median (L1)
            point = "regression_l1" if self.loss == "laplace" else "regression"
            self.boosters_ = {
                "mean": train({"objective": point}, y),
                "q_low": train({"objective": "quantile", "alpha": Q_LOW}, y),
                "q_high": train({"objective": "quantile", "alpha": Q_HIGH}, y),
            }
        va_groups, owner, _ = self._windowed(_subset(groups, va), None)
        outs = self._lgbm_outputs(F[va] if owner is None else _features(va_groups, len(owner))[0])
        self._calibrate_lgbm(outs, y_enc[va], owner)

    def _lgbm_outputs(self, F: np.ndarray) -> dict[str, np.ndarray]:
        return {k: b.predict(F, raw_score=True) for k, b in self.boosters_.items()}

    # -- prediction plumbing ------------------------------------------------------------
    def _raw(self, X, measurement=None):
        """``(groups, n_tracks, raw outputs, owner)`` of tracks ``X`` as the learner reads them
        (:meth:`_windowed`: ``owner`` is the track of each row of the outputs, None when
        every track is read whole)."""
        self._check_fitted()
        groups, n, dim = check_tracks(X)
        windows, owner, meta = self._windowed(groups, self._check_measurement(measurement, n))
        raw = self._raw_groups(windows, n if owner is None else len(owner), dim, meta)
        return groups, n, raw, owner

    def _raw_groups(self, groups: Groups, n: int, dim: int, meta=None):
        """Raw outputs of tracks grouped by length: LightGBM's or every network's."""
        if self._learner.network is None:
            if dim != self.dim_:
                raise ValueError(
                    f"X: this features model was trained on dim={self.dim_} tracks, got dim={dim}"
                )
            return self._lgbm_outputs(_features(groups, n)[0])
        return self._torch_outputs(groups, n, meta)

    def _windowed(self, groups: Groups, meta=None):
        """The tracks as the learner reads them: cut into windows of at most ``window_points``
        (:func:`window_groups`) when it is set and some track is longer, else as they are.

        Returns ``(groups, owner, meta)``: ``owner`` (None without windows) is the track of
        each window, ``meta`` the measurement rows of the windows.
        """
        self._check_window_points()
        if self.window_points is None or max(groups) <= int(self.window_points):
            return groups, None, meta
        windows, owner = window_groups(groups, int(self.window_points))
        return windows, owner, _rows(meta, owner)

    def _check_window_points(self) -> None:
        if self.window_points is None:
            return
        if self._task != "classification":
            raise ValueError("window_points applies to the classifier (ModelClassifier) only")
        check_int(self.window_points, "window_points", 2 * MIN_POINTS)

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted estimator to one file (``.npz`` + JSON metadata, no pickle)."""
        save_estimator(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Load an estimator saved with :meth:`save`."""
        est = load_estimator(path)
        if not isinstance(est, cls):
            raise ValueError(f"{path} holds a {type(est).__name__}, not a {cls.__name__}")
        return est


_PARAMS_DOC = """
    Parameters
    ----------
    representation : {"wavelet", "features", "trajectory"}
        Track representation and its learner (see the module docstring).
    n_models : int
        Networks in the ensemble (torch learners; LightGBM trains one booster per output).
    max_epochs, patience : int
        Epoch limit and early-stopping patience (epochs without a better validation loss).
    batch_size : int
        Tracks per mini-batch.
    learning_rate, weight_decay : float
        AdamW settings; the learning rate is halved when the validation loss stalls.
    validation_fraction : float
        Share of the training tracks held out for early stopping and calibration.
    augment : bool
        Training augmentation. Wavelet: every batch is transformed from randomly rotated
        tracks (isotropic motion: same model and alpha; new coordinate projections) cut to a
        random window of 75-100 % of their points. Trajectory: sign flips of the increments.
    test_rotations : int
        Wavelet learner on tracks of dim >= 2: predictions are averaged over up to this many
        fixed rotations of each track (test-time augmentation; 1 switches it off); tracks of
        ``n_points`` use ``min(test_rotations, tta_points // n_points)``, at least one
        (:func:`tta_count`).
    tta_points : int, optional
        Point budget of the test-time rotations (None: :data:`TTA_POINT_BUDGET`, 120 points,
        i.e. one rotation from 61 points on, which keeps the cost proportional to the
        track's length). A larger budget reads longer tracks in more rotations, for some
        accuracy at a multiple of the network time: with 200 (two rotations up to 100
        points) alpha MAE on 100-point AnDi tracks 0.2550 instead of 0.2607
        (``benchmarks/results/learn_andi/tta.md``). Used at prediction, including the
        calibration on the validation tracks during ``fit``; can be set on a fitted
        estimator with ``set_params``. ``sptmotion train`` gives wavelet learners 200
        (:data:`sptmotion.analysis.learned.TRAIN_DEFAULTS`).
    window_points : int, optional
        Classifier only: a track longer than this is read in ``ceil(n_points /
        window_points)`` consecutive windows of equal length (:func:`window_groups`), and its
        class probabilities are the normalized geometric mean of those of its windows (the
        mean of the log-probabilities), calibrated by the temperature. For a classifier whose
        errors grow with the length of the track: the bundled one, trained on 20-400 points,
        called 98 % of Brownian tracks of 600-1000 points (and 47 % of 150-299 points)
        another model when it read them whole, 4 % (18 %) with 150
        (``benchmarks/results/pretrained/windows.md``). None (default): whole tracks. At
        least 40 (each window has at least 20 points). Used at prediction, including the
        calibration during ``fit``; can be set on a fitted estimator with ``set_params``.
    scale_inputs : bool
        Wavelet learner: besides the scalograms of the standardized coordinates (the paper's
        representation, which cannot tell ``X`` from ``100 X``), give the network each
        coordinate's log10 step scale (standard deviation of its increments, in the unit of
        the positions; normalized by the training set's mean and std) as a side input
        (:func:`step_scale`). Diffusivity, immobile vs mobile and motion vs localization
        error become visible to the network; the model then expects positions in the unit
        and at the frame rate it was trained on. Default False: the paper's exact form.
    measurement_inputs : bool
        Wavelet learner with ``scale_inputs``: also give the network what is known of each
        track's measurement, passed as ``measurement=`` to :meth:`fit` and to prediction
        (:func:`check_measurement`): the exposure ratio (motion blur, exposure time over
        frame period) and the localization noise sigma relative to each coordinate's step
        scale, each with a flag saying whether it is known. Training hides each known value
        of a track with probability 0.3 per batch, so the network also answers without
        them. The
        frame period itself is not an input: alpha and the model are invariant under a
        change of time unit for the scale-free models, and the step scale already carries
        the diffusivity per frame. Default False.
    lr_schedule : {"plateau", "cosine", "cosine_steps"}
        "plateau": the learning rate is halved when the validation score stalls, with early
        stopping after ``patience`` epochs. "cosine": cosine annealing over exactly
        ``max_epochs`` epochs and the final weights (see :func:`~sptmotion.learn._torch_train.train_net`).
        "cosine_steps": the same annealing by optimizer step, for one or a few epochs over
        a large training set.
    label_smoothing : float, optional
        Label smoothing of the networks' cross-entropy (classifier; Szegedy et al., CVPR 2016):
        the target puts ``1 - label_smoothing`` on the true class and spreads the rest evenly.
        The probabilities are recalibrated by the temperature afterwards. Default: 0.1 for
        the wavelet CNN, 0 for the WADNet (where smoothing lowered the AnDi micro-F1 from 0.66
        to 0.59 in ``benchmarks/learn_andi.py``).
    loss : {"gaussian", "laplace"}
        Regression loss (:class:`AlphaRegressor`; the classifier always minimizes the
        cross-entropy and only checks the value). "gaussian": β-NLL of a Gaussian
        (mean, log-variance) head; the point estimate is the conditional mean.
        "laplace": β-NLL of a Laplace (median, log-variance) head
        (:func:`~sptmotion.learn._torch_train.laplace_beta_nll`), whose location gradient is
        that of the absolute error, so the point estimate is the conditional median, the
        minimizer of the mean absolute error; the features learner then fits its point
        booster with the L1 objective. The predictive std (mixture std of the ensemble,
        ``sqrt(2) b`` per Laplace member) is calibrated the same way for both.
    backbone : {"auto", "compact", "large"}
        Width of the scalogram CNN; "auto" takes the large one only on a GPU.
    device : {"auto", "cpu", "cuda"}
        Where the networks run; a GPU is never required.
    n_threads : int, optional
        torch / LightGBM threads during fit and predict (default: leave as is).
    random_state : int, Generator or None
        Seed of the split, the initializations and the batches: a fixed seed gives
        identical models on CPU.
    verbose : bool
        Show a progress bar per network.
"""


def _class_doc(summary: str | None, attributes: str) -> str:
    """A learner's docstring: its summary, the shared parameters, then its ``attributes``."""
    return (summary or "") + _PARAMS_DOC + "\n    Attributes\n    ----------" + attributes


class AlphaRegressor(RegressorMixin, _TrackLearner):
    """Predict the anomalous exponent alpha of tracks, with a predictive standard deviation."""

    __doc__ = _class_doc(
        __doc__,
        """
    dim_ : int
        Spatial dimension of the training tracks (networks also read other dimensions).
    std_scale_ : float
        Calibration factor of the predictive standard deviation (validation split).
    length_scale_ : dict, optional
        Set by :meth:`calibrate_lengths`: a further factor on the standard deviation as a
        function of the track's length (``log_points``, ``factor``; linear in log length
        between the knots, constant outside).
    training_data_ : dict
        Description of the training set (size, lengths, alpha range, free text).
    nets_ : list of torch.nn.Module
        The trained ensemble (wavelet / trajectory).
    boosters_ : dict of lightgbm.Booster
        ``mean``, ``q_low``, ``q_high`` (features).
    """,
    )

    _task = "regression"

    def _encode_y(self, y, n: int, refit: bool = True) -> np.ndarray:
        try:
            yy = np.asarray(y, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError("y must hold numeric anomalous exponents alpha") from None
        if yy.shape != (n,):
            raise ValueError(f"y has {yy.size} values for {n} tracks")
        if not np.all(np.isfinite(yy)):
            raise ValueError("y (alpha) contains NaN or inf")
        if refit:
            self.y_mean_ = float(yy.mean())
            self.y_std_ = float(yy.std()) or 1.0
        return yy

    def _label_summary(self, y: np.ndarray) -> dict:
        return {
            "alpha_min": float(y.min()),
            "alpha_max": float(y.max()),
            "alpha_mean": float(y.mean()),
        }

    def _y_fit(self, y: np.ndarray, tr: np.ndarray) -> np.ndarray:
        return ((y - self.y_mean_) / self.y_std_).astype(np.float32)

    def _n_out(self) -> int:
        return 2

    def _average_tta(self, o: np.ndarray) -> np.ndarray:
        var = np.exp(np.clip(o[:, :, 1], -12, 6)).mean(axis=0)
        return np.stack([o[:, :, 0].mean(axis=0), np.log(var)], axis=1)

    def _combine_torch(self, outs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        mu = np.stack([o[:, 0] for o in outs]) * self.y_std_ + self.y_mean_
        var = np.exp(np.clip(np.stack([o[:, 1] for o in outs]), -12, 6)) * self.y_std_**2
        return mu.mean(axis=0), var.mean(axis=0) + mu.var(axis=0)

    def _calibrate_torch(self, outs, y_val, owner=None) -> None:
        mu, var = self._combine_torch(outs)
        self.std_scale_ = float(np.sqrt(np.mean((y_val - mu) ** 2 / var)))
        self.length_scale_ = None  # a new calibration needs a new length calibration

    def _combine_lgbm(self, outs: dict) -> tuple[np.ndarray, np.ndarray]:
        half = 0.5 * np.abs(outs["q_high"] - outs["q_low"])
        # files written before half_floor_ floored at 1e-3
        return outs["mean"], np.maximum(half, getattr(self, "half_floor_", 1e-3)) ** 2

    def _calibrate_lgbm(self, outs, y_val, owner=None) -> None:
        half = 0.5 * np.abs(outs["q_high"] - outs["q_low"])
        self.half_floor_ = float(max(LGBM_HALF_FLOOR * np.median(half), 1e-3))
        mu, var = self._combine_lgbm(outs)
        self.std_scale_ = float(np.sqrt(np.mean((y_val - mu) ** 2 / var)))
        self.length_scale_ = None

    def predict(self, X, return_std: bool = False, *, measurement=None):
        """Anomalous exponents of tracks ``X``; with ``return_std`` also their std.

        ``measurement``: exposure ratio and localization noise of the tracks
        (:func:`check_measurement`), read by learners with ``measurement_inputs`` (unknown
        values and ``None`` are allowed) and ignored by the others.

        Returns
        -------
        alpha : ndarray (n_tracks,)
        alpha_std : ndarray (n_tracks,), only with ``return_std=True``
            Calibrated predictive standard deviation (times the length factor of
            :meth:`calibrate_lengths` when the model has one).
        """
        groups, n, raw, _ = self._raw(X, measurement)  # the regressor reads whole tracks
        mu, std = self._alpha_from_raw(raw, track_lengths(groups, n))
        return (mu, std) if return_std else mu

    def _alpha_from_raw(self, raw, lengths: np.ndarray | None = None):
        """Alpha and its calibrated std from raw outputs (``lengths``: points per track, for
        the length calibration of :meth:`calibrate_lengths`)."""
        mu, var = (
            self._combine_lgbm(raw) if self._learner.network is None else self._combine_torch(raw)
        )
        std = self.std_scale_ * np.sqrt(var)
        cal = getattr(self, "length_scale_", None)
        if cal is not None and lengths is not None:
            std = std * np.interp(np.log(lengths), cal["log_points"], cal["factor"])
        return mu, std

    def calibrate_lengths(
        self, X, y, *, measurement=None, n_bands: int = 6, min_factor: float | None = None
    ):
        """Calibrate the 95 % intervals per track length on held-out tracks (split conformal).

        The tracks are cut into ``n_bands`` bands of equal counts by length; in each, the
        factor that makes ``alpha +- 1.96 std`` cover 95 % of the band's exponents (the 95 %
        quantile of ``|y - alpha| / std``, divided by 1.96) is placed at the band's median
        log length; a track's std is multiplied by the factor interpolated at its length
        (constant outside the outermost knots). Replaces an earlier length calibration.

        Parameters
        ----------
        X, y
            Held-out tracks (not the training tracks) and their exponents, as in :meth:`fit`.
        measurement : mapping or DataFrame, optional
            As in :meth:`predict`.
        n_bands : int
            Length bands (at least 1); each needs at least 20 tracks.
        min_factor : float, optional
            Floor of the factors: 1 only widens the intervals where they under-cover and
            keeps them where they over-cover (narrowing them to 95 % on average can cut the
            coverage of the hardest models: ATTM, see
            ``benchmarks/results/pretrained/interval_classes.md``). None: no floor.

        Returns
        -------
        self
        """
        n_bands = check_int(n_bands, "n_bands", 1)
        if min_factor is not None:
            try:
                ok = bool(np.isfinite(float(min_factor)) and float(min_factor) > 0)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"min_factor must be a positive number, got {min_factor!r}")
            min_factor = float(min_factor)
        groups, n, raw, _ = self._raw(X, measurement)
        yy = self._encode_y(y, n, refit=False)
        if n < 20 * n_bands:
            raise ValueError(f"need at least {20 * n_bands} tracks for {n_bands} bands, got {n}")
        lengths = track_lengths(groups, n)
        mu, std = self._alpha_from_raw(raw)  # without an earlier length calibration
        z = np.abs(yy - mu) / std
        order = np.argsort(lengths, kind="stable")
        knots, factors = [], []
        for band in np.array_split(order, n_bands):
            knots.append(float(np.median(np.log(lengths[band]))))
            factors.append(float(np.quantile(z[band], 0.95) / Z95))
        if min_factor is not None:
            factors = [max(f, min_factor) for f in factors]
        self.length_scale_ = {"log_points": knots, "factor": factors, "n_tracks": int(n)}
        return self


class ModelClassifier(ClassifierMixin, _TrackLearner):
    """Classify the motion model of tracks ('attm', 'ctrw', 'fbm', 'lw', 'sbm'[, 'bm']).

    The classes are those present in the training labels, so BM becomes a sixth class
    (the null model of normal diffusion) when the labels contain ``"bm"``.
    """

    __doc__ = _class_doc(
        __doc__,
        """
    classes_ : ndarray
        Class labels (sorted).
    temperature_ : float
        Temperature of the probability calibration (validation split).
    training_data_ : dict
        Description of the training set (size, lengths, class counts, free text).
    """,
    )

    _task = "classification"

    def _encode_y(self, y, n: int, refit: bool = True) -> np.ndarray:
        yy = np.asarray(y).ravel()
        if yy.shape != (n,):
            raise ValueError(f"y has {yy.size} labels for {n} tracks")
        if not refit:
            unknown = np.setdiff1d(yy, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y has labels the model does not know: {', '.join(map(str, unknown[:5]))}"
                )
            return np.searchsorted(self.classes_, yy)
        self.classes_, y_idx = np.unique(yy, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least two classes, got {list(self.classes_)}")
        return y_idx

    def _label_summary(self, y: np.ndarray) -> dict:
        counts = np.bincount(y, minlength=len(self.classes_))
        return {
            "class_counts": {str(c): int(k) for c, k in zip(self.classes_, counts, strict=True)}
        }

    def _y_fit(self, y: np.ndarray, tr: np.ndarray) -> np.ndarray:
        return y

    def _n_out(self) -> int:
        return len(self.classes_)

    @staticmethod
    def _fit_temperature(logp: np.ndarray, y: np.ndarray) -> float:
        """Temperature T minimizing the validation NLL of ``softmax(log p / T)``."""

        def nll(log_t: float) -> float:
            return -float(
                np.mean(log_softmax(logp / math.exp(log_t), axis=1)[np.arange(len(y)), y])
            )

        res = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
        return float(math.exp(res.x))

    def _average_tta(self, o: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(softmax(o, axis=2).mean(axis=0), 1e-12))

    def _logp_torch(self, outs: list[np.ndarray]) -> np.ndarray:
        p = np.mean([softmax(o, axis=1) for o in outs], axis=0)
        return np.log(np.maximum(p, 1e-12))

    def _logp_from_raw(self, raw, owner: np.ndarray | None = None) -> np.ndarray:
        """Uncalibrated log-probabilities per track; with windows (``owner``: the track of
        each row of ``raw``), the mean over a track's windows."""
        logp = self._lgbm_logits(raw) if self._learner.network is None else self._logp_torch(raw)
        if owner is None:
            return logp
        return _mean_by_owner(logp, owner, int(owner.max()) + 1)

    def _calibrate_torch(self, outs, y_val, owner=None) -> None:
        self.temperature_ = self._fit_temperature(self._logp_from_raw(outs, owner), y_val)

    def _calibrate_lgbm(self, outs, y_val, owner=None) -> None:
        self.temperature_ = self._fit_temperature(self._logp_from_raw(outs, owner), y_val)

    def _lgbm_logits(self, outs: dict) -> np.ndarray:
        s = outs["classes"]
        return s.reshape(len(s), -1)

    def predict_proba(self, X, *, measurement=None) -> np.ndarray:
        """Calibrated class probabilities ``(n_tracks, n_classes)`` in the order of ``classes_``.

        With ``window_points``, a longer track's probabilities are the normalized geometric
        mean of those of its windows (:func:`window_groups`), then calibrated.
        ``measurement``: as in :meth:`AlphaRegressor.predict`.
        """
        _, _, raw, owner = self._raw(X, measurement)
        return self._proba_from_raw(raw, owner)

    def _proba_from_raw(self, raw, owner: np.ndarray | None = None) -> np.ndarray:
        return self._calibrated(self._logp_from_raw(raw, owner))

    def _calibrated(self, logp: np.ndarray) -> np.ndarray:
        """Probabilities from uncalibrated log-probabilities (the temperature)."""
        return softmax(logp / self.temperature_, axis=1)

    def predict(self, X, *, measurement=None) -> np.ndarray:
        """Most probable motion model of each track (``measurement``: see :meth:`predict_proba`)."""
        proba = self.predict_proba(X, measurement=measurement)  # NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]


def _scalogram_outputs(
    members, groups: Groups, n: int, device: str, meta: np.ndarray | None = None
) -> list[list[np.ndarray]]:
    """Outputs of scalogram CNNs, tracks of similar lengths batched together.

    ``members``: ``[(estimator, nets)]`` of wavelet learners with the same
    ``test_rotations`` and ``tta_points``; every track is transformed once for all of them
    (each normalizes the shared scalograms with its own statistics). Returns, per member, the
    raw outputs ``(n, n_out)`` of each of its networks.

    Tracks of ``dim >= 2`` are also read in :func:`tta_count` fixed rotations
    (:func:`_tta_rotations`; test-time augmentation) and the outputs averaged per network
    (regression: mean of the means, log of the mean variance; classification: log of the
    mean probabilities). Every (track, rotation) is zero-padded to its length bucket
    (:func:`bucket_length`, at most 1/8 longer, a function of the track's own length); the
    tracks of one bucket are transformed together at the bucket's length
    (:func:`~sptmotion.represent.wavelet_padded`: one set of filters per bucket, each
    track's own scalograms) and run in batches of about :data:`PREDICT_BATCH_POINTS`
    points with the padding masked (:meth:`~sptmotion.learn.nets.ScalogramCNN.forward`):
    few distinct shapes and full batches whatever the mix of lengths, and the outputs of
    the unpadded tracks. On CPU, buckets of at least :data:`CHANNELS_LAST_POINTS` points
    run in channels-last layout (:func:`~sptmotion.learn.nets.channels_last_copy`). ``meta``
    ``(n, 2)``: the tracks' measurement settings (:func:`check_measurement`) for members
    with ``measurement_inputs``.
    """
    test_rotations = int(members[0][0].test_rotations)
    budget = members[0][0].tta_points
    dim = next(iter(groups.values()))[1].shape[2]
    n_outs = [est._n_out() for est, _ in members]
    stats = any(net.config.get("scale_stats") for _, nets in members for net in nets)
    per_length = {}  # length -> tracks, rotations, outputs per member (nets, rot, track, out)
    for L, (idx, arr) in groups.items():
        n_rot = tta_count(test_rotations, L, budget) if dim >= 2 else 1
        rots = _tta_rotations(dim, n_rot) if n_rot > 1 else np.eye(dim)[None]
        res = [
            np.empty((len(nets), n_rot, len(idx), k))
            for (_, nets), k in zip(members, n_outs, strict=True)
        ]
        per_length[L] = (idx, arr, rots, res)
    buckets: dict[int, list[tuple[int, int, int]]] = {}
    for L, (idx, _, rots, _) in per_length.items():
        items = buckets.setdefault(bucket_length(L), [])
        items.extend((L, j, p) for j in range(len(rots)) for p in range(len(idx)))
    scratch = np.empty(0, dtype=np.float32)
    nets_cl = None
    for Lb, items in sorted(buckets.items()):
        batch = max(1, PREDICT_BATCH_POINTS // Lb)
        cl = device == "cpu" and Lb >= CHANNELS_LAST_POINTS
        if cl and nets_cl is None:
            nets_cl = [[channels_last_copy(net) for net in nets] for _, nets in members]
        per_chunk = max(batch, (PREDICT_CHUNK * 100 // Lb) // batch * batch)
        for c in range(0, len(items), per_chunk):
            chunk = items[c : c + per_chunk]
            runs = []  # consecutive items of one (length, rotation): positions, tracks
            padded = np.zeros((len(chunk), Lb, dim))
            start = 0
            while start < len(chunk):
                L, j, _ = chunk[start]
                stop = start
                while stop < len(chunk) and chunk[stop][:2] == (L, j):
                    stop += 1
                _, arr, rots, _ = per_length[L]
                pos = np.array([it[2] for it in chunk[start:stop]])
                tracks = np.einsum("ntj,ij->nti", arr[pos], rots[j])
                padded[start:stop, :L] = tracks
                m_run = None if meta is None else meta[per_length[L][0][pos]]
                runs.append((start, stop, L, j, pos, tracks, m_run))
                start = stop
            own = np.repeat([r[2] for r in runs], [r[1] - r[0] for r in runs])
            # the whole chunk in one transform at the bucket's length (each track
            # standardized over its own points, then zero-padded as the CWT pads anyway),
            # into memory reused over the chunks
            shape = (len(chunk), dim, N_WAVELETS, N_SCALES, Lb)
            if scratch.size < math.prod(shape):
                scratch = np.empty(math.prod(shape), dtype=np.float32)
            S = scratch[: math.prod(shape)].reshape(shape)
            wavelet_padded(padded, own, out=S.reshape(len(chunk), dim * N_WAVELETS, N_SCALES, Lb))
            np.log(np.add(S, np.float32(LOG_EPS), out=S), out=S)  # shared by the members
            moments = row_moments(S, own) if stats else None
            lengths = torch.from_numpy(own)
            for m, ((est, nets), n_out) in enumerate(zip(members, n_outs, strict=True)):
                if cl:
                    nets = nets_cl[m]
                side_norm, n_side = est._side_norm(), est._n_side()
                side = None if side_norm is None else torch.zeros((len(chunk), dim, n_side))
                mean = est.norm_mean_.astype(np.float32)[:, :, None]
                std = est.norm_std_.astype(np.float32)[:, :, None]
                row_stats = None
                if stats:
                    # the time mean and std of the normalized rows from those of the
                    # log-scalograms
                    mu, sd = moments
                    row_stats = torch.from_numpy(
                        np.stack([(mu - mean[..., 0]) / std[..., 0], sd / std[..., 0]])
                    ).float()
                if side is not None:
                    for a, b, _, _, _, tracks, m_run in runs:
                        side[a:b] = torch.from_numpy(_side_inputs(tracks, side_norm, m_run, n_side))
                res = np.empty((len(nets), len(chunk), n_out))
                with torch.inference_mode():
                    for s0 in range(0, len(chunk), batch):
                        s1 = min(len(chunk), s0 + batch)
                        # the normalized log-scalograms (as _log_scalogram) with zero tails,
                        # one batch at a time into a small input that stays in cache
                        x = torch.empty((s1 - s0, *shape[1:]))
                        normalize_into(S[s0:s1], mean, std, x.numpy(), own[s0:s1])
                        xb = to_channels_last(x) if cl else x.to(device)
                        lb = lengths[s0:s1].to(device)
                        sb = None if side is None else side[s0:s1].to(device)
                        rb = None
                        if row_stats is not None:
                            rb = tuple(r.to(device) for r in row_stats[:, s0:s1])
                        for k, net in enumerate(nets):
                            res[k, s0:s1] = net(xb, lb, sb, rb).double().cpu().numpy()
                for a, b, L, j, pos, *_ in runs:
                    per_length[L][3][m][:, j, pos] = res[:, a:b]
    out = []
    for m, ((est, nets), n_out) in enumerate(zip(members, n_outs, strict=True)):
        outs = [np.empty((n, n_out)) for _ in nets]
        for idx, _, rots, res in per_length.values():
            for k in range(len(nets)):
                outs[k][idx] = res[m][k, 0] if len(rots) == 1 else est._average_tta(res[m][k])
        out.append(outs)
    return out


def predict_tracks(
    regressor, classifier, X, *, measurement=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha, its std and the class probabilities of tracks ``X`` from two learners.

    The same numbers as ``regressor.predict(X, return_std=True, measurement=measurement)``
    and ``classifier.predict_proba(X, measurement=measurement)``; when both are wavelet
    learners with the same test-time rotations and device, each track is transformed once
    for both (with the classifier's ``window_points``, each track short enough; a longer
    track is transformed whole for the regressor and in windows for the classifier).

    Returns
    -------
    alpha, alpha_std : ndarray (n_tracks,)
    proba : ndarray (n_tracks, n_classes), columns in the order of ``classifier.classes_``
    """
    regressor._check_fitted()
    regressor._check_window_points()
    classifier._check_fitted()
    shared = (
        regressor._learner.scalograms
        and classifier._learner.scalograms
        and int(regressor.test_rotations) == int(classifier.test_rotations)
        and regressor.tta_points == classifier.tta_points
        and _resolve_device(regressor.device) == _resolve_device(classifier.device)
    )
    if not shared:
        alpha, std = regressor.predict(X, return_std=True, measurement=measurement)
        return alpha, std, classifier.predict_proba(X, measurement=measurement)
    groups, n, _ = check_tracks(X)
    meta = check_measurement(measurement, n)
    device = _resolve_device(regressor.device)
    classifier._check_window_points()
    W = classifier.window_points
    with torch_context(None, regressor.n_threads):
        members = [
            (e, [inference_copy(net).to(device) for net in e.nets_])
            for e in (regressor, classifier)
        ]
        lengths = track_lengths(groups, n)
        if W is None or max(groups) <= int(W):
            raw_r, raw_c = _scalogram_outputs(members, groups, n, device, meta)
            alpha, std = regressor._alpha_from_raw(raw_r, lengths)
            return alpha, std, classifier._proba_from_raw(raw_c)
        # the classifier reads the longer tracks in windows: the tracks short enough go
        # through one transform for both; the regressor reads the longer ones whole, the
        # classifier their windows
        W = int(W)
        short, long = np.flatnonzero(lengths <= W), np.flatnonzero(lengths > W)
        raw_r = [np.empty((n, regressor._n_out())) for _ in members[0][1]]
        logp = np.empty((n, classifier._n_out()))
        if len(short):
            part = _scalogram_outputs(
                members, _subset(groups, short), len(short), device, _rows(meta, short)
            )
            for full, o in zip(raw_r, part[0], strict=True):
                full[short] = o
            logp[short] = classifier._logp_from_raw(part[1])
        long_groups, long_meta = _subset(groups, long), _rows(meta, long)
        (part,) = _scalogram_outputs(members[:1], long_groups, len(long), device, long_meta)
        for full, o in zip(raw_r, part, strict=True):
            full[long] = o
        windows, owner = window_groups(long_groups, W)
        (part,) = _scalogram_outputs(
            members[1:], windows, len(owner), device, _rows(long_meta, owner)
        )
        logp[long] = classifier._logp_from_raw(part, owner)
    alpha, std = regressor._alpha_from_raw(raw_r, lengths)
    return alpha, std, classifier._calibrated(logp)


def _rows(meta: np.ndarray | None, sel: np.ndarray) -> np.ndarray | None:
    """The measurement rows ``sel`` (None stays None)."""
    return None if meta is None else meta[sel]


def load_estimator(path: str | os.PathLike):
    """Read an estimator written by :meth:`AlphaRegressor.save` / :meth:`ModelClassifier.save`.

    Raises
    ------
    ValueError
        If the file is missing, not a model file of this package, or damaged.
    """
    meta, arrays = read_model(path)
    cls = {"AlphaRegressor": AlphaRegressor, "ModelClassifier": ModelClassifier}.get(
        str(meta.get("estimator"))
    )
    if cls is None:
        raise ValueError(f"model file {path} holds an unknown estimator {meta.get('estimator')!r}")
    try:
        est = cls(**stored_params(meta))
        restore_fitted(est, meta, arrays)
    except (KeyError, TypeError, RuntimeError, AttributeError, ValueError) as exc:
        raise ValueError(f"model file {path} is damaged: {exc}") from None
    return est
