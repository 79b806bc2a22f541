"""The invariants of the layout, checked: the suites stay black-box, and a vendor lives in its five pieces only."""

from __future__ import annotations

import ast
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
