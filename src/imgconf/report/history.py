"""Every run, kept: an SQLite file (reports/history.sqlite by default) of runs, vendor outcomes and findings.

What a monitor needs from its history is the answer to "what changed, and since when", and that answer is
only true when like is compared with like. So:

* **Per vendor.** Each vendor of a run is compared with *its own* previous comparable run on the same target
  key (`Target.key`), never with "the previous run on the target": a run of identifai in between says
  nothing about altum, and must not make altum's findings new.
* **Only checked vendors are comparable.** A vendor's run is comparable when the run was not interrupted and
  the vendor was really checked to the end: state conformant or non-conformant, a score, and not cut short.
  An outage (unreachable, retired, credentials-rejected, incomplete, error, interrupted) says nothing about
  findings: it never produces "fixed" items and is never the baseline of the next run, so the findings that
  existed before the outage are "persisting" afterwards, not "new".
* **Kinds apart.** A run is compared only within its *series*: same kind (monitor, drift, replay, validate),
  same target key, same drift set. Drift runs are experiments; they are stored and listed, and a drift run is
  compared with the previous run of the *same drift set* (so a repeated drift experiment shows its findings as
  persisting), but they never enter the trend or the diffs of monitor runs. Trends are monitor runs only.
* **Since when.** `first_seen` is the first time a fingerprint was seen for that vendor in the series
  (interrupted runs excepted: what they saw is not history), as an ISO datetime.

The file is the user's. It carries its schema version in `PRAGMA user_version` (`SCHEMA_VERSION`); a file
written before versions existed (version 0) is migrated in place, in one transaction, on first open; a file
from a newer imgconf is refused, never written. Every open runs `PRAGMA quick_check` (and compares the file's
size with the size its header declares, which catches a truncated copy even when the lost bytes happen to
be free space); a damaged, locked, foreign or not-a-database file is one `HistoryError` line, and is never
repaired, migrated or overwritten. Writing a run is one transaction: a crash leaves the history as it was.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from imgconf.errors import ImgconfError
from imgconf.report.outcome import Diff, DiffItem, Finding, RunKind, RunOutcome, State, VendorOutcome

SCHEMA_VERSION = 2

# Version 2. Version 0 (no version: imgconf before issue 10) had the same three tables without kind,
# interrupted, drifts and cut_short, and called state "verdict"; tests/test_history.py keeps a verbatim copy
# of it to build old files from. New columns come last, in the order `_migrate_from_0` adds them, so that a
# migrated file and a fresh one have the same tables column for column (a test holds them to that).
SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    target_key TEXT NOT NULL,
    target TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed INTEGER,
    state TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    report_dir TEXT,
    kind TEXT NOT NULL DEFAULT 'monitor',
    interrupted TEXT,
    drifts TEXT NOT NULL DEFAULT ''
);
CREATE TABLE vendor_results (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    vendor TEXT NOT NULL,
    state TEXT NOT NULL,
    score REAL,
    findings INTEGER NOT NULL,
    cut_short TEXT,
    PRIMARY KEY (run_id, vendor)
);
CREATE TABLE findings (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    fingerprint TEXT NOT NULL,
    vendor TEXT NOT NULL,
    operation TEXT,
    check_name TEXT NOT NULL,
    rule TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (run_id, fingerprint)
);
CREATE INDEX findings_by_fingerprint ON findings (fingerprint);
CREATE INDEX runs_by_target ON runs (target_key, started_at);
CREATE INDEX runs_by_series ON runs (target_key, kind, drifts, started_at);
"""

TABLES = frozenset({"runs", "vendor_results", "findings"})
# The states in which a vendor was checked, so that what it did not show can be called fixed.
COMPARABLE_STATES = (State.CONFORMANT, State.NON_CONFORMANT)
_COMPARABLE_SQL = (
    "r.interrupted IS NULL AND v.state IN ('conformant', 'non-conformant') "
    "AND v.cut_short IS NULL AND v.score IS NOT NULL"
)
# States in which nothing of the vendor was checked, whatever score a row carries (before issue 10 a vendor
# on a closed port was stored as "unreachable" with a score of 100%).
_UNCHECKED_SQL = "'unreachable', 'retired', 'credentials-rejected', 'error'"
_SQLITE_MAGIC = b"SQLite format 3\x00"


class HistoryError(ImgconfError):
    """The history file cannot be read or written (corrupt, locked, not a database, newer than this imgconf)."""


@dataclass(frozen=True)
class RunRow:
    """One recorded run, as `imgconf history --all` and `imgconf diff` list it."""

    run_id: str
    started_at: str
    target_key: str
    target: str
    kind: RunKind
    state: str
    exit_code: int
    requests: int
    interrupted: str | None
    drifts: tuple[str, ...]
    report_dir: str | None

    @property
    def series(self) -> tuple[str, str, str]:
        """What runs are compared within: target key, kind and drift set."""
        return (self.target_key, str(self.kind), ",".join(self.drifts))


@dataclass(frozen=True)
class VendorRow:
    """One vendor's outcome in a recorded run."""

    run_id: str
    vendor: str
    state: str
    score: float | None
    findings: int
    cut_short: str | None
    run_interrupted: str | None = None

    @property
    def comparable(self) -> bool:
        """Whether this vendor was checked to the end, so that a finding it did not show can be called fixed."""
        return (
            self.run_interrupted is None
            and self.state in COMPARABLE_STATES
            and self.cut_short is None
            and self.score is not None
        )


_RUN_COLUMNS = (
    "run_id, started_at, target_key, target, kind, state, exit_code, requests, interrupted, drifts, report_dir"
)


def _run_row(row: tuple[Any, ...]) -> RunRow:
    run_id, started_at, key, target, kind, state, exit_code, requests, interrupted, drifts, report_dir = row
    return RunRow(
        run_id,
        started_at,
        key,
        target,
        RunKind(kind),
        state,
        exit_code,
        requests,
        interrupted,
        tuple(drifts.split(",")) if drifts else (),
        report_dir,
    )


def comparable(run: RunOutcome, vendor: VendorOutcome) -> bool:
    """Whether `vendor` was checked to the end in `run` (see `VendorRow.comparable`): only such a run can call
    a finding fixed, and only such a run is the baseline of the vendor's next run."""
    return run.interrupted is None and vendor.state in COMPARABLE_STATES and vendor.cut_short is None and vendor.checked


def drift_set(drifts: Iterable[str]) -> str:
    """The drift set as stored: sorted, comma-joined, '' for a faithful target."""
    return ",".join(sorted(set(drifts)))


def series_of(run: RunOutcome) -> tuple[str, str, str]:
    return (run.target.key, str(run.kind), drift_set(run.target.drifts))


# One finding as the comparison sees it: what a DiffItem says apart from first_seen.
_Item = tuple[str, str, str | None, str, str, str]  # fingerprint, vendor, operation, check, rule, title


def _item_of(finding: Finding) -> _Item:
    return (finding.fingerprint, finding.vendor, finding.operation, finding.check, finding.rule["id"], finding.title)


@dataclass
class _Side:
    """One vendor of the run being compared: whether it was checked to the end, and what it found."""

    comparable: bool
    findings: dict[str, _Item]


class History:
    """The history file at `path`. Nothing is opened until a method needs it; every method opens, checks and
    closes the file, so a long run never holds a lock on it and each call sees the file as it is."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    # -- opening ---------------------------------------------------------------------------------------

    def _fail(self, reason: str) -> HistoryError:
        return HistoryError(f"history file {self.path} {reason}; it was left untouched")

    def _header_problem(self) -> str | None:
        """A damaged or foreign file, told from its first 100 bytes and its size, before SQLite reads it.

        SQLite reads a file shorter than its header declares as if the missing bytes were zeros, and
        `quick_check` only notices when those bytes held data; the header's page count notices always.
        """
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as handle:
                header = handle.read(100)
        except OSError as exc:
            return f"cannot be read ({exc.strerror or exc})"
        if size == 0:
            return None  # an empty file is an empty database: there is nothing in it to lose
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            return "is not an SQLite database"
        (page_size,) = struct.unpack(">H", header[16:18])
        page_size = 65536 if page_size == 1 else page_size
        change_counter, pages = struct.unpack(">II", header[24:32])
        (valid_for,) = struct.unpack(">I", header[92:96])
        wal = self.path.with_name(self.path.name + "-wal")
        if page_size < 512 or size % page_size:
            return f"is damaged: its size ({size} bytes) is not a whole number of {page_size}-byte pages"
        if valid_for == change_counter and pages and size < pages * page_size and not wal.exists():
            return f"is damaged: it has {size} bytes where its header declares {pages * page_size} (truncated?)"
        return None

    def _inspect(self, db: sqlite3.Connection) -> int | None:
        """Check the file's integrity and what it is; its schema version, or None for an empty database."""
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise self._fail(f"is damaged ({_one_line(problems)})")
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history file {self.path} has schema version {version}, newer than this imgconf knows "
                f"({SCHEMA_VERSION}); use a newer imgconf or another --history file; it was left untouched"
            )
        if not tables and version == 0:
            return None
        if not tables >= TABLES or version not in (0, SCHEMA_VERSION):
            raise self._fail("is not an imgconf history (its tables or schema version are not imgconf's)")
        return version

    def _recover(self) -> None:
        """Let SQLite roll back a transaction that a crash (kill -9, power loss) left in a hot journal.

        That rollback is SQLite's own atomic commit finishing its work, not a repair: it puts the file back as
        it was before the interrupted write. It needs a writable connection, so it is done here, once, before
        the read-only inspection (which would otherwise refuse a file that is merely mid-crash).
        """
        if not self.path.with_name(self.path.name + "-journal").exists():
            return
        db = self._connect(readonly=False)
        try:
            db.execute("PRAGMA schema_version").fetchone()  # the first read rolls a hot journal back
        finally:
            db.close()

    def _connect(self, *, readonly: bool) -> sqlite3.Connection:
        try:
            if readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                db = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"history file {self.path} cannot be opened: {_one_line([str(exc)])}") from None
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextmanager
    def _open(self, *, write: bool) -> Iterator[sqlite3.Connection | None]:
        """A checked connection at the current schema version; None when there is no history to read.

        Reading never writes, except the one-time migration of a version-0 file. Writing happens inside one
        `BEGIN IMMEDIATE` transaction that commits only if the whole block succeeds.
        """
        exists = self.path.exists()
        if not exists and not write:
            yield None
            return
        db: sqlite3.Connection | None = None
        try:
            if exists:
                self._recover()
                problem = self._header_problem()
                if problem:
                    raise self._fail(problem)
                db = self._connect(readonly=True)
                version = self._inspect(db)
                if version == SCHEMA_VERSION and not write:
                    yield db
                    return
                db.close()
                db = None
                if version is None and not write:
                    yield None
                    return
            db = self._connect(readonly=False)
            db.execute("BEGIN IMMEDIATE")
            try:
                version = self._inspect(db) if exists else None
                if version is None:
                    _create(db)
                elif version == 0:
                    _migrate_from_0(db, self.path)
                if write:
                    yield db
                    db.execute("COMMIT")
                else:
                    db.execute("COMMIT")
                    yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise self._fail("is locked by another process") from None
            raise self._fail(f"is corrupt or not imgconf's ({_one_line([text])})") from None
        finally:
            if db is not None:
                db.close()

    # -- writing -------------------------------------------------------------------------------------

    def record(self, run: RunOutcome, report_dir: Path | None) -> None:
        """Store `run` (every kind; the kind decides what reads it later), in one transaction."""
        with self._open(write=True) as db:
            assert db is not None
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise HistoryError(f"run {run.run_id} is already recorded in {self.path}; it was left untouched")
            self._insert_run(db, run, report_dir)
            self._insert_vendors(db, run)
            self._insert_findings(db, run)

    @staticmethod
    def _insert_run(db: sqlite3.Connection, run: RunOutcome, report_dir: Path | None) -> None:
        db.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS}, profile, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run.run_id,
                run.started_at,
                run.target.key,
                run.target.description,
                str(run.kind),
                str(run.state),
                run.exit_code,
                run.requests,
                run.interrupted,
                drift_set(run.target.drifts),
                str(report_dir) if report_dir else None,
                run.profile,
                run.seed,
            ),
        )

    @staticmethod
    def _insert_vendors(db: sqlite3.Connection, run: RunOutcome) -> None:
        db.executemany(
            "INSERT INTO vendor_results (run_id, vendor, state, score, findings, cut_short) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run.run_id, vendor.id, str(vendor.state), vendor.score, vendor.findings, vendor.cut_short)
                for vendor in run.vendors
            ],
        )

    @staticmethod
    def _insert_findings(db: sqlite3.Connection, run: RunOutcome) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO findings (run_id, fingerprint, vendor, operation, check_name, rule, title) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run.run_id, *_item_of(finding)) for finding in run.findings],
        )

    # -- comparing -----------------------------------------------------------------------------------

    def compare(self, run: RunOutcome) -> Diff:
        """What changed in `run` (not recorded yet) since each vendor's previous comparable run in its series.

        Sets every finding's `status` (new / persisting) and `first_seen`. Never writes, except the one-time
        migration of an old file. A vendor with no earlier comparable run has `previous` None and only new
        findings; a vendor not checked to the end in `run` gets no fixed items.
        """
        vendors = dict.fromkeys([vendor.id for vendor in run.vendors] + [finding.vendor for finding in run.findings])
        sides = {vendor_id: _Side(False, {}) for vendor_id in vendors}
        for vendor in run.vendors:
            sides[vendor.id].comparable = comparable(run, vendor)
        for finding in run.findings:
            sides[finding.vendor].findings[finding.fingerprint] = _item_of(finding)
        with self._open(write=False) as db:
            baselines = {
                vendor_id: _previous(db, series_of(run), vendor_id, exclude=run.run_id) if db else None
                for vendor_id in sides
            }
            diff = _diff(db, series_of(run), None, sides, baselines, now=run.started_at)
        status = {item.fingerprint: "new" for item in diff.new} | {
            item.fingerprint: "persisting" for item in diff.persisting
        }
        first = {item.fingerprint: item.first_seen for item in diff.new + diff.persisting}
        for finding in run.findings:
            finding.status = status.get(finding.fingerprint, "new")
            finding.first_seen = first.get(finding.fingerprint) or run.started_at
        return diff

    # -- reading -------------------------------------------------------------------------------------

    def runs(
        self,
        target_key: str | None = None,
        *,
        kinds: Collection[RunKind] | None = None,
        include_interrupted: bool = True,
        limit: int | None = None,
    ) -> list[RunRow]:
        """Recorded runs, newest first: all of them, or those on one target key, of some kinds."""
        query = f"SELECT {_RUN_COLUMNS} FROM runs WHERE 1 = 1"
        args: list[Any] = []
        if target_key is not None:
            query += " AND target_key = ?"
            args.append(target_key)
        if kinds is not None:
            query += f" AND kind IN ({','.join('?' * len(kinds))})"
            args += [str(kind) for kind in kinds]
        if not include_interrupted:
            query += " AND interrupted IS NULL"
        query += " ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._open(write=False) as db:
            if db is None:
                raise HistoryError(f"no history at {self.path}; runs are recorded there by `imgconf run`")
            return [_run_row(row) for row in db.execute(query, args)]

    def run(self, run_id: str) -> RunRow:
        with self._open(write=False) as db:
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)).fetchone() if db else None
        if row is None:
            raise HistoryError(f"no run {run_id!r} in {self.path}")
        return _run_row(row)

    def vendors(self, run_id: str) -> list[VendorRow]:
        """The vendors of a recorded run, by id."""
        with self._open(write=False) as db:
            if db is None:
                return []
            return [VendorRow(*row) for row in db.execute(_VENDOR_QUERY + " ORDER BY v.vendor", (run_id,))]

    def findings(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The findings of a recorded run, by fingerprint."""
        with self._open(write=False) as db:
            if db is None:
                return {}
            return {item[0]: _item_json(item) for item in _findings(db, run_id)}

    def trend(self, target_key: str, limit: int = 30) -> dict[str, list[dict[str, Any]]]:
        """Per vendor, its last `limit` checked monitor runs on `target_key`, oldest first.

        A point is {"run_id", "at" (ISO datetime), "score", "state", "findings"}. Drift runs, replays,
        validate runs, interrupted runs and runs in which the vendor was not checked (no score, or a state
        that checks nothing: unreachable, retired, credentials-rejected, error) are left out:
        a trend is of the vendor, not of experiments or outages.
        """
        with self._open(write=False) as db:
            if db is None:
                return {}
            rows = db.execute(
                "SELECT v.vendor, r.run_id, r.started_at, v.score, v.state, v.findings FROM vendor_results v "
                "JOIN runs r ON r.run_id = v.run_id WHERE r.target_key = ? AND r.kind = 'monitor' "
                f"AND r.interrupted IS NULL AND v.score IS NOT NULL AND v.state NOT IN ({_UNCHECKED_SQL}) "
                "ORDER BY r.started_at DESC, r.rowid DESC",
                (target_key,),
            ).fetchall()
        trend: dict[str, list[dict[str, Any]]] = {}
        for vendor, run_id, at, score, state, findings in rows:
            points = trend.setdefault(vendor, [])
            if len(points) < limit:
                points.append({"run_id": run_id, "at": at, "score": score, "state": state, "findings": findings})
        return {vendor: list(reversed(points)) for vendor, points in sorted(trend.items())}

    def check(self) -> str | None:
        """`PRAGMA integrity_check` (the thorough one) on the file: None when it is fine, else the problem in
        one line. Never writes and never migrates (beyond SQLite rolling back a crashed write, see `_recover`)."""
        if not self.path.exists():
            return f"no history at {self.path}"
        try:
            self._recover()
        except HistoryError as exc:
            return exc.message
        except sqlite3.DatabaseError as exc:
            return f"history file {self.path} is corrupt or not imgconf's ({_one_line([str(exc)])})"
        problem = self._header_problem()
        if problem:
            return f"history file {self.path} {problem}"
        try:
            db = self._connect(readonly=True)
        except HistoryError as exc:
            return exc.message
        try:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                return f"history file {self.path} is damaged ({_one_line(problems)})"
            self._inspect(db)
        except HistoryError as exc:
            return exc.message
        except sqlite3.DatabaseError as exc:
            return f"history file {self.path} is corrupt or not imgconf's ({_one_line([str(exc)])})"
        finally:
            db.close()
        return None


def diff_runs(history: History, older: str | None, newer: str) -> Diff:
    """What changed in the recorded run `newer`, vendor by vendor.

    Against `older` when given (which must be of the same kind: drift runs and replays are never compared
    with monitor runs); a vendor that `older` did not check to the end has no baseline there (previous None).
    Without `older`, each vendor against its own previous comparable run in `newer`'s series, as
    `History.compare` did when `newer` was recorded.
    """
    new_row = history.run(newer)
    old_row = history.run(older) if older is not None else None
    if old_row is not None and old_row.kind != new_row.kind:
        raise HistoryError(
            f"{older} is a {old_row.kind} run and {newer} a {new_row.kind} run: "
            "runs of different kinds are not compared"
        )
    with history._open(write=False) as db:
        assert db is not None  # history.run found the run
        position = _position(db, newer)
        sides: dict[str, _Side] = {}
        for vendor in db.execute(_VENDOR_QUERY, (newer,)).fetchall():
            sides[vendor[1]] = _Side(VendorRow(*vendor).comparable, {})
        for item in _findings(db, newer):
            sides.setdefault(item[1], _Side(False, {})).findings[item[0]] = item
        baselines: dict[str, str | None] = {}
        for vendor_id in sides:
            if old_row is None:
                baselines[vendor_id] = _previous(db, new_row.series, vendor_id, before=position)
            else:
                row = db.execute(_VENDOR_QUERY + " AND v.vendor = ?", (old_row.run_id, vendor_id)).fetchone()
                baselines[vendor_id] = old_row.run_id if row and VendorRow(*row).comparable else None
        return _diff(db, new_row.series, position, sides, baselines, now=new_row.started_at)


# -- the comparison, shared by compare() and diff_runs() -----------------------------------------------

_VENDOR_QUERY = (
    "SELECT v.run_id, v.vendor, v.state, v.score, v.findings, v.cut_short, r.interrupted "
    "FROM vendor_results v JOIN runs r ON r.run_id = v.run_id WHERE v.run_id = ?"
)


def _position(db: sqlite3.Connection, run_id: str) -> tuple[str, int]:
    """Where a recorded run stands in time: (started_at, rowid), so that ties keep their recording order."""
    row = db.execute("SELECT started_at, rowid FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return (row[0], row[1])


def _previous(
    db: sqlite3.Connection,
    series: tuple[str, str, str],
    vendor: str,
    *,
    exclude: str | None = None,
    before: tuple[str, int] | None = None,
) -> str | None:
    """The vendor's latest comparable run in `series` (before `before`, if given), or None."""
    query = (
        "SELECT r.run_id FROM runs r JOIN vendor_results v ON v.run_id = r.run_id "
        f"WHERE r.target_key = ? AND r.kind = ? AND r.drifts = ? AND v.vendor = ? AND {_COMPARABLE_SQL}"
    )
    args: list[Any] = [*series, vendor]
    if exclude is not None:
        query += " AND r.run_id != ?"
        args.append(exclude)
    if before is not None:
        query += " AND (r.started_at, r.rowid) < (?, ?)"
        args += list(before)
    row = db.execute(query + " ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1", args).fetchone()
    return row[0] if row else None


def _findings(db: sqlite3.Connection, run_id: str, vendor: str | None = None) -> list[_Item]:
    query = "SELECT fingerprint, vendor, operation, check_name, rule, title FROM findings WHERE run_id = ?"
    args = [run_id]
    if vendor is not None:
        query += " AND vendor = ?"
        args.append(vendor)
    return cast("list[_Item]", db.execute(query + " ORDER BY vendor, fingerprint", args).fetchall())


def _first_seen(
    db: sqlite3.Connection | None,
    series: tuple[str, str, str],
    vendor: str,
    fingerprints: Collection[str],
    upto: tuple[str, int] | None,
) -> dict[str, str]:
    """When each fingerprint was first seen for `vendor` in `series` (up to and including `upto`)."""
    if db is None or not fingerprints:
        return {}
    marks = ",".join("?" * len(fingerprints))
    query = (
        "SELECT f.fingerprint, MIN(r.started_at) FROM findings f JOIN runs r ON r.run_id = f.run_id "
        "WHERE r.target_key = ? AND r.kind = ? AND r.drifts = ? AND r.interrupted IS NULL AND f.vendor = ? "
        f"AND f.fingerprint IN ({marks})"
    )
    args: list[Any] = [*series, vendor, *fingerprints]
    if upto is not None:
        query += " AND (r.started_at, r.rowid) <= (?, ?)"
        args += list(upto)
    return dict(db.execute(query + " GROUP BY f.fingerprint", args).fetchall())


def _diff(
    db: sqlite3.Connection | None,
    series: tuple[str, str, str],
    position: tuple[str, int] | None,
    sides: dict[str, _Side],
    baselines: dict[str, str | None],
    *,
    now: str,
) -> Diff:
    """New, fixed and persisting, vendor by vendor: each vendor's findings against its baseline's."""
    new: list[DiffItem] = []
    fixed: list[DiffItem] = []
    persisting: list[DiffItem] = []
    for vendor_id, side in sides.items():
        baseline = baselines.get(vendor_id)
        before = {item[0]: item for item in _findings(db, baseline, vendor_id)} if db and baseline else {}
        gone = [item for fingerprint, item in before.items() if fingerprint not in side.findings]
        first = _first_seen(db, series, vendor_id, list(side.findings) + [item[0] for item in gone], position)

        def diff_item(item: _Item, first: dict[str, str] = first) -> DiffItem:
            return DiffItem(*item, first_seen=first.get(item[0], now))

        for fingerprint, item in side.findings.items():
            (persisting if fingerprint in before else new).append(diff_item(item))
        if side.comparable:  # only a vendor checked to the end can show that a finding is gone
            fixed += [diff_item(item) for item in gone]
    order = lambda item: (item.vendor, item.fingerprint)  # noqa: E731
    return Diff(
        previous={vendor_id: baselines.get(vendor_id) for vendor_id in sorted(sides)},
        new=sorted(new, key=order),
        fixed=sorted(fixed, key=order),
        persisting=sorted(persisting, key=order),
    )


def _item_json(item: _Item) -> dict[str, Any]:
    return dict(zip(("fingerprint", "vendor", "operation", "check", "rule", "title"), item, strict=True))


def _one_line(lines: Iterable[str]) -> str:
    """SQLite's messages, folded onto one line and cut short: an error is one line, whatever SQLite says."""
    text = "; ".join(" ".join(str(line).split()) for line in lines)
    return text if len(text) <= 200 else text[:197] + "..."


# -- creating and migrating --------------------------------------------------------------------------


def _create(db: sqlite3.Connection) -> None:
    """The version-2 schema in a new (or empty) file, inside the caller's transaction.

    `executescript` would COMMIT first, so the statements are run one by one.
    """
    for statement in _statements(SCHEMA):
        db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _migrate_from_0(db: sqlite3.Connection, history_path: Path) -> None:
    """Version 0 (no version) -> 2, inside the caller's transaction: if anything fails, nothing changed.

    Old runs become kind "monitor", except a run whose report.json (in its stored report_dir) names drifts in
    target.drifts, which becomes "drift" with that drift set, and a run on a "replay:" target key, which
    becomes "replay" (today's replay key). Old vendor verdict "skipped" becomes state "incomplete". A run
    whose report folder is gone stays "monitor": the file has nothing else that tells.
    """
    for statement in (
        "ALTER TABLE runs RENAME COLUMN verdict TO state",
        "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'monitor'",
        "ALTER TABLE runs ADD COLUMN interrupted TEXT",
        "ALTER TABLE runs ADD COLUMN drifts TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE vendor_results RENAME COLUMN verdict TO state",
        "ALTER TABLE vendor_results ADD COLUMN cut_short TEXT",
        "UPDATE vendor_results SET state = 'incomplete' WHERE state = 'skipped'",
        "UPDATE runs SET state = 'incomplete' WHERE state = 'skipped'",
        "UPDATE runs SET kind = 'replay' WHERE target_key LIKE 'replay:%'",
        "CREATE INDEX IF NOT EXISTS findings_by_fingerprint ON findings (fingerprint)",
        "CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target_key, started_at)",
        "CREATE INDEX IF NOT EXISTS runs_by_series ON runs (target_key, kind, drifts, started_at)",
    ):
        db.execute(statement)
    for run_id, report_dir in db.execute("SELECT run_id, report_dir FROM runs WHERE report_dir IS NOT NULL"):
        drifts = _old_report_drifts(Path(report_dir), history_path)
        if drifts:
            db.execute("UPDATE runs SET kind = 'drift', drifts = ? WHERE run_id = ?", (drift_set(drifts), run_id))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _old_report_drifts(report_dir: Path, history_path: Path) -> list[str]:
    """The drifts an old run's report.json names in target.drifts ([] when it is gone or unreadable).

    A relative report_dir was relative to wherever `imgconf run` ran; the history sits in the same --out
    folder as the report folders, so the folder's name beside the history is tried too.
    """
    for folder in (report_dir, history_path.parent / report_dir.name):
        try:
            report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        target = report.get("target") if isinstance(report, dict) else None
        drifts = target.get("drifts") if isinstance(target, dict) else None
        if isinstance(drifts, list):
            return [str(name) for name in drifts]
        return []
    return []
