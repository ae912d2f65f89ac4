"""Posterior samples of the Bayesian tracker and their summaries (:class:`TrackPosterior`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .._checks import check_positive, check_range

__all__ = ["TrackPosterior", "TABLE_COLUMNS", "check_ci"]

#: Columns of the track tables written by both trackers (positions and bounds in µm).
TABLE_COLUMNS = ("particle", "frame", "x", "y", "z", "x_lo", "x_hi", "y_lo", "y_hi", "z_lo", "z_hi")
#: Two candidates whose mean positions in a frame lie within this distance (µm) and that are
#: (almost) never present there in the same draw hold one emitter under two labels
#: (:meth:`TrackPosterior.relabel_frames`).
SAME_EMITTER_RADIUS = 0.3
#: ... "almost never": in at most this fraction of the draws in which either is present.
SAME_EMITTER_OVERLAP = 0.05
#: A candidate of a draw moves to another emitter only if that one lies within this distance
#: (µm) of it ...
SAME_EMITTER_LINK = 0.5
#: ... and this much closer (µm) than the emitter it held in the previous frame: it keeps its
#: emitter where two lie about as close (a smeared spot held by two candidates).
SAME_EMITTER_SWITCH = 0.1


def check_ci(ci: float) -> float:
    """Validate a credible/confidence level in (0, 1)."""
    try:
        v = float(ci)
    except (TypeError, ValueError):
        raise ValueError(f"ci must be a number in (0, 1), got {ci!r}") from None
    if not (0.0 < v < 1.0):
        raise ValueError(f"ci must lie in (0, 1), got {ci!r}")
    return v


def equal_tailed(draws: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``ci`` interval from posterior draws along axis 0.

    Quantiles at plotting positions ``p (n + 1)`` (``method="weibull"``): for n independent
    draws the k-th smallest has expected posterior CDF ``k / (n + 1)``, so the interval holds
    posterior mass ``ci`` on average (given n >= 2 / (1 - ci) - 1 draws; fewer clip to the
    extreme draws). numpy's default positions ``1 + p (n - 1)`` hold ``ci (n - 1) / (n + 1)``,
    i.e. 2 ci/(n + 1) too little: with 2000 draws the 98% intervals would hold 97.9% of the
    posterior. Autocorrelated MCMC draws lose a little more (about 0.3/ESS for an AR(1) chain).
    """
    lo, hi = np.quantile(draws, [(1 - ci) / 2, (1 + ci) / 2], axis=0, method="weibull")
    return lo, hi


def _arviz():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az
    return az


@dataclass
class TrackPosterior:
    """Posterior of M emitter tracks sampled by :func:`sptmotion.tracking.bayes.track_bayes`.

    All positions are in µm (``x`` along columns, ``y`` along rows from the outer corner of pixel
    (0, 0); ``z`` from the focal plane), ``D`` in µm²/s, ``F`` in photons/µm²/s, ``H`` in photons/s.

    Attributes
    ----------
    samples : ndarray (n_chains, n_draws, M, N*K, 3)
        Thinned post-burn-in samples of the fine-grid positions (K sub-frame points per frame).
    D, F, H : ndarray (n_chains, n_draws)
        Thinned post-burn-in samples of the diffusion coefficient, background flux, emission rate
        (with each emitter's own D, ``D_emitters``: the emitters' D averaged over their present
        frames in the draw).
    traces : dict of ndarray (n_chains, n_iterations)
        Per-iteration traces, burn-in included: ``emission`` (ln P(data | positions, F, H)),
        ``motion`` (ln P(positions | D), initial-position prior included), ``log_posterior``
        (unnormalized, priors of D, F, H included), ``D``, ``F``, ``H``.
    acceptance : dict of ndarray (n_chains,)
        Post-burn-in acceptance rate of each move type per chain.
    subframes : int
        K, sub-frame points per frame.
    weights : ndarray (K,)
        Trapezoid weights c_k of the sub-frame points within an exposure (sum 1).
    frame_times : ndarray (N,)
        Time (s) of the start of each frame's exposure.
    n_burn : int
        Number of burn-in iterations removed from every chain.
    thin : int
        Thinning interval of the stored samples.
    ci : float
        Default level of the credible intervals.
    settings : dict
        The sampler's settings (:func:`~sptmotion.tracking.bayes.track_bayes`).
    present : ndarray (n_chains, n_draws, M, N) of bool, optional
        With an unknown number of emitters: whether candidate m is present in frame n, inside
        the field of view, in each draw (None: all M emitters present in every frame).
        Positions are then summarized over the draws in which the emitter is present (an absent
        one has a position drawn from the motion prior only).
    relabeled : bool
        Whether the labels are already those of :meth:`relabel_frames` (one per emitter and
        frame); the tables then use them as they are.
    D_emitters : ndarray (n_chains, n_draws, M), optional
        Each candidate's own diffusion coefficient (µm²/s) in each draw (None: one D for all);
        :meth:`row_D` gives it per table row.
    D_frames : ndarray (n_chains, n_draws, M, N), optional
        ``D_emitters`` under the labels of :meth:`relabel_frames` (set by it): the D of the
        candidate that holds emitter m in frame n.
    """

    samples: np.ndarray
    D: np.ndarray
    F: np.ndarray
    H: np.ndarray
    traces: dict
    acceptance: dict
    subframes: int
    weights: np.ndarray
    frame_times: np.ndarray
    n_burn: int
    thin: int
    ci: float = 0.98
    settings: dict = field(default_factory=dict)
    present: np.ndarray | None = None
    relabeled: bool = False
    D_emitters: np.ndarray | None = None
    D_frames: np.ndarray | None = None

    # -- shapes ---------------------------------------------------------------------------
    @property
    def n_chains(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_draws(self) -> int:
        return int(self.samples.shape[1])

    @property
    def n_emitters(self) -> int:
        return int(self.samples.shape[2])

    @property
    def n_frames(self) -> int:
        return int(self.samples.shape[3] // self.subframes)

    # -- positions -------------------------------------------------------------------------
    @property
    def frame_samples(self) -> np.ndarray:
        """Exposure-averaged positions ``sum_k c_k r_k`` per frame, (n_chains, n_draws, M, N, 3) µm.

        This is the position the camera measures during one exposure (the PSF image is the
        same weighted mean of the sub-frame PSFs); with K = 1 it is the single point.
        """
        c, d, m, L, _ = self.samples.shape
        K = self.subframes
        fine = self.samples.reshape(c, d, m, L // K, K, 3)
        return np.einsum("cdmnka,k->cdmna", fine, self.weights)

    def _present_samples(self) -> np.ndarray:
        """:attr:`frame_samples` with NaN where the emitter is absent (draws pooled), (n, M, N, 3)."""
        fs = self.frame_samples
        fs = fs.reshape(-1, *fs.shape[2:])
        if self.present is None:
            return fs
        mask = self.present.reshape(-1, *self.present.shape[2:])
        return np.where(mask[..., None], fs, np.nan)

    def mean_track(self) -> np.ndarray:
        """Posterior mean of the exposure-averaged positions, (M, N, 3) µm (with an unknown
        number of emitters: given presence; NaN where the emitter is never present)."""
        if self.present is None:
            return self.frame_samples.mean(axis=(0, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self._present_samples(), axis=0)

    def credible_interval(self, ci: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed credible interval of every coordinate and frame, two arrays (M, N, 3) µm.

        The bounds are the sample quantiles at plotting positions ``p (n + 1)`` of the n draws
        (:func:`equal_tailed`); with an unknown number of emitters, of the draws in which the
        emitter is present.
        """
        ci = check_ci(self.ci if ci is None else ci)
        if self.present is None:
            fs = self.frame_samples
            return equal_tailed(fs.reshape(-1, *fs.shape[2:]), ci)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanquantile(
                self._present_samples(), [(1 - ci) / 2, (1 + ci) / 2], axis=0, method="weibull"
            )
        return lo, hi

    # -- presence --------------------------------------------------------------------------
    def p_present(self) -> np.ndarray:
        """Posterior probability that emitter m is present in frame n, (M, N) (1 with known M)."""
        if self.present is None:
            return np.ones((self.n_emitters, self.n_frames))
        return self.present.mean(axis=(0, 1))

    def count_draws(self) -> np.ndarray:
        """Number of emitters present in at least one frame, per draw (n_chains, n_draws)."""
        if self.present is None:
            return np.full((self.n_chains, self.n_draws), self.n_emitters)
        return self.present.any(axis=3).sum(axis=2)

    def count_posterior(self) -> dict:
        """Posterior of the number of emitters in the movie: ``{M: probability}`` (M ascending)."""
        counts = self.count_draws().ravel()
        values, n = np.unique(counts, return_counts=True)
        return {int(v): float(k / counts.size) for v, k in zip(values, n, strict=True)}

    # -- D ---------------------------------------------------------------------------------
    def D_summary(self, ci: float | None = None) -> dict:
        """Posterior mean, median and equal-tailed credible interval of D (µm²/s)."""
        ci = check_ci(self.ci if ci is None else ci)
        d = self.D.ravel()
        lo, hi = equal_tailed(d, ci)
        return {
            "mean": float(d.mean()),
            "median": float(np.median(d)),
            "lo": float(lo),
            "hi": float(hi),
            "ci": ci,
        }

    # -- diagnostics -----------------------------------------------------------------------
    def diagnostics(self) -> dict:
        """Split-R-hat and bulk effective sample size (ArviZ, rank-normalized) per quantity.

        Returns ``{name: {"rhat": ..., "ess": ...}}`` for D, F, H, the log-posterior, and the worst
        case over all exposure-averaged positions (``positions``: max R-hat, min ESS).
        """
        az = _arviz()
        out: dict = {}
        lp = self.traces["log_posterior"][:, self.n_burn :: self.thin][:, : self.n_draws]
        scalars = {"D": self.D, "F": self.F, "H": self.H, "log_posterior": lp}
        if self.present is not None:
            scalars["n_emitters"] = self.count_draws()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, arr in scalars.items():
                arr = np.asarray(arr, dtype=float)
                if arr.shape[1] < 4 or np.ptp(arr) == 0:
                    out[name] = {"rhat": float("nan"), "ess": float("nan")}
                    continue
                out[name] = {"rhat": float(az.rhat(arr)), "ess": float(az.ess(arr))}
            fs = self.frame_samples
            if self.present is not None:
                # positions of the (emitter, frame) pairs present in every draw: elsewhere a
                # draw mixes the emitter's position with a draw of the motion prior
                always = self.present.all(axis=(0, 1))
                fs = fs[:, :, always] if always.any() else fs[:, :0]
            if fs.shape[1] >= 4:
                ds = az.convert_to_inference_data({"pos": fs}).posterior
                rh = np.asarray(az.rhat(ds)["pos"])
                es = np.asarray(az.ess(ds)["pos"])
                out["positions"] = {"rhat": float(np.nanmax(rh)), "ess": float(np.nanmin(es))}
            else:
                out["positions"] = {"rhat": float("nan"), "ess": float("nan")}
        return out

    def mean_log_probabilities(self) -> dict:
        """Means over the post-burn-in iterations of ln P(data|positions) and ln P(positions|motion).

        These are the two bars of Figure 3a of Hendrix, Xu & Pressé (2025).
        """
        em = self.traces["emission"][:, self.n_burn :]
        mo = self.traces["motion"][:, self.n_burn :]
        e, m = float(em.mean()), float(mo.mean())
        return {"emission": e, "motion": m, "emission_share": abs(e) / (abs(e) + abs(m))}

    # -- outputs ---------------------------------------------------------------------------
    def relabel_frames(
        self,
        radius: float = SAME_EMITTER_RADIUS,
        overlap: float = SAME_EMITTER_OVERLAP,
        link: float = SAME_EMITTER_LINK,
        switch: float = SAME_EMITTER_SWITCH,
    ) -> TrackPosterior:
        """The posterior with one label per emitter in every frame (unknown M; a copy).

        Candidates are exchangeable, so the chains (or one chain at different times) may hold
        the same emitter under different labels, and a label may hold different emitters: in a
        frame, two candidates then sit at the same place and are present in complementary
        draws, each with ``p_present`` near 1/2 (a table would list the spot twice), or one
        label's draws lie at two places (its mean between them, a spot where there is none).
        Frame by frame, every draw's present candidates are matched to reference emitters by
        distance (closest pairs first): in the first frame with a present candidate the labels
        of the first chain, then the emitters present in the previous frame. A candidate stays
        with the emitter it held in the previous frame (at first: its own label) unless another
        lies ``switch`` µm closer (within ``link`` µm), or it is taken by a closer candidate of
        the draw. The references are then moved to the matched draws' mean positions, two of
        them that lie within ``radius`` µm and are both present in at most ``overlap`` of the
        draws in which either is are merged into the one present more often, and the frame is
        matched again. This permutes labels within a draw and frame, so every draw's set of
        present positions is unchanged, and two candidates present in the same draw stay two
        emitters. :meth:`count_posterior` and the diagnostics keep the sampler's own labels. A
        posterior already relabeled (``relabeled``) is returned as it is, so a caller that
        needs both :meth:`to_table` and :meth:`table_draws` relabels once.
        """
        radius = check_positive(radius, "radius (µm)", allow_zero=True)
        overlap = check_range(overlap, "overlap", 0.0, 1.0, low_open=False, high_open=False)
        link = check_positive(link, "link (µm)")
        switch = check_positive(switch, "switch (µm)", allow_zero=True)
        if self.present is None or self.relabeled:
            return self
        C, S, M, L, _ = self.samples.shape
        K, N = self.subframes, self.n_frames
        samples = self.samples.reshape(C * S, M, N, K, 3).copy()
        present = self.present.reshape(C * S, M, N).copy()
        xy = np.einsum("smnka,k->smna", samples[..., :2], self.weights)  # (draws, M, N, 2)
        ref = np.zeros((M, 2))
        held = np.zeros(M, dtype=bool)  # emitters present in the previous frame: their places
        started = False
        rows = np.arange(C * S)[:, None]
        slot_of = np.broadcast_to(np.arange(M), (C * S, M)).copy()  # each draw's label -> emitter
        dfr = None
        if self.D_emitters is not None:
            dfr = np.repeat(self.D_emitters.reshape(C * S, M)[:, :, None], N, axis=2)
        for n in range(N):
            on = present[:, :, n]
            if not on.any():
                held[:] = False
                continue
            if not started:  # the first chain's labels (all draws' if it has none here)
                first = on[:S] if on[:S].any() else on
                held = first.any(axis=0)
                ref[held] = _present_mean(xy[: len(first), :, n], first)[held]
                started = True
            for i in range(4):
                perm = _match_to_reference(xy[:, :, n], on, ref, held, slot_of, link, switch)
                a_on = on[rows, perm]
                cnt = a_on.sum(axis=0)
                ref[cnt > 0] = _present_mean(xy[rows, perm, n], a_on)[cnt > 0]
                held = cnt > 0
                # again with this frame's places, until no two references merge
                if not _merge_duplicates(ref, held, a_on, radius, overlap) and i > 0:
                    break
            present[:, :, n] = a_on
            samples[:, :, n] = samples[rows, perm, n]
            if dfr is not None:
                dfr[:, :, n] = dfr[rows, perm, n]
            slot_of[rows, perm] = np.arange(M)[None]
        return replace(
            self,
            samples=samples.reshape(C, S, M, L, 3),
            present=present.reshape(C, S, M, N),
            relabeled=True,
            D_frames=None if dfr is None else dfr.reshape(C, S, M, N),
        )

    def to_table(self, ci: float | None = None, min_present: float = 0.5) -> pd.DataFrame:
        """Track table: particle, frame, t (s), x, y, z (posterior mean, µm) and credible bounds.

        With an unknown number of emitters, also ``p_present`` (the posterior probability that
        the emitter is present in the frame), rows only where it is at least ``min_present``,
        positions and bounds given presence, and particles renumbered 0, 1, ... over the
        candidates that remain; the summaries are those of :meth:`relabel_frames` (one label
        per emitter and frame).
        """
        ci = check_ci(self.ci if ci is None else ci)
        if self.present is not None:
            return self.relabel_frames()._table(ci, min_present)
        return self._table(ci, min_present)

    def _table(self, ci: float, min_present: float) -> pd.DataFrame:
        mean = self.mean_track()
        lo, hi = self.credible_interval(ci)
        M, N, _ = mean.shape
        data = {
            "particle": np.repeat(np.arange(M), N),
            "frame": np.tile(np.arange(N), M),
        }
        for a, name in enumerate("xyz"):
            data[name] = mean[:, :, a].ravel()
        for a, name in enumerate("xyz"):
            data[f"{name}_lo"] = lo[:, :, a].ravel()
            data[f"{name}_hi"] = hi[:, :, a].ravel()
        df = pd.DataFrame(data)
        df["t"] = np.tile(self.frame_times, M)
        if self.present is None:
            return df
        df["p_present"] = self.p_present().ravel()
        df = df[df["p_present"].to_numpy() >= min_present]
        ids = {p: i for i, p in enumerate(pd.unique(df["particle"]))}
        df = df.assign(particle=df["particle"].map(ids).astype(int))
        return df.reset_index(drop=True)

    def row_D(self, ci: float | None = None, min_present: float = 0.5) -> dict | None:
        """Each table row's own D: posterior mean and equal-tailed interval (µm²/s) of the D of
        the candidate that holds the row's emitter, over the draws in which it is present there.

        Parameters
        ----------
        ci : float, optional
            Credible level (default the posterior's).
        min_present : float
            As in :meth:`to_table`.

        Returns
        -------
        dict or None
            ``mean``, ``lo``, ``hi``: arrays aligned with :meth:`to_table`'s rows; None with one
            D for all emitters (``D_emitters`` None) or a known number of emitters.
        """
        ci = check_ci(self.ci if ci is None else ci)
        if self.D_emitters is None or self.present is None:
            return None
        post = self.relabel_frames()
        keep = post.p_present() >= min_present  # (M, N), the table's rows in (m, n) order
        C, S, M, N = post.present.shape
        d = post.D_frames.reshape(C * S, M, N)[:, keep]  # (draws, rows)
        on = post.present.reshape(C * S, M, N)[:, keep]
        dn = np.where(on, d, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = (1.0 - ci) / 2.0
            lo, hi = np.nanquantile(dn, [q, 1.0 - q], axis=0, method="weibull")
            return {"mean": np.nanmean(dn, axis=0), "lo": lo, "hi": hi}

    def table_draws(self, n_draws: int, min_present: float = 0.5) -> np.ndarray:
        """Posterior sample tracks at the rows of :meth:`to_table` (same ``min_present``).

        Parameters
        ----------
        n_draws : int
            Number of draws, evenly spaced over the pooled chains (at most all of them).
        min_present : float
            As in :meth:`to_table`.

        Returns
        -------
        ndarray (n_draws, n_rows, 3)
            Exposure-averaged positions (µm) aligned with the table's rows. With an unknown
            number of emitters, a draw in which the emitter is absent in a row's frame holds the
            posterior mean given presence there (the row's ``x, y, z``).
        """
        post = self if self.present is None else self.relabel_frames()  # the table's labels
        fs = post.frame_samples
        fs = fs.reshape(-1, *fs.shape[2:])  # (S, M, N, 3)
        S = fs.shape[0]
        idx = np.unique(np.linspace(0, S - 1, max(1, min(int(n_draws), S))).round().astype(int))
        draws = fs[idx]
        if post.present is None:
            return draws.reshape(len(idx), -1, 3)
        keep = post.p_present() >= min_present  # (M, N), the table's rows in (m, n) order
        pres = post.present.reshape(-1, *post.present.shape[2:])[idx]
        draws = np.where(pres[..., None], draws, post.mean_track()[None])
        return draws[:, keep]

    def summary(self, ci: float | None = None) -> dict:
        """JSON-serializable summary: D, R-hat/ESS, acceptance rates, mean log-probabilities."""
        ci = check_ci(self.ci if ci is None else ci)
        return {
            "method": "bayes",
            "ci": ci,
            "D": self.D_summary(ci),
            "F": {"mean": float(self.F.mean()), "sd": float(self.F.std())},
            "H": {"mean": float(self.H.mean()), "sd": float(self.H.std())},
            "diagnostics": self.diagnostics(),
            "acceptance": {k: [float(x) for x in v] for k, v in self.acceptance.items()},
            "mean_log_probabilities": self.mean_log_probabilities(),
            "n_chains": self.n_chains,
            "n_iterations": int(self.traces["emission"].shape[1]),
            "n_burn": int(self.n_burn),
            "thin": int(self.thin),
            "n_emitters": self.n_emitters if self.present is None else self._count_mode(),
            "subframes": int(self.subframes),
            "settings": self.settings,
            **({} if self.present is None else {"n_emitters_posterior": self.count_posterior()}),
        }

    def _count_mode(self) -> int:
        post = self.count_posterior()
        return int(max(post, key=lambda k: (post[k], -k)))


def _present_mean(pts: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Mean of ``pts (draws, M, 2)`` over the draws where ``on (draws, M)``, (M, 2) (0 where never)."""
    cnt = on.sum(axis=0)
    return np.einsum("sma,sm->ma", pts, on) / np.maximum(cnt, 1)[:, None]


def _match_to_reference(pts, on, ref, held, slot_of, link: float, switch: float) -> np.ndarray:
    """Per draw, the label that each reference emitter takes, ``perm (draws, M)``.

    The present candidates of a draw (``pts (draws, M, 2)``, ``on (draws, M)``) are matched to
    the emitters, cheapest pair first: a candidate's own emitter (``slot_of (draws, M)``: the
    one it held in the previous frame) costs its distance to the emitter's reference position
    ``ref (M, 2)`` (if ``held``) at most ``link``, another emitter with a reference within
    ``link`` its distance plus ``switch``, one without a reference ``link`` plus ``switch``.
    Absent candidates fill the remaining labels in order.
    """
    S, M = on.shape
    d = np.linalg.norm(pts[:, :, None, :] - ref[None, None], axis=3)  # (draws, label, reference)
    own = slot_of[:, :, None] == np.arange(M)[None, None]
    other = np.where(held[None, None], np.where(d <= link, d, np.inf), link) + switch
    cost = np.where(own, np.where(held[None, None], np.minimum(d, link), link), other)
    cost[~on] = np.inf
    perm = np.full((S, M), -1)
    taken = np.zeros((S, M), dtype=bool)
    r = np.arange(S)
    for _ in range(M):
        flat = cost.reshape(S, M * M).argmin(axis=1)
        i, m = np.divmod(flat, M)
        ok = np.isfinite(cost[r, i, m])
        if not ok.any():
            break
        perm[r[ok], m[ok]] = i[ok]
        taken[r[ok], i[ok]] = True
        cost[r[ok], i[ok], :] = np.inf
        cost[r[ok], :, m[ok]] = np.inf
    # the remaining labels (absent candidates, or present ones with no reference left) in order
    free_slot = np.argsort(perm >= 0, axis=1, kind="stable")
    free_label = np.argsort(taken, axis=1, kind="stable")
    n_free = (perm < 0).sum(axis=1)
    fill = np.arange(M)[None] < n_free[:, None]
    perm[np.broadcast_to(r[:, None], (S, M))[fill], free_slot[fill]] = free_label[fill]
    return perm


def _merge_duplicates(ref, held, on, radius: float, overlap: float) -> bool:
    """Drop the reference of the less present of two within ``radius`` that are (almost) never
    present in the same draw (``on (draws, M)`` after matching); whether any was dropped."""
    idx = np.flatnonzero(held)
    if len(idx) < 2:
        return False
    d = np.linalg.norm(ref[idx, None] - ref[None, idx], axis=2)
    i, j = np.nonzero(np.triu(d < radius, k=1))
    merged = False
    for q in np.argsort(d[i, j], kind="stable"):
        a, b = idx[i[q]], idx[j[q]]
        if not (held[a] and held[b]):
            continue
        both = np.count_nonzero(on[:, a] & on[:, b])
        if both > overlap * np.count_nonzero(on[:, a] | on[:, b]):
            continue
        drop = b if on[:, a].sum() >= on[:, b].sum() else a
        held[drop] = False
        merged = True
    return merged
