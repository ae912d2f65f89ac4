"""A separate virtual environment with ``andi-datasets`` for benchmarks and test sets.

``andi-datasets`` pins ``numpy<=1.26.4``, so it can never live in the package's own
environment. This module creates (once) ``benchmarks/.andi-venv`` with
``python3.11 -m venv`` + pip, and runs Python code inside it. Results come back as
``.npz`` files, never as imports.

Public API
----------
- :func:`ensure_andi_venv` -> path of the venv's Python (creates the venv on first use).
- :func:`run_in_andi_env(code, out_npz)` runs a snippet inside the venv. The snippet sees the
  variable ``OUT`` (the path of ``out_npz``) and must write its results there with ``np.savez``.
  Returns the loaded arrays as a dict.
- :func:`andi_datasets_tracks(task, n, length, dim, seed)` -> ``(X, alpha, model)``: the AnDi-1
  dataset of ``andi_datasets.datasets_challenge.challenge_theory_dataset`` (task 1 = alpha, task 2 =
  model) as arrays: ``X`` (n, length, dim) with the andi-datasets normalization and noise,
  ``alpha`` (n,), ``model`` (n,) lowercase names.
- :func:`andi_datasets_model_tracks(model, alpha, n, length, dim, seed)` -> ``(n, length, dim)``
  raw (un-normalized, noise-free) trajectories of one theory model of andi-datasets.

Command line: ``python benchmarks/_andi_env.py`` just creates the venv and prints its version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VENV = HERE / ".andi-venv"
#: What the venv holds; andi-datasets needs numpy <= 1.26.4.
REQUIREMENTS = ("numpy<=1.26.4", "andi-datasets")

#: andi-datasets' model order in ``AnDi-1`` (index -> name), ``datasets_theory().avail_models_name``.
ANDI_MODEL_NAMES = ("attm", "ctrw", "fbm", "lw", "sbm")


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_andi_venv(python: str = "python3.11", quiet: bool = True) -> Path:
    """Create ``benchmarks/.andi-venv`` with andi-datasets if it is not there; return its Python."""
    py = _venv_python()
    marker = VENV / ".ready"
    if py.exists() and marker.exists():
        return py
    subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("-q")
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    subprocess.run(
        [str(py), "-c", "import andi_datasets, numpy; print(numpy.__version__)"], check=True
    )
    marker.write_text("ok\n")
    return py


def run_in_andi_env(
    code: str,
    out_npz: str | os.PathLike | None = None,
    *,
    timeout: float | None = None,
    cpu: int | None = None,
) -> dict[str, np.ndarray]:
    """Run ``code`` with the andi-datasets venv's Python and return the arrays it saved.

    Parameters
    ----------
    code : str
        Python source. It sees ``OUT`` (str, the .npz path to write with ``np.savez``).
    out_npz : path, optional
        Where the snippet writes; a temporary file if omitted (deleted after loading).
    timeout : float, optional
        Seconds before the child is killed.
    cpu : int, optional
        Pin the child to this CPU core (``taskset -c``), for one-core timings.
    """
    py = ensure_andi_venv()
    tmpdir = None
    if out_npz is None:
        tmpdir = tempfile.TemporaryDirectory()
        out_npz = Path(tmpdir.name) / "out.npz"
    out_npz = Path(out_npz)
    script = f"OUT = {json.dumps(str(out_npz))}\n" + textwrap.dedent(code)
    cmd = [str(py), "-c", script]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"andi-datasets snippet failed:\n{res.stderr[-4000:]}")
    with np.load(out_npz, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    if tmpdir is not None:
        tmpdir.cleanup()
    return data


def andi_datasets_tracks(
    task: str | int, n: int, length: int, dim: int = 2, seed: int = 0, *, cpu: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AnDi-1 tracks made by ``andi_datasets.datasets_challenge.challenge_theory_dataset``.

    Parameters
    ----------
    task : {"alpha", "model"} or {1, 2}
        AnDi-1 task (both give the same trajectories; the label differs).
    n : int
        Number of tracks.
    length : int
        Points per track.
    dim : {1, 2, 3}
    seed : int
        numpy global seed set before generation (andi-datasets draws from ``np.random``).

    Returns
    -------
    X : ndarray (n, length, dim)
        Normalized noisy tracks exactly as andi-datasets returns them.
    alpha : ndarray (n,)
    model : ndarray (n,) of str
        Lowercase model names ('attm', 'ctrw', 'fbm', 'lw', 'sbm').
    """
    code = f"""
    import numpy as np
    import andi_datasets.datasets_challenge as dc
    np.random.seed({int(seed)})
    n, T, d = {int(n)}, {int(length)}, {int(dim)}
    X1, Y1, X2, Y2, X3, Y3 = dc.challenge_theory_dataset(
        N=n, max_T=T, min_T=T, tasks=[1, 2], dimensions=[d], return_noise=False)
    X = np.asarray(X1[d - 1], dtype=float).reshape(n, d, T).transpose(0, 2, 1)
    a = np.asarray(Y1[d - 1], dtype=float).ravel()
    m = np.asarray(Y2[d - 1], dtype=float).ravel().astype(int)
    np.savez(OUT, X=X, alpha=a, model=m)
    """
    data = run_in_andi_env(code, cpu=cpu)
    names = np.asarray(ANDI_MODEL_NAMES)[data["model"]]
    return data["X"], data["alpha"], names


def andi_datasets_model_tracks(
    model: str, alpha: float, n: int, length: int, dim: int = 2, seed: int = 0
) -> np.ndarray:
    """Raw trajectories ``(n, length, dim)`` of one andi-datasets theory model (no normalization, no noise)."""
    idx = ANDI_MODEL_NAMES.index(model)
    code = f"""
    import numpy as np
    from andi_datasets.datasets_theory import datasets_theory
    np.random.seed({int(seed)})
    n, T, d = {int(n)}, {int(length)}, {int(dim)}
    ds = datasets_theory().create_dataset(T=T, N_models=n, exponents=[{float(alpha)}],
                                          models=[{idx}], dimension=d)
    X = np.asarray(ds[:, 2:], dtype=float).reshape(n, d, T).transpose(0, 2, 1)
    np.savez(OUT, X=X)
    """
    return run_in_andi_env(code)["X"]


if __name__ == "__main__":  # pragma: no cover
    py = ensure_andi_venv(quiet=False)
    subprocess.run([str(py), "-m", "pip", "show", "andi-datasets"], check=False)
    sys.exit(0)
