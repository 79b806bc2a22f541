"""`imgconf validate FILE`: hold recorded traffic from any source (a HAR file, a VCR.py cassette) to the specs.

No request is sent. Each recorded exchange is matched to a vendor operation (by host, else by path),
and its response goes through the same response checks and vendor checks as a live run; the result is
an ordinary report, so a regression captured by someone else's tooling becomes a finding with a rule.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from imgconf import checks as vendor_checks
from imgconf import vendors as registry
from imgconf.errors import UsageError
from imgconf.report.outcome import RunOutcome
from imgconf.targets.replay import RecordedTraffic
from imgconf.testing import profiles
from imgconf.testing.contract import RESPONSE_CHECKS, plain_schema
from imgconf.testing.options import SuiteOptions
from imgconf.testing.state import RunState
from imgconf.wire import cassette
from imgconf.wire.cassette import build_response
from imgconf.wire.exchange import Exchange
from imgconf.wire.replay_keys import match_key


@dataclass
class Recorded:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    reason: str
    response_headers: dict[str, str]
    response_body: bytes
    # Set when the bodies are bounded copies (the proxy's): the sizes on the wire, the time it took.
    request_size: int | None = None
    response_size: int | None = None
    elapsed_ms: float = 0.0
    started_at: float | None = None


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def read_har(document: dict[str, Any]) -> Iterator[Recorded]:
    for entry in document["log"]["entries"]:
        request, response = entry["request"], entry["response"]
        content = response.get("content") or {}
        text = content.get("text") or ""
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
        yield Recorded(
            method=request["method"],
            url=request["url"],
            request_headers={h["name"]: h["value"] for h in request.get("headers", [])},
            request_body=_bytes((request.get("postData") or {}).get("text")),
            status=int(response["status"]),
            reason=response.get("statusText", ""),
            response_headers={h["name"]: h["value"] for h in response.get("headers", [])},
            response_body=body,
        )


def read_cassette(path: Path) -> Iterator[Recorded]:
    loaded = cassette.load(path)
    for request, response in zip(loaded.requests, loaded.responses, strict=True):
        headers = {name: values[-1] if isinstance(values, list) else values for name, values in request.headers.items()}
        yield Recorded(
            method=request.method,
            url=request.uri,
            request_headers=headers,
            request_body=_bytes(request.body),
            status=int(response["status"]["code"]),
            reason=response["status"].get("message", ""),
            response_headers={name: values[-1] for name, values in response["headers"].items()},
            response_body=_bytes(response["body"]["string"]),
        )


def read(path: Path) -> list[Recorded]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    try:
        if isinstance(document, dict) and "log" in document:
            return list(read_har(document))
        return list(read_cassette(path))
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path} is neither a HAR file nor a VCR.py cassette ({type(exc).__name__}: {exc})") from None


def locate(recorded: Recorded) -> tuple[registry.Vendor, Any, Any] | None:
    """The vendor and operation an exchange belongs to: by the vendor's documented host, else by path."""
    parts = urlsplit(recorded.url)
    path = parts.path or "/"
    candidates = []
    for vendor in registry.all_vendors().values():
        found = vendor.spec_for(recorded.method, path)
        if found is None:
            continue
        hosts = {urlsplit(url).netloc for url in vendor.live_urls().values()}
        candidates.append((parts.netloc in hosts, vendor, *found))
    if not candidates:
        return None
    candidates.sort(key=lambda item: not item[0])
    _, vendor, spec, operation = candidates[0]
    return vendor, spec, operation


def _response(recorded: Recorded) -> requests.Response:
    prepared = requests.Request(
        recorded.method, recorded.url, headers=recorded.request_headers, data=recorded.request_body or None
    ).prepare()
    return build_response(
        prepared, recorded.status, recorded.reason, list(recorded.response_headers.items()), recorded.response_body
    )


def to_exchange(seq: int, vendor_id: str, entry: Recorded) -> Exchange:
    """The exchange a recorded entry stands for, with the replay key a cassette files it under."""
    return Exchange(
        seq,
        vendor_id,
        entry.method,
        entry.url,
        entry.request_headers,
        entry.request_body,
        entry.request_size if entry.request_size is not None else len(entry.request_body),
        entry.status,
        entry.response_headers,
        entry.response_body,
        entry.response_size if entry.response_size is not None else len(entry.response_body),
        entry.elapsed_ms,
        entry.started_at or time.time(),
        reason=entry.reason or None,
        match_key=match_key(entry.method, entry.url, entry.request_headers, entry.request_body),
    )


def hold(
    session: RunState,
    seq: int,
    entry: Recorded,
    found: tuple[registry.Vendor, Any, Any],
    nodeid: str,
    extra: list[vendor_checks.CheckFn] | None = None,
) -> Exchange:
    """One recorded exchange through the response checks and the vendor's checks, into the run's collector.

    The one path recorded traffic takes to a finding: `imgconf validate` calls it per exchange of a file,
    `imgconf proxy` per exchange it relayed (with `extra` checks only real traffic can put, proxy/rules.py).
    """
    vendor, spec, operation = found
    exchange = to_exchange(seq, vendor.id, entry)
    session.recorder.record(exchange)
    response = _response(entry)
    # A templated path's values, so that schemathesis can tell the base URL from the path it was sent to.
    names = re.findall(r"\{([^}]+)\}", operation.path)
    matched = operation.pattern.fullmatch(urlsplit(entry.url).path or "/")
    values = dict(zip(names, matched.groups(), strict=False)) if matched and names else None
    case = plain_schema(spec.path.name)[operation.path][operation.method].Case(path_parameters=values)
    checks = [*RESPONSE_CHECKS, *vendor_checks.checks_for(vendor.id), *(extra or [])]
    error: BaseException | None = None
    try:
        case.validate_response(response, checks=checks)
    except BaseException as exc:  # FailureGroup is a BaseExceptionGroup
        if not isinstance(exc, AssertionError | BaseExceptionGroup):
            raise
        error = exc
    failed = {
        name
        for failure in getattr(error, "exceptions", [])
        for name in (getattr(failure, "checks", ()) or (getattr(failure, "title", ""),))
    }
    for check in checks:
        if check.__name__ not in failed:  # failures are counted with their findings
            session.collector.cell(vendor.id, operation.label, check.__name__, True)
    outcome = "failed" if error else "passed"
    session.collector.finished(
        nodeid, vendor.id, "contract", None, outcome, 0.0, error, [exchange], operations=[operation.label]
    )
    return exchange


def validate(path: Path) -> RunOutcome:
    """The recorded exchanges of `path`, each through the same checks a run applies, as one run outcome."""
    entries = read(path)
    located = [(entry, locate(entry)) for entry in entries]
    vendor_ids = sorted({found[0].id for _, found in located if found is not None})
    if not vendor_ids:
        raise UsageError(f"{path}: none of its {len(entries)} exchanges is an operation of a known vendor")
    options = SuiteOptions(
        target=RecordedTraffic(path),
        vendors=vendor_ids,
        profile=profiles.get("smoke"),
        seed=0,
        command=f"imgconf validate {path}",
    )
    session = RunState(options)
    skipped = 0
    for index, (entry, found) in enumerate(located, start=1):
        if found is None:
            skipped += 1
            continue
        hold(session, index, entry, found, f"validate::{path.name}::{index} {found[2].label}")
    run = session.collector.build()
    run.seed = None
    if skipped:
        run.notes.append(f"{skipped} of {len(entries)} exchanges match no documented operation and were skipped")
    return run
