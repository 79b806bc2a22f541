"""The suites' sensitivity, one drift at a time: each profile must fail the run naming a rule it breaks,
and the faithful emulator must pass, in-process and over real HTTP."""

from __future__ import annotations

import pytest

from imgconf import emulator, vendors

DRIFTS = emulator.catalogue()


@pytest.mark.parametrize("drift", DRIFTS, ids=lambda drift: drift.name)
def test_every_drift_fails_the_run_naming_a_rule_it_breaks(cli, drift):
    result = cli("run", "--vendor", drift.vendor, "--drift", drift.name, "-q")
    assert result.code == 1, result.output
    report = result.report()
    assert report["verdict"] == "non-conformant"
    assert report["target"]["drifts"] == [drift.name]
    rules = {finding["rule"]["id"] for finding in report["findings"]}
    assert rules & set(drift.breaks), f"{drift.name} breaks {drift.breaks}; findings named {sorted(rules)}"


@pytest.mark.parametrize("vendor", sorted(vendors.all_vendors()))
@pytest.mark.parametrize("target", ["emulator", "emulator-http"])
def test_the_faithful_emulator_is_conformant(cli, vendor, target):
    result = cli("run", "--vendor", vendor, "--target", target, "-q")
    assert result.code == 0, result.output
    report = result.report()
    assert report["verdict"] == "conformant"
    assert report["findings"] == []
    summary = next(item for item in report["vendors"] if item["id"] == vendor)
    assert summary["score"] == 1.0
    assert summary["tests"]["passed"] > 0 and summary["tests"]["failed"] == 0
    assert report["requests"] > 20
