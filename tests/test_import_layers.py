"""The import graph of ``src/il2sim``: no circles, no layer importing a layer above it.

Every ``import`` and ``from ... import`` in every module counts, wherever it is: at the top,
inside a function (lazy imports), or under ``if TYPE_CHECKING:`` (a type from a higher layer in
a lower layer's signature is a dependency too).  ``from pkg import name`` is an edge to the
module ``pkg.name`` when that is a module, else to ``pkg`` (its ``__init__``).

Layers (DEVELOPERS.md, "Architecture and style"), low to high; the units of one row sit
beside each other and may not import one another.  A unit is a top-level package or module of
``il2sim`` (``il2sim/<unit>/`` or ``il2sim/<unit>.py``); ``<root>`` is ``il2sim/__init__.py``,
the public API, above the library and below its clients (CLI, server).  **To add a package**, put its name in the row where it
belongs (or a new row between two others); a unit missing from the table fails the test, so a
new package cannot slip in unplaced.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "il2sim"

#: The layer table, low -> high.  Units in the same row are beside each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "_version", "_interrupt", "_lazy"),  # foundations (_interrupt: the Ctrl-C
    # contract; _lazy: the PEP 562 __getattr__ of the packages that re-export lazily)
    ("_path_checks",),  # path and address checks (checks re-exports them)
    ("checks", "limits"),  # the validation boundary: one checker per kind, resource limits
    ("option_rules",),  # the rule of each named option (CLI and server), from the checkers
    ("_files", "_json", "_dask", "_figures", "seed", "baseline"),  # seed: published facts;
    # baseline: % change; _figures: matplotlib Agg, PNG bytes, the embedded figure of a report
    ("units",),
    ("regimen",),
    ("model",),  # the declaration and its parameters
    ("population",),
    ("simulate",),
    ("toxicity",),
    ("designs",),  # and no model dependency: see INDEPENDENT
    ("validate",),  # the study library (issue 11): its training rows are what calibrate fits
    ("calibrate",),  # model + toxicity fits (the toxicity fit uses designs)
    ("trial",),
    ("cdisc",),
    ("io",),  # beside: SBML export (model), NONMEM files (read through cdisc)
    ("fit",),  # NLME estimation: reads SDTM/NONMEM files (io), simulates the trial's sampling
    ("analysis",),
    ("report", "sweep"),
    ("optimise",),  # regimen search on the sweep machinery, its report figure
    ("reproduce",),  # the main job: a trial in silico, its analysis and its report
    ("<root>",),  # the public API (il2sim/__init__.py) re-exports the library ...
    ("cli", "serve"),  # ... whose clients are the CLI and the server
)

#: unit -> units it must not import even though they are below it.
INDEPENDENT: dict[str, tuple[str, ...]] = {
    "designs": ("model", "population", "simulate", "toxicity"),
}

RANK: dict[str, int] = {u: i for i, row in enumerate(LAYERS) for u in row}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package ``__init__``)."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _targets(module: str, is_pkg: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Modules an import statement in ``module`` depends on (il2sim modules only)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:  # relative import
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        pkg = ".".join([*base, *([node.module] if node.module else [])])
    else:
        pkg = node.module or ""
    return [f"{pkg}.{a.name}" if f"{pkg}.{a.name}" in MODULES else pkg for a in node.names]


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported il2sim module: line of the first such import}."""
    edges: dict[str, dict[str, int]] = defaultdict(dict)
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _targets(module, is_pkg, node):
                if (target == "il2sim" or target.startswith("il2sim.")) and target != module:
                    edges[module].setdefault(target, node.lineno)
    return edges


GRAPH = _graph()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<root>"


def _cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(MODULES):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, {})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, todo = work[-1]
            if todo:
                w = todo.pop()
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, sorted(edges.get(w, {}))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_every_unit_is_placed_in_the_layer_table() -> None:
    units = {_unit(m) for m in MODULES}
    missing = sorted(units - set(RANK))
    assert not missing, f"add these packages/modules to LAYERS in {Path(__file__).name}: {missing}"
    assert len(RANK) == sum(len(row) for row in LAYERS), "a unit is listed twice in LAYERS"


def test_no_layer_imports_a_layer_above_or_beside_it() -> None:
    bad = []
    for module, targets in sorted(GRAPH.items()):
        a = _unit(module)
        for target, line in sorted(targets.items()):
            b = _unit(target)
            if a == b or a not in RANK or b not in RANK:
                continue
            if RANK[b] >= RANK[a] or b in INDEPENDENT.get(a, ()):
                where = "above" if RANK[b] > RANK[a] else "beside/forbidden for"
                bad.append(f"{module}:{line} imports {target} ({b} is {where} {a})")
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_no_import_circle_between_modules() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_import_circle_between_packages() -> None:
    unit_edges: dict[str, dict[str, int]] = defaultdict(dict)
    for module, targets in GRAPH.items():
        for target in targets:
            if _unit(module) != _unit(target):
                unit_edges[_unit(module)][_unit(target)] = 0
    seen: set[str] = set()
    path: list[str] = []

    def visit(u: str) -> list[str] | None:
        if u in path:
            return [*path[path.index(u) :], u]
        if u in seen:
            return None
        seen.add(u)
        path.append(u)
        for v in sorted(unit_edges.get(u, {})):
            found = visit(v)
            if found:
                return found
        path.pop()
        return None

    for u in sorted(unit_edges):
        circle = visit(u)
        assert circle is None, "package circle: " + " -> ".join(circle)


# --- the checker itself ------------------------------------------------------------------------
def test_the_walker_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    """The edges of this repository's known lazy imports are found (a function-level import in
    the CLI, a TYPE_CHECKING import in the root package)."""
    assert "il2sim.toxicity" in GRAPH["il2sim.cli.simulate"]  # inside simulate_cmd
    assert "il2sim.designs.boin" in GRAPH["il2sim"]  # under TYPE_CHECKING
    assert "il2sim.units" in GRAPH["il2sim.population"]  # ``from il2sim import units``


def test_the_cycle_finder_on_a_small_graph() -> None:
    g = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    saved = dict(MODULES)
    try:
        MODULES.update({k: (Path(k), False) for k in "abcd"})
        assert [sorted(c) for c in _cycles(g)] == [["a", "b", "c"]]
        assert _cycles({"a": {"b": 1}, "b": {}}) == []
    finally:
        MODULES.clear()
        MODULES.update(saved)


@pytest.mark.parametrize("unit", ["cdisc", "serve", "fit"])
def test_the_parallel_packages_have_a_place(unit: str) -> None:
    """Packages being created in parallel (issue 12's ``cdisc``; ``serve``; ``fit``) are placed."""
    assert unit in RANK
    assert RANK["trial"] < RANK["cdisc"] < RANK["analysis"]
