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
    # the page's per-track table shows the computed numbers of results.csv
    res = pd.read_csv(table_report / "results.csv")
    assert html.count("<tr>") == len(res) == 3
    for a in res["alpha"]:
        assert f"<td>{a:.4g}</td>" in html


def test_loglik_bars_and_movie_figures(tmp_path: Path):
    """The movie figures draw from plain arrays (no tracking needed) into valid PNGs."""
    rng = np.random.default_rng(0)
    frame = rng.gamma(2.0, 100.0, size=(16, 16))
    tr = np.cumsum(0.02 * rng.standard_normal((30, 3)), axis=0) + 1.0
    t = 0.033 * np.arange(30)
    paths = [
        figures.plot_movie_overlay(frame, [tr], 0.133, tmp_path / "a.png", other_tracks=[tr + 0.05]),
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
