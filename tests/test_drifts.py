"""The suites' sensitivity, as CI measures it: `imgconf selftest --profile smoke` once, then one test per drift
profile (the run against it exits 1 with a finding naming a rule it breaks) and one per faithful seed (the
run is conformant). The faithful emulator is also run over real HTTP, vendor by vendor; and the selftest's
`--thorough` column serves each drift and runs the suite at it as a URL target, where it must be caught too."""

from __future__ import annotations

import json

import pytest

from conftest import imgconf
from imgconf import emulator, vendors

DRIFTS = emulator.catalogue()
SEEDS = 2


@pytest.fixture(scope="session")
def selftest(tmp_path_factory):
    out = tmp_path_factory.mktemp("selftest")
    result = imgconf(
        "selftest",
        "--profile",
        "smoke",
        "--seeds",
        str(SEEDS),
        "--over-http",
        "--http-mode",
        "thorough",
        out=out,
        timeout=1800,
        cwd=out,
    )
    reports = sorted(out.glob("*-selftest/selftest.json"))
    assert reports, result.output
    data = json.loads(reports[-1].read_text())
    data["exit_code"] = result.code
    return data


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda drift: drift.name)
def test_every_drift_fails_the_run_naming_a_rule_it_breaks(selftest, drift):
    result = next(item for item in selftest["drifts"] if item["drift"] == drift.name)
    assert result["exit_code"] == 1, result
    assert result["caught"], f"{drift.name} breaks {drift.breaks}; the run named {result['rules_named']}"
    assert set(result["rules_named"]) & set(drift.breaks)
    assert result["caught_by"] and result["requests_to_detection"]


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda drift: drift.name)
def test_every_drift_is_caught_over_http_by_a_thorough_url_run(selftest, drift):
    result = next(item for item in selftest["drifts"] if item["drift"] == drift.name)
    thorough = result["over_http"]["thorough"]
    assert thorough["caught"], f"{drift.name} over HTTP: {thorough['verdict']}, named {thorough['rules_named']}"


def test_the_faithful_emulator_is_conformant_as_a_thorough_url_target(selftest):
    faithful = selftest["over_http"]["faithful"]
    assert sorted(faithful) == sorted(vendors.all_vendors())
    for vendor, modes in faithful.items():
        run = modes["thorough"]
        assert run["conformant"], (vendor, run["false_positives"] or run["error"])
        assert run["rules_checked"] and run["rules_checked"] <= run["rules_total"]


@pytest.mark.parametrize("seed", range(SEEDS))
def test_the_faithful_emulator_is_conformant_whatever_the_seed(selftest, seed):
    result = next(item for item in selftest["seeds"] if item["seed"] == seed)
    assert result["conformant"], result["false_positives"] or result["error"]


def test_the_selftest_passes_and_compares_with_plain_schemathesis(selftest):
    assert selftest["ok"] and selftest["exit_code"] == 0
    summary = selftest["summary"]
    assert summary["caught"] == summary["drifts"] == len(DRIFTS)
    assert summary["plain_schemathesis_applicable"] > 0
    assert all(
        "caught" in item["plain_schemathesis"] or not item["plain_schemathesis"].get("applicable")
        for item in selftest["drifts"]
    )


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


def test_the_drift_catalogue_page_is_current(cli):
    from conftest import ROOT

    result = cli("drift", "list", "--markdown")
    assert result.code == 0
    assert (ROOT / "docs" / "drift-catalogue.md").read_text() == result.stdout, (
        "docs/drift-catalogue.md is stale: regenerate it with `imgconf drift list --markdown`"
    )
