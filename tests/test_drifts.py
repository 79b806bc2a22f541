"""The drift catalogue itself, and the faithful emulator run over real HTTP, vendor by vendor.

The selftest over the catalogue (every drift caught, no false positive) runs per vendor, in
tests/test_selftest_<vendor>.py, so that both xdist workers share it."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from imgconf import emulator, vendors

DRIFTS = emulator.catalogue()


def test_the_catalogue_covers_every_category_for_every_vendor():
    by_vendor: dict[str, set[str]] = {}
    for drift in DRIFTS:
        by_vendor.setdefault(drift.vendor, set()).add(str(drift.category))
    assert len(DRIFTS) >= 25 or len(by_vendor) < 4
    for vendor, categories in by_vendor.items():
        # "state machine broken" applies to every vendor here: each emulator keeps state (jobs, quota, tokens,
        # or a deterministic model); every other category applies to every HTTP JSON API.
        missing = {str(category) for category in emulator.Category} - categories
        assert not missing, f"{vendor} has no drift for {sorted(missing)}"


@pytest.mark.parametrize("vendor", sorted(vendors.all_vendors()))
def test_the_faithful_emulator_is_conformant_over_real_http(cli, vendor):
    result = cli("run", "--vendor", vendor, "--target", "emulator-http", "-q", "--no-history")
    assert result.code == 0, result.output
    report = result.report()
    assert report["state"] == "conformant" and report["findings"] == []
    summary = next(item for item in report["vendors"] if item["id"] == vendor)
    assert summary["score"] == 1.0
    assert summary["tests"]["passed"] > 0 and summary["tests"]["failed"] == 0


@pytest.mark.parametrize("vendor", sorted(emulator.all_emulators()))
def test_one_vendors_emulator_is_had_without_importing_the_others(vendor):
    """A run of one vendor builds its emulator alone; the others' modules (and what they import) stay unread."""
    others = sorted(emulator.all_emulators())
    code = (
        "import sys; from imgconf import emulator; "
        f"print(emulator.get({vendor!r}).vendor, [v for v in {others!r} if f'imgconf.emulator.{{v}}' in sys.modules])"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(
        " ", 1
    )
    assert shown[0] == vendor
    assert ast.literal_eval(shown[1]) == [vendor]
    assert emulator.get(vendor) == emulator.all_emulators()[vendor]


def test_the_drift_catalogue_page_is_current(cli):
    from conftest import ROOT

    result = cli("drift", "list", "--markdown")
    assert result.code == 0
    assert (ROOT / "docs" / "drift-catalogue.md").read_text() == result.stdout, (
        "docs/drift-catalogue.md is stale: regenerate it with `imgconf drift list --markdown`"
    )


@pytest.mark.parametrize("vendor", sorted(vendors.all_vendors()))
def test_every_vendor_has_its_selftest_module(vendor):
    from conftest import ROOT

    module = ROOT / "tests" / f"test_selftest_{vendor}.py"
    assert module.exists(), f"add {module.name} (as the other vendors have) so CI selftests {vendor}'s drifts"
    assert f'VENDOR = "{vendor}"' in module.read_text()


def test_the_start_order_names_only_test_files_that_exist():
    """conftest.LONGEST_FIRST orders files by name: a renamed file would silently drop out of it."""
    from conftest import LONGEST_FIRST, ROOT

    missing = [name for name in LONGEST_FIRST if not (ROOT / "tests" / name).is_file()]
    assert not missing, f"conftest.LONGEST_FIRST names files that do not exist: {missing}"
    assert all(f"test_selftest_{vendor}.py" in LONGEST_FIRST for vendor in vendors.all_vendors())


def test_plain_schemathesis_can_be_compared_on_some_vendor():
    """The selftest's plain-schemathesis column exists for at least one vendor (fixed-header credentials)."""
    comparable = [
        vendor.id
        for vendor in vendors.all_vendors().values()
        if vendor.auth.schemathesis_config(dict(emulator.get(vendor.id).default_credentials[0]), "http://127.0.0.1:1")
        is not None
    ]
    assert comparable
