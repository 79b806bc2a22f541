"""`imgconf run --workers N`: vendors in parallel processes, merged through the outcome model into the very
report one process writes: same states, tests, findings, finding ids and evidence names."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Result, clean_env
from imgconf.emulator import forking
from imgconf.errors import ImgconfError
from imgconf.runner import run as runner
from imgconf.runner import worker, workers
from imgconf.runner.workers import operation_counts, resolve, shares
from imgconf.testing.options import SuiteOptions

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


def test_vendors_of_equal_cost_are_shared_round_robin():
    assert shares(["a", "b", "c"], 2) == [["a", "c"], ["b"]]
    assert shares(["a"], 4) == [["a"]]
    assert shares(["a", "b"], 1) == [["a", "b"]]


def test_a_costly_vendor_gets_a_worker_of_its_own_and_each_share_keeps_the_run_order():
    cost = {"altum": 2, "huawei": 4, "identifai": 22, "imagerecognize": 4}
    vendors = list(cost)
    assert shares(vendors, 2, cost) == [["identifai"], ["altum", "huawei", "imagerecognize"]]
    assert shares(vendors, 3, cost) == [["identifai"], ["altum", "huawei"], ["imagerecognize"]]
    assert shares(vendors, 2, {**cost, "identifai": 3}) == [["huawei", "identifai"], ["altum", "imagerecognize"]]


def test_the_shares_are_weighed_by_the_vendors_operations():
    counts = operation_counts(["altum", "identifai"])
    assert counts["identifai"] > counts["altum"] >= 1


def test_workers_must_be_at_least_one(cli):
    result = cli("run", "--vendor", "altum", "--workers", "0")
    assert result.code == 2 and "--workers" in result.stderr and "Traceback" not in result.output


def _options(target: str, vendors: list[str], **rest: object) -> SuiteOptions:
    return SuiteOptions.from_values(target=target, vendors=vendors, profile=None, seed=None, drifts=None, **rest)


ALL = ["altum", "huawei", "identifai", "imagerecognize"]


@pytest.mark.parametrize(
    ("target", "vendors", "cores", "expected"),
    [
        ("emulator", ALL, 2, 2),  # one per core
        ("emulator", ALL, 16, 4),  # at most one per vendor
        ("emulator-http", ALL, 2, 2),
        ("emulator", ["altum"], 8, 1),
        ("live", ALL, 8, 1),  # the operator's accounts: one process unless asked
        ("http://127.0.0.1:9/", ["altum", "huawei"], 8, 1),
    ],
)
def test_auto_is_one_process_per_core_on_the_emulator_only(target, vendors, cores, expected):
    assert resolve(workers.AUTO, _options(target, vendors), cores=cores) == expected


def test_a_number_of_workers_is_taken_as_given():
    assert resolve(3, _options("live", ALL), cores=1) == 3


def test_workers_takes_auto_or_a_number_and_says_so_otherwise(cli):
    result = cli("run", "--vendor", "altum", "--workers", "lots")
    assert result.code == 2 and "'lots' is neither 'auto' nor a number" in result.stderr, result.output
    assert "Traceback" not in result.output
    dry = cli("run", "--workers", "AUTO", "--dry-run")
    assert dry.code == 0, dry.output


def test_workers_report_their_progress_to_the_parent():
    values = dict(target=None, vendors=["altum", "imagerecognize"], profile=None, seed=1, drifts=[], keyword="examples")
    options = SuiteOptions.from_values(**values)
    seen: list[dict[str, tuple[int, int, int]]] = []
    outcome = workers.execute(
        options,
        values,
        2,
        lambda snapshot: seen.append({v: (p.done, p.total, p.requests) for v, p in snapshot.items()}),
    )
    last = seen[-1]
    assert set(last) == {"altum", "imagerecognize"}
    assert all(0 < done == total for done, total, _ in last.values()), last
    assert {v.id: v.requests for v in outcome.vendors} == {vendor: sent for vendor, (_, _, sent) in last.items()}
    assert len(seen) >= sum(total for _, total, _ in last.values())  # after every test, not only at the end


def test_a_worker_that_dies_without_an_outcome_is_one_line_naming_its_vendors_and_last_words(monkeypatch):
    """The workers are forks of this process, so they run the `work` patched here."""

    def dying(values, vendors, send):
        os.write(2, b"the worker's last words\n")
        os._exit(3)

    monkeypatch.setattr(worker, "work", dying)
    values = dict(target=None, vendors=["altum", "imagerecognize"], profile=None, seed=1, drifts=[], keyword="examples")
    with pytest.raises(ImgconfError) as raised:
        workers.execute(SuiteOptions.from_values(**values), values, 2)
    words = "stopped (exit 3) without an outcome: the worker's last words"
    assert raised.value.message == f"the worker running imagerecognize {words}"  # the first share to be read


def test_a_killed_worker_takes_what_it_forked_with_it(tmp_path):
    """A second Ctrl-C kills the workers outright; a worker's own children (a served emulator, holding the
    worker's pipe to the run) must go too, even untied (`forking._tie` is Linux's only), or the run would wait
    for that pipe's end for good."""
    announced = tmp_path / "grandchild.pid"

    def forks_and_waits() -> None:
        grandchild = os.fork()  # untied, in the worker's group
        if grandchild == 0:
            time.sleep(60)
            os._exit(0)
        announced.write_text(str(grandchild))
        time.sleep(60)

    pid = forking.start(forks_and_waits, tmp_path / "worker.log", own_group=True)
    deadline = time.monotonic() + 30
    while not announced.exists() or not announced.read_text():
        assert time.monotonic() < deadline, "the worker never forked"
        time.sleep(0.01)
    grandchild = int(announced.read_text())
    one = workers._Worker(["altum"], forking.Forked(pid), tmp_path / "worker.log")
    try:
        one.kill()
        assert one.code == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while _alive(grandchild):
            assert time.monotonic() < deadline, "the worker's child outlived it"
            time.sleep(0.02)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(grandchild, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie that nobody here can reap (its parent was the killed worker)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _worker_pids(parent: int) -> set[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return {int(pid) for pid in children.read_text().split()} if children.exists() else set()


@pytest.mark.parametrize(
    ("sig", "to_group", "code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c-at-the-terminal", "sigterm-to-imgconf"],
)
def test_a_parallel_run_stops_in_order_and_says_interrupted(tmp_path, sig, to_group, code):
    """Ctrl-C reaches the whole foreground process group, SIGTERM only imgconf: either way every worker stops,
    each vendor is in the report, the run is interrupted by the signal sent, and no worker is left behind."""
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "imgconf", "run", "--profile", "full", "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(pids := _worker_pids(process.pid)) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    time.sleep(3)  # mostly mid-run; a stop before the suites start must read the same
    os.killpg(process.pid, sig) if to_group else process.send_signal(sig)
    stopped = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    took = time.monotonic() - stopped
    assert took < 15, f"the run took {took:.1f} s to stop: {stderr[-500:]}"
    assert process.returncode == code, stdout + stderr
    assert "Traceback" not in stdout + stderr
    report = Result(process.returncode, stdout, stderr, out).report()
    assert (report["state"], report["interrupted"], report["exit_code"]) == ("interrupted", sig.name, code)
    assert [v["id"] for v in report["vendors"]] == ALL
    assert "interrupted · " in stdout and f"exit {code}" in stdout
    assert any(v["state"] == "incomplete" for v in report["vendors"]), "the run was not stopped mid-way"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the run"


def test_a_signal_whose_interrupt_was_swallowed_stops_the_run_at_the_next_test():
    """A KeyboardInterrupt raised inside a finalizer is lost; the signal's note on the plugin raises it again."""
    plugin = runner.RunnerPlugin(_options("emulator", ["altum"]))
    plugin.pytest_runtest_logfinish("altum/test_x.py::test_a", None)  # no signal: the run goes on
    plugin.interrupted_by = "SIGINT"
    with pytest.raises(runner.Interrupted) as raised:
        plugin.pytest_runtest_logfinish("altum/test_x.py::test_b", None)
    assert raised.value.signal_name == "SIGINT"


def test_an_interrupt_is_not_formatted_with_every_frames_arguments():
    """pytest's terminal reporter renders an interrupted traceback with every frame's arguments repr'd, and
    schemathesis' configuration objects take seconds to repr: a busy run took up to 24 s to stop on Ctrl-C."""

    class Configuration:
        def __repr__(self) -> str:
            raise AssertionError("a frame's arguments were formatted")

    def signalled(signum: int, frame: object) -> None:
        raise runner.Interrupted("SIGINT")

    def deep_in_a_test(config: Configuration) -> None:
        signalled(signal.SIGINT, None)

    try:
        deep_in_a_test(Configuration())
    except KeyboardInterrupt:
        excinfo = pytest.ExceptionInfo.from_current()
    runner.RunnerPlugin(_options("emulator", ["altum"])).pytest_keyboard_interrupt(excinfo)
    shown = excinfo.getrepr(funcargs=True)  # as the terminal reporter's own pytest_keyboard_interrupt does next
    assert "Interrupted: SIGINT" in str(shown)
