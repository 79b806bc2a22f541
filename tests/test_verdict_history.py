"""One run, one verdict, over time: each vendor compared with its own previous run, findings with stable
ids, gates on what is new or documented, a corrupt history one exit code (continued from test_verdict.py).

A file of its own so that xdist (`--dist loadfile`) runs these beside the other verdict tests.
"""

from __future__ import annotations

import json
import re

from junitparser import JUnitXml

from conftest import clean_env, free_port, served

KEY = "SENTINEL-verdict-key-4f2a61"
LIVE = clean_env(ALTUM_API_KEY=KEY)


def test_fail_on_new_compares_each_vendor_with_its_own_previous_run(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--drift", "altum.output-renamed") as urls:
        target = ("--target", urls["altum"])
        env = clean_env(ALTUM_API_KEY=KEY, IMAGERECOGNIZE_API_KEY="any-imagerecognize-key")
        assert cli("run", "--vendor", "altum", *target, "--fail-on", "new", "-q", env=env).code == 1
        # Another vendor, same deployment: a run checked to the end (imagerecognize's suite, not identifAI's,
        # which keeps identifAI's documented rates and so spends ~45 s waiting).
        other = cli("run", "--vendor", "imagerecognize", *target, "-q", env=env)
        assert other.code in (1, 3), other.output
        again = cli("run", "--vendor", "altum", *target, "--fail-on", "new", "-q", env=env)
    assert again.code == 0, again.output
    diff = again.report()["diff"]
    assert diff["new"] == [] and diff["persisting"]


def test_drift_runs_are_experiments_kept_out_of_history(cli):
    assert cli("run", "--vendor", "altum", "-q").code == 0
    drifted = cli("run", "--vendor", "altum", "--drift", "altum.scene2-always", "-q")
    assert drifted.code == 1 and drifted.report()["kind"] == "drift"
    faithful = cli("run", "--vendor", "altum", "-q")
    assert faithful.code == 0
    assert faithful.report()["diff"]["fixed"] == []
    history = cli("history")
    assert "100%" in history.stdout and "%" not in history.stdout.replace("100%", "")


def test_the_same_seed_gives_the_same_findings_the_same_ids(cli):
    args = ("run", "--vendor", "altum", "--drift", "altum.confidence-as-number", "--seed", "4", "--no-history", "-q")
    first, second = cli(*args), cli(*args)
    ids = [{f["id"]: f["fingerprint"] for f in run.report()["findings"]} for run in (first, second)]
    assert ids[0] == ids[1] and len(ids[0]) > 1


def test_a_findings_evidence_is_the_exchange_that_failed(cli):
    result = cli("run", "--vendor", "altum", "--drift", "altum.confidence-as-number", "-q")
    assert result.code == 1
    checked = 0
    for finding in result.report()["findings"]:
        body = json.dumps((finding["response"] or {}).get("body"))
        for number in re.findall(r"\b\d+\.\d+\b", finding["message"].splitlines()[0]):
            assert number in body, (finding["id"], number, body)
            checked += 1
    assert checked >= 2


def test_a_corrupt_history_gives_one_exit_code(cli, tmp_path):
    history = tmp_path / "reports" / "history.sqlite"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"not a database" * 80)
    result = cli("run", "--vendor", "altum", "-q")
    assert result.code == 2
    assert result.stdout.strip().splitlines()[-2].endswith("exit 2")
    assert result.report()["exit_code"] == 2


def test_the_first_healthy_run_after_an_outage_finds_nothing_new(cli):
    port = str(free_port())
    serve = ("--vendor", "altum", "--port", port, "--credential", f"altum:api_key={KEY}")
    target = ("--target", f"altum=http://127.0.0.1:{port}")
    with served(*serve, "--drift", "altum.output-renamed"):
        assert cli("run", "--vendor", "altum", *target, "-q", env=LIVE).code == 1
    with served(*serve, "--option", "altum.outage=true"):
        outage = cli("run", "--vendor", "altum", *target, "-q", env=LIVE)
    assert outage.code == 3 and outage.report()["diff"]["fixed"] == []
    with served(*serve, "--drift", "altum.output-renamed"):
        healthy = cli("run", "--vendor", "altum", *target, "--fail-on", "new", "-q", env=LIVE)
    assert healthy.code == 0, healthy.output
    assert healthy.report()["diff"]["new"] == [] and healthy.report()["diff"]["persisting"]


def test_gating_on_documented_rules_lets_assumption_findings_through(cli):
    args = ("run", "--vendor", "altum", "--drift", "altum.confidence-as-number", "-q")
    findings = cli(*args).report()["findings"]
    documented = [f for f in findings if f["rule"]["basis"] == "documented"]
    gated = cli(*args, "--fail-on-basis", "documented")
    assert gated.code == (1 if documented else 0)
    assert len(gated.report()["findings"]) == len(findings)  # still shown


def test_junit_counts_every_failed_test_and_names_are_unique(cli):
    result = cli("run", "--vendor", "altum", "--drift", "altum.confidence-as-number")
    assert result.code == 1
    report = result.report()
    xml = JUnitXml.fromfile(str(result.report_dir() / "junit.xml"))
    failed = [test for test in report["tests"] if test["outcome"] == "failed"]
    assert len(failed) > len(report["findings"])  # several tests share findings
    assert xml.tests == len(report["tests"]) and xml.failures == len(failed)
    names = [(case.classname, case.name) for suite in xml for case in suite]
    assert len(names) == len(set(names))
    failures = [result_ for suite in xml for case in suite for result_ in case.result if result_._tag == "failure"]
    rule_ids = {f["rule"]["id"] for f in report["findings"]}
    assert failures and all(failure.type in rule_ids for failure in failures)
    assert all("(documented)" in failure.message or "(assumption)" in failure.message for failure in failures)
