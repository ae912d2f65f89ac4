"""The package's import graph: data flows one way between the layers, no cycles, no private names
across packages.

Layers, lowest first: motion < optics < likelihood, tracking, datasets < represent < learn <
analysis < studies < cli. A module may import its own layer and the layers below it; the
root helpers (``sptmotion._checks``, ``_io``, ``_parallel``) serve every layer. A name with a
leading underscore (or a module whose name has one) is private to its package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sptmotion

ROOT = Path(sptmotion.__file__).resolve().parent
LAYER = {
    "motion": 0,
    "optics": 1,
    "likelihood": 2,
    "tracking": 2,
    "datasets": 2,
    "represent": 3,
    "learn": 4,
    "analysis": 5,
    "studies": 6,
    "cli": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_edges(root: Path = ROOT) -> list[tuple[str, str, str | None, int]]:
    """Every import of a ``sptmotion`` module: (importer, imported module, name or None, line)."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        mod = _module_name(path)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] == "sptmotion":
                    edges += [(mod, target, a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.Import):
                edges += [
                    (mod, a.name, None, node.lineno)
                    for a in node.names
                    if a.name.split(".")[0] == "sptmotion"
                ]
    return edges


def _subpackage(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer_violations(edges) -> list[str]:
    """Imports of a higher layer, and private names or modules imported from another package."""
    out = []
    for importer, target, name, line in edges:
        src, dst = _subpackage(importer), _subpackage(target)
        if src in LAYER and dst in LAYER and LAYER[dst] > LAYER[src]:
            out.append(f"{importer}:{line} imports the higher layer {target}")
        if src == dst:
            continue
        private_module = any(p.startswith("_") for p in target.split(".")[2:])
        private_name = name is not None and name.startswith("_") and not name.startswith("__")
        if private_module or private_name:
            out.append(f"{importer}:{line} imports the private {target}.{name or ''}")
    return out


def module_cycles(edges) -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    modules = {_module_name(p) for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for importer, target, name, _ in edges:
        dst = f"{target}.{name}" if name and f"{target}.{name}" in modules else target
        if dst != importer:
            graph.setdefault(importer, set()).add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_backward_or_private_imports():
    assert layer_violations(import_edges()) == []


def test_no_import_cycles():
    assert module_cycles(import_edges()) == []


@pytest.mark.parametrize(
    "importer, target, name, expected",
    [
        ("sptmotion.motion.gaussian", "sptmotion.analysis.trackset", "TrackSet", "higher layer"),
        ("sptmotion.analysis.movie", "sptmotion.tracking._mcmc_kernels", "sweep", "private"),
        ("sptmotion.datasets.andi_recipe", "sptmotion.motion.jumps", "_unit_vector", "private"),
        ("sptmotion.cli.track", "sptmotion.analysis.movie", "analyze_movie", None),
        ("sptmotion.tracking.bayes", "sptmotion.tracking._mcmc_kernels", "sweep", None),
    ],
)
def test_the_checker_sees_violations(importer, target, name, expected):
    """The checks above are not vacuous: a planted backward or private import is reported."""
    found = layer_violations([(importer, target, name, 1)])
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0]


def test_the_cycle_finder_sees_a_cycle():
    edges = [
        ("sptmotion.learn.estimators", "sptmotion.learn.serialize", "save_estimator", 1),
        ("sptmotion.learn.serialize", "sptmotion.learn.estimators", "AlphaRegressor", 2),
    ]
    assert module_cycles(edges) == [["sptmotion.learn.estimators", "sptmotion.learn.serialize"]]
