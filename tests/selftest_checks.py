"""The suites' sensitivity, as CI measures it: `imgconf selftest --profile smoke --vendor V`, then one test per
drift profile of V (the run against it exits 1 with a finding naming a rule it breaks) and one per faithful seed
(the run is conformant); and the `--thorough` column: each drift served and the suite run at it as a URL target,
where it must be caught too, the faithful emulator conformant there.

One test module per vendor (tests/test_selftest_<vendor>.py) imports these, so that xdist's `--dist loadfile`
hands the four selftests to both workers instead of one worker running all of them; each drift runs with the
same seed as in a selftest of every vendor (its place in the whole catalogue decides it).

The plain-schemathesis column runs where its module says `PLAIN = True` (Altum's). Elsewhere it is the
selftest's costliest part and checks nothing of imgconf's: plain `st run` with its default phases sends
identifAI's spec 1,383 cases a drift, 13 runs of ~20 s, three quarters of that vendor's selftest (measured
177 s of CPU with it, 47 s without); Huawei's 13 runs are most of its selftest too.
"""

from __future__ import annotations

import json

import pytest

from conftest import imgconf
from imgconf import emulator

DRIFTS = emulator.catalogue()
SEEDS = 2


def vendor_drifts(vendor: str) -> list[emulator.Drift]:
    return [drift for drift in DRIFTS if drift.vendor == vendor]


def pytest_generate_tests(metafunc):
    """`drift` is each of the module's vendor's drift profiles, `seed` each faithful seed."""
    if "drift" in metafunc.fixturenames:
        metafunc.parametrize("drift", vendor_drifts(metafunc.module.VENDOR), ids=lambda drift: drift.name)
    if "seed" in metafunc.fixturenames:
        metafunc.parametrize("seed", range(SEEDS))


@pytest.fixture(scope="module")
def selftest(request, tmp_path_factory):
    vendor = request.module.VENDOR
    out = tmp_path_factory.mktemp(f"selftest-{vendor}")
    result = imgconf(
        "selftest",
        "--vendor",
        vendor,
        "--profile",
        "smoke",
        "--seeds",
        str(SEEDS),
        # Two runs at a time: the selftests run beside each other on xdist's workers, so the two cores are busy
        # without more; four at a time (8-16 runs at once) only crowded them. The four files alone, paired
        # (farm-bench, 3 pairs, 2026-12-07): 101.8 s with --workers 2 against 110.9 s with 4, 0.92x.
        "--workers",
        "2",
        "--over-http",
        "--http-mode",
        "thorough",
        *([] if plain(request.module) else ["--no-plain"]),
        out=out,
        timeout=1800,
        cwd=out,
    )
    reports = sorted(out.glob("*-selftest/selftest.json"))
    assert reports, result.output
    data = json.loads(reports[-1].read_text())
    data["exit_code"] = result.code
    data["output"] = result.output
    data["plain"] = plain(request.module)
    return data


def plain(module) -> bool:
    """Whether this vendor's selftest runs the plain-schemathesis column (see the module docstring)."""
    return getattr(module, "PLAIN", False)


def test_every_drift_fails_the_run_naming_a_rule_it_breaks(selftest, drift):
    result = next(item for item in selftest["drifts"] if item["drift"] == drift.name)
    assert result["exit_code"] == 1, result
    assert result["caught"], f"{drift.name} breaks {drift.breaks}; the run named {result['rules_named']}"
    assert set(result["rules_named"]) & set(drift.breaks)
    assert result["caught_by"] and result["requests_to_detection"]


def test_every_drift_is_caught_over_http_by_a_thorough_url_run(selftest, drift):
    result = next(item for item in selftest["drifts"] if item["drift"] == drift.name)
    thorough = result["over_http"]["thorough"]
    assert thorough["caught"], f"{drift.name} over HTTP: {thorough['verdict']}, named {thorough['rules_named']}"


def test_the_faithful_emulator_is_conformant_as_a_thorough_url_target(selftest):
    faithful = selftest["over_http"]["faithful"]
    assert sorted(faithful) == selftest["vendors"]
    for vendor, modes in faithful.items():
        run = modes["thorough"]
        assert run["conformant"], (vendor, run["false_positives"] or run["error"])
        assert run["rules_checked"] and run["rules_checked"] <= run["rules_total"]


def test_the_faithful_emulator_is_conformant_whatever_the_seed(selftest, seed):
    result = next(item for item in selftest["seeds"] if item["seed"] == seed)
    assert result["conformant"], result["false_positives"] or result["error"]


def test_the_selftest_passes_and_compares_with_plain_schemathesis(selftest):
    assert selftest["ok"] and selftest["exit_code"] == 0
    # What the selftest's warm process imports and loads must not leak warnings onto the user's console.
    assert "Warning" not in selftest["output"], selftest["output"][:2000]
    summary = selftest["summary"]
    assert summary["caught"] == summary["drifts"] == len(vendor_drifts(selftest["vendors"][0])) > 0
    assert selftest["vendors"] == [selftest["vendors"][0]]
    if not selftest["plain"]:
        assert not any(item["plain_schemathesis"] for item in selftest["drifts"])
        return
    # Plain `st run` can be given a vendor's credentials only as fixed headers or query parameters (Huawei's
    # as a token fetched from the served emulator, which a drift may break): a drift either has its column or
    # says why not. tests/test_drifts.py checks that some vendor has the column.
    assert summary["plain_schemathesis_applicable"] > 0
    assert all(
        "caught" in item["plain_schemathesis"]
        or (item["plain_schemathesis"].get("applicable") is False and item["plain_schemathesis"]["reason"])
        for item in selftest["drifts"]
    )
