"""`imgconf run --workers N`: vendors in parallel processes, merged through the outcome model into the very
report one process writes: same states, tests, findings, finding ids and evidence names."""

from __future__ import annotations

from imgconf.runner.workers import shares

DRIFTS = ("--drift", "altum.confidence-as-number", "--drift", "imagerecognize.confidence-as-string")


def _verdict(report: dict) -> dict:
    return {
        "state": report["state"],
        "exit": report["exit_code"],
        "vendors": [(v["id"], v["state"], v["findings"], v["tests"], v["requests"]) for v in report["vendors"]],
        "findings": [
            (f["id"], f["fingerprint"], f["vendor"], f["occurrences"], f["curl"], sorted(f["attachments"] or []))
            for f in report["findings"]
        ],
        "tests": sorted((t["nodeid"], t["outcome"], tuple(t["findings"])) for t in report["tests"]),
    }


def test_two_workers_give_the_report_one_process_gives(cli):
    args = ("run", "--vendor", "altum", "--vendor", "imagerecognize", *DRIFTS, "--seed", "2", "--no-history")
    one = cli(*args)
    two = cli(*args, "--workers", "2")
    assert one.code == two.code == 1, one.output + two.output
    single, parallel = one.report(), two.report()
    assert _verdict(parallel) == _verdict(single)
    assert {f["vendor"] for f in parallel["findings"]} == {"altum", "imagerecognize"}  # ids renumbered across both
    assert [v["id"] for v in parallel["vendors"]] == ["altum", "imagerecognize"]


def test_vendors_are_shared_round_robin():
    assert shares(["a", "b", "c"], 2) == [["a", "c"], ["b"]]
    assert shares(["a"], 4) == [["a"]]
    assert shares(["a", "b"], 1) == [["a", "b"]]


def test_workers_must_be_at_least_one(cli):
    result = cli("run", "--vendor", "altum", "--workers", "0")
    assert result.code == 2 and "--workers" in result.stderr and "Traceback" not in result.output
