"""Learning curves on AnDi-1 data: wavelet vs features vs trajectory learners.

Training tracks come from :func:`sptmotion.datasets.andi`; every learner is tested on

- ``heldout``: tracks of the same generator with another seed, and
- ``andi_datasets``: 1000 tracks made by andi-datasets' ``challenge_theory_dataset`` (task 1
  tracks for alpha, task 2 tracks for the model, as in the AnDi challenge), produced in the
  benchmark's own venv (``benchmarks/_andi_env.py``; andi-datasets never enters the package).

FBM maximum likelihood and the TAMSD log-log fit are the non-learned alpha references.

Run (heavy: nice it)::

    nice .venv/bin/python benchmarks/learn_andi.py --train-sizes 1000 --seeds 1
    nice .venv/bin/python benchmarks/learn_andi.py --train-sizes 1000,10000 --stem learn_andi_large
    # the two tasks side by side (one core each), then merged:
    nice .venv/bin/python benchmarks/learn_andi.py --tasks alpha --stem part_a &
    nice .venv/bin/python benchmarks/learn_andi.py --tasks model --stem part_m; wait
    .venv/bin/python benchmarks/learn_andi.py --combine results/learn_andi/part_a.json,results/learn_andi/part_m.json

Writes ``benchmarks/results/learn_andi/<stem>.md``, ``.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "learn_andi"


def andi_datasets_test_sets(n: int, length: int, dim: int, seed: int) -> Path:
    """Task-1 (alpha) and task-2 (model) test tracks from andi-datasets, cached as .npz.

    ``seed`` seeds numpy's global generator and the ``stochastic`` package's own one
    (andi-datasets' FBM), so the same tracks come back in a fresh venv; the tables made
    before this (``learn_andi*.md`` up to ``learn_andi_v3``) used draws whose FBM tracks were
    unseeded (the file name then had no ``_fbmseeded``).
    """
    from _andi_env import ANDI_MODEL_NAMES, run_in_andi_env

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"andi_datasets_test_d{dim}_L{length}_n{n}_seed{seed}_fbmseeded.npz"
    if path.exists():
        return path
    # min_T = length, max_T = length + 1: andi-datasets draws the cut length with
    # randint(min_T, max_T), so every track keeps exactly `length` points.
    code = f"""
    import numpy as np
    import andi_datasets.datasets_challenge as dc
    np.random.seed({int(seed)})
    import stochastic.random
    stochastic.random.use_generator(np.random.default_rng({int(seed)}))
    n, T, d = {int(n)}, {int(length)}, {int(dim)}
    X1, Y1, X2, Y2, X3, Y3 = dc.challenge_theory_dataset(
        N=n, min_T=T, max_T=T + 1, tasks=[1, 2], dimensions=[d], return_noise=False)
    def arr(X):
        return np.asarray(X[d - 1], dtype=float).reshape(n, d, T).transpose(0, 2, 1)
    np.savez(OUT, X_alpha=arr(X1), alpha=np.asarray(Y1[d - 1], dtype=float).ravel(),
             X_model=arr(X2), model=np.asarray(Y2[d - 1], dtype=float).ravel().astype(int))
    """
    data = run_in_andi_env(code)
    model = np.asarray(ANDI_MODEL_NAMES)[data.pop("model")]
    np.savez(path, **data, model=model.astype("U4"))
    return path


def combine(paths: list[str], stem: str) -> int:
    """Merge result JSONs row by row: for each (representation, train size, repeat, test set)
    a column that is NaN in one file is taken from the file that has it (the first file that
    has a value wins).

    An entry ``file.json:rep1:rep2`` takes only the rows of those representations from the
    file (e.g. the alpha rows of the loss selected for each representation);
    ``file.json:rep=label`` also renames them in the table (e.g. another configuration of the
    same learner).
    """
    from sptmotion.studies.andi import andi_report

    key = ("representation", "train_size", "repeat", "test")
    rows: dict[tuple, dict] = {}
    runs, parts = [], []
    for entry in paths:
        path, *sel = entry.split(":")
        rename = dict(r.split("=", 1) if "=" in r else (r, r) for r in sel)
        reps = list(rename)
        run = json.loads(Path(path).read_text())
        runs.append(run)
        parts.append(
            {
                "file": path,
                "representations": rename or "all",
                "train_sizes": run["settings"]["train_sizes"],
                "seeds": run["settings"]["seeds"],
                "estimator_params": run["settings"].get("estimator_params", {}),
            }
        )
        for r in run["rows"]:
            if reps and r["representation"] not in reps:
                continue
            r = {**r, "representation": rename.get(r["representation"], r["representation"])}
            k = tuple(r[c] for c in key)
            if k not in rows:
                rows[k] = dict(r)
                continue
            for c, v in r.items():
                old = rows[k].get(c)
                if isinstance(old, float) and np.isnan(old) and not np.isnan(v):
                    rows[k][c] = v
    settings = {**runs[0]["settings"], "combined_from": parts}
    sizes = sorted({r["train_size"] for r in rows.values()})
    n_rep = {n: len({r["repeat"] for r in rows.values() if r["train_size"] == n}) for n in sizes}
    settings["train_sizes"] = sizes
    if len(set(n_rep.values())) > 1:
        # repeats differ between training sizes: say how many each has
        settings["seeds"] = ", ".join(f"{v} ({k} tracks)" for k, v in n_rep.items())
    else:
        settings["seeds"] = next(iter(n_rep.values()))
    settings["wall_s"] = max(r["settings"].get("wall_s", 0.0) for r in runs)
    res = {"settings": settings, "rows": list(rows.values()), "references": runs[0]["references"]}
    (RESULTS / f"{stem}.json").write_text(json.dumps(res, indent=1))
    andi_report(res, RESULTS / f"{stem}.md", RESULTS / f"{stem}.png")
    print(f"wrote {RESULTS / stem}.md/.json/.png from {', '.join(paths)}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--train-sizes", default="1000")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--representations", default="wavelet,features,trajectory")
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--test-seed", type=int, default=20261123)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stem", default="learn_andi")
    ap.add_argument("--params", default="{}", help="JSON {representation: {estimator params}}")
    ap.add_argument("--tasks", default="alpha,model")
    ap.add_argument("--merge", default=None, help="earlier result JSON whose other rows are kept")
    ap.add_argument(
        "--combine",
        default=None,
        help="comma-separated result JSONs of runs of other tasks (e.g. --tasks alpha and "
        "--tasks model run side by side): merge their rows and write <stem>.md/.json/.png "
        "without training anything; FILE.json:rep1:rep2 keeps only those representations, "
        "FILE.json:rep=label renames one",
    )
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.combine:
        return combine(args.combine.split(","), args.stem)

    import torch

    from sptmotion.studies.andi import andi_report, run_andi_benchmark

    torch.set_num_threads(args.threads)
    t0 = time.time()
    andi_file = andi_datasets_test_sets(args.n_test, args.length, args.dim, args.test_seed)
    print(f"andi-datasets test sets: {andi_file} ({time.time() - t0:.0f} s)", flush=True)
    res = run_andi_benchmark(
        args.dim,
        args.length,
        tuple(int(s) for s in args.train_sizes.split(",")),
        args.seeds,
        tuple(args.representations.split(",")),
        args.n_test,
        andi_file,
        estimator_params=json.loads(args.params),
        n_threads=args.threads,
        verbose=args.verbose,
        log=lambda s: print(s, flush=True),
        tasks=tuple(args.tasks.split(",")),
    )
    if args.merge:
        # keep the earlier rows of the representations / tasks not re-run here
        old = json.loads(Path(args.merge).read_text())
        new_keys = {(r["representation"], r["train_size"], r["test"]) for r in res["rows"]}
        merged = []
        for r in old["rows"]:
            key = (r["representation"], r["train_size"], r["test"])
            if key in new_keys:
                nr = next(
                    x
                    for x in res["rows"]
                    if (x["representation"], x["train_size"], x["test"]) == key
                )
                for task, cols in (
                    ("alpha", ("mae", "z_rms", "fit_s_alpha")),
                    ("model", ("f1_micro", "fit_s_model")),
                ):
                    if task not in args.tasks.split(","):
                        for c in cols:
                            nr[c] = r[c]
            else:
                merged.append(r)
        res["rows"] = merged + res["rows"]
        res["settings"]["merged_from"] = old["settings"]
    res["settings"]["wall_s"] = time.time() - t0
    res["settings"]["test_seed_andi_datasets"] = args.test_seed
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.stem}.json").write_text(json.dumps(res, indent=1))
    andi_report(res, RESULTS / f"{args.stem}.md", RESULTS / f"{args.stem}.png")
    print(f"wrote {RESULTS / args.stem}.md/.json/.png in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
