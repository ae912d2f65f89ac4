"""Unknown number of emitters: the presence move, the tail swap, and whole runs."""

import itertools

import numpy as np
import pytest

from sptmotion import optics
from sptmotion.tracking import _mcmc_kernels as _k
from sptmotion.tracking import track_bayes
from sptmotion.tracking.bayes import EMITTER_D_SD, BayesModel
from sptmotion.tracking.moves import N_MOVES, presence_move, sweep, tail_swap_move
from sptmotion.tracking.records import GLOB_SCALES_START, State, new_work

SETUP = optics.preset("hendrix2025", rows=10, cols=10, subframes=1, emission_rate=3e3)


def _state(model, pos, on, load, pres, D=0.05, H=None):
    F = model.setup.background_flux
    H = model.setup.emission_rate if H is None else H
    EX, EY, WIN, S, ll = model.new_state(pos, F, H, D, on)
    M, N = on.shape
    return State(
        pos, EX, EY, WIN, S, ll, np.array([D, F, H]), model.psf_params(D),
        np.log(np.full((N, M, 3), 0.02)), np.log(np.array(GLOB_SCALES_START)),
        np.zeros(N_MOVES), np.zeros(N_MOVES), on.astype(float).copy(), load.astype(float).copy(),
        np.array(pres, dtype=float), np.ones(M),
    )  # fmt: skip


def _problem(model, presence=True, prior=(1.0, 19.0, 1.0, 19.0, 1.0)):
    F, H = model.setup.background_flux, model.setup.emission_rate
    mu0 = np.array([model.C, model.R, 0.0]) * model.pixel_size / 2
    return model.problem(
        mu0, np.array([1.0, 1.0, 1.0]), [1.0, 0.01], [np.log(F), 1.0], [np.log(H), 1.0],
        [True, False, False, presence], prior,
    )  # fmt: skip


def test_presence_move_draws_the_exact_conditional():
    """One candidate over 3 frames: the frequencies of 20,000 draws of the presence move equal
    the posterior enumerated over the 9 states (b = 0; b = 1 with each of the 8 on/off
    sequences), within 5 binomial SE each."""
    rng = np.random.default_rng(2)
    N = 3
    spot = np.array([0.6, 0.7, 0.05])
    truth = np.tile(spot, (1, N, 1))
    truth[0, 1, :2] = 500.0  # the emitter blinks off in frame 1
    movie = optics.render(truth, SETUP, rng=rng, allow_outside=True)
    model = BayesModel(movie, SETUP, 1, 1)
    pos = np.ascontiguousarray(np.tile(spot, (1, N, 1)))
    pres, gamma = (0.3, 0.4), 1.5
    problem = _problem(model, prior=(1.0, 1.0, 1.0, 1.0, gamma))
    F, H = SETUP.background_flux, SETUP.emission_rate
    # enumeration: ln p(data | b, s) + ln p(b) + ln p(s | b); P(b = 1) = gamma / (gamma + 1)
    logp = {}
    for seq in itertools.product((0, 1), repeat=N):
        ll = model.new_state(pos.copy(), F, H, 0.05, np.array([seq], dtype=float))[4].sum()
        lps = np.log(0.5)
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            p_on = pres[0] if a == 0 else 1 - pres[1]
            lps += np.log(p_on if b == 1 else 1 - p_on)
        logp[(1, seq)] = ll + lps + np.log(gamma / (gamma + 1))
    off = np.zeros((1, N))
    logp[(0, (0,) * N)] = model.new_state(pos.copy(), F, H, 0.05, off)[4].sum() - np.log(gamma + 1)
    keys = list(logp)
    lv = np.array([logp[k] for k in keys])
    prob = np.exp(lv - lv.max())
    prob /= prob.sum()
    state = _state(model, pos.copy(), np.ones((1, N)), np.ones(1), pres)
    work = new_work(1, N, model.R, model.C)
    _k.seed_numba(7)
    n = 20_000
    counts = dict.fromkeys(keys, 0)
    for _ in range(n):
        presence_move(state, problem, work)
        state.pres[:] = pres  # the move also redraws k_on, k_off; hold them for the test
        counts[(int(state.load[0]), tuple(int(v) for v in state.on[0]))] += 1
        # the cached images and likelihoods follow the presence
        assert state.ll.sum() == pytest.approx(
            model.new_state(pos.copy(), F, H, 0.05, state.on)[4].sum(), rel=1e-12
        )
    freq = np.array([counts[k] for k in keys]) / n
    se = np.sqrt(prob * (1 - prob) / n) + 1e-4
    assert prob.max() < 0.99  # a non-trivial posterior
    assert np.all(np.abs(freq - prob) < 5 * se), (freq.round(4), prob.round(4))


def test_tail_swap_keeps_the_emission_and_the_caches():
    """After sweeps with presence sampling (tail swaps, ghost jumps, presence draws) the cached
    images and log-likelihoods equal a full recomputation; a swap changes no frame's image."""
    rng = np.random.default_rng(0)
    N = 8
    truth = np.stack([np.tile([0.5, 0.5, 0.05], (N, 1)), np.tile([0.53, 0.52, 0.06], (N, 1))])
    movie = optics.render(truth, SETUP, rng=rng)
    model = BayesModel(movie, SETUP, 3, 1)
    pos = np.ascontiguousarray(np.concatenate([truth, np.tile([[[0.2, 1.1, 0.1]]], (1, N, 1))]))
    on = np.array([[1] * N, [1] * N, [0] * N], dtype=float)
    state = _state(model, pos, on, np.array([1.0, 1.0, 0.0]), (0.05, 0.05))
    problem = _problem(model)
    S0 = state.S.copy()
    _k.seed_numba(3)
    for _ in range(20):
        tail_swap_move(state, problem, new_work(1, *model.adu.shape))
    assert state.prop[12] == 20 and state.acc[12] > 0
    np.testing.assert_allclose(state.S, S0, rtol=0, atol=1e-12)
    work = new_work(1, N, model.R, model.C)
    for it in range(30):
        sweep(it, 0.1, state, problem, work)
    assert state.prop[13] > 0
    F, H, D = state.theta[1], state.theta[2], state.theta[0]
    _, _, _, S_full, ll_full = model.new_state(state.pos.copy(), F, H, D, state.on)
    np.testing.assert_allclose(state.S, S_full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.ll, ll_full, rtol=1e-12)


def _three_emitters(seed=1, N=30):
    """A 16 x 16 movie: A present throughout, B leaves after frame 19, C enters at frame 10
    about 4 pixels from A (the modular tracker links A and C into one track)."""
    setup = optics.preset("hendrix2025", rows=16, cols=16, subframes=1)
    rng = np.random.default_rng(seed)
    step = np.sqrt(2 * 0.05 * setup.frame_period)

    def path(x0):
        inc = rng.normal(0, step, (N - 1, 3)) * np.array([1, 1, 0.3])
        return x0 + np.concatenate([np.zeros((1, 3)), np.cumsum(inc, 0)])

    P = np.stack([path(np.array(p)) for p in ([0.6, 0.7, 0.1], [1.4, 1.3, 0.0], [0.5, 1.5, 0.1])])
    present = np.ones((3, N), dtype=bool)
    present[1, 20:] = present[2, :10] = False
    P[~present] = 500.0
    return optics.render(P, setup, rng=rng, allow_outside=True), setup, present


@pytest.mark.slow
def test_unknown_number_of_emitters_entering_and_leaving():
    """Three emitters of which one leaves and one enters next to another: the posterior of M is
    3 and p_present matches when each emitter is there; an empty movie gives M = 0."""
    movie, setup, present = _three_emitters()
    post = track_bayes(movie, setup, n_emitters=None, n_iterations=1500, n_chains=2, seed=1)
    counts = post.count_posterior()
    assert max(counts, key=counts.get) == 3 and counts[3] > 0.9
    p = post.p_present()
    kept = p.max(axis=1) > 0.5
    assert kept.sum() == 3
    # each true emitter's presence is matched by one candidate in >= 95% of the frames
    hits = [
        max(np.mean((p[m] > 0.5) == present[t]) for m in np.flatnonzero(kept)) for t in range(3)
    ]
    assert min(hits) >= 0.95, hits
    tab = post.to_table()
    assert set(tab["particle"]) == {0, 1, 2} and (tab["p_present"] >= 0.5).all()
    assert post.summary()["n_emitters"] == 3
    empty = optics.render(np.full((1, 20, 3), 500.0), setup, rng=5, allow_outside=True)
    post0 = track_bayes(empty, setup, n_emitters=None, n_iterations=600, n_chains=2, seed=2)
    c0 = post0.count_posterior()
    assert c0.get(0, 0.0) > 0.8 and len(post0.to_table()) == 0


def test_known_number_of_emitters_is_unchanged_by_the_presence_fields():
    """The fixed-M sampler draws no presence move, and its table has no p_present."""
    movie, setup, _ = _three_emitters(N=6)
    post = track_bayes(movie[:, :10, :10], setup.replace(rows=10, cols=10), n_emitters=1,
                       n_iterations=30, n_chains=1, seed=0)  # fmt: skip
    assert post.present is None and np.isnan(post.acceptance["presence"][0])
    assert "p_present" not in post.to_table().columns
    assert post.p_present().shape == (1, 6) and post.count_posterior() == {1: 1.0}


def _posterior(samples, present):
    from sptmotion.tracking.posterior import TrackPosterior

    C, S = present.shape[:2]
    N = present.shape[3]
    z = np.zeros((C, S))
    return TrackPosterior(
        samples=samples, D=z + 0.1, F=z + 1.0, H=z + 1.0, traces={}, acceptance={},
        subframes=1, weights=np.ones(1), frame_times=0.03 * np.arange(N), n_burn=0, thin=1,
        present=present,
    )  # fmt: skip


def test_one_emitter_under_two_labels_is_one_table_row_per_frame():
    """Chain 0 holds an emitter as candidate 0, chain 1 as candidate 1 (the other label idles far
    away): the table lists it once per frame, present with probability 1, with the pooled draws'
    mean and bounds; the draws are permuted, not changed, and the count posterior keeps the
    sampler's labels. Two emitters that overlap in the same draws stay two rows."""
    rng = np.random.default_rng(0)
    C, S, N = 2, 400, 6
    spot = np.array([1.0, 2.0, 0.0])
    samples = np.empty((C, S, 3, N, 3))
    samples[:] = [5.0, 5.0, 0.0]  # idle candidates, far away
    present = np.zeros((C, S, 3, N), dtype=bool)
    samples[0, :, 0] = spot + rng.normal(0, 0.02, (S, N, 3))
    samples[1, :, 1] = spot + rng.normal(0, 0.02, (S, N, 3))
    present[0, :, 0] = present[1, :, 1] = True
    # a second emitter 0.15 µm away, present in every draw of both chains (candidate 2)
    samples[:, :, 2] = spot + [0.15, 0.0, 0.0] + rng.normal(0, 0.02, (C, S, N, 3))
    present[:, :, 2] = True
    post = _posterior(samples, present)
    raw = post._table(0.98, 0.5)
    assert len(raw) == 3 * N and set(raw["p_present"].round(6)) == {0.5, 1.0}
    tab = post.to_table()
    assert len(tab) == 2 * N and np.all(tab["p_present"] == 1.0)
    one = tab[tab["x"] < 1.07]
    assert one["particle"].nunique() == 1 and len(one) == N
    pooled = np.concatenate([samples[0, :, 0], samples[1, :, 1]])  # (2S, N, 3)
    np.testing.assert_allclose(one["x"], pooled[..., 0].mean(axis=0))
    lo = np.quantile(pooled[..., 0], 0.01, axis=0, method="weibull")
    np.testing.assert_allclose(one["x_lo"], lo)
    draws = post.table_draws(2 * S)
    assert draws.shape == (2 * S, 2 * N, 3)
    rows = np.flatnonzero(tab["x"] < 1.07)
    np.testing.assert_allclose(np.sort(draws[:, rows, 0], axis=0), np.sort(pooled[..., 0], axis=0))
    relabeled = post.relabel_frames()
    for c, s, n in itertools.product(range(C), range(0, S, 37), range(N)):
        before = {tuple(samples[c, s, m, n]) for m in range(3) if present[c, s, m, n]}
        after = {
            tuple(relabeled.samples[c, s, m, n]) for m in range(3) if relabeled.present[c, s, m, n]
        }
        assert before == after
    assert post.count_posterior() == {2: 1.0}
    # relabeled once: the table and its draws from it equal those of the sampler's labels
    assert relabeled.relabeled and relabeled.relabel_frames() is relabeled
    assert relabeled.to_table().equals(tab)
    np.testing.assert_array_equal(relabeled.table_draws(2 * S), draws)
    # out-of-range settings are named, before any work
    for kw, name in (({"link": 0.0}, "link"), ({"switch": -0.1}, "switch"),
                     ({"radius": float("nan")}, "radius"), ({"overlap": 1.5}, "overlap")):  # fmt: skip
        with pytest.raises(ValueError, match=name):
            post.relabel_frames(**kw)


def test_a_relabeled_emitter_keeps_its_label_from_frame_to_frame():
    """One emitter held by candidate 0 or 1 in complementary draws, the balance tipping from
    frame to frame (0.55 / 0.45, then 0.45 / 0.55, ...): its rows keep the label it had in the
    first frame instead of alternating."""
    C, S, N = 2, 200, 8
    samples = np.zeros((C, S, 2, N, 3)) + [1.0, 2.0, 0.0]
    present = np.zeros((C, S, 2, N), dtype=bool)
    for n in range(N):
        k = int(0.55 * S) if n % 2 == 0 else int(0.45 * S)
        present[:, :k, 0, n] = True
        present[:, k:, 1, n] = True
    tab = _posterior(samples, present).to_table()
    assert len(tab) == N and np.all(tab["p_present"] == 1.0)
    assert tab["particle"].nunique() == 1
    raw = _posterior(samples, present)._table(0.98, 0.5)
    assert raw["particle"].nunique() == 2  # the sampler's labels alternate


def test_two_emitters_under_swapped_labels_are_two_rows_at_their_places():
    """Chain 0 holds emitters A and B as candidates 0 and 1, chain 1 as 1 and 0, and chain 1
    swaps them back from frame 4 on (a tail swap): the sampler's labels each average A and B
    (rows midway, where there is no spot); the table has one row per emitter and frame at
    its place, present with probability 1, each emitter under one particle id throughout."""
    rng = np.random.default_rng(1)
    C, S, N = 2, 300, 8
    A, B = np.array([1.0, 1.0, 0.0]), np.array([1.0, 1.6, 0.0])
    samples = np.empty((C, S, 3, N, 3))
    samples[:] = [5.0, 5.0, 0.0]  # an idle candidate far away
    present = np.zeros((C, S, 3, N), dtype=bool)
    present[:, :, :2] = True
    noise = rng.normal(0, 0.02, (C, S, 2, N, 3))
    samples[0, :, 0], samples[0, :, 1] = A + noise[0, :, 0], B + noise[0, :, 1]
    samples[1, :, 0, :4], samples[1, :, 1, :4] = B + noise[1, :, 0, :4], A + noise[1, :, 1, :4]
    samples[1, :, 0, 4:], samples[1, :, 1, 4:] = A + noise[1, :, 0, 4:], B + noise[1, :, 1, 4:]
    post = _posterior(samples, present)
    raw = post._table(0.98, 0.5)
    assert np.allclose(raw[raw["frame"] < 4]["y"], 1.3, atol=0.01)  # midway
    tab = post.to_table()
    assert len(tab) == 2 * N and np.all(tab["p_present"] == 1.0)
    for spot in (A, B):
        rows = tab[np.hypot(tab["x"] - spot[0], tab["y"] - spot[1]) < 0.01]
        assert len(rows) == N and rows["particle"].nunique() == 1
        assert np.all((rows["y_lo"] < spot[1]) & (spot[1] < rows["y_hi"]))


def test_a_fast_emitter_keeps_its_label_when_it_jumps_beyond_the_link_distance():
    """One emitter moving 0.8 µm per frame (more than SAME_EMITTER_LINK), held by candidate 0 in
    both chains, candidate 1 idle: one particle id over all frames, its rows where it is."""
    from sptmotion.tracking.posterior import SAME_EMITTER_LINK

    rng = np.random.default_rng(2)
    C, S, N = 2, 200, 6
    path = np.array([[1.0 + 0.8 * n * (-1) ** n, 1.0 + 0.8 * n, 0.0] for n in range(N)])
    assert np.all(np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1) > SAME_EMITTER_LINK)
    samples = np.empty((C, S, 2, N, 3))
    samples[:] = [9.0, 9.0, 0.0]
    samples[:, :, 0] = path + rng.normal(0, 0.02, (C, S, N, 3))
    present = np.zeros((C, S, 2, N), dtype=bool)
    present[:, :, 0] = True
    tab = _posterior(samples, present).to_table()
    assert len(tab) == N and tab["particle"].nunique() == 1
    np.testing.assert_allclose(tab[["x", "y"]].to_numpy(), path[:, :2], atol=0.01)


def _subframe_prior_chains(n_chains, K, D, mu0, s0, rng):
    """Exact draws of one emitter's path from the Brownian prior of a K-point, one-frame model on
    SETUP's pixels with a flat emission (H = 0): (model, positions (n_chains, 1, K, 3))."""
    setup = SETUP.replace(subframes=K, exposure=0.03)
    model = BayesModel(np.full((1, 10, 10), 500.0), setup, 1, K)
    steps = rng.standard_normal((n_chains, K - 1, 3)) * np.sqrt(2 * D * model.dts)[None, :, None]
    start = mu0 + s0 * rng.standard_normal((n_chains, 1, 3))
    pos = start + np.concatenate([np.zeros((n_chains, 1, 3)), np.cumsum(steps, 1)], axis=1)
    return model, pos[:, None]


def _flat_state(model, pos, D):
    """One emitter present in its one frame, with a flat emission (H = 0)."""
    on = np.ones((1, 1))
    return _state(model, np.ascontiguousarray(pos), on, np.ones(1), (0.05, 0.05), D, H=0.0)


def test_point_seek_move_leaves_the_prior_invariant():
    """With a flat emission the sub-frame point drawn from a fixed, strongly uneven pixel map
    must keep the motion prior: from 2000 exact prior draws of a 3-point path, after 10 moves
    each, every point's x and y are still distributed as under the prior (KS p > 1e-3). Without
    the map's density in the acceptance the points gather in the map's bright corner (tried:
    p ~ 1e-28)."""
    from scipy import stats

    from sptmotion.tracking.moves import point_seek_move

    K, D = 3, 2.0
    mu0, s0 = np.array([0.66, 0.66, 0.0]), np.array([0.3, 0.3, 0.1])
    rng = np.random.default_rng(5)
    model, chains = _subframe_prior_chains(2000, K, D, mu0, s0, rng)
    birth = np.ones((1, 10, 10))
    birth[0, :3, :3] = 30.0  # most of the proposals land in one corner
    birth /= birth.sum()
    problem = model.problem(
        mu0, s0, [1.0, 0.01], [0.0, 1.0], [0.0, 1.0], [False, False, False, True],
        birth_pdf=birth,
    )  # fmt: skip
    work = new_work(K, 1, 10, 10)
    _k.seed_numba(11)
    out = np.empty_like(chains)
    moved = 0
    for i, pos in enumerate(chains):
        state = _flat_state(model, pos, D)
        for _ in range(10):
            point_seek_move(state, problem, work, 0, 0)
        moved += state.acc[15]
        out[i] = state.pos
    assert moved > 1000  # the move does move (~8% of the proposals)
    t = model.clock
    for k in range(K):
        sd = np.sqrt(s0[:2] ** 2 + 2 * D * t[k])
        for a in range(2):
            assert stats.kstest(out[:, 0, k, a], stats.norm(mu0[a], sd[a]).cdf).pvalue > 1e-3


def test_reverse_block_move_keeps_the_image_and_the_caches():
    """Reversing a frame's K points changes neither its image nor its likelihood (symmetric
    trapezoid weights); after accepted reversals the cached images equal a full recomputation;
    and the move keeps the motion prior: from 2000 exact prior draws the points' distributions
    are unchanged (KS p > 1e-3; accepting every reversal fails it, p ~ 1e-136)."""
    from scipy import stats

    from sptmotion.tracking.moves import reverse_block_move

    K, D = 4, 0.5
    mu0, s0 = np.array([0.66, 0.66, 0.0]), np.array([0.2, 0.2, 0.1])
    rng = np.random.default_rng(6)
    setup = SETUP.replace(subframes=K, exposure=0.03)
    streak = np.linspace([0.4, 0.5, 0.0], [0.9, 0.8, 0.05], K)[None]
    movie = optics.render(streak, setup, rng=rng)
    model = BayesModel(movie, setup, 1, K)
    F, H = setup.background_flux, setup.emission_rate
    state = _state(model, streak.copy(), np.ones((1, 1)), np.ones(1),
                   (0.05, 0.05), D)  # fmt: skip
    problem = model.problem(mu0, s0, [1.0, 0.01], [0.0, 1.0], [0.0, 1.0], [False, False, False])
    work = new_work(K, 1, 10, 10)
    S0, ll0 = state.S.copy(), state.ll.copy()
    _k.seed_numba(2)
    for _ in range(50):
        reverse_block_move(state, problem, work, 0, 0)
    assert state.acc[16] > 0
    np.testing.assert_allclose(state.S, S0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.ll, ll0, rtol=1e-12)
    _, _, _, S_full, ll_full = model.new_state(state.pos.copy(), F, H, D)
    np.testing.assert_allclose(state.S, S_full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.ll, ll_full, rtol=1e-12)
    s0 = np.array([0.05, 0.05, 0.1])  # the points' spreads then differ along the path
    model, chains = _subframe_prior_chains(2000, K, D, mu0, s0, rng)
    problem = model.problem(mu0, s0, [1.0, 0.01], [0.0, 1.0], [0.0, 1.0], [False, False, False])
    out = np.empty_like(chains)
    for i, pos in enumerate(chains):
        st = _flat_state(model, pos, D)
        for _ in range(3):
            reverse_block_move(st, problem, work, 0, 0)
        out[i] = st.pos
    t = model.clock
    for k in range(K):
        sd = np.sqrt(s0[0] ** 2 + 2 * D * t[k])
        assert stats.kstest(out[:, 0, k, 0], stats.norm(mu0[0], sd).cdf).pvalue > 1e-3


def test_each_emitter_gets_its_own_D():
    """A slow (0.03 µm²/s) and a fast (0.4 µm²/s) particle in one 24 x 24 movie, rendered with
    the blur of five positions per exposure: with each emitter's own D (``EMITTER_D_SD``) the table
    rows of the slow particle read a D below 0.1 and the fast one's above 0.2 (posterior means;
    here 0.036 [0.023, 0.052] and 0.42 [0.34, 0.50] with 600 sweeps; with one D both read
    0.20 [0.17, 0.25], and M = 3 gets 0.44); ``row_D`` is None with one D."""
    setup = optics.preset("hendrix2025", rows=24, cols=24, subframes=5)
    rng = np.random.default_rng(4)
    t = setup.fine_times(60)
    paths = []
    for D, x0 in ((0.03, 1.0), (0.4, 2.2)):
        steps = np.sqrt(2 * D * np.diff(t, prepend=0.0))[:, None] * rng.standard_normal((len(t), 2))
        xy = np.cumsum(steps, axis=0)
        xy += np.array([x0, 1.6]) - xy.mean(axis=0)
        paths.append(np.column_stack([xy, np.zeros(len(t))]))
    movie = optics.render(np.array(paths), setup, rng=5, allow_outside=True)
    one = setup.replace(subframes=1)
    post = track_bayes(movie, one, n_emitters=None, n_iterations=600, n_chains=2, seed=2,
                       planar=True, emitter_D_sd=EMITTER_D_SD)  # fmt: skip
    tab = post.to_table()
    tab["D"] = post.row_D()["mean"]
    x_mean = tab.groupby("particle")["x"].mean()
    D_of = tab.groupby("particle")["D"].mean()
    slow, fast = x_mean.idxmin(), x_mean.idxmax()
    assert D_of[slow] < 0.1 < 0.2 < D_of[fast], D_of
    shared = track_bayes(
        movie, one, n_emitters=None, n_iterations=200, n_chains=1, seed=2, planar=True
    )  # fmt: skip (the default: one D)
    assert shared.row_D() is None and shared.D_emitters is None
