"""Every run, kept: an SQLite file (reports/history.sqlite by default) of runs, vendor scores and findings.

Findings are keyed by their fingerprint (vendor, operation, check, rule, normalised message), so the
same problem seen in two runs is one problem, with a first-seen date. Runs are compared against the
previous run on the same target: the target's kind for the emulator (ports and drifts change between
runs; the contract does not), its URLs otherwise.

A history file that is corrupt or locked is never repaired or overwritten: the caller gets one
`HistoryError` line and the run's report is written regardless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgconf.errors import ImgconfError

SCHEMA = """
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


class HistoryError(ImgconfError):
    """The history file cannot be read or written (corrupt, locked, not a database)."""


def target_key(report: dict[str, Any]) -> str:
    target = report["target"]
    if target["kind"] in ("emulator", "emulator-http"):
        return "emulator"
    if target["kind"] == "replay":
        return f"replay:{target['description']}"
    return f"{target['kind']}:" + ",".join(f"{vendor}={url}" for vendor, url in sorted(target["urls"].items()))


@dataclass(frozen=True)
class RunRow:
    run_id: str
    started_at: str
    target_key: str
    verdict: str
    exit_code: int
    requests: int


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        if not create and not self.path.exists():
            raise HistoryError(f"no history at {self.path}; runs are recorded there by `imgconf run`")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5.0)
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"history file {self.path} cannot be opened: {exc}") from None
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            if create:
                connection.executescript(SCHEMA)
            yield connection
            connection.commit()
        except sqlite3.DatabaseError as exc:
            connection.rollback()
            reason = "is locked by another process" if "locked" in str(exc) else f"is corrupt or not imgconf's ({exc})"
            raise HistoryError(f"history file {self.path} {reason}; it was left untouched") from None
        finally:
            connection.close()

    # -- writing -------------------------------------------------------------------------------------

    def record(self, report: dict[str, Any], report_dir: Path | None) -> None:
        with self._connect(create=True) as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    report["run_id"],
                    report["started_at"],
                    target_key(report),
                    report["target"]["description"],
                    report["profile"],
                    report["seed"],
                    report["verdict"],
                    report["exit_code"],
                    report["requests"],
                    str(report_dir) if report_dir else None,
                ),
            )
            db.executemany(
                "INSERT INTO vendor_results VALUES (?, ?, ?, ?, ?)",
                [(report["run_id"], v["id"], v["verdict"], v["score"], v["findings"]) for v in report["vendors"]],
            )
            db.executemany(
                "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        report["run_id"],
                        f["fingerprint"],
                        f["vendor"],
                        f["operation"],
                        f["check"],
                        f["rule"]["id"],
                        f["title"],
                    )
                    for f in report["findings"]
                ],
            )

    # -- reading -------------------------------------------------------------------------------------

    def runs(self, target: str | None = None, limit: int | None = None) -> list[RunRow]:
        query = "SELECT run_id, started_at, target_key, verdict, exit_code, requests FROM runs"
        args: list[Any] = []
        if target is not None:
            query += " WHERE target_key = ?"
            args.append(target)
        query += " ORDER BY started_at DESC, rowid DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._connect(create=False) as db:
            return [RunRow(*row) for row in db.execute(query, args)]

    def previous(self, report: dict[str, Any]) -> RunRow | None:
        """The latest recorded run on the same target as `report` (which is not recorded yet)."""
        if not self.path.exists():
            return None
        rows = [row for row in self.runs(target_key(report), limit=5) if row.run_id != report["run_id"]]
        return rows[0] if rows else None

    def run(self, run_id: str) -> RunRow:
        with self._connect(create=False) as db:
            row = db.execute(
                "SELECT run_id, started_at, target_key, verdict, exit_code, requests FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        if row is None:
            raise HistoryError(f"no run {run_id!r} in {self.path}")
        return RunRow(*row)

    def findings(self, run_id: str) -> dict[str, dict[str, Any]]:
        with self._connect(create=False) as db:
            rows = db.execute(
                "SELECT fingerprint, vendor, operation, check_name, rule, title FROM findings WHERE run_id = ?",
                (run_id,),
            ).fetchall()
        return {
            row[0]: dict(zip(("fingerprint", "vendor", "operation", "check", "rule", "title"), row, strict=True))
            for row in rows
        }

    def vendors(self, run_id: str) -> set[str]:
        with self._connect(create=False) as db:
            return {row[0] for row in db.execute("SELECT vendor FROM vendor_results WHERE run_id = ?", (run_id,))}

    def first_seen(self, fingerprints: list[str], target: str) -> dict[str, str]:
        if not fingerprints or not self.path.exists():
            return {}
        marks = ",".join("?" * len(fingerprints))
        with self._connect(create=False) as db:
            rows = db.execute(
                f"SELECT f.fingerprint, MIN(r.started_at) FROM findings f JOIN runs r ON r.run_id = f.run_id "
                f"WHERE r.target_key = ? AND f.fingerprint IN ({marks}) GROUP BY f.fingerprint",
                [target, *fingerprints],
            ).fetchall()
        return dict(rows)

    def trend(self, target: str, limit: int = 30) -> dict[str, list[dict[str, Any]]]:
        """Per vendor, the last `limit` scored runs on a target, oldest first."""
        if not self.path.exists():
            return {}
        with self._connect(create=False) as db:
            rows = db.execute(
                "SELECT v.vendor, r.run_id, r.started_at, v.score, v.verdict, v.findings FROM vendor_results v "
                "JOIN runs r ON r.run_id = v.run_id WHERE r.target_key = ? ORDER BY r.started_at DESC, r.rowid DESC",
                (target,),
            ).fetchall()
        trend: dict[str, list[dict[str, Any]]] = {}
        for vendor, run_id, at, score, verdict, findings in rows:
            points = trend.setdefault(vendor, [])
            if len(points) < limit:
                points.append({"run_id": run_id, "at": at, "score": score, "verdict": verdict, "findings": findings})
        return {vendor: list(reversed(points)) for vendor, points in trend.items()}


def diff(history: History, report: dict[str, Any], previous: RunRow | None) -> dict[str, Any]:
    """New, fixed and persisting findings of `report` against the `previous` run on its target."""
    key = target_key(report)
    current = {finding["fingerprint"]: finding for finding in report["findings"]}
    before = history.findings(previous.run_id) if previous else {}
    vendors = {vendor["id"] for vendor in report["vendors"]}
    compared = history.vendors(previous.run_id) & vendors if previous else vendors
    first = history.first_seen(list(current), key)

    def item(finding: dict[str, Any]) -> dict[str, Any]:
        rule = finding["rule"]["id"] if isinstance(finding["rule"], dict) else finding["rule"]
        return {
            "fingerprint": finding["fingerprint"],
            "vendor": finding["vendor"],
            "operation": finding["operation"],
            "check": finding["check"],
            "rule": rule,
            "title": finding["title"],
            "first_seen": first.get(finding["fingerprint"], report["started_at"]),
        }

    new = [item(f) for fp, f in current.items() if fp not in before]
    persisting = [item(f) for fp, f in current.items() if fp in before]
    fixed = [item(f) for fp, f in before.items() if fp not in current and f["vendor"] in compared]
    return {"previous_run": previous.run_id if previous else None, "new": new, "fixed": fixed, "persisting": persisting}


def diff_runs(history: History, older: str, newer: str) -> dict[str, Any]:
    """The same comparison between two recorded runs."""
    newer_row = history.run(newer)
    before = history.findings(older)
    after = history.findings(newer)
    compared = history.vendors(older) & history.vendors(newer)
    first = history.first_seen(list(after) + list(before), newer_row.target_key)

    def item(finding: dict[str, Any]) -> dict[str, Any]:
        return {**finding, "first_seen": first.get(finding["fingerprint"])}

    return {
        "previous_run": older,
        "new": [item(f) for fp, f in after.items() if fp not in before],
        "fixed": [item(f) for fp, f in before.items() if fp not in after and f["vendor"] in compared],
        "persisting": [item(f) for fp, f in after.items() if fp in before],
    }
