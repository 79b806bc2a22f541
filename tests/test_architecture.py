"""The invariants of the layout, checked: layers import downward only, the suites stay black-box, and a vendor
lives in its five pieces only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT
from imgconf import emulator, vendors

VENDOR_IDS = sorted(vendors.all_vendors())


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "suites").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_suites_never_import_the_emulator(path):
    offending = {name for name in imports(path) if name == "imgconf.emulator" or name.startswith("imgconf.emulator.")}
    assert not offending, f"{path} imports {offending}: a suite that imports the emulator does not test the vendor"


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_a_vendor_is_its_five_pieces(vendor):
    spec_files = vendors.get(vendor).spec_files
    assert all((ROOT / "specs" / name).exists() for name in spec_files)
    assert (ROOT / "schemas" / vendor).is_dir()
    assert emulator.get(vendor).drifts
    for piece in ("conftest.py", "test_contract.py", "test_examples.py"):
        assert (ROOT / "suites" / vendor / piece).exists(), f"suites/{vendor}/{piece} is missing"
    assert list((ROOT / "suites" / vendor).glob("test_behaviour*.py")), f"suites/{vendor} has no behaviour tests"


def own_pieces(vendor: str) -> list[Path]:
    src = ROOT / "src" / "imgconf"
    return [
        src / "vendors" / vendor,
        src / "vendors" / f"{vendor}.py",
        src / "emulator" / vendor,
        src / "emulator" / f"{vendor}.py",
        ROOT / "suites" / vendor,
        ROOT / "schemas" / vendor,
    ]


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_shared_code_names_no_vendor(vendor):
    """Nothing outside a vendor's own pieces imports its modules: adding a vendor changes nothing shared."""
    shared = [
        path
        for path in (ROOT / "src" / "imgconf").rglob("*.py")
        if not any(path == piece or piece in path.parents for piece in own_pieces(vendor))
    ]
    for path in shared:
        names = imports(path)
        offending = {name for name in names if name.endswith((f".{vendor}", f".{vendor}.app")) or f".{vendor}." in name}
        assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


# The layers, bottom to top. A module may import its own layer and those below, never one above; a cycle
# would mean a piece sits in the wrong layer. `imgconf.vendors` (the registry) and `imgconf.vendors.base` are
# vendor *facts* low down; each vendor's own module (its checks and suite helpers) stands on the testing layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("imgconf", "imgconf.errors", "imgconf.clock", "imgconf.redact", "imgconf.images", "imgconf.paths")),
    ("wire", ("imgconf.wire",)),
    ("specs", ("imgconf.specs", "imgconf.checks")),
    ("vendor facts", ("imgconf.vendors", "imgconf.vendors.base")),
    ("report", ("imgconf.report",)),
    ("emulator", ("imgconf.emulator",)),
    ("targets", ("imgconf.targets",)),
    ("testing", ("imgconf.testing",)),
    ("vendor suites", tuple(f"imgconf.vendors.{vendor}" for vendor in VENDOR_IDS)),
    ("runner", ("imgconf.runner", "imgconf.proxy")),
    ("cli", ("imgconf.cli", "imgconf.docs", "imgconf.__main__")),
]


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT / "src").with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The layer of a module: the longest prefix that names one (a package and everything in it)."""
    best, best_length = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact = prefix in ("imgconf", "imgconf.vendors")
            matches = module == prefix or (not exact and module.startswith(prefix + "."))
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


SOURCES = sorted((ROOT / "src" / "imgconf").rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "src")))
def test_layers_import_downward_only(path):
    own = layer_of(module_name(path))
    for name in imports(path):
        if name == "imgconf" or name.startswith("imgconf."):
            target = layer_of(name)
            assert target <= own, (
                f"{module_name(path)} ({LAYERS[own][0]}) imports {name} ({LAYERS[target][0]}), a layer above it"
            )


def _function_level_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("imgconf"):
                    found.append(f"{node.name}: from {inner.module}")
                elif isinstance(inner, ast.Import):
                    found += [f"{node.name}: import {a.name}" for a in inner.names if a.name.startswith("imgconf")]
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "src")))
def test_no_function_level_import_hides_a_cycle(path):
    found = _function_level_imports(ast.parse(path.read_text()))
    assert not found, f"{path.relative_to(ROOT)} imports inside functions: {found}"


def test_the_layer_test_catches_an_upward_import(tmp_path):
    """The check itself: a ground-layer module that imports the runner is reported."""
    assert layer_of("imgconf.errors") < layer_of("imgconf.runner.run")
    assert layer_of("imgconf.vendors") < layer_of("imgconf.testing.client") < layer_of("imgconf.vendors.altum")
    assert _function_level_imports(ast.parse("def f():\n    from imgconf.runner import run\n"))


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the imgconf modules it imports, `TYPE_CHECKING` imports included: a type-only import is a cycle
    the interpreter tolerates, but still two pieces that each need the other."""
    graph: dict[str, set[str]] = {}
    for module, text in sources.items():
        edges = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from package import module` imports the module; `from module import name`, the module.
                edges |= {
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in sources else node.module
                    for a in node.names
                }
        graph[module] = {name for name in edges if name in sources and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                found.append(sorted([module, *group]))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def test_no_two_modules_import_each_other():
    """Not even through a `TYPE_CHECKING` import or a third module: a cycle means a piece is in the wrong place
    (the page model moved out of docs/reference for docs/snippets; identifAI's partner routes take a protocol)."""
    sources = {module_name(path): path.read_text() for path in SOURCES}
    assert cycles(import_graph(sources)) == []


def test_the_cycle_test_catches_a_type_only_cycle():
    sources = {
        "imgconf.a": "from imgconf import b\n",
        "imgconf.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from imgconf.c import Thing\n",
        "imgconf.c": "from imgconf.a import x\n",
        "imgconf.d": "from imgconf import a\n",
    }
    assert cycles(import_graph(sources)) == [["imgconf.a", "imgconf.b", "imgconf.c"]]


TARGET_COMPARISON = re.compile(
    r"target\.(kind|name)\s*(==|!=|in\b)|\b(kind|name)\s*(==|!=|in)\s*\(?\s*\"(emulator|emulator-http|live|url|replay)\""
)


def test_no_file_compares_target_kinds():
    """Kinds of target differ by the Target classes' properties, never by comparing their names."""
    assert TARGET_COMPARISON.search('if options.target.kind in ("live", "url"):')
    offenders = [
        str(path.relative_to(ROOT))
        for path in [*SOURCES, *sorted((ROOT / "suites").rglob("*.py"))]
        if TARGET_COMPARISON.search(path.read_text()) and "targets" not in path.parts
    ]
    assert not offenders, offenders
