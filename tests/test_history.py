"""The run history: per-vendor comparison, outages and experiments kept apart, schema versions, integrity.

Every run here is a `RunOutcome` built directly from the dataclasses in report/outcome.py (see `make_run`):
these tests hold the history to what a monitor needs without running a suite.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from imgconf.report import history as history_module
from imgconf.report.history import SCHEMA_VERSION, History, HistoryError, diff_runs
from imgconf.report.outcome import (
    Evidence,
    Finding,
    Gate,
    RunKind,
    RunOutcome,
    State,
    Target,
    VendorOutcome,
)

START = datetime.fromisoformat("2026-12-01T20:00:00+00:00")
EMULATOR = "emulator"

# The schema exactly as imgconf wrote it before the history carried a version (user_version 0), copied from
# src/imgconf/report/history.py (SCHEMA) at commit 2d7c451, so that the migration is tested against the real thing.
SCHEMA_V0 = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    target_key TEXT NOT NULL,
    target TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed INTEGER,
    verdict TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    report_dir TEXT
);
CREATE TABLE IF NOT EXISTS vendor_results (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    vendor TEXT NOT NULL,
    verdict TEXT NOT NULL,
    score REAL,
    findings INTEGER NOT NULL,
    PRIMARY KEY (run_id, vendor)
);
CREATE TABLE IF NOT EXISTS findings (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    fingerprint TEXT NOT NULL,
    vendor TEXT NOT NULL,
    operation TEXT,
    check_name TEXT NOT NULL,
    rule TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (run_id, fingerprint)
);
CREATE INDEX IF NOT EXISTS findings_by_fingerprint ON findings (fingerprint);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target_key, started_at);
"""


# -- the factory ------------------------------------------------------------------------------------------


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def finding(vendor: str, rule: str, operation: str = "POST /labelling/img") -> Finding:
    return Finding(
        vendor=vendor,
        operation=operation,
        check="behaviour",
        rule={"id": rule, "basis": "documented"},
        title=f"{rule} broken",
        message=f"{rule}: expected the documented answer",
        test=f"suites/{vendor}/test_behaviour.py::test_{rule.replace('.', '_')}",
        kind="behaviour",
        evidence=Evidence(),
    )


def findings(vendor: str, count: int, prefix: str = "rule") -> list[Finding]:
    return [finding(vendor, f"{vendor}.{prefix}-{index}") for index in range(count)]


def vendor(
    vendor_id: str,
    state: State = State.CONFORMANT,
    *,
    found: int = 0,
    score: float | None = -1.0,
    cut_short: str | None = None,
) -> VendorOutcome:
    checked = state in (State.CONFORMANT, State.NON_CONFORMANT, State.INTERRUPTED) or cut_short is not None
    if score == -1.0:
        score = (1.0 if not found else 0.8) if checked else None
    return VendorOutcome(
        id=vendor_id,
        title=vendor_id.title(),
        state=state,
        score=score,
        operations=[],
        findings=found,
        requests=10 if checked else 0,
        tests={"passed": 5},
        drifts=[],
        cut_short=cut_short,
    )


def make_run(
    run_id: str,
    minute: int,
    vendors: list[VendorOutcome],
    found: list[Finding] | None = None,
    *,
    kind: RunKind = RunKind.MONITOR,
    key: str = EMULATOR,
    drifts: tuple[str, ...] = (),
    interrupted: str | None = None,
    gate: Gate | None = None,
) -> RunOutcome:
    return RunOutcome(
        run_id=run_id,
        kind=kind,
        started_at=at(minute),
        finished_at=at(minute + 1),
        duration_s=60.0,
        target=Target(kind="emulator", description="emulator", urls={}, drifts=list(drifts), key=key),
        profile="smoke",
        seed=1,
        versions={"imgconf": "test"},
        vendors=vendors,
        findings=list(found or []),
        cells=[],
        tests=[],
        requests=sum(v.requests for v in vendors),
        command="imgconf run",
        interrupted=interrupted,
        gate=gate or Gate(),
    )


def failing(vendor_id: str, run_id: str, minute: int, count: int = 5, **options: Any) -> RunOutcome:
    """A run in which `vendor_id` is non-conformant with `count` findings."""
    return make_run(
        run_id, minute, [vendor(vendor_id, State.NON_CONFORMANT, found=count)], findings(vendor_id, count), **options
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "reports" / "history.sqlite"


@pytest.fixture
def history(path: Path) -> History:
    return History(path, timeout=0.2)


def compare_and_record(history: History, run: RunOutcome) -> RunOutcome:
    """What the pipeline does with every run: compare, then record."""
    run.diff = history.compare(run)
    history.record(run, None)
    return run


def fingerprints(items: list[Any]) -> set[str]:
    return {item.fingerprint for item in items}


# -- per vendor ---------------------------------------------------------------------------------------------


def test_a_first_run_has_everything_new_and_no_previous(history):
    run = compare_and_record(history, failing("altum", "A1", 0))
    assert run.diff is not None
    assert run.diff.previous == {"altum": None}
    assert len(run.diff.new) == 5 and not run.diff.fixed and not run.diff.persisting
    assert all(f.status == "new" and f.first_seen == at(0) for f in run.findings)


def test_another_vendor_run_in_between_does_not_make_findings_new(history):
    """The issue's row: `--fail-on new` on altum after an unrelated identifai run said "5 new", exit 1."""
    compare_and_record(history, failing("altum", "A1", 0))
    compare_and_record(history, failing("identifai", "I1", 10, count=2))
    again = failing("altum", "A2", 20, gate=Gate(fail_on="new"))
    diff = history.compare(again)
    assert diff.previous == {"altum": "A1"}
    assert not diff.new and not diff.fixed and len(diff.persisting) == 5
    assert all(f.status == "persisting" and f.first_seen == at(0) for f in again.findings)
    assert again.exit_code == 0  # nothing new for altum, so --fail-on new passes


def test_each_vendor_of_a_multi_vendor_run_has_its_own_previous_run(history):
    compare_and_record(history, failing("altum", "A1", 0, count=2))
    compare_and_record(history, failing("identifai", "I1", 10, count=1))
    both = make_run(
        "B1",
        20,
        [vendor("altum", State.NON_CONFORMANT, found=1), vendor("identifai", State.NON_CONFORMANT, found=2)],
        findings("altum", 1) + findings("identifai", 2),
    )
    diff = history.compare(both)
    assert diff.previous == {"altum": "A1", "identifai": "I1"}
    assert {item.rule for item in diff.fixed} == {"altum.rule-1"}  # altum's second finding went away
    assert {item.rule for item in diff.new} == {"identifai.rule-1"}
    assert {item.rule for item in diff.persisting} == {"altum.rule-0", "identifai.rule-0"}


def test_a_fixed_finding_keeps_its_first_seen_and_a_return_is_new_again(history):
    compare_and_record(history, failing("altum", "A1", 0, count=2))
    fixed = compare_and_record(history, failing("altum", "A2", 10, count=1))
    assert fixed.diff is not None and [item.first_seen for item in fixed.diff.fixed] == [at(0)]
    back = history.compare(failing("altum", "A3", 20, count=2))
    assert [item.rule for item in back.new] == ["altum.rule-1"]
    assert back.new[0].first_seen == at(0)  # new since the previous run, first seen long ago


def test_runs_on_another_target_are_not_compared(history):
    compare_and_record(history, failing("altum", "A1", 0, key="url:altum=http://127.0.0.1:9"))
    diff = history.compare(failing("altum", "A2", 10))
    assert diff.previous == {"altum": None} and len(diff.new) == 5


def test_compare_without_a_history_file_creates_nothing(history, path):
    diff = history.compare(failing("altum", "A1", 0))
    assert len(diff.new) == 5 and not path.exists()


# -- outages say nothing about findings ------------------------------------------------------------------

OUTAGES = [
    pytest.param({"state": State.UNREACHABLE}, None, id="unreachable"),
    pytest.param({"state": State.RETIRED}, None, id="retired"),
    pytest.param({"state": State.INCOMPLETE}, None, id="incomplete"),
    pytest.param({"state": State.CREDENTIALS_REJECTED}, None, id="credentials-rejected"),
    pytest.param({"state": State.ERROR}, None, id="error"),
    pytest.param({"state": State.CONFORMANT, "score": 1.0}, "SIGINT", id="interrupted-looking-conformant"),
    pytest.param({"state": State.INTERRUPTED, "score": 0.9}, "SIGTERM", id="interrupted"),
    pytest.param({"state": State.NON_CONFORMANT, "found": 2, "cut_short": "budget"}, None, id="cut-short"),
]


@pytest.mark.parametrize(("outage", "interrupted"), OUTAGES)
def test_an_outage_fixes_nothing_and_the_next_healthy_run_has_nothing_new(history, outage, interrupted):
    """The issue's row: after an outage the 5 findings came back "new" (the outage run had called them fixed)."""
    compare_and_record(history, failing("altum", "A1", 0))
    state = outage.pop("state")
    down = make_run(
        "DOWN",
        10,
        [vendor("altum", state, **outage)],
        findings("altum", outage.get("found", 0)),
        interrupted=interrupted,
    )
    during = history.compare(down)
    assert not during.fixed  # a vendor that was not checked to the end cannot show that anything is gone
    assert fingerprints(during.persisting) == {f.fingerprint for f in down.findings}
    history.record(down, None)

    healthy = failing("altum", "A2", 20, gate=Gate(fail_on="new"))
    after = history.compare(healthy)
    assert after.previous == {"altum": "A1"}  # the last run in which altum was checked
    assert not after.new and not after.fixed and len(after.persisting) == 5
    assert all(f.first_seen == at(0) for f in healthy.findings)
    assert healthy.exit_code == 0
    # the trend has the runs in which altum was checked; a run cut short still scored what it did check
    trend = ["A1", "DOWN"] if state is State.NON_CONFORMANT else ["A1"]
    assert [point["run_id"] for point in history.trend(EMULATOR)["altum"]] == trend


def test_an_unchecked_vendor_gets_no_fixed_items_beside_a_checked_one(history):
    both = make_run(
        "B1",
        0,
        [vendor("altum", State.NON_CONFORMANT, found=5), vendor("huawei", State.NON_CONFORMANT, found=1)],
        findings("altum", 5) + findings("huawei", 1),
    )
    compare_and_record(history, both)
    half = make_run(
        "B2", 10, [vendor("altum", State.CONFORMANT), vendor("huawei", State.UNREACHABLE)], findings("altum", 0)
    )
    diff = history.compare(half)
    assert {item.vendor for item in diff.fixed} == {"altum"} and len(diff.fixed) == 5
    assert diff.previous == {"altum": "B1", "huawei": "B1"}


# -- kinds apart ------------------------------------------------------------------------------------------


def test_a_drift_run_stays_out_of_the_monitor_trend_and_diffs(history):
    """The issue's row: a drift run sat in the emulator trend and the next faithful run reported "5 fixed"."""
    compare_and_record(history, make_run("M1", 0, [vendor("altum")]))
    drift = failing("altum", "D1", 10, kind=RunKind.DRIFT, drifts=("altum.scene2-always",))
    drift_diff = history.compare(drift)
    assert drift_diff.previous == {"altum": None}  # no earlier run of this drift set; never the monitor runs
    history.record(drift, None)

    faithful = history.compare(make_run("M2", 20, [vendor("altum")]))
    assert faithful.previous == {"altum": "M1"} and not faithful.fixed and not faithful.new
    history.record(make_run("M2", 20, [vendor("altum")]), None)
    points = history.trend(EMULATOR)["altum"]
    assert [point["run_id"] for point in points] == ["M1", "M2"]
    assert all(point["score"] == 1.0 for point in points)


def test_a_drift_run_is_compared_with_the_previous_run_of_the_same_drift_set(history):
    compare_and_record(history, failing("altum", "D1", 0, kind=RunKind.DRIFT, drifts=("altum.a",)))
    compare_and_record(history, failing("altum", "D2", 10, kind=RunKind.DRIFT, drifts=("altum.b",), count=2))
    same = history.compare(failing("altum", "D3", 20, kind=RunKind.DRIFT, drifts=("altum.a",)))
    assert same.previous == {"altum": "D1"} and len(same.persisting) == 5 and not same.fixed


@pytest.mark.parametrize("kind", [RunKind.REPLAY, RunKind.VALIDATE])
def test_replays_and_validate_runs_are_kept_apart_too(history, kind):
    compare_and_record(history, failing("altum", "M1", 0))
    compare_and_record(history, make_run("X1", 10, [vendor("altum")], kind=kind))
    after = history.compare(failing("altum", "M2", 20))
    assert after.previous == {"altum": "M1"} and not after.new and not after.fixed
    assert [point["run_id"] for point in history.trend(EMULATOR)["altum"]] == ["M1"]
    assert [run.kind for run in history.runs()] == [kind, RunKind.MONITOR]


def test_record_stores_kind_interrupted_and_drift_set(history):
    history.record(failing("altum", "D1", 0, kind=RunKind.DRIFT, drifts=("altum.b", "altum.a")), Path("reports/D1"))
    history.record(make_run("M1", 10, [vendor("altum")], interrupted="SIGINT"), None)
    drift, interrupted = history.run("D1"), history.run("M1")
    assert (drift.kind, drift.drifts, drift.report_dir, drift.state) == (
        RunKind.DRIFT,
        ("altum.a", "altum.b"),
        "reports/D1",
        "non-conformant",
    )
    assert (interrupted.kind, interrupted.interrupted, interrupted.state) == (RunKind.MONITOR, "SIGINT", "interrupted")
    assert [run.run_id for run in history.runs(kinds=(RunKind.MONITOR,), include_interrupted=False)] == []


# -- trends show time -------------------------------------------------------------------------------------


def test_trend_points_carry_full_iso_datetimes_oldest_first_within_the_limit(history):
    for index in range(4):
        history.record(failing("altum", f"A{index}", index * 7, count=index), None)
    history.record(make_run("U1", 40, [vendor("altum", State.UNREACHABLE)]), None)
    points = history.trend(EMULATOR, limit=3)["altum"]
    assert [point["run_id"] for point in points] == ["A1", "A2", "A3"]  # U1: altum was not checked
    assert set(points[0]) == {"run_id", "at", "score", "state", "findings"}
    moments = [datetime.fromisoformat(point["at"]) for point in points]
    assert moments == sorted(moments) and moments[0] == START + timedelta(minutes=7)
    assert (points[-1]["state"], points[-1]["findings"]) == ("non-conformant", 3)
    assert history.trend("nowhere") == {}


# -- diffs of recorded runs -------------------------------------------------------------------------------


def test_diff_runs_is_per_vendor_and_keeps_kinds_apart(history):
    compare_and_record(history, failing("altum", "A1", 0, count=2))
    compare_and_record(history, failing("identifai", "I1", 10))
    compare_and_record(history, failing("altum", "D1", 15, kind=RunKind.DRIFT, drifts=("altum.a",)))
    compare_and_record(history, make_run("U1", 17, [vendor("altum", State.UNREACHABLE)]))
    compare_and_record(history, failing("altum", "A2", 20, count=1))

    implicit = diff_runs(history, None, "A2")
    assert implicit.previous == {"altum": "A1"}
    assert [item.rule for item in implicit.fixed] == ["altum.rule-1"] and len(implicit.persisting) == 1
    assert implicit.persisting[0].first_seen == at(0)

    explicit = diff_runs(history, "A1", "A2")
    assert (fingerprints(explicit.fixed), fingerprints(explicit.persisting)) == (
        fingerprints(implicit.fixed),
        fingerprints(implicit.persisting),
    )
    not_checked = diff_runs(history, "U1", "A2")  # altum was unreachable in U1: no baseline there
    assert not_checked.previous == {"altum": None} and not not_checked.fixed and len(not_checked.new) == 1
    with pytest.raises(HistoryError, match="different kinds"):
        diff_runs(history, "D1", "A2")
    with pytest.raises(HistoryError, match="no run 'nope'"):
        diff_runs(history, None, "nope")


# -- schema version and migration --------------------------------------------------------------------------


def old_history(path: Path, tmp_path: Path) -> None:
    """A history exactly as today's code writes it (user_version 0), with report folders beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    reports = {
        "R1": {"target": {"kind": "emulator", "drifts": []}},
        "R2": {"target": {"kind": "emulator", "drifts": ["altum.scene2-always"]}},
    }
    for run_id, report in reports.items():
        (path.parent / run_id).mkdir()
        (path.parent / run_id / "report.json").write_text(json.dumps(report))
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_V0)
    runs = [
        # R1's report_dir is absolute; R2's relative to wherever `imgconf run` ran; R3's folder is gone
        ("R1", at(0), "emulator", "emulator", "smoke", 1, "non-conformant", 1, 10, str(path.parent / "R1")),
        ("R2", at(10), "emulator", "emulator", "smoke", 1, "non-conformant", 1, 10, "reports/R2"),
        ("R3", at(20), "emulator", "emulator", "smoke", 1, "skipped", 3, 0, str(tmp_path / "gone" / "R3")),
        ("R4", at(30), "replay:replay of c.json", "replay of c.json", "smoke", None, "conformant", 0, 5, None),
        ("R5", at(35), "emulator", "emulator", "smoke", 1, "unreachable", 3, 0, None),
    ]
    db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
    db.executemany(
        "INSERT INTO vendor_results VALUES (?, ?, ?, ?, ?)",
        [
            ("R1", "altum", "non-conformant", 0.8, 2),
            ("R2", "altum", "non-conformant", 0.5, 3),
            ("R3", "altum", "skipped", None, 0),
            ("R4", "altum", "conformant", 1.0, 0),
            ("R5", "altum", "unreachable", 1.0, 0),  # today's closed port: 100%, though nothing was checked
        ],
    )
    old = [("R1", f) for f in findings("altum", 2)] + [("R2", f) for f in findings("altum", 3, prefix="drift")]
    db.executemany(
        "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run_id, f.fingerprint, f.vendor, f.operation, f.check, f.rule["id"], f.title) for run_id, f in old],
    )
    db.commit()
    db.close()


def columns(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(path)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        shape = {table: [row[1:] for row in db.execute(f"PRAGMA table_info({table})")] for table in tables}
        shape["indexes"] = sorted(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"))
        return shape
    finally:
        db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_a_version_0_history_is_migrated_in_place_on_first_open(history, path, tmp_path):
    old_history(path, tmp_path)
    runs = {run.run_id: run for run in history.runs()}
    assert user_version(path) == SCHEMA_VERSION
    assert {run_id: run.kind for run_id, run in runs.items()} == {
        "R1": RunKind.MONITOR,
        "R2": RunKind.DRIFT,  # its report.json names a drift
        "R3": RunKind.MONITOR,  # its report folder is gone: nothing says otherwise
        "R4": RunKind.REPLAY,  # today's replay target key
        "R5": RunKind.MONITOR,
    }
    assert runs["R2"].drifts == ("altum.scene2-always",)
    assert runs["R3"].state == "incomplete" and history.vendors("R3")[0].state == "incomplete"
    assert len(history.findings("R1")) == 2 and len(history.findings("R2")) == 3

    fresh = tmp_path / "fresh.sqlite"
    History(fresh).record(make_run("N1", 0, [vendor("altum")]), None)
    assert columns(path) == columns(fresh)  # a migrated file is a version-2 file, column for column

    # the first run after the upgrade compares with R1 (R2 was a drift run; R3 and R5 did not check altum)
    diff = history.compare(failing("altum", "N1", 40, count=2))
    assert diff.previous == {"altum": "R1"} and not diff.new and len(diff.persisting) == 2
    assert [point["run_id"] for point in history.trend(EMULATOR)["altum"]] == ["R1"]


def test_a_migration_that_fails_changes_nothing(history, path, tmp_path, monkeypatch):
    old_history(path, tmp_path)
    before = path.read_bytes()
    calls = []

    def broken(report_dir: Path, history_path: Path) -> list[str]:
        calls.append(report_dir)
        if len(calls) == 2:
            raise RuntimeError("the machine went down mid-migration")
        return []

    monkeypatch.setattr(history_module, "_old_report_drifts", broken)
    with pytest.raises(RuntimeError):
        history.runs()
    assert path.read_bytes() == before and user_version(path) == 0
    monkeypatch.undo()
    assert len(history.runs()) == 5  # and the next open migrates it whole


def test_a_history_from_a_newer_imgconf_is_refused_and_never_written(history, path):
    history.record(make_run("A1", 0, [vendor("altum")]), None)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    for attempt in (
        history.runs,
        lambda: history.compare(failing("altum", "A2", 10)),
        lambda: history.record(failing("altum", "A2", 10), None),
        lambda: history.trend(EMULATOR),
    ):
        with pytest.raises(HistoryError) as raised:
            attempt()
        assert "newer than this imgconf" in raised.value.message and "\n" not in raised.value.message
    assert path.read_bytes() == before
    assert "newer" in (history.check() or "")


# -- integrity ---------------------------------------------------------------------------------------------


def test_a_truncated_history_is_refused_with_one_line_and_never_written(history, path):
    """Issue 15 item 7: cutting the last 100 bytes went undetected; the run exited 0 and kept writing."""
    for index in range(3):
        history.record(failing("altum", f"A{index}", index * 10), None)
    path.write_bytes(path.read_bytes()[:-100])
    before = path.read_bytes()
    for attempt in (
        lambda: history.record(failing("altum", "A9", 90), None),
        history.runs,
        lambda: history.compare(failing("altum", "A9", 90)),
        lambda: history.trend(EMULATOR),
        lambda: history.run("A0"),
    ):
        with pytest.raises(HistoryError) as raised:
            attempt()
        message = raised.value.message
        assert "\n" not in message and str(path) in message and "untouched" in message
    assert path.read_bytes() == before
    problem = history.check()
    assert problem is not None and "\n" not in problem


def test_a_damaged_page_is_caught_by_quick_check(history, path):
    """Damage inside the file (its size intact) is for SQLite's own check to find."""
    for index in range(3):
        history.record(failing("altum", f"A{index}", index * 10), None)
    data = bytearray(path.read_bytes())
    page = 4096
    data[-page + 8 : -page + 200] = b"\xff" * 192  # scramble the last page's header and cell pointers
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"is damaged \(\*\*\* in database main"):
        history.record(failing("altum", "A9", 90), None)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not a database" * 50, id="not-a-database"),
        pytest.param(b"SQLite format 3\x00" + b"\x00" * 84, id="header-only"),
    ],
)
def test_a_file_that_is_not_a_history_is_one_line_and_left_untouched(history, path, content):
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(HistoryError) as raised:
        history.record(failing("altum", "A1", 0), None)
    assert "\n" not in raised.value.message
    assert path.read_bytes() == content
    assert history.check() is not None


def test_another_programs_sqlite_file_is_not_taken_for_a_history(history, path):
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not an imgconf history"):
        history.record(failing("altum", "A1", 0), None)
    assert path.read_bytes() == before


def test_a_locked_history_is_one_line_and_the_run_can_be_recorded_afterwards(history, path):
    history.record(make_run("A1", 0, [vendor("altum")]), None)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked"):
            history.record(make_run("A2", 10, [vendor("altum")]), None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    history.record(make_run("A2", 10, [vendor("altum")]), None)
    assert [run.run_id for run in history.runs()] == ["A2", "A1"]


def test_recording_a_run_is_one_transaction(history, path, monkeypatch):
    history.record(failing("altum", "A1", 0), None)

    def crash(db: sqlite3.Connection, run: RunOutcome) -> None:
        raise KeyboardInterrupt  # the operator's Ctrl-C between the run's rows and its findings

    monkeypatch.setattr(History, "_insert_findings", staticmethod(crash))
    with pytest.raises(KeyboardInterrupt):
        history.record(failing("altum", "A2", 10), None)
    monkeypatch.undo()
    assert [run.run_id for run in history.runs()] == ["A1"]
    assert history.vendors("A2") == [] and history.check() is None
    with pytest.raises(HistoryError, match="already recorded"):
        history.record(failing("altum", "A1", 0), None)


def test_a_run_killed_while_recording_leaves_the_history_as_it_was(history, path, tmp_path):
    """kill -9 in the middle of record(): SQLite's hot journal puts the file back; the next open reads it."""
    history.record(failing("altum", "A1", 0), None)
    before = path.read_bytes()
    child = tmp_path / "child.py"
    child.write_text(
        "import os, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_history import History, failing\n"
        "def crash(db, run):\n"
        "    db.execute('PRAGMA cache_size = 1')  # so that the half-done write reaches the file itself\n"
        "    rows = [(run.run_id, f'{n:016x}', 'altum', None, 'c', 'r', 't' * 200) for n in range(3000)]\n"
        "    db.executemany('INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)', rows)\n"
        "    os._exit(9)\n"
        "History._insert_findings = staticmethod(crash)\n"
        f"History(Path({str(path)!r})).record(failing('altum', 'A2', 10), None)\n"
    )
    assert subprocess.run([sys.executable, str(child)], timeout=60).returncode == 9
    assert path.with_name(path.name + "-journal").exists()  # the crash left its write half-done
    assert path.read_bytes() != before  # in the file itself, not only in the journal
    assert [run.run_id for run in history.runs()] == ["A1"]
    assert history.check() is None
    history.record(failing("altum", "A2", 10), None)
    assert [run.run_id for run in history.runs()] == ["A2", "A1"]


def test_check_says_none_for_a_sound_file(history, path):
    assert history.check() is not None  # no file yet
    history.record(make_run("A1", 0, [vendor("altum")]), None)
    assert history.check() is None


# -- the commands -----------------------------------------------------------------------------------------


@pytest.fixture
def imgconf(monkeypatch, capsys):
    """`imgconf ARGS...` in-process, as main() runs it: (exit code, stdout, stderr)."""
    # runner/run.py is being rewritten to the typed outcome; until it is, it still imports the dict-era
    # `diff` and `target_key` from the history module, so they are stood in for while the CLI is imported.
    for name in ("diff", "target_key"):
        monkeypatch.setattr(history_module, name, None, raising=False)
    from imgconf.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        captured = capsys.readouterr()
        return int(exited.value.code or 0), captured.out, captured.err

    return run


def test_imgconf_history_shows_date_and_time_and_keeps_drift_runs_apart(imgconf, history, path):
    compare_and_record(history, failing("altum", "A1", 31))
    compare_and_record(history, failing("altum", "D1", 40, kind=RunKind.DRIFT, drifts=("altum.a",)))
    compare_and_record(history, failing("altum", "A2", 95, count=2))
    code, out, _ = imgconf("history", "--history", str(path))
    assert code == 0
    assert "2026-12-01 20:31" in out and "2026-12-01 21:35" in out
    assert "D1" not in out and "1 run(s) kept apart" in out
    code, out, _ = imgconf("history", "--history", str(path), "--all")
    assert code == 0 and "D1" in out and "drift altum.a" in out and "2026-12-01 20:40" in out


def test_imgconf_history_check_is_ok_or_the_problem(imgconf, history, path):
    for index in range(3):
        history.record(failing("altum", f"A{index}", index * 10), None)
    assert imgconf("history", "--history", str(path), "--check")[:2] == (0, "ok\n")
    path.write_bytes(path.read_bytes()[:-100])
    code, out, _ = imgconf("history", "--history", str(path), "--check")
    assert code == 2 and len(out.strip().splitlines()) == 1 and "damaged" in out
    code, out, err = imgconf("history", "--history", str(path))
    assert code == 2 and err.count("\n") == 1 and err.startswith("imgconf: ") and "exit 0" not in out


def test_imgconf_diff_picks_the_latest_monitor_run_and_each_vendors_previous_run(imgconf, history, path):
    compare_and_record(history, failing("altum", "A1", 0, count=2))
    compare_and_record(history, failing("identifai", "I1", 10))
    compare_and_record(history, failing("altum", "A2", 20, count=1))
    compare_and_record(history, failing("altum", "D1", 30, kind=RunKind.DRIFT, drifts=("altum.a",)))
    compare_and_record(history, make_run("X1", 40, [vendor("altum")], interrupted="SIGINT"))
    code, out, _ = imgconf("diff", "--history", str(path))
    assert code == 0, out
    assert out.startswith("A2 (monitor, target emulator): 0 new, 1 fixed, 1 persisting")
    assert "against A1" in out and "altum.rule-1" in out and "first seen 2026-12-01 20:00" in out
    code, out, _ = imgconf("diff", "A1", "A2", "--history", str(path))
    assert code == 0 and "0 new, 1 fixed, 1 persisting" in out
    code, _, err = imgconf("diff", "D1", "A2", "--history", str(path))
    assert code == 2 and "different kinds" in err
