"""The AnDi learning benchmark: alpha MAE and model micro-F1 against the number of training tracks.

The data-efficiency question of Wang, Zhang & Huang (2025): the three representations (wavelet
scalograms, classical features, raw trajectories) trained on AnDi-1 tracks, scored on held-out
tracks of the same generator and, optionally, on a test set made by andi-datasets; FBM maximum
likelihood and the TAMSD fit as non-learned references.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["run_andi_benchmark", "andi_report", "write_andi_results", "reference_alpha", "f1_micro"]


def reference_alpha(X: np.ndarray) -> dict[str, np.ndarray]:
    """Alpha of the non-learned references: FBM maximum likelihood and the TAMSD log-log fit."""
    out = {}
    try:
        from ..motion import MODELS

        out["fbm_mle"] = MODELS["fbm"].fit(X, 1.0)["alpha"].to_numpy()
    except Exception:  # noqa: BLE001 - a reference that is not available is left out
        pass
    try:
        from ..motion.msd import fit_tamsd_alpha

        res = fit_tamsd_alpha(X, 1.0)
        out["tamsd_fit"] = np.asarray(
            res["alpha"] if isinstance(res, pd.DataFrame) else res, dtype=float
        )
    except Exception:  # noqa: BLE001
        pass
    return out


def f1_micro(y_true, y_pred) -> float:
    return float(
        np.mean(np.asarray(y_true) == np.asarray(y_pred))
    )  # micro-F1 = accuracy (single label)


def _learner(rep: str) -> tuple[str, dict]:
    """Representation of a benchmark row and its extra estimator parameters."""
    base, _, option = rep.partition("+")
    if option not in ("", "scale") or (option and base != "wavelet"):
        raise ValueError(f"unknown learner {rep!r}; the only variant is 'wavelet+scale'")
    return base, ({"scale_inputs": True} if option else {})


def run_andi_benchmark(
    dim: int = 2,
    length: int = 100,
    train_sizes: tuple[int, ...] = (1000,),
    seeds: int = 1,
    representations: tuple[str, ...] = ("wavelet", "features", "trajectory"),
    n_test: int = 1000,
    andi_file: Path | None = None,
    estimator_params: dict[str, dict] | None = None,
    n_threads: int | None = None,
    mix: str = "andi-datasets",
    verbose: bool = False,
    log=print,
    tasks: tuple[str, ...] = ("alpha", "model"),
) -> dict:
    """Learning curves: MAE of alpha and micro-F1 of the model versus training-set size.

    As in the AnDi challenge, alpha (task 1) and the model (task 2) have their own datasets.
    Training tracks come from :func:`sptmotion.datasets.andi` (seed ``1000 + s`` for repeat
    ``s``, class ``mix`` of andi-datasets by default, i.e. what its generator returns); the
    test sets are a held-out seed of the same generator (``heldout``, seed 999) and, when
    ``andi_file`` is given, an ``.npz`` with ``X_alpha``, ``alpha``, ``X_model``, ``model``
    made by andi-datasets (``andi_datasets``). FBM-MLE and TAMSD-fit alpha references are
    scored on the alpha test sets. A representation ``"wavelet+scale"`` is the wavelet learner
    with ``scale_inputs=True`` (each coordinate's log step scale as a side input).

    Returns
    -------
    dict with ``settings``, ``rows`` (one per representation, size, repeat, test set) and
    ``references``.
    """
    from ..datasets import andi
    from ..learn import AlphaRegressor, ModelClassifier

    estimator_params = estimator_params or {}
    for rep in representations:
        _learner(rep)  # refuse an unknown learner before any work
    tests: dict[str, dict] = {}
    ha = andi(n_test, length, dim=dim, task="alpha", rng=999, mix=mix)
    hm = andi(n_test, length, dim=dim, task="model", rng=998, mix=mix)
    tests["heldout"] = {
        "alpha": (np.asarray(ha.X), np.asarray(ha.alpha, float)),
        "model": (np.asarray(hm.X), np.asarray(hm.model).astype(str)),
    }
    if andi_file is not None:
        with np.load(andi_file, allow_pickle=False) as f:
            missing = {"X_alpha", "alpha", "X_model", "model"} - set(f.files)
            if missing:
                raise ValueError(
                    f"--andi-file {andi_file} lacks the array(s) {', '.join(sorted(missing))}"
                )
            tests["andi_datasets"] = {
                "alpha": (f["X_alpha"][:n_test], f["alpha"][:n_test]),
                "model": (f["X_model"][:n_test], f["model"][:n_test].astype(str)),
            }
    refs = []
    for tname, t in tests.items():
        Xt, at = t["alpha"]
        for ref, a in reference_alpha(Xt).items():
            ok = np.isfinite(a)
            refs.append(
                {
                    "test": tname,
                    "method": ref,
                    "mae": float(np.mean(np.abs(a[ok] - at[ok]))),
                    "n_failed": int((~ok).sum()),
                }
            )
            log(f"[ref] {tname:14s} {ref:10s} MAE {refs[-1]['mae']:.3f}")
    rows = []
    for size in train_sizes:
        for s in range(seeds):
            da = andi(size, length, dim=dim, task="alpha", rng=1000 + s, mix=mix)
            dm = andi(size, length, dim=dim, task="model", rng=2000 + s, mix=mix)
            for rep in representations:
                base, option = _learner(rep)
                params = {
                    "n_threads": n_threads,
                    "verbose": verbose,
                    **option,
                    **estimator_params.get(rep, {}),
                }
                reg = clf = None
                t_reg = t_clf = float("nan")
                if "alpha" in tasks:
                    t0 = time.time()
                    reg = AlphaRegressor(base, random_state=s, **params).fit(
                        np.asarray(da.X), np.asarray(da.alpha, float)
                    )
                    t_reg = time.time() - t0
                if "model" in tasks:
                    t0 = time.time()
                    clf = ModelClassifier(base, random_state=s, **params).fit(
                        np.asarray(dm.X), np.asarray(dm.model)
                    )
                    t_clf = time.time() - t0
                for tname, t in tests.items():
                    Xa, at = t["alpha"]
                    Xm, mt = t["model"]
                    row = {
                        "representation": rep,
                        "train_size": int(size),
                        "repeat": s,
                        "test": tname,
                        "mae": float("nan"),
                        "f1_micro": float("nan"),
                        "z_rms": float("nan"),
                        "fit_s_alpha": t_reg,
                        "fit_s_model": t_clf,
                    }
                    if reg is not None:
                        a_hat, a_std = reg.predict(Xa, return_std=True)
                        row["mae"] = float(np.mean(np.abs(a_hat - at)))
                        row["z_rms"] = float(np.sqrt(np.mean(((a_hat - at) / a_std) ** 2)))
                    if clf is not None:
                        row["f1_micro"] = f1_micro(mt, clf.predict(Xm))
                    rows.append(row)
                    log(
                        f"[{rep:10s}] n={size:6d} rep={s} {tname:14s} MAE {row['mae']:.3f} "
                        f"F1 {row['f1_micro']:.3f} rms-z {row['z_rms']:.2f} (fit {t_reg:.0f}+{t_clf:.0f} s)"
                    )
    settings = {
        "dim": dim,
        "length": length,
        "train_sizes": list(train_sizes),
        "seeds": seeds,
        "n_test": n_test,
        "mix": mix,
        "andi_file": str(andi_file) if andi_file else None,
        "estimator_params": estimator_params,
    }
    return {"settings": settings, "rows": rows, "references": refs}


def andi_report(result: dict, md_path: Path, png_path: Path | None = None, title: str = "") -> None:
    """Markdown table (mean +- std over repeats) and learning-curve plot of :func:`run_andi_benchmark`."""
    from .._io import atomic_path

    df = pd.DataFrame(result["rows"])
    lines = [f"# {title or 'AnDi learning curves'}", ""]
    st = result["settings"]
    lines.append(
        f"{st['dim']}D tracks of {st['length']} points; {st['seeds']} repeat(s) per training size; "
        f"test sets of {st['n_test']} tracks. MAE of alpha (lower is better), micro-F1 of the "
        "model (higher is better); mean +- std over repeats."
    )
    lines.append("")
    if len(df):
        g = df.groupby(["test", "representation", "train_size"])
        agg = g.agg(
            mae=("mae", "mean"),
            mae_sd=("mae", "std"),
            f1=("f1_micro", "mean"),
            f1_sd=("f1_micro", "std"),
            z=("z_rms", "mean"),
            t_a=("fit_s_alpha", "mean"),
            t_m=("fit_s_model", "mean"),
        ).reset_index()
        lines.append(
            "| test set | representation | train size | alpha MAE | model micro-F1 | rms z of alpha | fit time alpha+model (s) |"
        )
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for _, r in agg.iterrows():
            sd = lambda v: "" if not np.isfinite(v) else f" +- {v:.3f}"  # noqa: E731
            lines.append(
                f"| {r['test']} | {r['representation']} | {r['train_size']} | {r['mae']:.3f}{sd(r['mae_sd'])} | "
                f"{r['f1']:.3f}{sd(r['f1_sd'])} | {r['z']:.2f} | {r['t_a']:.0f}+{r['t_m']:.0f} |"
            )
    if result["references"]:
        lines += [
            "",
            "Non-learned alpha references on the same test sets:",
            "",
            "| test set | method | alpha MAE |",
            "|---|---|---:|",
        ]
        for r in result["references"]:
            lines.append(f"| {r['test']} | {r['method']} | {r['mae']:.3f} |")
    with atomic_path(md_path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
    if png_path is not None and len(df):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        cols = ("mae", "f1_micro")
        has = [bool(np.isfinite(df[c]).any()) for c in cols]
        for (test, rep), d in df.groupby(["test", "representation"]):
            m = d.groupby("train_size")[list(cols)].mean()
            ls = "-" if test == "andi_datasets" else "--"
            for ax, c in zip(axes, cols, strict=True):
                if np.isfinite(m[c]).any():
                    ax.plot(m.index, m[c], ls, marker="o", label=f"{rep} ({test})")
        if has[0]:
            for r in result["references"]:
                axes[0].axhline(
                    r["mae"], color="gray", lw=0.8, ls=":" if r["method"] == "tamsd_fit" else "-."
                )
        for ax, lab, ok in zip(axes, ("alpha MAE", "model micro-F1"), has, strict=True):
            if ok:
                ax.set_xscale("log")
            else:  # a run of the other task only
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel("training tracks")
            ax.set_ylabel(lab)
            ax.grid(alpha=0.3)
        axes[1 if has[1] else 0].legend(fontsize=7)
        fig.tight_layout()
        with atomic_path(png_path) as tmp:
            fig.savefig(tmp, dpi=120)
        plt.close(fig)


def write_andi_results(result: dict, stem: Path) -> None:
    """Write a :func:`run_andi_benchmark` result as ``stem.json``, ``stem.md`` and ``stem.png``."""
    from .._io import atomic_path

    stem = Path(stem)
    with atomic_path(stem.with_suffix(".json")) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=1))
    andi_report(result, stem.with_suffix(".md"), stem.with_suffix(".png"))
