"""The guard that keeps numba's cache of the jitted kernels in step with their sources."""

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


def test_cached_kernels_removed_once_after_any_change(tmp_path):
    """numba 0.68 stamps a cached function with a hash of its own file's content, so only
    removing the cache files makes a kernel that inlines an edited one recompile."""
    sources = ("a.py", "sub/b.py")
    (tmp_path / "sub").mkdir()
    caches = ["__pycache__/a.f-3.py311.nbi", "__pycache__/a.f-3.py311.1.nbc",
              "sub/__pycache__/b.g-7.py311.nbi"]  # fmt: skip
    others = ["__pycache__/a.cpython-311.pyc", "__pycache__/ab.f-1.py311.nbi"]

    def write_caches():
        for c in caches + others:
            (tmp_path / c).parent.mkdir(exist_ok=True)
            (tmp_path / c).write_text("cached")

    for s in sources:
        (tmp_path / s).write_text("x = 1\n")
    write_caches()
    assert refresh_kernel_cache(str(tmp_path), sources)  # no record yet
    assert not any((tmp_path / c).exists() for c in caches)
    assert all((tmp_path / c).exists() for c in others)  # not this module's kernels
    write_caches()
    assert not refresh_kernel_cache(str(tmp_path), sources)  # unchanged: left alone
    assert all((tmp_path / c).exists() for c in caches)
    (tmp_path / "a.py").write_text("x = 2\n")  # one file edited: every module's caches go
    assert refresh_kernel_cache(str(tmp_path), sources)
    assert not any((tmp_path / c).exists() for c in caches)
    assert not refresh_kernel_cache(str(tmp_path), sources)


def test_an_edited_kernel_reaches_its_callers_cache(tmp_path):
    """End to end in a fresh process: a cached caller that inlines a kernel from another module
    runs the edited kernel after the guard (without it, numba loads the caller's stale code)."""
    import subprocess
    import sys

    (tmp_path / "kern.py").write_text(
        "from numba import njit\n@njit(cache=True)\ndef k(x):\n    return x + 1.0\n"
    )
    (tmp_path / "caller.py").write_text(
        "from numba import njit\nfrom kern import k\n"
        "@njit(cache=True)\ndef c(x):\n    return k(x) * 2.0\n"
    )
    run = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "from sptmotion._kernel_cache import refresh_kernel_cache\n"
        f"refresh_kernel_cache({str(tmp_path)!r}, ('kern.py', 'caller.py'))\n"
        "from caller import c; print(c(1.0))\n"
    )

    def result():
        out = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return float(out.stdout.strip())

    assert result() == 4.0
    (tmp_path / "kern.py").write_text(
        "from numba import njit\n@njit(cache=True)\ndef k(x):\n    return x + 2.0\n"
    )
    assert result() == 6.0


def test_a_stamp_that_cannot_be_written_is_no_error(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "blocked").write_text("a file where the stamp's folder should be\n")
    assert not refresh_kernel_cache(str(tmp_path), ("a.py",), stamp="blocked/stamp")
