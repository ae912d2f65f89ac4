"""The figures of an analysis report, as PNG files (matplotlib).

Figures are drawn with :class:`matplotlib.figure.Figure` directly (no ``pyplot`` state), so
they can be produced in worker threads and processes (Dask) without a display.

- :func:`plot_movie_overlay`: one movie frame (ADU) with the tracks drawn over it.
- :func:`plot_track_bands`: the posterior-mean track per coordinate with its credible band.
- :func:`plot_scalogram`: the six wavelet scalograms of one track (Wang, Zhang, Huang 2025).
- :func:`plot_alpha_and_probabilities`: alpha with intervals and model probabilities per track.
- :func:`plot_loglik_bars`: the initial / emission / motion log-probabilities of the movie
  (Hendrix, Xu, Pressé 2025, Fig. 3a: the emission part dominates).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..represent.wavelet import WAVELETS

__all__ = [
    "plot_movie_overlay",
    "plot_track_bands",
    "plot_scalogram",
    "plot_alpha_and_probabilities",
    "plot_loglik_bars",
]

_AXES = ("x", "y", "z")
_DPI = 100


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight")
    return path


def plot_movie_overlay(
    frame: np.ndarray,
    tracks: Sequence[np.ndarray],
    pixel_size: float,
    path: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
    other_tracks: Sequence[np.ndarray] | None = None,
    other_label: str = "modular tracker",
    title: str = "",
) -> Path:
    """Draw one frame of the movie with the tracks over it.

    Parameters
    ----------
    frame : ndarray, shape (rows, cols)
        Pixel values (ADU). Row index grows along y, column index along x.
    tracks : sequence of ndarray, each (n_points, dim >= 2)
        Track positions in µm; pixel ``(r, c)`` covers ``[c, c+1) * pixel_size`` in x and
        ``[r, r+1) * pixel_size`` in y.
    pixel_size : float
        Pixel edge in µm.
    path : path
        Output PNG file.
    labels : sequence of str, optional
        Legend label of each track.
    other_tracks : sequence of ndarray, optional
        A second set of tracks (e.g. the modular tracker's) drawn dashed for comparison.
    """
    frame = np.asarray(frame, dtype=float)
    rows, cols = frame.shape
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    im = ax.imshow(
        frame,
        cmap="gray",
        extent=(0, cols * pixel_size, rows * pixel_size, 0),
        interpolation="nearest",
    )
    fig.colorbar(im, ax=ax, label="ADU", fraction=0.046, pad=0.04)
    colors = [f"C{i % 10}" for i in range(len(tracks))]
    for i, tr in enumerate(tracks):
        tr = np.asarray(tr, dtype=float)
        if tr.ndim != 2 or tr.shape[1] < 2:
            continue
        lab = labels[i] if labels is not None else f"track {i}"
        ax.plot(tr[:, 0], tr[:, 1], "-", color=colors[i], lw=1.8, label=lab)
        ax.plot(tr[0, 0], tr[0, 1], "o", color=colors[i], ms=4)
    for j, tr in enumerate(other_tracks or ()):
        tr = np.asarray(tr, dtype=float)
        if tr.ndim != 2 or tr.shape[1] < 2 or len(tr) == 0:
            continue
        ax.plot(
            tr[:, 0],
            tr[:, 1],
            "--",
            color="w",
            lw=0.8,
            alpha=0.8,
            label=other_label if j == 0 else None,
        )
    ax.set_xlim(0, cols * pixel_size)
    ax.set_ylim(rows * pixel_size, 0)
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(title or "first frame with tracks")
    if len(tracks) or other_tracks:
        ax.legend(loc="upper right", fontsize=7, framealpha=0.7)
    return _save(fig, path)


def plot_track_bands(
    t: np.ndarray,
    mean: np.ndarray,
    path: str | os.PathLike,
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    samples: np.ndarray | None = None,
    other: np.ndarray | None = None,
    other_t: np.ndarray | None = None,
    other_label: str = "modular tracker",
    truth: np.ndarray | None = None,
    ci: float = 0.98,
    title: str = "",
) -> Path:
    """Plot one track coordinate by coordinate against time, with its credible band.

    Parameters
    ----------
    t : ndarray, shape (n_points,)
        Times in s.
    mean : ndarray, shape (n_points, dim)
        Posterior-mean (or point-estimate) positions in µm.
    lower, upper : ndarray, shape (n_points, dim), optional
        Credible bounds (µm) at level ``ci``.
    samples : ndarray, shape (n_samples, n_points, dim), optional
        A few posterior sample tracks, drawn thin.
    other : ndarray, shape (n_other, dim), optional
        Another estimate (e.g. the modular tracker's track) at times ``other_t``.
    truth : ndarray, shape (n_points, dim), optional
        The true track when known (simulations).
    """
    t = np.asarray(t, dtype=float)
    mean = np.asarray(mean, dtype=float)
    dim = mean.shape[1]
    fig = Figure(figsize=(6.4, 1.9 * dim + 0.6))
    axes = fig.subplots(dim, 1, sharex=True, squeeze=False)[:, 0]
    for k, ax in enumerate(axes):
        if samples is not None:
            for s in np.asarray(samples)[:, :, k][:20]:
                ax.plot(t, s, "-", color="C0", lw=0.4, alpha=0.25)
        if lower is not None and upper is not None:
            ax.fill_between(
                t,
                lower[:, k],
                upper[:, k],
                color="C0",
                alpha=0.25,
                lw=0,
                label=f"{ci:.0%} credible band",
            )
        ax.plot(t, mean[:, k], "-", color="C0", lw=1.3, label="posterior mean")
        if other is not None and other_t is not None and len(other):
            ax.plot(
                other_t,
                np.asarray(other)[:, k],
                "o--",
                color="C1",
                ms=2.5,
                lw=0.8,
                label=other_label,
            )
        if truth is not None:
            ax.plot(t, np.asarray(truth)[:, k], "-", color="k", lw=0.8, label="truth")
        ax.set_ylabel(f"{_AXES[k]} (µm)")
    axes[0].set_title(title or "track with credible bands")
    axes[0].legend(fontsize=7, loc="best", framealpha=0.7)
    axes[-1].set_xlabel("time (s)")
    return _save(fig, path)


def plot_scalogram(
    scalogram: np.ndarray,
    path: str | os.PathLike,
    *,
    wavelets: Sequence[str] = WAVELETS,
    scales: Sequence[float] | None = None,
    dt: float = 1.0,
    title: str = "",
) -> Path:
    """Show the wavelet scalograms of one track (modulus of the CWT).

    Parameters
    ----------
    scalogram : ndarray, shape (6 * dim, n_scales, n_points)
        Channels ordered per dimension, then per wavelet (as ``represent.wavelet`` stacks them).
    wavelets : sequence of str
        Wavelet names, in channel order within one dimension.
    scales : sequence of float, optional
        The scales (for the y tick labels).
    dt : float
        Time step in s (x axis).
    """
    sc = np.asarray(scalogram, dtype=float)
    n_ch, n_sc, T = sc.shape
    n_w = len(wavelets)
    dim = max(1, n_ch // n_w)
    fig = Figure(figsize=(2.1 * n_w + 0.6, 1.9 * dim + 0.6))
    axes = fig.subplots(dim, n_w, squeeze=False)
    for d in range(dim):
        for w in range(n_w):
            c = d * n_w + w
            ax = axes[d, w]
            if c >= n_ch:
                ax.axis("off")
                continue
            image = ax.imshow(
                sc[c],
                aspect="auto",
                origin="lower",
                cmap="viridis",
                extent=(0, T * dt, 0, n_sc),
                interpolation="nearest",
            )
            fig.colorbar(image, ax=ax, fraction=0.08, pad=0.02).ax.tick_params(labelsize=6)
            if d == 0:
                ax.set_title(wavelets[w], fontsize=8)
            if w == 0:
                label = "scale (frames)" if scales is not None else "scale index"
                ax.set_ylabel(f"{_AXES[d]}: {label}", fontsize=8)
            if d == dim - 1:
                ax.set_xlabel("time (s)", fontsize=8)
            if scales is not None and w == 0:
                ticks = [0, n_sc // 2, n_sc - 1]
                ax.set_yticks(
                    [i + 0.5 for i in ticks], [f"{scales[i]:g}" for i in ticks], fontsize=7
                )
            else:
                ax.set_yticks([])
            ax.tick_params(labelsize=7)
    fig.suptitle(
        (title or "wavelet scalograms") + "; colour: |CWT| of the standardized coordinate",
        fontsize=9,
    )
    return _save(fig, path)


def plot_alpha_and_probabilities(
    results: pd.DataFrame, classes: Sequence[str], path: str | os.PathLike
) -> Path:
    """Per track: alpha with its intervals, and the motion-model probabilities.

    Left panel: the learned alpha on the mean track (± 1.96 predictive std), the
    posterior-aware alpha (when posterior samples exist; its interval adds the spread over
    the posterior sample tracks) and the FBM maximum-likelihood alpha (± 1.96 SE).
    Right panel: model probabilities of the learned classifier, posterior-averaged when
    available, with the spread over posterior samples as error bars.
    """
    res = results.reset_index(drop=True)
    n = len(res)
    fig = Figure(figsize=(10, 0.45 * max(n, 3) + 1.6))
    ax_a, ax_p = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    y = np.arange(n)
    names = [str(p) for p in res.get("particle", pd.Series(range(n)))]
    if "tracker" in res and res["tracker"].nunique() > 1:
        names = [f"{t} {p}" for t, p in zip(res["tracker"], names, strict=True)]

    def _bar(col, lo, hi, offset, color, label):
        if col not in res:
            return
        v = np.clip(res[col].to_numpy(dtype=float), 0.0, 2.0)
        err = None
        if lo in res and hi in res:
            # intervals are clipped to alpha's range 0-2; a clipped end is drawn as an arrow
            lo_v, hi_v = res[lo].to_numpy(dtype=float), res[hi].to_numpy(dtype=float)
            err = np.vstack([v - np.clip(lo_v, 0.0, 2.0), np.clip(hi_v, 0.0, 2.0) - v])
            err = np.where(np.isfinite(err), np.abs(err), 0.0)
            with np.errstate(invalid="ignore"):
                for end, cut, marker in ((lo_v, lo_v < 0.0, "<"), (hi_v, hi_v > 2.0, ">")):
                    if cut.any():
                        ax_a.plot(
                            np.where(end < 0.0, 0.0, 2.0)[cut], (y + offset)[cut], marker,
                            color=color, ms=5, ls="none", clip_on=False,
                        )  # fmt: skip
        ax_a.errorbar(v, y + offset, xerr=err, fmt="o", color=color, ms=4, capsize=2, label=label)

    _bar("alpha", "alpha_lo", "alpha_hi", -0.2, "C0", "wavelet CNN, mean track")
    _bar("alpha_post", "alpha_post_lo", "alpha_post_hi", 0.0, "C3", "wavelet CNN, posterior-aware")
    _bar(
        "mle_alpha", "mle_alpha_lo", "mle_alpha_hi", 0.2, "C2", "MLE with blur + noise (profile CI)"
    )
    ax_a.axvline(1.0, color="k", lw=0.8, ls=":")
    ax_a.set_yticks(y, names)
    ax_a.set_ylabel("track")
    ax_a.set_xlabel("alpha")
    ax_a.set_xlim(0, 2)
    ax_a.invert_yaxis()
    ax_a.legend(
        fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.4 / max(n, 3)), ncol=2
    )
    ax_a.set_title("anomalous exponent (95% intervals; arrow: cut at 0 or 2)", fontsize=9)

    left = np.zeros(n)
    post = all(f"p_{c}_post" in res for c in classes)
    for i, c in enumerate(classes):
        if f"p_{c}" not in res:
            continue
        v = res[f"p_{c}"].to_numpy(dtype=float)
        s = np.zeros(n)
        if post:  # posterior-averaged where posterior samples exist, else the point estimate
            vp = res[f"p_{c}_post"].to_numpy(dtype=float)
            has = np.isfinite(vp)
            v = np.where(has, vp, v)
            if f"p_{c}_post_std" in res:
                s = np.where(has, np.nan_to_num(res[f"p_{c}_post_std"].to_numpy(dtype=float)), 0.0)
        v = np.nan_to_num(v)
        ax_p.barh(y, v, left=left, color=f"C{i % 10}", label=c, height=0.7)
        if post:
            ax_p.errorbar(left + v, y, xerr=s, fmt="none", ecolor="k", elinewidth=0.7, capsize=1.5)
        left = left + v
    ax_p.set_xlim(0, 1)
    ax_p.set_yticks(y, names)
    ax_p.invert_yaxis()
    ax_p.set_xlabel("probability")
    ax_p.legend(
        fontsize=7,
        ncol=min(len(classes), 6),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.4 / max(n, 3)),
    )
    ax_p.set_title(
        "motion-model probabilities" + (" (mean over posterior samples ± spread)" if post else ""),
        fontsize=9,
    )
    fig.subplots_adjust(wspace=0.3)
    return _save(fig, path)


def plot_loglik_bars(
    parts: Mapping[str, float], path: str | os.PathLike, *, title: str = ""
) -> Path:
    """Bars of the log-probability parts of the movie: initial, emission, motion, total.

    Hendrix, Xu, Pressé (2025) show that ln P(data | positions) (order -1e5 for 50 frames of
    32x32 pixels) dwarfs ln P(positions | motion) (order 1e3); a symmetric-log axis shows both.
    """
    keys = [k for k in ("initial", "emission", "motion", "total") if k in parts]
    vals = np.array([float(parts[k]) for k in keys])
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.add_subplot()
    colors = ["C7", "C0", "C2", "C3"][: len(keys)]
    ax.bar(keys, vals, color=colors)
    ax.set_yscale("symlog", linthresh=10.0)
    ax.axhline(0, color="k", lw=0.7)
    for i, v in enumerate(vals):
        ax.annotate(f"{v:.3g}", (i, v), ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
    ax.set_ylabel("log-probability (nats)")
    share = parts.get("emission_share")
    ax.set_title(
        title
        or (
            "log-likelihood decomposition"
            + (f", emission share {float(share):.1%}" if share is not None else "")
        ),
        fontsize=9,
    )
    return _save(fig, path)


# -- HTML ---------------------------------------------------------------------------------------
