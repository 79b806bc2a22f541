"""Plain schemathesis with every check (`-c all`) over every operation of every vendor's spec, against a
served emulator: whatever the verdict of its checks on the contract (that is the suites' business), no answer
may be a 500 and no case may crash the run.

The hardening probe ran 72,758 such cases; CI runs a seeded share of them on every change: all five spec files
at once, each with a fixed number of examples per operation (`--max-examples`), so every run sends the very same
~2,000 cases whatever the machine's load, and a failure reproduces from its seed. A time budget
(`--max-time 10`) did not: under CI's load one spec's run twice spent its whole budget before its first case
(schemathesis counts its start-up phases in it) and tested nothing.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from conftest import served
from imgconf import emulator, specs, vendors
from imgconf.runner import plain_st
from imgconf.runner.selftest import _toml  # the selftest's own plain-schemathesis config

SEED = 15
# Examples per operation, chosen so each spec sends 160-330 cases (identifAI, with 22 operations and its coverage
# phase, ~1,200) and the five together take ~18 s on the project's machine, as the time budget did.
EXAMPLES = {
    "altum-labelling.yaml": 60,
    "huawei-iam.yaml": 10,
    "huawei-image-tagging.yaml": 25,
    "identifai.yaml": 4,
    "imagerecognize.yaml": 10,
}
TIME_BOUND = 180.0  # a hung run, not a slow machine: these cases took 18 s quiet, 20 s in CI, 29 s beside 3 busy loops
SERVER_ERRORS = {"ST101", "ST102"}  # schemathesis' not_a_server_error failures (5xx, and 5xx on a bad Content-Type)


def _config(vendor: str, base_url: str) -> dict[str, dict[str, str]]:
    """The vendor's credentials as plain schemathesis can send them (imagerecognize's key as a parameter)."""
    credentials = dict(emulator.get(vendor).default_credentials[0])
    config = vendors.get(vendor).auth.schemathesis_config(credentials, base_url)
    if config is None and vendor == "imagerecognize":
        config = {"parameters": {"apikey": credentials["apikey"]}}
    return config or {}


def test_every_check_over_every_operation_never_meets_a_500_or_a_crash(tmp_path: Path) -> None:
    started = time.monotonic()
    runs: dict[str, tuple[Future[int], Path, Path]] = {}
    # The five runs at once, each forked from one interpreter that has imported schemathesis alone
    # (imgconf.runner.plain_st): `python -m schemathesis.cli` as a fresh process runs it, without its imports.
    with served("--fast") as urls, plain_st.Server() as st, ThreadPoolExecutor(len(EXAMPLES)) as pool:
        for vendor in vendors.all_vendors().values():
            config_path = tmp_path / f"{vendor.id}.toml"
            config_path.write_text(_toml(_config(vendor.id, urls[vendor.id])))
            for spec_file in vendor.spec_files:
                report_dir = tmp_path / Path(spec_file).stem
                log = tmp_path / f"{Path(spec_file).stem}.log"
                argv = [
                    "--config-file", str(config_path), "run",
                    str(specs.spec_path(spec_file)), "--url", urls[vendor.id], "--checks", "all",
                    "--max-examples", str(EXAMPLES[spec_file]), "--seed", str(SEED), "--generation-database", "none",
                    "--continue-on-failure", "--report", "json", "--report-dir", str(report_dir), "--workers", "1",
                ]  # fmt: skip
                runs[spec_file] = (pool.submit(st.run, argv, log, timeout=TIME_BOUND), report_dir, log)
        for spec_file, (future, _, _) in runs.items():
            try:
                future.result()
            except subprocess.TimeoutExpired:
                raise AssertionError(f"schemathesis on {spec_file} ran past {TIME_BOUND:.0f} s") from None
    outputs = {spec_file: log.read_text() for spec_file, (_, _, log) in runs.items()}
    elapsed = time.monotonic() - started
    problems, cases = [], 0
    for spec_file, (_, report_dir, _) in runs.items():
        reports = sorted(report_dir.glob("*.json"))
        assert reports, f"schemathesis wrote no report for {spec_file}:\n{outputs[spec_file][-2000:]}"
        report = json.loads(reports[-1].read_text())
        cases += int(report["test_cases"]["generated"])
        # Why a run stopped short: when it stopped, after how long, what each phase did, and what it printed last.
        assert report["stop_reason"] == "completed" and report["operations"]["tested"] >= 1, (
            spec_file,
            report["operations"],
            report["stop_reason"],
            report["running_time"],
            report["phases"],
            report["test_cases"],
            outputs[spec_file][-1500:],
        )
        for failure in report["failures"]:
            if failure["code"] in SERVER_ERRORS:
                problems.append(f"{spec_file}: {failure['code']} {failure['title']} on {failure['operations']}")
        problems += [f"{spec_file}: crashed: {error}" for error in report["errors"]]
        if report["test_cases"]["errored"]:
            problems.append(f"{spec_file}: {report['test_cases']['errored']} cases errored")
    print(f"schemathesis -c all: {cases} cases over {len(runs)} spec files in {elapsed:.1f} s")
    assert not problems, "\n".join(problems) + "\n" + "\n".join(output[-1500:] for output in outputs.values())
