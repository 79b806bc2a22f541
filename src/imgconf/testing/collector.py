"""From test outcomes to the run outcome: which rule broke, on which operation, shown by which exchange.

A failed test can hold several failures (schemathesis groups them; Hypothesis groups distinct bugs), so an
outcome is flattened into one finding per failure, each traced to a rule: a `RuleViolation` names it, a
schema violation is traced to the nearest `x-rule` of the failing keyword, a generic schemathesis check maps
through the spec's `x-check-rules`, and a plain assertion takes the `rule` marker of its test. Its evidence
is the exchange that failed: the client tags every failure it raises with the sequence number of the
response it judged, so a finding never shows another request's answer beside its message.

`build` is the one place a run's outcome is assembled; every output renders what it returns.
"""

from __future__ import annotations

import contextlib
import platform
import re
import secrets
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import schemathesis
from schemathesis.core.failures import CustomFailure, Failure

from imgconf import __version__, clock, emulator, specs
from imgconf import vendors as registry
from imgconf.checks import RuleViolation
from imgconf.errors import BudgetExhausted, CredentialsRejected, ImgconfError, TargetThrottled
from imgconf.redact import REDACTOR
from imgconf.report import evidence, wording
from imgconf.report.outcome import (
    Cell,
    Coverage,
    Finding,
    NotChecked,
    OperationResult,
    Retirement,
    RunOutcome,
    State,
    Target,
    TestRecord,
    VendorOutcome,
    number_findings,
)
from imgconf.targets import Connection
from imgconf.testing.options import SuiteOptions
from imgconf.vendors.base import AccountRefusal, Vendor
from imgconf.wire.exchange import Exchange
from imgconf.wire.guard import NETWORK_ERRORS, HostNotAllowed
from imgconf.wire.recorder import Recorder

# A vendor whose answers are mostly 5xx (or 429) is down (or throttling), not non-conformant: at least this
# many, and this share of its answers.
STORM_MIN = 5
STORM_SHARE = 0.5
# Every answer saying that this API is not what answered (a 404, the vendor gateway's unrouted answer, a web
# page: `Vendor.not_the_api`), at least STORM_MIN of them: nothing at the target serves the API (a target URL
# with a typo in it, a web server's catch-all, or an API moved off the address), so no rule can be put to it,
# as in an outage. A vendor that drops one operation still answers on the others, and that one's answers stay
# findings.
NOT_THERE = (
    "nothing at the target serves this API: every one of its {sent} answers was {said}; is the target URL right?"
)
FAILING = "the service is failing: {failing} of {sent} answers were 5xx"
# The vendor refused the operator's own key for its account (`Vendor.refusals`: no credits or quota left, the API
# not subscribed to): nothing more is sent, and the tests that tripped over that answer judged the account.
REFUSED_ACCOUNT = (
    "the account of {env} cannot be served: {vendor} answered {status} '{said}' on {request}; {remedy}, or check {env}"
)
TAG = "imgconf_exchange"


def flatten(exc: BaseException, judged: Exchange | None = None) -> Iterator[tuple[BaseException, Exchange | None]]:
    """Every failure inside `exc`, with the exchange it judged when the client tagged it (or its group)."""
    judged = getattr(exc, TAG, judged)
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from flatten(inner, judged)
    else:
        yield exc, judged


# The outcomes of a test that judged the answers it got: only these count towards cells and coverage.
JUDGED = ("passed", "failed")
# Errors no answer of a vendor can cause: the suite's own code is broken (a name, an import).
_CODE_ERRORS = (NameError, ImportError, SyntaxError)
# pytest's and pluggy's own code, where a suite that asks pytest for something it lacks fails.
_HARNESS_PACKAGES = ("_pytest", "pluggy")
# A function called with the wrong arguments (CPython's words, for Python functions and for builtins): the
# suites never spread an answer into a call, so the call is as the suite's code wrote it.
_WRONG_CALL = re.compile(
    r"missing \d+ required (positional|keyword-only) arguments?"
    r"|takes (from \d+ to )?\d+ positional arguments? but \d+ (was|were) given"
    r"|got (an unexpected keyword argument|multiple values for argument)"
    r"|takes (exactly|at least|at most) (one|\d+) arguments? \(\d+ given\)"
    r"|takes no (keyword )?arguments|expected at (least|most) \d+ arguments?, got \d+"
)


def harness_error(error: BaseException) -> bool:
    """Whether `error` is the suite's own breakage rather than anything the vendor answered.

    A suite reading an answer can fail in many ways a vendor causes (a `KeyError` on a renamed field, a
    `TypeError` on a null), which stay findings. These cannot come from an answer: an error of pytest's own
    kinds (a fixture that does not exist), one raised inside pytest's or pluggy's code (an option a
    disabled plugin would have added), a name or import the suite's code gets wrong, or a function it calls
    with the wrong arguments (a `TypeError` too, but of words no null or renamed field makes). Reported as the
    vendor's break, each would be a false alarm the vendor's team would chase.
    """
    if isinstance(error, _CODE_ERRORS) or type(error).__module__.split(".")[0] in _HARNESS_PACKAGES:
        return True
    if type(error) is TypeError and _WRONG_CALL.search(str(error)):
        return True
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    return bool(frames) and any(part in _HARNESS_PACKAGES for part in Path(frames[-1].f_code.co_filename).parts)


@dataclass
class VendorProblems:
    """Why a vendor's tests did not reach a verdict on their own: each kept once, the first seen."""

    unreachable: str | None = None
    retry_after: str | None = None
    budget: str | None = None
    credentials: str | None = None
    error: str | None = None


@dataclass
class Collector:
    options: SuiteOptions
    recorder: Recorder
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    tests: list[TestRecord] = field(default_factory=list)
    problems: dict[str, VendorProblems] = field(default_factory=dict)
    test_findings: dict[str, list[Finding]] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # tests collected per vendor
    # Rules a test put to the test (held or broken), heard through `checks.observing` while tests ran.
    rules_exercised: set[str] = field(default_factory=set)
    markers: dict[str, str] = field(default_factory=dict)  # a behaviour test's `rule` marker, by node id
    statuses: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # vendor -> operation -> answered
    # Per vendor: the answers that said this API is not what answered, counted by how they said it
    # (`Vendor.not_the_api`). Heard here, not counted by the recorder beside its 5xx and 429s: telling them
    # takes the vendor's own gateway answer, and the wire layer knows no vendor.
    unrouted: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # The exchanges (by seq) in which the vendor refused the operator's own key for its account.
    refused: set[int] = field(default_factory=set)
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self.recorder.listeners.append(self._heard)

    def _heard(self, exchange: Exchange) -> None:
        vendor = registry.all_vendors().get(exchange.vendor)
        said = vendor.not_the_api(exchange.status, exchange.response_body) if vendor else None
        if said is not None:
            self.unrouted[exchange.vendor][said] += 1
        connection = self.connections.get(exchange.vendor)
        if vendor is not None and connection is not None:
            refusal = vendor.refused_account(exchange.status, exchange.response_body)
            if refusal is not None:
                self._refused_account(vendor, connection, exchange, refusal)
        # Where the first answer is the preflight's (Huawei's token and project lookup stop on their own), which
        # any target serving the API answers: when it and every answer after it say the API is not there, or
        # are 5xx, STORM_MIN of them are enough, and the rest of the run (paced, billed) is not spent. A replay
        # stops where the recording did.
        if connection is None or not connection.preflighted:
            return
        sent = self.recorder.per_vendor.get(exchange.vendor, 0)
        failing = self.recorder.server_errors.get(exchange.vendor, 0)
        nothing_there = self._nothing_there(exchange.vendor)
        if nothing_there is not None:
            connection.guard.breaker.stop(nothing_there)
        elif sent >= STORM_MIN and failing == sent:
            connection.guard.breaker.stop(FAILING.format(failing=failing, sent=sent))

    def _nothing_there(self, vendor: str) -> str | None:
        """Why nothing at the target serves the vendor's API, when every answer (STORM_MIN at least) said so."""
        sent = self.recorder.per_vendor.get(vendor, 0)
        unrouted = self.unrouted.get(vendor, Counter())
        if sent < STORM_MIN or unrouted.total() != sent:
            return None
        return NOT_THERE.format(sent=sent, said=" or ".join(sorted(unrouted)))

    def _refused_account(
        self, vendor: Vendor, connection: Connection, exchange: Exchange, refusal: AccountRefusal
    ) -> None:
        """The operator's own key (not a spare one a test sends on purpose) was refused for its account: the
        run stops sending to the vendor, which ends credentials-rejected. A request is told by whether it
        carries a spare key, since the run's own may travel as a signature or an issued token instead."""
        carried = [*exchange.request_headers.values(), exchange.url]

        def carries(value: str) -> bool:
            return any(value in text for text in carried) or value.encode() in exchange.request_body

        present = [c for c in vendor.credentials if c.secret and connection.credentials.get(c.name)]
        if any(c.spare and carries(connection.credentials[c.name]) for c in present):
            return
        own = [c for c in present if not c.spare]
        if not own:
            return
        self.refused.add(exchange.seq)
        said = REDACTOR.text(" ".join(exchange.response_body[:200].decode("utf-8", "replace").split()))
        request = _operation(vendor, exchange) or f"{exchange.method} {urlsplit(exchange.url).path}"
        problems = self.problem(vendor.id)
        problems.credentials = problems.credentials or vendor.id + ": " + REDACTOR.text(
            REFUSED_ACCOUNT.format(
                env=own[0].env,
                vendor=vendor.title,
                status=exchange.status,
                said=said,
                request=request,
                remedy=refusal.remedy,
            )
        )
        connection.guard.breaker.stop(problems.credentials)

    # -- while tests run ------------------------------------------------------------------------

    def connected(self, connections: dict[str, Connection]) -> None:
        self.connections = dict(connections)

    def problem(self, vendor: str) -> VendorProblems:
        return self.problems.setdefault(vendor, VendorProblems())

    def note_unavailable(self, vendor: str, error: ImgconfError) -> None:
        """The vendor's target is away, or refused the credential: found by its client fixture, or raised inside a
        test that reached the connection without one."""
        problems = self.problem(vendor)
        if isinstance(error, CredentialsRejected):
            problems.credentials = problems.credentials or error.message
        else:
            problems.unreachable = problems.unreachable or error.message
            if isinstance(error, TargetThrottled):
                problems.retry_after = problems.retry_after or error.retry_after

    def exercised(self, rule: str) -> None:
        self.rules_exercised.add(rule)

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
        """Record one test; `outcome` is pytest's (passed, failed, skipped) for the phase that decided it."""
        vendor_obj = registry.get(vendor)
        operation = operations[0] if operations else _operation_in_nodeid(vendor_obj, nodeid)
        record = TestRecord(
            nodeid, vendor, kind, outcome, round(duration, 4), len(exchanges), skip_reason, operation=operation
        )
        problems = self.problem(vendor)
        if outcome == "skipped":
            if problems.credentials:
                record.outcome, record.reason = "credentials", problems.credentials
            elif problems.unreachable:
                record.outcome, record.reason = "unreachable", problems.unreachable
        if exc is not None:
            errors = list(flatten(exc))
            network = [error for error, _ in errors if isinstance(error, NETWORK_ERRORS)]
            budget = [error for error, _ in errors if isinstance(error, BudgetExhausted)]
            # A refusal the run's preflight found, raised where a test reached the connection without the client
            # fixture that skips on it (code schemathesis calls: a state machine's, a hook's): the operator's key.
            refused = [error for error, _ in errors if isinstance(error, CredentialsRejected)]
            if isinstance(exc, KeyboardInterrupt):
                record.outcome, record.reason = "interrupted", "interrupted"
            elif refused:
                record.outcome, record.reason = "credentials", refused[0].message
                self.note_unavailable(vendor, refused[0])
            elif budget:
                record.outcome, record.reason = "budget", budget[0].message
                problems.budget = problems.budget or budget[0].message
            elif network and len(network) == len(errors):
                first = network[0]
                record.outcome = "unreachable"
                record.reason = REDACTOR.text(
                    first.message if isinstance(first, ImgconfError) else f"{type(first).__name__}: {first}"
                )[:300]
                problems.unreachable = problems.unreachable or record.reason
                if isinstance(first, TargetThrottled):
                    problems.retry_after = problems.retry_after or first.retry_after
            else:
                own: list[Finding] = []
                broken: list[BaseException] = []
                for error, judged in errors:
                    if isinstance(error, (*NETWORK_ERRORS, BudgetExhausted)):
                        continue
                    if harness_error(error):
                        broken.append(error)
                        continue
                    own.append(self._finding(vendor_obj, nodeid, kind, rule_id, error, judged, exchanges, operation))
                if broken and not own:
                    first = broken[0]
                    record.outcome = "error"
                    record.reason = REDACTOR.text(f"{type(first).__name__}: {first}")[:300]
                    problems.error = problems.error or f"the suite itself failed in {nodeid}: {record.reason}"
                self.findings.extend(own)
                self.test_findings[nodeid] = own
        self.tests.append(record)
        # An answer counts as given (its status's rules checked, `_coverage`) only where a test judged it: not the
        # preflight's 401 to a refused key, sent from the first test's setup, which the spec never held.
        for exchange in exchanges if record.outcome in JUDGED else ():
            label = _operation(vendor_obj, exchange)
            status = exchange.status
            if label and status is not None:
                self.statuses.setdefault(vendor, {}).setdefault(label, set()).add(status)
        if rule_id:
            self.markers[nodeid] = rule_id
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
        if outcome not in JUDGED:
            return
        column = "examples" if kind == "examples" else vendor.rule(rule_id or "contract.unknown").category
        operations = set(declared) or {_operation(vendor, exchange) for exchange in exchanges} - {None}
        for operation in operations or {"(spec)"}:
            self.cell(vendor.id, str(operation), column, outcome == "passed")

    def _finding(
        self,
        vendor: Vendor,
        nodeid: str,
        kind: str,
        marker_rule: str | None,
        error: BaseException,
        judged: Exchange | None,
        exchanges: list[Exchange],
        declared_operation: str | None,
    ) -> Finding:
        operation: str | None = None
        if isinstance(error, Failure):
            check = error.checks[0] if error.checks else "custom"
            if isinstance(error, CustomFailure) and isinstance(error.exception, RuleViolation):
                rule_id = error.exception.rule
                check = error.title.removeprefix("Custom check failed: ").strip("`")
                message = error.exception.detail
            else:
                rule_id = _rule_for_failure(vendor, error, check)
                message = error.message
            operation = error.operation
            title = f"{check} failed" if isinstance(error, CustomFailure) else error.title
        elif isinstance(error, RuleViolation):
            rule_id, check, title, message = error.rule, "", "Rule violated", error.detail
        elif isinstance(error, AssertionError):
            rule_id, check, title = marker_rule or "contract.unknown", "", "Assertion failed"
            message = str(error) or "assertion failed"
        elif isinstance(error, HostNotAllowed):
            rule_id, check, title, message = "contract.unknown", "", "Suite error", str(error)
        else:
            rule_id, check, title = marker_rule or "contract.unknown", "", "Unexpected answer"
            message = f"{type(error).__name__}: {error}"
        operation = operation or declared_operation or (_operation(vendor, judged) if judged else None)
        rule = vendor.rule(rule_id)
        if not check:
            check = "examples" if kind == "examples" else rule.category
        exchange = judged or _last_exchange(vendor, operation, exchanges)
        if operation is None and exchange is not None:
            operation = _operation(vendor, exchange)
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
        return finding

    # -- at the end ------------------------------------------------------------------------------

    def build(self, interrupted: str | None = None, fatal: ImgconfError | None = None) -> RunOutcome:
        """The run's outcome: built once, from everything recorded; every output renders it."""
        options = self.options
        duration = time.time() - self.started
        if fatal is not None:
            for vendor_id in options.vendors:
                self.problem(vendor_id).error = self.problem(vendor_id).error or fatal.message
        # A finding judged on an answer that refused the operator's key for its account is the account's.
        merged = number_findings([f for f in self.findings if f.evidence.seq not in self.refused])
        vendors = [self._vendor(registry.get(vendor_id), merged, interrupted) for vendor_id in options.vendors]
        # A vendor that was down has no findings: what a failing service answered says nothing of its contract.
        broken = {vendor.id for vendor in vendors if vendor.state is State.NON_CONFORMANT}
        findings = number_findings([finding for finding in merged if finding.vendor in broken])
        for finding in findings:
            finding.tests = sorted(
                nodeid for nodeid, own in self.test_findings.items() if finding.fingerprint in _prints(own)
            )
        ids = {finding.fingerprint: finding.id for finding in findings}
        for record in self.tests:
            own = self.test_findings.get(record.nodeid, [])
            record.findings = sorted({ids[f.fingerprint] for f in own if f.fingerprint in ids}, key=_id_order)
        started = datetime.fromtimestamp(self.started, UTC)
        finished = datetime.fromtimestamp(self.started + duration, UTC)
        urls = {vendor: REDACTOR.url(c.base_url) for vendor, c in self.connections.items()}
        target = Target(
            kind=options.target.name,
            description=options.target.describe(),
            urls=urls,
            drifts=sorted(name for names in options.drifts.values() for name in names),
            key=options.target.key(urls),
        )
        notes = [
            f"{vendor}: waited out {len(c.guard.waited)} × 429 ({sum(c.guard.waited):.1f} s of back-off)"
            for vendor, c in self.connections.items()
            if c.guard.waited
        ]
        if fatal is not None:
            notes.append(f"the run stopped: {fatal.message}")
        return RunOutcome(
            run_id=f"{started.strftime('%Y%m%dT%H%M%SZ')}-{options.target.name}-{'-'.join(options.vendors)}"
            f"-{secrets.token_hex(2)}",
            kind=options.kind,
            started_at=started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            duration_s=duration,
            target=target,
            profile=options.profile.name,
            seed=options.seed,
            versions=_versions(),
            vendors=vendors,
            findings=findings,
            cells=sorted(self.cells.values(), key=lambda c: (c.vendor, c.operation, c.check)),
            tests=self.tests,
            requests=self.recorder.total,
            command=REDACTOR.text(options.command),
            notes=notes,
            interrupted=interrupted,
            gate=options.gate,
        )

    def _vendor(self, vendor: Vendor, findings: list[Finding], interrupted: str | None) -> VendorOutcome:
        own = [finding for finding in findings if finding.vendor == vendor.id]
        cells = [cell for cell in self.cells.values() if cell.vendor == vendor.id]
        tests = [test for test in self.tests if test.vendor == vendor.id]
        counts = {outcome: sum(1 for test in tests if test.outcome == outcome) for outcome in _COUNTED}
        counts = {outcome: count for outcome, count in counts.items() if count or outcome in _ALWAYS}
        problems = self.problem(vendor.id)
        sent = self.recorder.per_vendor.get(vendor.id, 0)
        failing = self.recorder.server_errors.get(vendor.id, 0)
        throttled = self.recorder.throttled.get(vendor.id, 0)
        nothing_there = self._nothing_there(vendor.id)
        if nothing_there is not None:
            problems.unreachable = nothing_there
            own = []
        elif failing >= STORM_MIN and failing >= STORM_SHARE * sent:
            problems.unreachable = FAILING.format(failing=failing, sent=sent)
            own = []
        elif throttled >= STORM_MIN and throttled >= STORM_SHARE * sent:
            retry = self.recorder.retry_after.get(vendor.id)
            problems.retry_after = problems.retry_after or retry
            problems.unreachable = f"throttled: {throttled} of {sent} answers were 429" + (
                f" (Retry-After: {retry})" if retry else ""
            )
            own = []
        cut_short = problems.budget or problems.unreachable
        if interrupted and vendor.id not in self.expected:
            cut_short = f"interrupted by {interrupted} before its tests were collected"
        elif interrupted and len(tests) < self.expected.get(vendor.id, len(tests)):
            cut_short = f"interrupted by {interrupted} after {len(tests)} of {self.expected[vendor.id]} tests"
        checked = bool(cells)
        state: State
        reason: str | None = None
        if own:
            state = State.NON_CONFORMANT
        elif problems.credentials:
            state, reason = State.CREDENTIALS_REJECTED, problems.credentials
        elif problems.error:
            state, reason = State.ERROR, problems.error
        elif problems.unreachable:
            state, reason = State.UNREACHABLE, problems.unreachable
            if vendor.retirement and clock.today() >= vendor.retirement.offline:
                state = State.RETIRED
                reason = f"retired on {vendor.retirement.offline.isoformat()} ({vendor.retirement.source}); {reason}"
        elif problems.budget:
            state, reason = State.INCOMPLETE, problems.budget
        elif interrupted and cut_short:
            state, reason = State.INCOMPLETE, cut_short
        elif not checked:
            state, reason = State.INCOMPLETE, "nothing was checked: every test of this vendor was skipped"
        else:
            state = State.CONFORMANT
        # A score says how much of what was checked held; where the target never answered it says nothing.
        score = _score(cells) if state not in _UNSCORED else None
        coverage, per_operation = self._coverage(vendor, tests, cells)
        operations = [
            OperationResult(
                operation=operation.label,
                spec=spec.path.name,
                deprecated=operation.deprecated,
                score=_score([c for c in cells if c.operation == operation.label]) if score is not None else None,
                findings=sum(1 for finding in own if finding.operation == operation.label),
                rules_checked=per_operation[operation.label][0],
                rules_total=per_operation[operation.label][1],
            )
            for spec in vendor.specs
            for operation in spec.operations
        ]
        retirement = None
        if vendor.retirement:
            stops = vendor.retirement.stops_selling
            retirement = Retirement(
                vendor.retirement.offline.isoformat(), vendor.retirement.source, stops.isoformat() if stops else None
            )
        return VendorOutcome(
            id=vendor.id,
            title=vendor.title,
            state=state,
            score=score,
            operations=operations,
            findings=len(own),
            requests=sent,
            tests=counts,
            drifts=sorted(self.options.drifts.get(vendor.id, frozenset())),
            reason=reason,
            cut_short=cut_short if state in (State.NON_CONFORMANT, State.INCOMPLETE) else None,
            retirement=retirement,
            retry_after=problems.retry_after,
            coverage=coverage,
        )

    def _coverage(
        self, vendor: Vendor, tests: list[TestRecord], cells: list[Cell]
    ) -> tuple[Coverage, dict[str, tuple[int, int]]]:
        """Which rules of the vendor's catalogue this run checked, per vendor and per operation.

        The catalogue (M) is the specs' `x-rules` and the rules the vendor's drifts break. A rule is checked
        (N) when a test marked with it ran, when a check named it while a test ran (`violated`, a vendor
        check, a finding), or when it is an `x-rule` of an operation whose answers were held to the spec.
        A rule not checked takes its reason from the skipped tests marked with it.
        """
        catalogue = catalogue_rules(vendor)
        validated = {cell.operation for cell in cells}
        parts = {label: rules for spec in vendor.specs for label, rules in specs.operation_rules(spec).items()}
        by_operation = {label: frozenset().union(*rules.values()) for label, rules in parts.items()}
        answered = self.statuses.get(vendor.id, {})
        ran = {rule for rule in (_marker(self, test) for test in tests if test.outcome in JUDGED) if rule}
        checked = {rule for rule in self.rules_exercised | ran if rule in catalogue}
        checked |= {finding.rule["id"] for finding in self.findings if finding.vendor == vendor.id} & catalogue
        for label in validated:
            # The request's rules, and those of each documented answer the operation actually gave.
            for key, rules in parts.get(label, {}).items():
                if key == "*" or any(specs.status_matches(key, status) for status in answered.get(label, ())):
                    checked |= rules & catalogue
        # A schemathesis check that ran is the vendor rule its spec's `x-check-rules` names for it.
        ran_checks = {cell.check for cell in cells}
        checked |= {rule for spec in vendor.specs for check, rule in spec.check_rules.items() if check in ran_checks}
        checked &= catalogue
        reasons: dict[str, str] = {}
        for test in tests:
            rule = _marker(self, test)
            if rule and rule not in checked and test.outcome not in JUDGED:
                reasons.setdefault(rule, wording.why_not_checked(test.reason))
        unexplained = (
            wording.NOT_EXERCISED if self.options.kind in wording.OBSERVED_KINDS else "no test checks it on this target"
        )
        missing = [NotChecked(rule, reasons.get(rule, unexplained)) for rule in sorted(catalogue - checked)]
        per_operation: dict[str, tuple[int, int]] = {}
        for label, rules in by_operation.items():
            declared = {_marker(self, test) for test in tests if test.operation == label} - {None}
            own = (rules | {rule for rule in declared if rule}) & catalogue
            per_operation[label] = (len(own & checked), len(own))
        return Coverage(len(checked), len(catalogue), missing), per_operation


_COUNTED = ("passed", "failed", "skipped", "unreachable", "budget", "credentials", "interrupted", "error")
_ALWAYS = ("passed", "failed", "skipped")
_UNSCORED = (State.UNREACHABLE, State.RETIRED, State.CREDENTIALS_REJECTED, State.ERROR)


def catalogue_rules(vendor: Vendor) -> set[str]:
    """Every rule of the vendor a run could check: its specs' `x-rules` and what its catalogued drifts break."""
    rules = {rule for spec in vendor.specs for rule in spec.rules}
    with contextlib.suppress(KeyError):  # a vendor without an emulator has only its specs' rules
        rules |= {rule for drift in emulator.get(vendor.id).drifts for rule in drift.breaks}
    return {rule for rule in rules if not rule.startswith("contract.")}


def _marker(collector: Collector, test: TestRecord) -> str | None:
    return collector.markers.get(test.nodeid)


def _id_order(finding_id: str) -> int:
    return int(finding_id.removeprefix("F"))


def _prints(findings: list[Finding]) -> set[str]:
    return {finding.fingerprint for finding in findings}


def _operation(vendor: Vendor, exchange: Exchange) -> str | None:
    found = vendor.spec_for(exchange.method, exchange.path)
    return found[1].label if found else None


def _operation_in_nodeid(vendor: Vendor, nodeid: str) -> str | None:
    """Schemathesis names a contract test's item `test_contract[METHOD /path]`: that is its operation."""
    if "[" not in nodeid:
        return None
    inner = nodeid.rsplit("[", 1)[1].rstrip("]")
    method, _, path = inner.partition(" ")
    for spec in vendor.specs:
        for operation in spec.operations:
            if operation.method.upper() == method.upper() and operation.path == path:
                return operation.label
    return None


def _last_exchange(vendor: Vendor, operation: str | None, exchanges: list[Exchange]) -> Exchange | None:
    """For a failure no client tagged (a bare assertion): the test's last exchange on its operation."""
    for exchange in reversed(exchanges):
        if operation is None or _operation(vendor, exchange) == operation:
            return exchange
    return exchanges[-1] if exchanges else None


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


def _score(cells: list[Cell]) -> float | None:
    if not cells:
        return None
    return round(sum(1 for cell in cells if not cell.failed) / len(cells), 4)


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
    return {
        "imgconf": __version__,
        "schemathesis": schemathesis.__version__,
        "hypothesis": hypothesis.__version__,
        "python": platform.python_version(),
        "platform": sys.platform,
    }
