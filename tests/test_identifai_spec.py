"""identifAI's spec as data: it loads, names every rule its users use, records the docs' contradictions, and
invents nothing the docs do not document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis

from imgconf import emulator, specs
from imgconf.vendors import identifai

ROOT = Path(__file__).resolve().parents[1]
SPEC = specs.load(specs.spec_path("identifai.yaml"))


def used_rules() -> dict[str, set[str]]:
    """Every rule id the schemas, checks, drifts, suites and vendor module name, by where it is named."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "schemas" / "identifai").glob("*.json"):
        found[path.name] = set(re.findall(r'"x-rule":\s*"([^"]+)"', path.read_text()))
    found["x-check-rules"] = set(SPEC.check_rules.values())
    found["drifts"] = {rule for drift in emulator.get("identifai").drifts for rule in drift.breaks}
    for path in [*(ROOT / "suites" / "identifai").glob("*.py"), ROOT / "src/imgconf/vendors/identifai.py"]:
        text = path.read_text()
        found[path.name] = set(re.findall(r'(?:rule|violated)\(\s*"(identifai\.[a-z0-9.-]+)"', text))
    return found


def test_the_spec_loads_and_declares_its_vendor() -> None:
    assert SPEC.vendor == "identifai"
    assert SPEC.raw["info"]["x-latency-budget-s"] > 0
    assert len(SPEC.operations) == 22
    loaded = schemathesis.openapi.from_path(str(SPEC.path))
    assert loaded.statistic.operations.total == 22 and loaded.statistic.transitions.total > 0


@pytest.mark.parametrize("where", sorted(used_rules()))
def test_every_rule_used_is_defined_with_a_basis(where: str) -> None:
    undefined = used_rules()[where] - set(SPEC.rules)
    assert not undefined, f"{where} names rules the spec does not define: {sorted(undefined)}"
    for rule in used_rules()[where]:
        assert SPEC.rules[rule].basis in ("documented", "assumption", "errata"), rule


def test_every_rule_is_used_and_every_assumption_named_exists() -> None:
    used = set().union(*used_rules().values())
    assert set(SPEC.rules) <= used, f"rules nothing checks: {sorted(set(SPEC.rules) - used)}"
    text = SPEC.path.read_text() + "".join(path.read_text() for path in (ROOT / "schemas" / "identifai").glob("*"))
    named = set(re.findall(r"x-assumption:? (identifai-[a-z0-9-]+)", text))
    named |= set(re.findall(r"x-assumption (identifai-[a-z0-9-]+)", text))
    assert named <= set(SPEC.assumptions), f"assumptions named but not written: {sorted(named - set(SPEC.assumptions))}"


@pytest.mark.parametrize(
    ("erratum", "says"),
    [
        ("identifai-key-frames-method", "iframe"),
        ("identifai-path-hash", "{hash}"),
        ("identifai-audio-chunks", "details: {clips"),
        ("identifai-user-routes", "DELETE /api/user"),
    ],
)
def test_the_docs_contradictions_are_recorded(erratum: str, says: str) -> None:
    entry = next((item for item in SPEC.errata if item["id"] == erratum), None)
    assert entry is not None, f"x-errata has no {erratum}"
    assert says in entry["docs-say"] and entry["spec-follows"]


def test_the_undocumented_user_routes_are_not_invented() -> None:
    assert not [operation for operation in SPEC.operations if operation.path == "/api/user"]


def test_mutating_operations_and_rate_limits_are_declared() -> None:
    labels = {operation.label for operation in SPEC.operations}
    assert set(identifai.VENDOR.mutating_operations) <= labels
    limits = {(limit.requests, limit.seconds, limit.methods) for limit in identifai.VENDOR.rate_limits}
    assert limits == {(2, 1.0, ("GET",)), (60, 60.0, ("GET",)), (1, 1.0, ("POST",)), (30, 60.0, ("POST",))}


def test_every_drift_is_catalogued_with_rules_of_this_spec() -> None:
    drifts = emulator.get("identifai").drifts
    assert len(drifts) >= 9 and len({drift.category for drift in drifts}) == 10
    for drift in drifts:
        assert drift.name.startswith("identifai.") and drift.imitates and set(drift.breaks) <= set(SPEC.rules)
