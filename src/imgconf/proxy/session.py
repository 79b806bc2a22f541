"""The proxy's run: windows of relayed traffic, each an ordinary run outcome, published as `imgconf run`'s are.

A proxy runs for days, so its findings are published in windows: every `flush_every` seconds (and on
shutdown) the window's exchanges become one run outcome of kind `proxy` on target key `proxy:<vendor>`,
written with the same writer (report.json, junit.xml, summary.md, report.html) and recorded in the same
history, where consecutive windows compare like consecutive monitor runs (new, fixed, persisting). The
next window starts empty, so memory stays bounded however long the proxy runs. An empty window is not
published, except the last when nothing was published before (the report then says nothing was seen).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from imgconf import vendors as registry
from imgconf.errors import TargetUnreachable, UsageError
from imgconf.proxy import application, rules, secrets
from imgconf.proxy.checking import Checker, Counters
from imgconf.proxy.relay import Snapshot
from imgconf.redact import REDACTOR
from imgconf.report import evidence
from imgconf.report.outcome import Finding, RunKind, RunOutcome, TestRecord, number_findings
from imgconf.report.publish import Published, publish
from imgconf.report.wording import counted
from imgconf.runner.validate import Recorded, hold, to_exchange
from imgconf.targets.base import ObservedTraffic
from imgconf.testing import profiles
from imgconf.testing.options import SuiteOptions
from imgconf.testing.state import RunState
from imgconf.vendors.base import Vendor

APPLICATION = "application"  # the finding kind of the application's own mistakes


class ProxyTraffic(ObservedTraffic):
    """The application's traffic through `imgconf proxy`: the target a proxy window reports on."""

    name = "proxy"
    refusal = "the proxy relays the application's traffic; the suites send nothing through it"

    def __init__(self, vendor: str, upstream: str) -> None:
        self.vendor = vendor
        self.upstream = upstream

    @property
    def origin(self) -> str:
        return REDACTOR.url(self.upstream)

    def describe(self) -> str:
        return f"traffic proxied to {self.origin}"

    def key(self, urls: Mapping[str, str]) -> str:
        return f"proxy:{self.vendor}"

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind:
        return RunKind.PROXY


@dataclass
class Window:
    """The exchanges since the last flush, checked into one run state."""

    vendor: Vendor
    options: SuiteOptions
    state: RunState = field(init=False)
    mistakes: list[Finding] = field(default_factory=list)
    exchanges: int = 0
    unreachable: int = 0  # exchanges the upstream never answered (the client got a 502)
    last_error: str | None = None
    _seen: dict[str, dict[str, Finding]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = RunState(self.options)

    def hold(self, proxied: Snapshot) -> None:
        vendor = self.vendor
        self.exchanges += 1
        seq = self.state.recorder.next_seq()
        entry = Recorded(
            method=proxied.method,
            url=proxied.url,
            request_headers=dict(proxied.request_headers),
            request_body=proxied.request_body,
            status=proxied.status or 0,
            reason=proxied.reason,
            response_headers=dict(proxied.response_headers),
            response_body=proxied.response_body,
            request_size=proxied.request_size,
            response_size=proxied.response_size,
            elapsed_ms=proxied.elapsed_ms,
            started_at=proxied.started_at,
        )
        # Before anything of this exchange can be written: its credentials join the redactor's secrets.
        secrets.learn(entry.url, entry.request_headers, entry.request_body, entry.response_headers)
        path = urlsplit(proxied.url).path or "/"
        found = vendor.spec_for(proxied.method, path)
        if proxied.status is None:
            exchange = to_exchange(seq, vendor.id, entry)
            exchange.status, exchange.error = None, proxied.error
            self.state.recorder.record(exchange)
            self.unreachable += 1
            self.last_error = self.last_error or proxied.error
            return
        if found is None:
            exchange = to_exchange(seq, vendor.id, entry)
            self.state.recorder.record(exchange)
            self._mistake(
                application.Mistake(
                    "application.operation.undocumented", f"{proxied.method} {path} is not a documented operation"
                ),
                None,
                exchange,
            )
            return
        spec, operation = found
        nodeid = f"proxy::{vendor.id}::{operation.label}"
        mistakes = application.judge(
            spec, operation, entry.url, entry.request_headers, entry.request_body, not proxied.request_truncated
        )
        refused = [mistake.message for mistake in mistakes if mistake.rule in application.MUST_BE_REFUSED]
        extra = rules.for_operation(spec, operation, refused)
        exchange = hold(self.state, seq, entry, (vendor, spec, operation), nodeid, extra)
        self._compact(nodeid)
        for mistake in mistakes:
            self._mistake(mistake, operation.label, exchange)

    def _mistake(self, mistake: application.Mistake, operation: str | None, exchange: object) -> None:
        finding = Finding(
            vendor=self.vendor.id,
            operation=operation,
            check=APPLICATION,
            rule=dict(application.RULES[mistake.rule]),
            title="The application's request: " + mistake.rule.rsplit(".", 1)[1].replace("-", " "),
            message=REDACTOR.text(mistake.message),
            test=f"proxy::{self.vendor.id}::{operation or 'undocumented'}",
            kind=APPLICATION,
        )
        if any(known.fingerprint == finding.fingerprint for known in self.mistakes):
            number_findings([*self.mistakes, finding])
            return
        finding.evidence = evidence.from_exchange(exchange, "app")  # type: ignore[arg-type]
        self.mistakes.append(finding)

    def _compact(self, nodeid: str) -> None:
        """One test record per operation and one finding per fingerprint: a busy window stays small."""
        collector = self.state.collector
        records = [record for record in collector.tests if record.nodeid == nodeid]
        if len(records) > 1:
            first = records[0]
            for other in records[1:]:
                first.requests += other.requests
                if other.outcome == "failed":
                    first.outcome = "failed"
            collector.tests = [record for record in collector.tests if record.nodeid != nodeid or record is first]
        if len(collector.findings) > 1:
            collector.findings = _merged(collector.findings)
        own = collector.test_findings.get(nodeid)
        if own is not None:
            self._seen.setdefault(nodeid, {}).update({finding.fingerprint: finding for finding in own})
            collector.test_findings[nodeid] = list(self._seen[nodeid].values())

    def build(self, counters: Counters, upstream: str) -> RunOutcome:
        if self.unreachable and self.unreachable == self.exchanges:
            # Nothing was answered: the window is an outage. A few failures among answers are only a note.
            error = TargetUnreachable(f"{self.vendor.id}: the upstream could not be reached ({self.last_error})")
            self.state.collector.note_unavailable(self.vendor.id, error)
        run = self.state.collector.build()
        if self.unreachable and self.unreachable < self.exchanges:
            run.notes.append(
                f"{self.unreachable} of {self.exchanges} exchanges could not reach the upstream "
                f"(the application got a 502): {self.last_error}"
            )
        run.seed = None
        run.target.urls = {self.vendor.id: REDACTOR.url(upstream)}
        mistakes = number_findings(list(self.mistakes))
        for index, finding in enumerate(mistakes, start=len(run.findings) + 1):
            finding.id = f"F{index}"
            finding.tests = [finding.test]
        run.findings = [*run.findings, *mistakes]
        for finding in mistakes:
            record = next((t for t in run.tests if t.nodeid == finding.test), None)
            if record is None:
                record = TestRecord(finding.test, self.vendor.id, APPLICATION, "failed", 0.0, 1)
                run.tests.append(record)
            record.findings.append(finding.id)
        run.notes.append(
            f"{self.exchanges} exchanges checked in this window; since the proxy started: {counters.relayed} "
            f"relayed, {counters.checked} checked, {counters.dropped} relayed unchecked (the check queue was full)"
        )
        if mistakes:
            run.notes.append(
                f"{len(mistakes)} findings are the application's own requests (kind `application`): "
                "shown apart, never counted against the vendor"
            )
        return run


def _merged(findings: list[Finding]) -> list[Finding]:
    merged: dict[str, Finding] = {}
    for finding in findings:
        known = merged.get(finding.fingerprint)
        if known is None:
            merged[finding.fingerprint] = finding
        else:
            known.occurrences += finding.occurrences
    return list(merged.values())


@dataclass
class ProxyRun:
    """The run behind `imgconf proxy`: windows, checked and flushed to reports and history in the checker's
    process (checking.py), never in the relay's."""

    vendor: Vendor
    upstream: str
    out: Path
    flush_every: float
    history_path: Path | None = None
    record: bool = False
    command: str = ""
    announce: Callable[[str], None] = print
    also: tuple[str, ...] = ()  # more upstreams forward-proxy requests may name (Huawei's IAM beside its service)
    published: list[Published] = field(default_factory=list)
    checker: Checker = field(init=False)
    _window: Window = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._window = self._new_window()
        self.checker = Checker(self._check, self._flush, self.flush_every)

    def _new_window(self) -> Window:
        options = SuiteOptions(
            target=ProxyTraffic(self.vendor.id, self.upstream),
            vendors=[self.vendor.id],
            profile=profiles.get("smoke"),
            seed=0,
            command=self.command,
            record=self.record,
        )
        return Window(self.vendor, options)

    def _check(self, proxied: Snapshot) -> None:
        if proxied.status is None:
            self.checker.counters.unreachable += 1
        with self._lock:
            self._window.hold(proxied)

    def _flush(self, final: bool) -> None:
        with self._lock:
            window = self._window
            if not window.exchanges and not (final and not self.published):
                return
            self._window = self._new_window()
        run = window.build(self.checker.counters, self.upstream)
        artifacts = self._artifacts(window)
        published = publish(run, self.out, artifacts=artifacts, history_path=self.history_path)
        self.published.append(published)
        if final:
            found = counted(len(run.findings), "finding")
            self.announce(f"last window: {run.state} · {found} · report {published.directory}")
            for error in self.checker.errors[:5]:
                self.announce(f"imgconf: a check failed inside imgconf: {REDACTOR.text(error)}")

    def _artifacts(self, window: Window) -> dict[str, bytes]:
        """The window's redacted cassette (when recording), loadable by `imgconf validate` and `--replay`."""
        recorder = window.state.cassette
        if recorder is None:
            return {}
        metadata = {
            "imgconf": {"format": 1},
            "vendors": [self.vendor.id],
            "target": window.options.target.describe(),
            "profile": "smoke",
            "seed": 0,
            "nonce": window.options.nonce,
            "allow_mutations": False,
            "urls": {self.vendor.id: {name: REDACTOR.url(self.upstream) for name in self.vendor.spec_files}},
            "image_urls": {self.vendor.id: list(self.vendor.image_urls)},
            # Which credentials a replay stands in for (never their values): those the vendor requires.
            "credentials": {self.vendor.id: sorted(c.name for c in self.vendor.credentials if not c.optional)},
        }
        return {"cassette.yaml": REDACTOR.text(recorder.serialize(metadata)).encode()}


def vendor_or_fail(vendor_id: str) -> Vendor:
    try:
        return registry.get(vendor_id)
    except (KeyError, ValueError):
        known = ", ".join(sorted(registry.all_vendors()))
        raise UsageError(f"unknown vendor {vendor_id!r} (known: {known})") from None
