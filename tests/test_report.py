"""The report: PNG figures referenced by relative paths, rendering in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sptmotion.analysis import analyze_table, figures
from sptmotion.datasets import tracks_to_table
from sptmotion.motion import MODELS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = (
    shutil.which("chromium")
    or shutil.which("chromium-browser")
    or shutil.which("google-chrome")
    or (Path("/usr/bin/chromium").is_file() and "/usr/bin/chromium")
    or None
)


@pytest.fixture(scope="module")
def table_report(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    X, _ = MODELS["fbm"](alpha=0.7, D=0.1).sample(5, 49, dim=2, dt=0.03, rng=rng)
    out = tmp_path_factory.mktemp("rep") / "report"
    analyze_table(tracks_to_table(X), out, dt=0.03)
    return out


def _images(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def test_report_references_existing_pngs(table_report: Path):
    html = (table_report / "report.html").read_text(encoding="utf-8")
    imgs = _images(html)
    assert "figures/alpha_probabilities.png" in imgs
    assert "figures/population_msd.png" in imgs and "figures/population_histograms.png" in imgs
    # per-track figures for the first four tracks by default
    assert sum("scalogram" in s for s in imgs) == 4 and sum("/msd_" in s for s in imgs) == 4
    for rel in imgs:
        assert not rel.startswith(("/", "http")), rel  # relative: opens without a server
        png = table_report / rel
        assert png.is_file() and png.read_bytes()[:8] == PNG_MAGIC, rel
    # the short per-track table (header + one row per track) shows the likelihood's alpha with
    # its interval, the full table (one row per track) every column of results.csv
    res = pd.read_csv(table_report / "results.csv")
    assert html.count("<tr>") == 1 + 2 * len(res) and len(res) == 5
    for a in res["mle_alpha"]:
        assert f"{a:.3g} [" in html
    for a in res["alpha"]:
        assert f"<td>{a:.4g}</td>" in html


def test_loglik_bars_and_movie_figures(tmp_path: Path):
    """The movie figures draw from plain arrays (no tracking needed) into valid PNGs."""
    rng = np.random.default_rng(0)
    frame = rng.gamma(2.0, 100.0, size=(16, 16))
    tr = np.cumsum(0.02 * rng.standard_normal((30, 3)), axis=0) + 1.0
    t = 0.033 * np.arange(30)
    paths = [
        figures.plot_movie_overlay(
            frame, [tr], 0.133, tmp_path / "a.png", other_tracks=[tr + 0.05]
        ),
        figures.plot_track_bands(
            t, tr, tmp_path / "b.png", lower=tr - 0.03, upper=tr + 0.03, samples=tr[None] + 0.01
        ),
        figures.plot_loglik_bars(
            {
                "initial": -3.0,
                "emission": -1.2e5,
                "motion": 900.0,
                "total": -1.19e5,
                "emission_share": 0.99,
            },
            tmp_path / "c.png",
        ),
    ]
    for p in paths:
        assert p.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_report_renders_in_headless_chromium(table_report: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,2400",
        f"--screenshot={shot}",
        (table_report / "report.html").resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    assert shot.read_bytes()[:8] == PNG_MAGIC
    from matplotlib.image import imread

    img = imread(shot)
    # the page is not blank: many distinct colours (figures) in the screenshot
    colours = np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 200


def test_report_page_warns_clips_and_names_the_input(tmp_path: Path):
    """Convergence warnings (R-hat > 1.01, ESS < 100) are shown at the top, alpha intervals
    are clipped to 0-2 with a mark, low-probability learned verdicts read "inconclusive", and
    the input's name is on the page."""
    from sptmotion.analysis.report import convergence_warnings, short_table, write_html

    res = pd.DataFrame(
        {
            "particle": [0, 1],
            "tracker": ["bayes", "bayes"],
            "n_points": [60, 60],
            "error": ["", ""],
            "mle_alpha": [1.8, 0.1],
            "mle_alpha_lo": [1.4, -0.2],
            "mle_alpha_hi": [2.3, 0.5],
            "mle_D": [0.05, 0.02],
            "mle_D_lo": [0.03, 0.01],
            "mle_D_hi": [0.08, 0.04],
            "verdict": ["fbm", "bm"],
            "verdict_p": [0.9, 0.7],
            "learned_verdict": ["lw", "attm"],
            "learned_verdict_p": [0.8, 0.3],
            "bm_compatible": [False, True],
        }
    )
    header, rows = short_table(res)
    assert rows[0][4] == "1.8 [1.4, 2*]" and rows[1][4] == "0.1 [0*, 0.5]"
    assert rows[0][6] == "lw (p = 0.80)" and rows[1][6].startswith("inconclusive")
    diag = {"D": {"rhat": 1.29, "ess": 6.9}, "positions": {"rhat": 1.001, "ess": 900.0}}
    warn = convergence_warnings(diag)
    assert len(warn) == 1 and "R-hat 1.29" in warn[0] and "ESS 6.9" in warn[0]
    near = convergence_warnings({"D": {"rhat": 1.0132, "ess": 500.0}})
    assert "R-hat 1.013 > 1.01" in near[0]  # not "1.01 > 1.01"
    summary = {"input": {"path": "/data/cell_07.tif"}, "bayes": {"diagnostics": diag},
               "warnings": warn}  # fmt: skip
    page = write_html(tmp_path / "r.html", title="t", summary=summary, results=res, figures=[])
    text = page.read_text(encoding="utf-8")
    assert "cell_07.tif" in text and text.count("<li>MCMC not converged for D") == 1
    assert text.index("MCMC not converged") < text.index("Per-track answers")


def test_region_warnings_are_one_line():
    """A field's regions that have not converged give one warning line naming them and the
    quantities; each region keeps its own lines."""
    from sptmotion.analysis.report import region_warnings

    ok = {"D": {"rhat": 1.001, "ess": 900.0}}
    bad = {"D": {"rhat": 1.2, "ess": 40.0}, "positions": {"rhat": 1.5, "ess": 9.0}}
    regions = [{"region": 0, "diagnostics": ok}, {"region": 1, "diagnostics": bad},
               {"region": 2, "diagnostics": {"positions": {"rhat": None, "ess": 20.0}}}]  # fmt: skip
    lines = region_warnings(regions)
    assert len(lines) == 1
    assert "in 2 of 3 regions (1, 2)" in lines[0] and "for D, positions" in lines[0]
    assert regions[0]["warnings"] == [] and len(regions[1]["warnings"]) == 2
    assert region_warnings(regions[:1]) == []
    # the line names the file that holds the per-region lines (track: beside the table)
    assert lines[0].endswith("per region in summary.json")
    assert region_warnings(regions, "tracks.json")[0].endswith("per region in tracks.json")


def test_report_of_many_tracks_stays_short(tmp_path: Path):
    """With hundreds of tracks the page lists the first TABLE_MAX_ROWS in the short table, no
    full HTML table and no line per track: results.csv and the population figures hold them."""
    from sptmotion.analysis.report import KEY_LINES_MAX, TABLE_MAX_ROWS, write_html

    n = 3 * TABLE_MAX_ROWS
    res = pd.DataFrame(
        {
            "particle": np.arange(n),
            "tracker": "table",
            "n_points": 50,
            "error": "",
            "mle_alpha": np.linspace(0.2, 1.8, n),
            "mle_D": 0.1,
            "verdict": "bm",
        }
    )
    keys = {f"track {i}": "bm" for i in range(n)}
    page = write_html(tmp_path / "r.html", title="t", summary={}, results=res, figures=[],
                      key_numbers=keys)  # fmt: skip
    text = page.read_text(encoding="utf-8")
    assert text.count("<tr>") == 1 + TABLE_MAX_ROWS
    assert f"first {TABLE_MAX_ROWS} of {n} tracks" in text
    assert "Track by track" not in text and "All columns" not in text
    assert n > KEY_LINES_MAX and len(text) < 60_000


def test_population_figures_with_skipped_and_missing_values(tmp_path: Path):
    """The population figures draw from tracks of different lengths, with skipped tracks and
    missing fits, and the model curves follow the verdict groups."""
    from sptmotion.analysis.population import population_msd
    from sptmotion.analysis.trackset import TrackSet

    rng = np.random.default_rng(2)
    tracks = [np.cumsum(0.05 * rng.standard_normal((L, 2)), axis=0) for L in (12, 40, 80, 80)]
    res = pd.DataFrame(
        {
            "particle": [0, 1, 2, 3],
            "error": ["too short", "", "", ""],
            "mle_alpha": [np.nan, 0.9, 1.1, 0.5],
            "mle_D": [np.nan, 0.08, 0.12, 0.05],
            "mle_sigma": [np.nan, 0.02, np.nan, 0.03],
            "verdict": ["", "bm", "bm", "fbm"],
            "learned_verdict": ["", "bm", "ctrw", "fbm"],
            "learned_verdict_p": [np.nan, 0.9, 0.4, 0.7],
        }
    )
    ts = TrackSet(tracks=tracks, particles=np.arange(4), dt=0.03, source="table", exposure=0.02)
    pop = population_msd(ts, res)
    assert pop.tamsd.shape == (4, len(pop.lag_s)) and np.isnan(pop.tamsd[0, -1])
    labels = [m[0] for m in pop.models]
    assert labels[0].startswith("verdict bm (2 tracks)") and labels[1].startswith("verdict fbm (1")
    assert [m[3] for m in pop.models] == [True, True, False]
    for p in (
        figures.plot_population_msd(
            pop.lag_s, pop.tamsd, pop.eamsd, pop.models, tmp_path / "m.png"
        ),  # fmt: skip
        figures.plot_population_histograms(res, tmp_path / "h.png"),
    ):
        assert p.read_bytes()[:8] == PNG_MAGIC


def test_track_figures_on_demand_and_trackpy_names(tmp_path: Path):
    """``track_figures`` picks the tracks with their own figures (a missing id fails before
    the analysis); ``fps``/``mpp`` are trackpy's names for 1/dt and the pixel size."""
    rng = np.random.default_rng(4)
    X, _ = MODELS["bm"](D=0.1).sample(3, 39, dim=2, dt=0.05, rng=rng)
    px = tracks_to_table(X / 0.1)  # in pixels of 0.1 µm
    out = tmp_path / "rep"
    res = analyze_table(px, out, fps=20.0, mpp=0.1, track_figures=[2])
    names = sorted(p.name for p in (out / "figures").iterdir())
    assert "scalogram_table_2.png" in names and "msd_table_2.png" in names
    assert not any(n.endswith("_0.png") or n.endswith("_1.png") for n in names)
    ref = analyze_table(tracks_to_table(X), dt=0.05)
    pd.testing.assert_frame_equal(res, ref)
    with pytest.raises(ValueError, match="no track 9"):
        analyze_table(px, tmp_path / "x", fps=20.0, mpp=0.1, track_figures=[9])
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="not both"):
        analyze_table(px, dt=0.05, fps=20.0)


def test_embedded_figures_make_one_self_contained_page(tmp_path: Path):
    """``embed``: the figures are data URIs in the page (population ones first), so the page
    alone shows them."""
    import base64

    from sptmotion.analysis.report import write_html

    (tmp_path / "figures").mkdir()
    png = figures.plot_loglik_bars({"initial": 0.0, "emission": -10.0, "motion": 1.0,
                                    "total": -9.0, "emission_share": 0.9},
                                   tmp_path / "figures" / "population_msd.png")  # fmt: skip
    res = pd.DataFrame({"particle": [0], "n_points": [30], "error": [""]})
    figs = [("Other", "figures/other.png", ""), ("Population", "figures/population_msd.png", "")]
    (tmp_path / "figures" / "other.png").write_bytes(png.read_bytes())
    page = write_html(tmp_path / "r.html", title="t", summary={}, results=res, figures=figs,
                      embed=True)  # fmt: skip
    srcs = _images(page.read_text(encoding="utf-8"))
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == png.read_bytes()
    text = page.read_text(encoding="utf-8")
    assert text.index("<h2>Population</h2>") < text.index("<h2>Other</h2>")


def test_track_figures_of_a_skipped_track_say_why(tmp_path: Path):
    """A requested track that was skipped (too short) gets a line saying why, not a crash."""
    rng = np.random.default_rng(6)
    X, _ = MODELS["bm"](D=0.1).sample(2, 39, dim=2, dt=0.05, rng=rng)
    table = tracks_to_table(X)
    short = pd.DataFrame({"particle": 7, "frame": range(5), "x": 0.01 * np.arange(5), "y": 0.0})
    out = tmp_path / "rep"
    analyze_table(pd.concat([table, short], ignore_index=True), out, dt=0.05, track_figures=[7, 1])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "no figures:" in html and "figures/msd_table_1.png" in html
