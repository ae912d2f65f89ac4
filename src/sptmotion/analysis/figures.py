"""The figures of an analysis report, as PNG files (matplotlib).

Figures are drawn with :class:`matplotlib.figure.Figure` directly (no ``pyplot`` state), so
they can be produced in worker threads and processes (Dask) without a display.

- :func:`plot_movie_overlay`: one movie frame (ADU) with the tracks drawn over it.
- :func:`plot_track_bands`: the posterior-mean track per coordinate with its credible band.
- :func:`plot_scalogram`: the six wavelet scalograms of one track (Wang, Zhang, Huang 2025).
- :func:`plot_alpha_and_probabilities`: alpha with intervals and model probabilities per track.
- :func:`plot_loglik_bars`: the initial / emission / motion log-probabilities of the movie
  (Hendrix, Xu, Pressé 2025, Fig. 3a: the emission part dominates).
- :func:`plot_population_msd`: ensemble and time-averaged MSD of all tracks with the fitted
  models (:mod:`.population`).
- :func:`plot_population_histograms`: alpha and D histograms by verdict, verdict counts.
- :func:`plot_track_msd`: one track's TAMSD with its fitted model.
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
    "plot_count_posterior",
    "plot_population_msd",
    "plot_population_histograms",
    "plot_track_msd",
    "MODEL_COLOURS",
    "OVERLAY_MAX_LABELS",
]

_AXES = ("x", "y", "z")
_DPI = 100

#: One colour per motion model (likelihood and learned verdicts) in the population figures.
MODEL_COLOURS = {
    "bm": "C0",
    "fbm": "C1",
    "sbm": "C2",
    "dbm": "C3",
    "attm": "C4",
    "ctrw": "C5",
    "lw": "C6",
    "inconclusive": "0.65",
    "skipped": "0.85",
}


def _colour(name: str) -> str:
    return MODEL_COLOURS.get(name, "C7")


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=_DPI, bbox_inches="tight")
    return path


#: Tracks of a movie overlay labelled one by one in its legend (more: one entry).
OVERLAY_MAX_LABELS = 10


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
    fig = Figure(figsize=(5.2, 4.6) if max(rows, cols) <= 64 else (8.4, 7.4))  # a full field
    ax = fig.add_subplot()
    im = ax.imshow(
        frame,
        cmap="gray",
        extent=(0, cols * pixel_size, rows * pixel_size, 0),
        interpolation="nearest",
    )
    fig.colorbar(im, ax=ax, label="ADU", fraction=0.046, pad=0.04)
    colors = [f"C{i % 10}" for i in range(len(tracks))]
    many = len(tracks) > OVERLAY_MAX_LABELS  # one legend entry for all of them
    for i, tr in enumerate(tracks):
        tr = np.asarray(tr, dtype=float)
        if tr.ndim != 2 or tr.shape[1] < 2:
            continue
        lab = labels[i] if labels is not None else f"track {i}"
        if many:
            lab = f"{len(tracks)} tracks" if i == 0 else None
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


def plot_count_posterior(posterior: Mapping, path: str | os.PathLike, *, title: str = "") -> Path:
    """Bars of the posterior of the number of emitters ``{M: probability}``."""
    ms = np.array(sorted(int(k) for k in posterior))
    p = np.array([float(posterior[k] if k in posterior else posterior[str(k)]) for k in ms])
    fig = Figure(figsize=(5.0, 3.0))
    ax = fig.add_subplot()
    ax.bar(ms, p, color="C0", width=0.8)
    ax.set_xlabel("number of emitters M")
    ax.set_ylabel("posterior probability")
    mode = int(ms[np.argmax(p)]) if len(ms) else 0
    ax.set_title(title or f"posterior of M (mode {mode})", fontsize=9)
    return _save(fig, path)


# -- HTML ---------------------------------------------------------------------------------------


def _log_axes(ax, axes: str = "xy", subs: tuple = (1.0, 2.0, 5.0)) -> None:
    """Log axes labelled with plain numbers at ``subs`` per decade (no overlapping labels)."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    for axis in (getattr(ax, f"{a}axis") for a in axes):
        axis.set_major_locator(LogLocator(subs=subs))
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_formatter(NullFormatter())


def _mean_se(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows ignoring NaN, its standard error and the number of rows per column."""
    n = np.sum(np.isfinite(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=0) / n
        var = np.nansum((values - mean) ** 2, axis=0) / np.maximum(n - 1, 1)
        return mean, np.sqrt(var / n), n


def plot_population_msd(
    lag_s: np.ndarray,
    tamsd: np.ndarray,
    eamsd: np.ndarray,
    models: Sequence[tuple[str, np.ndarray, str, bool]],
    path: str | os.PathLike,
    *,
    max_lines: int = 40,
) -> Path:
    """Ensemble-averaged TAMSD and ensemble MSD from the start, with the fitted models.

    Parameters
    ----------
    lag_s : ndarray (n_lags,)
        Lags in s.
    tamsd, eamsd : ndarray (n_tracks, n_lags)
        Per-track TAMSD and squared displacement from the first point (µm², NaN where the
        track is shorter than the lag); the first ``max_lines`` TAMSDs are drawn thin.
    models : sequence of (label, curve, verdict, measured)
        Model curves (µm²); ``measured`` ones (blur + noise) solid in the verdict's colour,
        the motion alone dashed.
    """
    fig = Figure(figsize=(7.5, 5.0))
    ax = fig.subplots()
    for row in tamsd[:max_lines]:
        ax.plot(lag_s, row, color="0.8", lw=0.6, zorder=1)
    n_tracks = len(tamsd)
    for values, colour, name in ((tamsd, "k", "time-averaged MSD"), (eamsd, "C9", "ensemble MSD")):
        mean, se, n = _mean_se(values)
        ok = n >= 2
        ax.fill_between(lag_s[ok], (mean - 1.96 * se)[ok], (mean + 1.96 * se)[ok],
                        color=colour, alpha=0.15, lw=0, zorder=2)  # fmt: skip
        ax.plot(lag_s[ok], mean[ok], "o-", color=colour, ms=3, lw=1.2, zorder=3,
                label=f"{name}, mean of {n_tracks} tracks (95% band)")  # fmt: skip
    for label, curve, verdict, measured in models:
        ax.plot(lag_s, curve, ls="-" if measured else "--", color=_colour(verdict) if measured
                else "0.3", lw=1.6, zorder=4, label=label)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axes(ax)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("MSD (µm², summed over axes)")
    ax.set_title(
        f"MSD of the population (grey: TAMSD of {min(max_lines, n_tracks)} tracks); "
        "solid: fitted FBM at each verdict's median, with blur and noise",
        fontsize=8,
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)


def plot_population_histograms(
    results: pd.DataFrame, path: str | os.PathLike, *, min_p: float = 0.5
) -> Path:
    """Alpha and D histograms stacked by verdict, and the verdict counts.

    Alpha (``mle_alpha``, clipped to 0-2) and D (``mle_D``, log bins) of every analyzed track;
    the counts compare the likelihood's model (``mle_best``), the learned classifier's (its
    verdicts below ``min_p`` counted as "inconclusive") and the combined ``verdict``; skipped
    tracks as "skipped".
    """
    res = results.reset_index(drop=True)
    err = res.get("error", pd.Series([""] * len(res))).fillna("").astype(str)
    verdict = res.get("verdict", pd.Series([""] * len(res))).fillna("").astype(str)
    verdict = verdict.where(err == "", "skipped")
    fig = Figure(figsize=(13, 3.8))
    ax_a, ax_d, ax_c = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.1]})
    groups = [v for v in sorted(set(verdict)) if v != "skipped"]
    a = np.clip(res.get("mle_alpha", pd.Series(np.nan, index=res.index)).to_numpy(float), 0, 2)
    D = res.get("mle_D", pd.Series(np.nan, index=res.index)).to_numpy(float)
    pos = np.isfinite(D) & (D > 0)
    d_bins = np.geomspace(D[pos].min() / 1.1, D[pos].max() * 1.1, 25) if pos.sum() else np.ones(2)
    for ax, values, bins in ((ax_a, a, np.linspace(0, 2, 41)), (ax_d, D, d_bins)):
        data = [values[(verdict == g).to_numpy() & np.isfinite(values)] for g in groups]
        if any(len(x) for x in data):
            ax.hist(data, bins=bins, stacked=True, color=[_colour(g) for g in groups],
                    label=[f"{g} ({len(x)})" for g, x in zip(groups, data, strict=True)])  # fmt: skip
        ax.set_ylabel("tracks")
    ax_a.axvline(1.0, color="k", lw=0.8, ls=":")
    ax_a.set_xlabel("alpha (likelihood, FBM through blur + noise)")
    ax_a.set_xlim(0, 2)
    ax_a.legend(fontsize=7, title="verdict", title_fontsize=7)
    ax_d.set_xscale("log")
    _log_axes(ax_d, "x", subs=(1.0, 3.0))
    ax_d.set_xlabel("D (µm²/s^alpha)")
    learned = res.get("learned_verdict", pd.Series([""] * len(res))).fillna("").astype(str)
    lp = res.get("learned_verdict_p", pd.Series(np.nan, index=res.index)).to_numpy(float)
    learned = learned.where(~(lp < min_p), "inconclusive").where(err == "", "skipped")
    lik = res.get("mle_best", pd.Series([""] * len(res))).astype(object)
    lik = lik.where(lik.notna(), "").astype(str).replace({"None": "", "nan": ""})
    lik = lik.where(err == "", "skipped")
    names = sorted(
        (set(verdict) | set(learned) | set(lik)) - {""},
        key=lambda v: (v in ("inconclusive", "skipped"), v),
    )
    x = np.arange(len(names))
    kinds = (("likelihood", lik, ""), ("learned", learned, "//"), ("verdict", verdict, ".."))
    for k, (_, series, hatch) in enumerate(kinds):
        counts = np.array([(series == n).sum() for n in names])
        bars = ax_c.bar(x + (k - 1) * 0.27, counts, width=0.26, color=[_colour(n) for n in names],
                        edgecolor="k", hatch=hatch)  # fmt: skip
        ax_c.bar_label(bars, fontsize=6)
    ax_c.set_xticks(x, names, fontsize=8, rotation=30, ha="right")
    ax_c.set_ylabel("tracks")
    from matplotlib.patches import Patch

    ax_c.legend(
        handles=[Patch(facecolor="w", edgecolor="k", hatch=h, label=lab) for lab, _, h in kinds],
        fontsize=7,
        title="model of",
        title_fontsize=7,
    )
    ax_c.set_title(f"verdicts ({len(res)} tracks; learned below p = {min_p:g}: inconclusive)",
                   fontsize=8)  # fmt: skip
    fig.subplots_adjust(wspace=0.3)
    return _save(fig, path)


def plot_track_msd(
    lag_s: np.ndarray,
    tamsd: np.ndarray,
    measured: np.ndarray,
    motion: np.ndarray,
    path: str | os.PathLike,
    *,
    title: str = "",
) -> Path:
    """One track's time-averaged MSD with its fitted FBM, as measured and the motion alone."""
    fig = Figure(figsize=(5.0, 3.6))
    ax = fig.subplots()
    ok = np.isfinite(tamsd)
    ax.plot(lag_s[ok], tamsd[ok], "o", color="k", ms=4, label="time-averaged MSD")
    ax.plot(lag_s, measured, "-", color="C1", label="fit with blur + noise")
    ax.plot(lag_s, motion, "--", color="0.3", label="motion alone")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axes(ax)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("MSD (µm², summed over axes)")
    ax.set_title(title or "time-averaged MSD", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)
