"""imgconf.runner.selftest's schedule: which runs start first, and that none waits for runs it does not need;
and that a run forked from one of its threads cannot inherit a lock another thread holds.

The runs are stood in for (the functions that start `imgconf run`, serve a URL run and start `st run`), so the
selftest's own scheduling and bookkeeping are what run: each stand-in records when it started.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from imgconf import emulator
from imgconf.emulator import forking
from imgconf.emulator.drift import Category
from imgconf.runner import selftest

VENDOR = "altum"
DRIFTS = [drift for drift in emulator.catalogue() if drift.vendor == VENDOR]
SLOW = next(drift for drift in DRIFTS if drift.category == Category.LATENCY)


class StandIns:
    """Every run answers at once, as if each drift were caught and the faithful emulator conformant; the
    in-process run of the latency drift holds its slot until a drift's plain `st run` has started (or 10 s)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.plain_started = threading.Event()
        self.slow_run_saw_plain: bool | None = None
        self._lock = threading.Lock()

    def _note(self, name: str) -> None:
        with self._lock:
            self.started.append(name)

    def imgconf(self, args: list[str], out: Path, main: Any = None, extra_env: Any = None) -> selftest.RunOutcome:
        drift = args[args.index("--drift") + 1] if "--drift" in args else None
        self._note(f"run {drift or 'faithful'}")
        if drift == SLOW.name:
            self.slow_run_saw_plain = self.plain_started.wait(10)
        if drift is None:
            return selftest.RunOutcome(0, {"findings": [], "requests": 1})
        return selftest.RunOutcome(1, {"findings": [_finding(drift)], "requests": 1})

    def url_run(self, vendor_ids: list[str], drifts: dict[str, Any], mode: str, *rest: Any) -> tuple[Any, float]:
        self._note(f"http {' '.join(sorted(drift.name for drift in drifts.values())) or 'faithful'}")
        state = "non-conformant" if drifts else "conformant"
        vendors = [{"id": vendor, "state": state, "coverage": {"checked": 1, "total": 1}} for vendor in vendor_ids]
        findings = [_finding(drift.name) for drift in drifts.values()]
        return selftest.RunOutcome(1 if drifts else 0, {"findings": findings, "requests": 1, "vendors": vendors}), 0.0

    def plain(self, vendor: Any, drift: str | None, *rest: Any, **options: Any) -> dict[str, Any]:
        self._note(f"plain {drift or 'faithful'}")
        if drift is not None:
            self.plain_started.set()
        return {"applicable": True, "failures": [], "cases": 1}


def _finding(drift_name: str) -> dict[str, Any]:
    drift = next(item for item in DRIFTS if item.name == drift_name)
    return {"vendor": VENDOR, "rule": {"id": drift.breaks[0]}, "check": "stand-in", "seq": 1}


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> StandIns:
    runs = StandIns()
    monkeypatch.setattr(selftest, "_imgconf", runs.imgconf)
    monkeypatch.setattr(selftest, "_url_run", runs.url_run)
    monkeypatch.setattr(selftest, "_plain_for", runs.plain)
    return runs


def _selftest() -> selftest.Selftest:
    return selftest.Selftest([VENDOR], seeds=2, profile="smoke", workers=2, plain=True, http_modes=("thorough",))


def test_the_runs_that_mostly_wait_start_one_at_a_time_the_first_of_them_first(
    stand_ins: StandIns, tmp_path: Path
) -> None:
    """A latency drift's runs sleep through its slow answers: started last, the selftest waited on them alone;
    started together, both of the pool's slots slept."""
    _selftest().run(tmp_path)
    started = stand_ins.started
    assert sorted(started[:2]) == [f"run {SLOW.name}", "run faithful"], started
    assert 8 <= started.index(f"http {SLOW.name}") < started.index(f"plain {SLOW.name}") < len(started) - 8, started


def test_a_plain_run_does_not_wait_for_every_imgconf_run_to_end(stand_ins: StandIns, tmp_path: Path) -> None:
    """The plain column had started only once every other run had ended: one slow run left a core idle."""
    result = _selftest().run(tmp_path)
    assert stand_ins.slow_run_saw_plain is True, stand_ins.started
    # Every run once, each drift's results put together from its three runs.
    expected = ["run faithful"] * 2 + ["http faithful", "plain faithful"]
    expected += [f"{kind} {drift.name}" for drift in DRIFTS for kind in ("run", "http", "plain")]
    assert sorted(stand_ins.started) == sorted(expected)
    assert result["summary"]["caught"] == result["summary"]["drifts"] == len(DRIFTS)
    for item in result["drifts"]:
        assert item["caught"] and item["over_http"]["thorough"]["caught"], item
        assert item["plain_schemathesis"]["applicable"], item


def test_a_run_forked_while_another_thread_holds_tempfiles_lock_does_not_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """tempfile finds its directory once, under a lock: a selftest run forked while a sibling thread held it
    (serving a plain-schemathesis emulator) waited on that lock until its timeout, 900 s. Here a thread holds
    that lock (tempfile's private `_once_lock`) as the fork is taken; the child then needs the directory."""
    monkeypatch.setattr(tempfile, "tempdir", None)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with tempfile._once_lock:  # type: ignore[attr-defined]
            held.set()
            release.wait(0.5)

    sibling = threading.Thread(target=hold)
    sibling.start()
    held.wait(5)
    try:
        pid = forking.start(lambda: 0 if tempfile.gettempdir() else 1, tmp_path / "child.log")
    finally:
        release.set()
        sibling.join()
    assert forking.wait(pid, timeout=10) == 0


@pytest.mark.parametrize(("code", "signal_name"), [(130, "SIGINT"), (143, "SIGTERM")])
def test_a_run_stopped_by_a_signal_interrupts_the_selftest_instead_of_escaping_a_drift(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, signal_name: str
) -> None:
    """A drift's run that a signal stopped (it exits 130 or 143) was counted as an escaped drift when the selftest
    itself ignored SIGINT (started with `&` from a script): the user's Ctrl-C reported as the suite's blind spot."""

    def launch(main: Any, argv: list[str], out: Path, env: dict[str, str]) -> tuple[int, str]:
        return (code, "") if any(arg == "--drift" for arg in argv) else (0, "")

    monkeypatch.setattr(selftest, "_launch", launch)
    monkeypatch.setattr(selftest, "_url_run", StandIns().url_run)
    with pytest.raises(KeyboardInterrupt) as raised:
        selftest.Selftest([VENDOR], seeds=1, profile="smoke", workers=2, plain=False).run(tmp_path)
    assert getattr(raised.value, "signal_name", None) == signal_name
