"""The guard that keeps numba's cache of the jitted kernels in step with their sources."""

import os
import re
from pathlib import Path

import sptmotion
from sptmotion._kernel_cache import KERNEL_SOURCES, refresh_kernel_cache

ROOT = Path(sptmotion.__file__).parent


def test_every_module_with_jitted_code_is_guarded():
    jitted = {
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*.py")
        if re.search(r"^\s*@(numba\.)?(njit|jit)\b", p.read_text(encoding="utf-8"), re.M)
    }
    assert jitted == set(KERNEL_SOURCES)


def test_sources_touched_once_after_any_change(tmp_path):
    sources = ("a.py", "sub/b.py")
    (tmp_path / "sub").mkdir()
    for s in sources:
        (tmp_path / s).write_text("x = 1\n")
        os.utime(tmp_path / s, (1_000_000, 1_000_000))
    assert refresh_kernel_cache(str(tmp_path), sources)  # no record yet
    first = [os.stat(tmp_path / s).st_mtime for s in sources]
    assert all(t > 1_000_000 for t in first)
    for s in sources:
        os.utime(tmp_path / s, (2_000_000, 2_000_000))
    assert not refresh_kernel_cache(str(tmp_path), sources)  # unchanged: left alone
    assert [os.stat(tmp_path / s).st_mtime for s in sources] == [2_000_000] * 2
    (tmp_path / "a.py").write_text("x = 2\n")  # one file edited: every file touched
    os.utime(tmp_path / "a.py", (2_000_000, 2_000_000))
    assert refresh_kernel_cache(str(tmp_path), sources)
    assert all(os.stat(tmp_path / s).st_mtime > 2_000_000 for s in sources)
    assert not refresh_kernel_cache(str(tmp_path), sources)


def test_a_stamp_that_cannot_be_written_is_no_error(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "blocked").write_text("a file where the stamp's folder should be\n")
    assert not refresh_kernel_cache(str(tmp_path), ("a.py",), stamp="blocked/stamp")
