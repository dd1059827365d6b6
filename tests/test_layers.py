"""simdask imports only downward (DESIGN.md, "Components and where they live").

Every module under ``simdask/`` is parsed with ``ast`` (nothing is imported)
and each of its imports of simdask is checked against the layer order:

    errors, env, config, wire      the bottom: they import no other part
    _html, _progress               display helpers (HTML reprs, progress bars), at the bottom too
    transport                      connections, reply readers, cluster routing
    locality                       node names; which node a store's servers run on
    protocol, store                what clients do on the store; starting stores
    client                         the Python client facade
    bridge, inference, training,   built on the client
    experiment, cli, dashboard, demo
    simdask (the package itself)   re-exports everything

A part may import its own layer's siblings and any layer below, never one
above. Imports inside functions count as much as top-level ones (they only
move the cost to the first call), and so do ``TYPE_CHECKING`` imports: no
module below needs one today, and a type that has to come from above is a
sign that it lives in the wrong layer. The parts must also import each
other without a cycle, even within one layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "simdask"

#: Each top-level part of simdask (module or sub-package) and its layer; higher imports lower.
LAYERS: dict[str, int] = {
    "errors": 0,
    "env": 0,
    "config": 0,
    "wire": 0,
    "_html": 0,  # HTML for _repr_html_ (store, client, inference, experiment, runs)
    "_progress": 0,  # tqdm progress bars
    "transport": 1,
    "locality": 1,  # node names, and which node a store's servers say they run on (asks them through transport)
    "protocol": 2,
    "store": 2,
    "client": 3,
    "bridge": 4,
    "inference": 4,
    "training": 4,
    "experiment": 4,
    "cli": 4,
    "dashboard": 4,
    "demo": 4,
    "simdask": 5,  # the package's __init__ (and __main__): the public face over everything
    "__main__": 5,
}
#: Parts of the bottom layer import nothing of simdask but each other's names listed here.
BOTTOM_IMPORTS: dict[str, set[str]] = {
    "errors": set(),
    "env": set(),
    "config": set(),
    "wire": {"errors"},
    "_html": set(),
    "_progress": {"config"},
}


def module_name(path: Path) -> str:
    """``simdask.protocol.tensors`` for ``simdask/protocol/tensors.py``; packages by their ``__init__``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def part_of(module: str) -> str:
    """The top-level part a module belongs to (``protocol`` for ``simdask.protocol.tensors``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def resolve(importer: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The simdask modules an import statement names (absolute or relative)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "simdask"]
    if node.level:
        package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
        base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    if target.split(".")[0] != "simdask":
        return []
    # ``from .. import wire`` names a module; ``from ..protocol import tensors`` a module or a name in it
    named = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
    return named or [target]


def imports_of(module: str) -> list[tuple[int, str]]:
    """(line, imported module) for every simdask import of ``module``, wherever it stands."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found += [(node.lineno, target) for target in resolve(module, node)]
    return found


def test_every_part_has_a_layer():
    unknown = sorted({part_of(m) for m in MODULES} - set(LAYERS))
    assert not unknown, f"give these parts of simdask a layer in tests/test_layers.py (and DESIGN.md): {unknown}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_only_go_down(module):
    own = part_of(module)
    upward = [
        f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target} "
        f"({part_of(target)}, layer {LAYERS[part_of(target)]} > {own}, layer {LAYERS[own]})"
        for line, target in imports_of(module)
        if LAYERS.get(part_of(target), 0) > LAYERS[own]
    ]
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if LAYERS.get(part_of(m)) == 0))
def test_the_bottom_imports_almost_nothing(module):
    own = part_of(module)
    extra = {part_of(t) for _, t in imports_of(module)} - BOTTOM_IMPORTS[own] - {own}
    assert not extra, f"{module} imports {sorted(extra)}: the bottom layer stands on nothing"


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {part_of(m): set() for m in MODULES}
    for module in MODULES:
        graph[part_of(module)] |= {part_of(t) for _, t in imports_of(module)} - {part_of(module)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as a path ``[a, b, ..., a]``, or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_cycle_between_parts():
    graph = part_graph()
    graph.pop("simdask", None)  # the package itself re-exports every part: it is no part of a cycle
    cycle = find_cycle(graph)
    assert not cycle, "the parts of simdask import each other in a cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_should():
    """The checks themselves: an upward import and a cycle are found (protocol importing the client)."""
    node = ast.parse("from ..client import Client").body[0]
    assert isinstance(node, ast.ImportFrom)
    target = resolve("simdask.protocol.tensors", node)
    assert target == ["simdask.client"] and LAYERS[part_of(target[0])] > LAYERS["protocol"]
    lazy = ast.parse("def f():\n    from ..bridge.watch import watch\n")
    assert [resolve("simdask.client.client", n) for n in ast.walk(lazy) if isinstance(n, ast.ImportFrom)] == [
        ["simdask.bridge.watch"]
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
