"""The run model: what one run found, before it is written in any format.

Data flows one way: the pytest plugin fills a `Run`; `report.json` is its
serialisation (validated against schemas/report/report.schema.json); every
other artifact (junit.xml, summary.md, report.html) is rendered from that
JSON, never from the live objects, so all of them say the same thing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["conformant", "non-conformant", "unreachable", "retired", "skipped"]
FORMAT = "imgconf-report/1"


@dataclass
class Evidence:
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

    @property
    def fingerprint(self) -> str:
        """Stable across runs: vendor, operation, check, rule and the message with volatile parts removed."""
        key = "|".join((self.vendor, self.operation or "", self.check, self.rule["id"], normalise(self.message)))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def asdict(self) -> dict[str, Any]:
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
            "kind": self.kind,
            "occurrences": self.occurrences,
            "seq": self.evidence.seq,
            "request": self.evidence.request,
            "response": self.evidence.response,
            "curl": self.evidence.curl,
            "attachments": sorted(self.evidence.files),
        }
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


@dataclass
class TestRecord:
    nodeid: str
    vendor: str
    kind: str
    outcome: str  # passed | failed | skipped | unreachable
    duration: float
    requests: int = 0
    reason: str | None = None


@dataclass
class VendorSummary:
    id: str
    title: str
    verdict: Verdict
    score: float | None
    operations: list[dict[str, Any]]
    findings: int
    requests: int
    tests: dict[str, int]
    drifts: list[str]
    note: str | None = None
    retirement: dict[str, Any] | None = None


@dataclass
class Run:
    run_id: str
    started_at: str
    finished_at: str
    duration_s: float
    target: dict[str, Any]
    profile: str
    seed: int | None
    versions: dict[str, str]
    verdict: Verdict
    exit_code: int
    vendors: list[VendorSummary]
    findings: list[Finding]
    cells: list[Cell]
    tests: list[TestRecord]
    requests: int
    command: str
    notes: list[str] = field(default_factory=list)

    def evidence_files(self) -> dict[str, bytes]:
        """The files its findings' reproducers refer to (evidence/<name>), written beside the report."""
        return {name: data for finding in self.findings for name, data in finding.evidence.files.items()}

    def asdict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": round(self.duration_s, 3),
            "command": self.command,
            "target": self.target,
            "profile": self.profile,
            "seed": self.seed,
            "versions": self.versions,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "requests": self.requests,
            "vendors": [asdict(vendor) for vendor in self.vendors],
            "matrix": [{**asdict(cell), "status": cell.status} for cell in self.cells],
            "findings": [finding.asdict() for finding in self.findings],
            "tests": [asdict(test) for test in self.tests],
            "notes": self.notes,
        }
