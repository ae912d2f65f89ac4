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
REQUIREMENTS = ("numpy<=1.26.4", "andi-datasets", "ipython")

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
    """AnDi-1 tracks made by andi-datasets the way ``challenge_theory_dataset`` makes them.

    The snippet runs the steps of ``andi_datasets.datasets_challenge.challenge_theory_dataset``
    (class counts, ``create_dataset``, ``normalize``, localization noise, random diffusion
    factor, per-task selection and shuffle) with andi-datasets' own functions, but keeps both
    label columns (the original returns task 1 and task 2 in separate, differently shuffled
    lists, so a track's model and alpha cannot both be recovered from it).

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
        numpy global seed set before generation (andi-datasets draws from ``np.random``), and
        the seed of the ``stochastic`` package's own generator (andi-datasets' FBM; unseeded,
        its draws differed from run to run).

    Returns
    -------
    X : ndarray (n, length, dim)
        Normalized noisy tracks exactly as andi-datasets returns them.
    alpha : ndarray (n,)
    model : ndarray (n,) of str
        Lowercase model names ('attm', 'ctrw', 'fbm', 'lw', 'sbm').
    """
    task_id = {"alpha": 1, "model": 2, 1: 1, 2: 2}[task]
    code = f"""
    import numpy as np
    from andi_datasets.datasets_theory import datasets_theory
    from andi_datasets.utils_trajectories import normalize
    # The steps of andi_datasets.datasets_challenge.challenge_theory_dataset (tasks 1, 2) for
    # one dimension and max_T = min_T + 1 = length + 1, keeping both label columns.
    np.random.seed({int(seed)})
    # its FBM comes from the stochastic package, which draws from a generator of its own
    import stochastic.random
    stochastic.random.use_generator(np.random.default_rng({int(seed)}))
    N, T, dim, task = {int(n)}, {int(length)}, {int(dim)}, {task_id}
    max_T = T + 1
    exponents = np.arange(0.05, 2.01, 0.05)
    n_exp = len(exponents)
    n_per_model = np.ceil(1.6 * N / 5)
    subdif, superdif = n_exp // 2, n_exp // 2 + 1
    n_per_class = np.zeros((5, n_exp))
    n_per_class[:2, :subdif] = np.ceil(n_per_model / subdif)
    n_per_class[2, :] = np.ceil(n_per_model / (n_exp - 1))
    n_per_class[2, exponents == 2] = 0
    n_per_class[3, subdif:] = np.ceil((n_per_model / superdif) * 0.8)
    n_per_class[4, :] = np.ceil(n_per_model / n_exp)
    dataset = datasets_theory().create_dataset(T=max_T, N_models=n_per_class, exponents=exponents,
                                               dimension=dim, models=np.arange(5))
    n_traj = dataset.shape[0]
    norm_trajs = normalize(dataset[:, 2:].reshape(n_traj * dim, max_T))
    dataset[:, 2:] = norm_trajs.reshape(dataset[:, 2:].shape)
    loc_error_amplitude = np.random.choice(np.array([0.1, 0.5, 1]), size=n_traj).repeat(dim)
    loc_error = (np.random.randn(n_traj * dim, int(max_T)).transpose() * loc_error_amplitude).transpose()
    dataset = datasets_theory().create_noisy_localization_dataset(dataset, dimension=dim, T=max_T,
                                                                  noise_func=loc_error)
    trajs = dataset[:, 2:].reshape(n_traj * dim, max_T)
    displacements = trajs[:, 1:] - trajs[:, :-1]
    diffusion_coefficients = np.random.randn(n_traj).repeat(dim)
    new_displacements = (displacements.transpose() * diffusion_coefficients).transpose()
    new_trajs = np.cumsum(new_displacements, axis=1)
    new_trajs = np.concatenate((np.zeros((new_trajs.shape[0], 1)), new_trajs), axis=1)
    dataset[:, 2:] = new_trajs.reshape(dataset[:, 2:].shape)
    parts = []
    if task == 1:
        n_exp_max = int(np.ceil(1.1 * N / n_exp))
        for exponent in exponents:
            parts.append(dataset[dataset[:, 1] == exponent][:n_exp_max])
    else:
        n_pm = max(1, int(1.1 * N / 5))
        for model in range(5):
            parts.append(dataset[dataset[:, 0] == model][:n_pm])
    sel = np.concatenate(parts, axis=0)
    sel = sel[np.random.permutation(sel.shape[0])][:N]
    X = sel[:, 2:].reshape(-1, dim, max_T)[:, :, :T].transpose(0, 2, 1)
    np.savez(OUT, X=X, alpha=np.around(sel[:, 1], 2), model=sel[:, 0].astype(int))
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
    import stochastic.random
    np.random.seed({int(seed)})
    stochastic.random.use_generator(np.random.default_rng({int(seed)}))
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
