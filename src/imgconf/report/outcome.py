"""The run outcome: what one run found, typed, before it is written in any format.

It is built once, from pytest's outcomes (testing/collector.py), and is the only thing any output reads:
the terminal table, report.json (its serialisation, validated against schemas/report/report.schema.json),
junit.xml, summary.md, report.html and the history all render this one object, so they cannot disagree.
`imgconf validate` and `--replay` build the same object through the same builder.

A vendor's outcome has exactly one `State`. The states keep apart facts a monitor must not confuse:
the vendor broke its contract (non-conformant), the vendor could not be reached or is gone (unreachable,
retired), the operator's credential was refused (credentials-rejected), the run could not finish
(incomplete: budget or time ran out before anything was found), the operator stopped it (interrupted),
or imgconf itself failed (error). The exit code follows from the states by one policy, `exit_code`,
at the end of this module.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

FORMAT = "imgconf-report/2"


class State(StrEnum):
    CONFORMANT = "conformant"
    NON_CONFORMANT = "non-conformant"
    UNREACHABLE = "unreachable"
    RETIRED = "retired"
    CREDENTIALS_REJECTED = "credentials-rejected"
    INCOMPLETE = "incomplete"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class RunKind(StrEnum):
    """What a run was for. Only `monitor` runs make history's trends and diffs; the rest are kept apart."""

    MONITOR = "monitor"  # a real run against a target: the emulator, a URL, a live vendor
    DRIFT = "drift"  # an experiment against a deliberately drifted emulator
    REPLAY = "replay"  # a cassette answered offline
    VALIDATE = "validate"  # recorded traffic held to the specs
    PROXY = "proxy"  # a window of real traffic relayed by `imgconf proxy`


@dataclass(frozen=True)
class Gate:
    """Which findings make the run fail (exit 1); the report shows every finding either way.

    `fail_on="new"` counts only findings not seen in the vendor's previous run on the same target;
    `basis="documented"` counts only rules the vendor's own documents state, so that a live monitor is not
    failed by this project's assumptions.
    """

    fail_on: str = "any"  # any | new
    basis: str = "any"  # any | documented

    def counts(self, finding: Finding) -> bool:
        if finding.kind == "application":  # the application's own request (imgconf proxy): never the vendor's
            return False
        if self.basis == "documented" and finding.rule.get("basis") != "documented":
            return False
        return not (self.fail_on == "new" and finding.status != "new")

    def describe(self) -> str:
        parts = []
        if self.fail_on == "new":
            parts.append("only findings new since the vendor's previous run")
        if self.basis == "documented":
            parts.append("only rules the vendor documents")
        return " and ".join(parts) or "every finding"


@dataclass
class Evidence:
    """The exchange that showed a finding: redacted request and response, and a command that repeats it."""

    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    curl: str | None = None
    seq: int | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # evidence/<name> -> bytes, written beside the report


@dataclass
class Finding:
    vendor: str
    operation: str | None
    check: str
    rule: dict[str, Any]
    title: str
    message: str
    test: str
    kind: str
    evidence: Evidence = field(default_factory=Evidence)
    occurrences: int = 1
    id: str = ""
    status: str | None = None  # new | persisting, once compared with history
    first_seen: str | None = None
    tests: list[str] = field(default_factory=list)  # every test that showed it (`test` is the first)

    @property
    def fingerprint(self) -> str:
        """Stable across runs: vendor, operation, check, rule and the message with volatile parts removed."""
        key = "|".join((self.vendor, self.operation or "", self.check, self.rule["id"], normalise(self.message)))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "vendor": self.vendor,
            "operation": self.operation,
            "check": self.check,
            "rule": self.rule,
            "title": self.title,
            "message": self.message,
            "test": self.test,
            "tests": self.tests,
            "kind": self.kind,
            "occurrences": self.occurrences,
            "seq": self.evidence.seq,
            "request": self.evidence.request,
            "response": self.evidence.response,
            "curl": self.evidence.curl,
            "attachments": sorted(self.evidence.files),
        }
        if self.status is not None:
            data["status"] = self.status
            data["first_seen"] = self.first_seen
        return data


_VOLATILE = [
    (re.compile(r"\b[0-9a-f]{12,}\b"), "<hex>"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "<n>"),
    (re.compile(r"'[^']{24,}'|\"[^\"]{24,}\""), "<text>"),
]


def normalise(message: str) -> str:
    text = message.splitlines()[0] if message else ""
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text.strip()


def number_findings(findings: list[Finding]) -> list[Finding]:
    """Merge repeats of one finding and give ids in fingerprint order: same findings, same ids, every run."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        key = finding.fingerprint
        if key in merged:
            merged[key].occurrences += 1
        else:
            merged[key] = finding
    ordered = sorted(merged.values(), key=lambda finding: (finding.vendor, finding.fingerprint))
    for index, finding in enumerate(ordered, start=1):
        finding.id = f"F{index}"
    return ordered


@dataclass
class Cell:
    """How often one check passed and failed on one operation."""

    vendor: str
    operation: str
    check: str
    passed: int = 0
    failed: int = 0

    @property
    def status(self) -> str:
        return "fail" if self.failed else "pass"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


# A test's outcome: pytest's three, plus why a test that did not pass was not a failure of the vendor.
TEST_OUTCOMES = ("passed", "failed", "skipped", "unreachable", "budget", "credentials", "interrupted", "error")


@dataclass
class TestRecord:
    nodeid: str
    vendor: str
    kind: str
    outcome: str  # one of TEST_OUTCOMES
    duration: float
    requests: int = 0
    reason: str | None = None
    operation: str | None = None
    findings: list[str] = field(default_factory=list)  # ids of the findings this test showed

    @property
    def name(self) -> str:
        return self.nodeid.rpartition("::")[2]


@dataclass
class NotChecked:
    """A rule of the catalogue this run did not put to the test, and why (a mode, a credential, reachability)."""

    rule: str
    why: str


@dataclass
class Coverage:
    """How much of the rule catalogue a run checked: `checked` of `total` rules, and the rest with reasons.

    A conformant verdict is only as good as its coverage: 100% of 20 rules of 90 says little about the 70.
    """

    checked: int
    total: int
    not_checked: list[NotChecked] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.checked / self.total if self.total else None

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "total": self.total,
            "not_checked": [asdict(item) for item in self.not_checked],
        }


@dataclass
class OperationResult:
    operation: str
    spec: str
    deprecated: bool
    score: float | None
    findings: int
    rules_checked: int = 0
    rules_total: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Retirement:
    offline: str
    source: str
    stops_selling: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"stops_selling": self.stops_selling, "offline": self.offline, "source": self.source}


@dataclass
class VendorOutcome:
    id: str
    title: str
    state: State
    score: float | None  # None when nothing was checked, or what was is no measure (an outage's 5xx answers)
    operations: list[OperationResult]
    findings: int
    requests: int
    tests: dict[str, int]
    drifts: list[str]
    reason: str | None = None  # why the state is not conformant / non-conformant, in one line
    cut_short: str | None = None  # the run of this vendor did not finish (budget, time, interruption)
    retirement: Retirement | None = None
    retry_after: str | None = None  # the Retry-After a throttling target gave
    coverage: Coverage | None = None  # which rules of the catalogue this run checked

    @property
    def checked(self) -> bool:
        return self.score is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "state": str(self.state),
            "score": self.score,
            "operations": [operation.to_json() for operation in self.operations],
            "findings": self.findings,
            "requests": self.requests,
            "tests": self.tests,
            "drifts": self.drifts,
            "reason": self.reason,
            "cut_short": self.cut_short,
            "retirement": self.retirement.to_json() if self.retirement else None,
            "retry_after": self.retry_after,
            "coverage": self.coverage.to_json() if self.coverage else None,
        }


@dataclass
class DiffItem:
    fingerprint: str
    vendor: str
    operation: str | None
    check: str
    rule: str
    title: str
    first_seen: str | None


@dataclass
class Diff:
    """What changed since each vendor's previous comparable run on the same target."""

    previous: dict[str, str | None]  # vendor -> run id of its previous run (None: first run)
    new: list[DiffItem]
    fixed: list[DiffItem]
    persisting: list[DiffItem]

    @property
    def previous_run(self) -> str | None:
        runs = sorted({run for run in self.previous.values() if run})
        return runs[-1] if runs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "previous_run": self.previous_run,
            "previous": self.previous,
            "new": [asdict(item) for item in self.new],
            "fixed": [asdict(item) for item in self.fixed],
            "persisting": [asdict(item) for item in self.persisting],
        }


@dataclass
class Target:
    """Where the run went, as a report shows it (URLs redacted)."""

    kind: str
    description: str
    urls: dict[str, str]
    drifts: list[str]
    key: str  # what history compares runs by

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "urls": self.urls, "drifts": self.drifts}


@dataclass
class RunOutcome:
    run_id: str
    kind: RunKind
    started_at: str
    finished_at: str
    duration_s: float
    target: Target
    profile: str
    seed: int | None
    versions: dict[str, str]
    vendors: list[VendorOutcome]
    findings: list[Finding]
    cells: list[Cell]
    tests: list[TestRecord]
    requests: int
    command: str
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # SIGINT | SIGTERM, when the operator stopped the run
    gate: Gate = field(default_factory=Gate)
    diff: Diff | None = None
    history_error: str | None = None

    @property
    def state(self) -> State:
        return run_state(self)

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    def vendor(self, vendor_id: str) -> VendorOutcome:
        return next(vendor for vendor in self.vendors if vendor.id == vendor_id)

    def gated(self) -> list[Finding]:
        """The findings that fail the run under its gate."""
        return [finding for finding in self.findings if self.gate.counts(finding)]

    def evidence_files(self) -> dict[str, bytes]:
        """The files its findings' reproducers refer to (evidence/<name>), written beside the report."""
        return {name: data for finding in self.findings for name, data in finding.evidence.files.items()}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": FORMAT,
            "run_id": self.run_id,
            "kind": str(self.kind),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "command": self.command,
            "target": self.target.to_json(),
            "profile": self.profile,
            "seed": self.seed,
            "versions": self.versions,
            "state": str(self.state),
            "exit_code": self.exit_code,
            "interrupted": self.interrupted,
            "gate": {"fail_on": self.gate.fail_on, "basis": self.gate.basis},
            "requests": self.requests,
            "vendors": [vendor.to_json() for vendor in self.vendors],
            "matrix": [cell.to_json() for cell in self.cells],
            "findings": [finding.to_json() for finding in self.findings],
            "tests": [asdict(test) for test in self.tests],
            "notes": self.notes,
        }
        if self.diff is not None:
            data["diff"] = self.diff.to_json()
        return data


# -- the exit policy ------------------------------------------------------------------------------------
# One table, documented in the README: a vendor's contract break is 1, the operator's problem 2, an outage
# or a run that could not finish 3, the operator's Ctrl-C 130 (143 for SIGTERM). Findings win over a run cut
# short: what was found is true even if not everything was checked.

EXIT_CODES: dict[State, int] = {
    State.CONFORMANT: 0,
    State.NON_CONFORMANT: 1,
    State.CREDENTIALS_REJECTED: 2,
    State.ERROR: 4,
    State.UNREACHABLE: 3,
    State.RETIRED: 3,
    State.INCOMPLETE: 3,
    State.INTERRUPTED: 130,
}
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}
# Which state speaks for a run of several vendors: the first of these that any vendor has.
PRECEDENCE = (
    State.NON_CONFORMANT,
    State.CREDENTIALS_REJECTED,
    State.ERROR,
    State.UNREACHABLE,
    State.RETIRED,
    State.INCOMPLETE,
    State.CONFORMANT,
)


def weightiest(states: set[State]) -> State:
    """The state that speaks for several: the first in PRECEDENCE; with none at all, nothing was checked."""
    return next((state for state in PRECEDENCE if state in states), State.INCOMPLETE)


def run_state(run: RunOutcome) -> State:
    """The run's one state: interrupted if the operator stopped it, else the weightiest vendor state."""
    if run.interrupted:
        return State.INTERRUPTED
    states = {vendor.state for vendor in run.vendors}
    return weightiest(states)


def vendor_exit_state(run: RunOutcome, vendor: VendorOutcome) -> State:
    """The state a vendor contributes to the exit code, after the gate: findings it lets through are 1;
    a non-conformant vendor whose every finding the gate holds back counts as what else it was."""
    if vendor.state is not State.NON_CONFORMANT:
        return vendor.state
    if any(finding.vendor == vendor.id for finding in run.gated()):
        return State.NON_CONFORMANT
    return State.INCOMPLETE if vendor.cut_short else State.CONFORMANT


def exit_code(run: RunOutcome) -> int:
    """The one exit policy: every command that ends in a run outcome returns this."""
    if run.interrupted:
        return SIGNAL_EXIT.get(run.interrupted, 130)
    states = {vendor_exit_state(run, vendor) for vendor in run.vendors}
    state = weightiest(states)
    code = EXIT_CODES[state]
    # A history that could not be read or written is the operator's to fix; it never hides a finding.
    return 2 if code == 0 and run.history_error else code
