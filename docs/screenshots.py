"""Screenshots of the two reports (a population of tracks, the demo movie) in headless Chromium.

Run from the repository root (about 2 minutes; needs ``chromium`` on the PATH)::

    .venv/bin/python docs/screenshots.py

It writes ``docs/images/report_tracks.png`` (300 simulated tracks, half FBM alpha = 0.6, half
BM, 30 nm localization noise, 30 ms exposure at 33 ms per frame) and
``docs/images/report_movie.png`` (``sptmotion demo``), each the full page (up to 9000 px)
cropped below its last content; the reports themselves are not kept.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "images"
WIDTH, MAX_HEIGHT = 1280, 9000


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("error: no Chromium on the PATH (apt-get install chromium)")


def screenshot(html: Path, png: Path, work: Path) -> Path:
    """Full-page screenshot of ``html``, cropped below the last non-white row."""
    from matplotlib.image import imread, imsave

    raw = work / "raw.png"
    subprocess.run(
        [
            _browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            f"--user-data-dir={work / 'profile'}", f"--window-size={WIDTH},{MAX_HEIGHT}",
            f"--screenshot={raw}", html.resolve().as_uri(),
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    img = imread(raw)[..., :3]
    rows = np.flatnonzero((img < 0.98).any(axis=(1, 2)))
    bottom = min(len(img), int(rows[-1]) + 20) if rows.size else len(img)
    png.parent.mkdir(parents=True, exist_ok=True)
    imsave(raw, img[:bottom])
    from PIL import Image

    # 256 colours keep the text sharp at a fraction of the size
    Image.open(raw).convert("RGB").quantize(256).save(png, optimize=True)
    return png


def track_report(work: Path) -> Path:
    """Analyze 300 simulated tracks (independent of the demo) into a report folder."""
    from sptmotion.analysis import analyze_table
    from sptmotion.datasets import tracks_to_table
    from sptmotion.motion import MODELS

    rng = np.random.default_rng(7)
    dt, t_e, sigma = 0.033, 0.03, 0.03
    parts = []
    for name, kw in (("fbm", {"alpha": 0.6, "D": 0.1}), ("bm", {"D": 0.1})):
        # 10 sub-steps per frame, the first 9 averaged: 30 ms exposure at 33 ms per frame
        fine, _ = MODELS[name](**kw).sample(150, 100 * 10, dim=2, dt=dt / 10, rng=rng)
        frames = fine[:, :1000].reshape(150, 100, 10, 2)[:, :, :9].mean(axis=2)
        parts.append(frames + sigma * rng.standard_normal(frames.shape))
    table = tracks_to_table(np.concatenate(parts))
    out = work / "tracks_report"
    analyze_table(table, out, dt=dt, exposure=t_e)
    return out / "report.html"


def movie_report(work: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "sptmotion", "demo", "--output", str(work / "demo"), "-q"],
        check=True,
    )
    return work / "demo" / "report" / "report.html"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for html, name in ((track_report(work), "report_tracks.png"),
                           (movie_report(work), "report_movie.png")):  # fmt: skip
            print(screenshot(html, OUT / name, work))


if __name__ == "__main__":
    main()
