"""From test outcomes to findings: which rule broke, on which operation, shown by which exchange.

A failed test can hold several failures (schemathesis groups them; Hypothesis
groups distinct bugs), so an outcome is flattened into one finding per
failure, each traced to a rule: a `RuleViolation` names it, a schema
violation is traced to the nearest `x-rule` of the failing keyword, a generic
schemathesis check maps through the spec's `x-check-rules`, and a plain
assertion takes the `rule` marker of its test.
"""

from __future__ import annotations

import platform
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from imgconf import __version__, clock, specs
from imgconf.errors import BudgetExhausted, ExitCode, TargetUnreachable
from imgconf.redact import REDACTOR
from imgconf.report import evidence
from imgconf.report.model import Cell, Finding, Run, TestRecord, VendorSummary
from imgconf.testing.checks import RuleViolation
from imgconf.testing.transport import Exchange, HostNotAllowed

if TYPE_CHECKING:
    from imgconf.testing.session import SuiteSession
    from imgconf.vendors.base import Vendor

NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, TargetUnreachable)
# A vendor whose answers are mostly 5xx is down, not non-conformant: at least this many, and this share.
STORM_MIN = 5
STORM_SHARE = 0.5


def flatten(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from flatten(inner)
    else:
        yield exc


class Collector:
    def __init__(self, session: SuiteSession) -> None:
        self.session = session
        self.cells: dict[tuple[str, str, str], Cell] = {}
        self.findings: list[Finding] = []
        self.tests: list[TestRecord] = []
        self.unreachable: dict[str, str] = {}
        self.budget_exhausted: dict[str, str] = {}
        self.started = time.time()

    # -- while tests run ------------------------------------------------------------------------

    def cell(self, vendor: str, operation: str, check: str, ok: bool) -> None:
        key = (vendor, operation, check)
        cell = self.cells.setdefault(key, Cell(vendor, operation, check))
        if ok:
            cell.passed += 1
        else:
            cell.failed += 1

    def finished(
        self,
        nodeid: str,
        vendor: str,
        kind: str,
        rule_id: str | None,
        outcome: str,
        duration: float,
        exc: BaseException | None,
        exchanges: list[Exchange],
        skip_reason: str | None = None,
        operations: list[str] | None = None,
    ) -> None:
        """Record one test; `outcome` is pytest's (passed, failed, skipped) for the call phase."""
        from imgconf import vendors as registry

        record = TestRecord(nodeid, vendor, kind, outcome, round(duration, 4), len(exchanges), skip_reason)
        vendor_obj = registry.get(vendor)
        if outcome == "skipped" and skip_reason and skip_reason.startswith("unreachable"):
            record.outcome = "unreachable"
            self.unreachable.setdefault(vendor, skip_reason.removeprefix("unreachable: "))
        if exc is not None:
            errors = list(flatten(exc))
            network = [error for error in errors if isinstance(error, NETWORK_ERRORS)]
            budget = [error for error in errors if isinstance(error, BudgetExhausted)]
            if budget:
                record.outcome = "budget"
                record.reason = budget[0].message
                self.budget_exhausted.setdefault(vendor, budget[0].message)
            elif network and len(network) == len(errors):
                record.outcome = "unreachable"
                record.reason = REDACTOR.text(f"{type(network[0]).__name__}: {network[0]}")[:300]
                self.unreachable.setdefault(vendor, record.reason)
            else:
                for error in errors:
                    if isinstance(error, (*NETWORK_ERRORS, BudgetExhausted)):
                        continue
                    self.findings.extend(
                        self._findings(vendor_obj, nodeid, kind, rule_id, error, exchanges, (operations or [None])[0])
                    )
        self.tests.append(record)
        if kind != "contract":
            self._behaviour_cells(vendor_obj, kind, rule_id, record.outcome, exchanges, operations or [])

    def _behaviour_cells(
        self,
        vendor: Vendor,
        kind: str,
        rule_id: str | None,
        outcome: str,
        exchanges: list[Exchange],
        declared: list[str],
    ) -> None:
        if outcome not in ("passed", "failed"):
            return
        column = "examples" if kind == "examples" else vendor.rule(rule_id or "contract.unknown").category
        operations = set(declared) or {self._operation(vendor, exchange) for exchange in exchanges} - {None}
        for operation in operations or {"(spec)"}:
            self.cell(vendor.id, operation, column, outcome == "passed")

    @staticmethod
    def _operation(vendor: Vendor, exchange: Exchange) -> str | None:
        found = vendor.spec_for(exchange.method, exchange.path)
        return found[1].label if found else None

    def _evidence_exchange(self, vendor: Vendor, operation: str | None, exchanges: list[Exchange]) -> Exchange | None:
        for exchange in reversed(exchanges):
            if operation is None or self._operation(vendor, exchange) == operation:
                return exchange
        return exchanges[-1] if exchanges else None

    def _findings(
        self,
        vendor: Vendor,
        nodeid: str,
        kind: str,
        marker_rule: str | None,
        error: BaseException,
        exchanges: list[Exchange],
        declared_operation: str | None = None,
    ) -> list[Finding]:
        from schemathesis.core.failures import CustomFailure, Failure

        if isinstance(error, Failure):
            check = error.checks[0] if error.checks else "custom"
            rule_id: str
            if isinstance(error, CustomFailure) and isinstance(error.exception, RuleViolation):
                rule_id = error.exception.rule
                check = error.title.removeprefix("Custom check failed: ").strip("`")
                message = error.exception.detail
            else:
                rule_id = self._rule_for_failure(vendor, error, check)
                message = error.message
            operation = error.operation
            title = f"{check} failed" if isinstance(error, CustomFailure) else error.title
        elif isinstance(error, RuleViolation):
            rule_id, check, title, message = error.rule, "", "Rule violated", error.detail
            operation = None
        elif isinstance(error, AssertionError):
            rule_id, check, title = marker_rule or "contract.unknown", "", "Assertion failed"
            message = str(error) or "assertion failed"
            operation = None
        elif isinstance(error, HostNotAllowed):
            rule_id, check, title, message, operation = "contract.unknown", "", "Suite error", str(error), None
        else:
            rule_id, check, title = marker_rule or "contract.unknown", "", "Unexpected answer"
            message = f"{type(error).__name__}: {error}"
            operation = None
        operation = operation or declared_operation
        rule = vendor.rule(rule_id)
        if not check:
            check = "examples" if kind == "examples" else rule.category
        exchange = self._evidence_exchange(vendor, operation, exchanges)
        if operation is None and exchange is not None:
            operation = self._operation(vendor, exchange)
        finding = Finding(
            vendor=vendor.id,
            operation=operation,
            check=check,
            rule=rule.asdict(),
            title=REDACTOR.text(title),
            message=REDACTOR.text(_first_block(message)),
            test=nodeid,
            kind=kind,
        )
        if exchange is not None:
            finding.evidence = evidence.from_exchange(exchange, f"req{exchange.seq}")
        if kind == "contract" and operation:
            self.cell(vendor.id, operation, check, False)
        return [finding]

    @staticmethod
    def _rule_for_failure(vendor: Vendor, failure: Any, check: str) -> str:
        spec = next(
            (s for s in vendor.specs if failure.operation and s.operation_by_label(failure.operation)), vendor.specs[0]
        )
        schema_path = getattr(failure, "schema_path", None)
        root = getattr(failure, "_root_schema", None)
        if schema_path is not None and root is not None:
            found = specs.rule_for_schema_location(spec, root, list(schema_path))
            if found:
                return found
        return spec.rule_for_check(check).id

    # -- at the end ------------------------------------------------------------------------------

    def build(self, duration: float) -> Run:
        from imgconf import vendors as registry

        options = self.session.options
        findings = _merge_duplicates(self.findings)
        for index, finding in enumerate(findings, start=1):
            finding.id = f"F{index}"
        summaries = [self._vendor_summary(registry.get(vendor_id), findings) for vendor_id in options.vendors]
        if any(summary.verdict == "non-conformant" for summary in summaries):
            verdict, code = "non-conformant", ExitCode.NON_CONFORMANT
        elif any(summary.verdict in ("unreachable", "retired") for summary in summaries):
            verdict = (
                "retired"
                if all(s.verdict == "retired" for s in summaries if s.verdict != "conformant")
                else "unreachable"
            )
            code = ExitCode.UNREACHABLE
        else:
            verdict, code = "conformant", ExitCode.CONFORMANT
        started = datetime.fromtimestamp(self.started, UTC)
        finished = datetime.fromtimestamp(self.started + duration, UTC)
        target = {
            "kind": options.target.kind,
            "description": options.target.describe(),
            "urls": {vendor: REDACTOR.url(url) for vendor, url in self._urls().items()},
            "drifts": sorted(name for names in options.drifts.values() for name in names),
        }
        return Run(
            run_id=f"{started.strftime('%Y%m%dT%H%M%SZ')}-{options.target.kind}-{'-'.join(options.vendors)}"
            f"-{secrets.token_hex(2)}",
            started_at=started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            duration_s=duration,
            target=target,
            profile=options.profile.name,
            seed=options.seed,
            versions=_versions(),
            verdict=verdict,  # type: ignore[arg-type]
            exit_code=int(code),
            vendors=summaries,
            findings=findings,
            cells=sorted(self.cells.values(), key=lambda c: (c.vendor, c.operation, c.check)),
            tests=self.tests,
            requests=self.session.recorder.total,
            command=REDACTOR.text(options.command),
            notes=list(self.budget_exhausted.values())
            + [
                f"{vendor}: waited out {len(target.guard.waited)} × 429 ({sum(target.guard.waited):.1f} s of back-off)"
                for vendor, target in (self.session._targets or {}).items()
                if target.guard.waited
            ],
        )

    def _urls(self) -> dict[str, str]:
        resolved = self.session._targets or {}
        return {vendor: target.base_url for vendor, target in resolved.items()}

    def _vendor_summary(self, vendor: Vendor, findings: list[Finding]) -> VendorSummary:
        own = [finding for finding in findings if finding.vendor == vendor.id]
        cells = [cell for cell in self.cells.values() if cell.vendor == vendor.id]
        tests = [test for test in self.tests if test.vendor == vendor.id]
        counts = {
            outcome: sum(1 for test in tests if test.outcome == outcome)
            for outcome in ("passed", "failed", "skipped", "unreachable", "budget")
        }
        operations = []
        for spec in vendor.specs:
            for operation in spec.operations:
                op_cells = [cell for cell in cells if cell.operation == operation.label]
                operations.append(
                    {
                        "operation": operation.label,
                        "spec": spec.path.name,
                        "deprecated": operation.deprecated,
                        "score": _score(op_cells),
                        "findings": sum(1 for finding in own if finding.operation == operation.label),
                    }
                )
        note = self.unreachable.get(vendor.id) or self.budget_exhausted.get(vendor.id)
        recorder = self.session.recorder
        sent, failing = recorder.per_vendor.get(vendor.id, 0), recorder.server_errors.get(vendor.id, 0)
        storm = failing >= STORM_MIN and failing >= STORM_SHARE * sent
        if storm:
            self.unreachable.setdefault(vendor.id, f"the service is failing: {failing} of {sent} answers were 5xx")
            note = self.unreachable[vendor.id]
        verdict = "conformant"
        if own and not storm:
            verdict = "non-conformant"
        elif vendor.id in self.unreachable or vendor.id in self.budget_exhausted:
            verdict = "unreachable"
            if vendor.retirement and clock.today() >= vendor.retirement.offline and vendor.id in self.unreachable:
                verdict = "retired"
                note = f"retired on {vendor.retirement.offline.isoformat()} ({vendor.retirement.source}); {note}"
        elif not tests or all(test.outcome == "skipped" for test in tests):
            verdict = "skipped"
        retirement = None
        if vendor.retirement:
            retirement = {
                "stops_selling": vendor.retirement.stops_selling.isoformat()
                if vendor.retirement.stops_selling
                else None,
                "offline": vendor.retirement.offline.isoformat(),
                "source": vendor.retirement.source,
            }
        return VendorSummary(
            id=vendor.id,
            title=vendor.title,
            verdict=verdict,  # type: ignore[arg-type]
            score=_score(cells),
            operations=operations,
            findings=len(own),
            requests=self.session.recorder.per_vendor.get(vendor.id, 0),
            tests=counts,
            drifts=sorted(self.session.options.drifts.get(vendor.id, frozenset())),
            note=note,
            retirement=retirement,
        )


def _score(cells: list[Cell]) -> float | None:
    if not cells:
        return None
    return round(sum(1 for cell in cells if not cell.failed) / len(cells), 4)


def _merge_duplicates(findings: list[Finding]) -> list[Finding]:
    merged: dict[str, Finding] = {}
    for finding in findings:
        key = finding.fingerprint
        if key in merged:
            merged[key].occurrences += 1
        else:
            merged[key] = finding
    return list(merged.values())


def _first_block(message: str) -> str:
    """Schemathesis messages end with a curl and the raw body, pytest's with its assertion diff;
    the report shows the evidence separately, so the message keeps only what was said."""
    for marker in ("\n\nReproduce with", "\n\n[", "\nReproduce with"):
        if marker in message:
            message = message.split(marker, 1)[0]
    said, sep, _ = message.partition("\nassert ")
    if sep and said.strip():
        message = said
    return message.strip()[:4000]


def _versions() -> dict[str, str]:
    import hypothesis
    import schemathesis

    return {
        "imgconf": __version__,
        "schemathesis": schemathesis.__version__,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
    }
