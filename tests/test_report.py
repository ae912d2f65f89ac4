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
    or (Path("/usr/bin/chromium").is_file() and "/usr/bin/chromium")
    or None
)


@pytest.fixture(scope="module")
def table_report(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    X, _ = MODELS["fbm"](alpha=0.7, D=0.1).sample(3, 49, dim=2, dt=0.03, rng=rng)
    out = tmp_path_factory.mktemp("rep") / "report"
    analyze_table(tracks_to_table(X), out, dt=0.03)
    return out


def _images(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def test_report_references_existing_pngs(table_report: Path):
    html = (table_report / "report.html").read_text(encoding="utf-8")
    imgs = _images(html)
    assert "figures/alpha_probabilities.png" in imgs
    assert sum("scalogram" in s for s in imgs) == 3
    for rel in imgs:
        assert not rel.startswith(("/", "http")), rel  # relative: opens without a server
        png = table_report / rel
        assert png.is_file() and png.read_bytes()[:8] == PNG_MAGIC, rel
    # the short per-track table (header + one row per track) shows the likelihood's alpha with
    # its interval, the full table (one row per track) every column of results.csv
    res = pd.read_csv(table_report / "results.csv")
    assert html.count("<tr>") == 1 + 2 * len(res) and len(res) == 3
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
    summary = {"input": {"path": "/data/cell_07.tif"}, "bayes": {"diagnostics": diag}}
    page = write_html(tmp_path / "r.html", title="t", summary=summary, results=res, figures=[])
    text = page.read_text(encoding="utf-8")
    assert "cell_07.tif" in text and "MCMC not converged for D" in text
    assert text.index("MCMC not converged") < text.index("Per-track answers")
