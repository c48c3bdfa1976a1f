"""The house's layout, held by its imports.

Arrows run one way: the command line → gates → reporters, doctor, policy, lint rules
→ analyses → sources (JSONL, PostgreSQL) → records → settings and findings. A module
imports from its own layer or below, never above; the two sources never import each
other; and no module, whatever its layer, is part of an import cycle. Every import
counts, those inside functions and under `TYPE_CHECKING` included: a deferred import
still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cache_gate"
MAX_MODULE_LINES = 500

# Bottom to top. A name stands for the module itself and everything under it; the
# most specific name wins (`cache_gate.rules` alone is the rule catalogue, which
# everything may read; its submodules are the lint rules).
LAYERS: list[list[str]] = [
    ["cache_gate.__init__", "cache_gate.errors", "cache_gate.inputs", "cache_gate.atomic",
     "cache_gate.redaction", "cache_gate.schema_check", "cache_gate.schema_errors",
     "cache_gate.models", "cache_gate.prices", "cache_gate.config", "cache_gate.findings",
     "cache_gate.rules.__init__"],
    ["cache_gate.ledger"],
    ["cache_gate.ledger.jsonl", "cache_gate.ledger.postgres"],
    ["cache_gate.analyses"],
    ["cache_gate.manifest"],
    ["cache_gate.rules"],
    ["cache_gate.policy"],
    ["cache_gate.doctor"],
    ["cache_gate.reporters"],
    ["cache_gate.gates"],
    ["cache_gate.cli", "cache_gate.__main__"],
]
# Rooms on one floor that must not lean on each other.
APART = [("cache_gate.ledger.jsonl", "cache_gate.ledger.postgres")]


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The cache_gate modules `name` imports, wherever in the module the import is."""
    path = MODULES[name]
    package = name.rsplit(".", 1)[0] if not name.endswith(".__init__") else name[:-9]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # `from package import module` imports the module; `from module import name`
            # the module.
            targets = [f"{base}.{alias.name}" if resolve(f"{base}.{alias.name}") in
                       (f"{base}.{alias.name}", f"{base}.{alias.name}.__init__") else base
                       for alias in node.names]
        for target in targets:
            resolved = resolve(target)
            if resolved is not None and resolved != name:
                found.add(resolved)
    return found


def resolve(dotted: str) -> str | None:
    """The module a dotted import name lands in (a package is its __init__)."""
    while dotted.startswith("cache_gate"):
        if dotted in MODULES:
            return dotted
        if f"{dotted}.__init__" in MODULES:
            return f"{dotted}.__init__"
        if "." not in dotted:
            return None
        dotted = dotted.rsplit(".", 1)[0]
    return None


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    best, best_length = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            bare = prefix.removesuffix(".__init__")
            if prefix.endswith(".__init__"):
                matches = name == prefix
            else:
                matches = name == bare or name.startswith(f"{bare}.")
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles() == []


def test_every_module_has_a_layer() -> None:
    assert [name for name in MODULES if layer_of(name) < 0] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_from_its_layer_or_below(name: str) -> None:
    upward = sorted(target for target in GRAPH[name] if layer_of(target) > layer_of(name))
    assert upward == [], f"{name} (layer {layer_of(name)}) reaches up to {upward}"


@pytest.mark.parametrize(("one", "other"), APART)
def test_rooms_kept_apart_do_not_import_each_other(one: str, other: str) -> None:
    def inside(name: str, room: str) -> bool:
        return name == room or name.startswith(f"{room}.")

    crossing = sorted((name, target) for name, targets in GRAPH.items() for target in targets
                      if (inside(name, one) and inside(target, other))
                      or (inside(name, other) and inside(target, one)))
    assert crossing == []


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines())
               for name, path in MODULES.items()}
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_the_checks_can_fail() -> None:
    """The graph and the layers are read, not assumed: a known edge and a known order."""
    assert "cache_gate.gates.__init__" in GRAPH["cache_gate.cli"]
    assert "cache_gate.analyses.kpis" in GRAPH["cache_gate.gates.kpi"]
    assert layer_of("cache_gate.cli") > layer_of("cache_gate.gates.kpi") \
        > layer_of("cache_gate.analyses.kpis") > layer_of("cache_gate.ledger.jsonl.reader") \
        > layer_of("cache_gate.ledger.record") > layer_of("cache_gate.findings")
    assert layer_of("cache_gate.rules.__init__") < layer_of("cache_gate.rules.engine")


def test_every_command_is_one_gate_module_of_one_shape() -> None:
    """A command of the CLI is a module in cache_gate/gates with `run(settings, params)`;
    those `check` runs also say which `inputs` turn them on."""
    import inspect

    from cache_gate import gates
    from cache_gate.cli import cli
    from cache_gate.gates.check import GATES

    assert sorted(cli.commands) == sorted(gates.COMMANDS)
    assert sorted(path.stem for path in (PACKAGE / "gates").glob("[!_]*.py")) \
        == sorted(gates.COMMANDS)
    for name in gates.COMMANDS:
        assert list(inspect.signature(gates.gate(name).run).parameters)[:2] \
            == ["settings", "params"], name
    for name in GATES:
        assert list(inspect.signature(gates.gate(name).inputs).parameters) \
            == ["settings", "params"], name
