"""The one road every request takes: host guard, budget, pacing, 429 handling, circuit breaker, recording.

Suites and schemathesis both send through a `requests.Session` whose adapter is a `GuardedAdapter` wrapped
around the real transport (httpx's shape: one class per way of sending, one `send` method): a plain
`HTTPAdapter` for network targets, schemathesis' ASGI adapter for the in-process emulator, a cassette for
replays. So every target is spoken to by exactly the same code, and the limits a live run must keep, and
the facts a verdict needs (was the target reachable at all?), are decided in one place.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters

from imgconf.errors import TargetThrottled, TargetUnreachable
from imgconf.redact import REDACTOR
from imgconf.wire.budget import Budget
from imgconf.wire.exchange import BODY_KEEP, Exchange
from imgconf.wire.pacer import Pacer
from imgconf.wire.recorder import Recorder
from imgconf.wire.replay_keys import match_key

# What a request that never got a whole answer raises: the target is not there, or not answering.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    TargetUnreachable,
)

_retry_429: contextvars.ContextVar[bool] = contextvars.ContextVar("imgconf_retry_429", default=True)


@contextmanager
def observe_429() -> Iterator[None]:
    """Inside this block a 429 is returned to the caller, not waited out: for tests of rate limiting itself."""
    token = _retry_429.set(False)
    try:
        yield
    finally:
        _retry_429.reset(token)


def observing_429() -> bool:
    return not _retry_429.get()


@dataclass
class Breaker:
    """Declares a target unreachable after `limit` network failures in a row, so an outage costs a bounded time
    (with the default 10 s timeout and 3 failures: about 30 s), not a timeout per request of the whole suite."""

    limit: int = 3
    failures: int = 0
    reason: str | None = None
    throttled: TargetThrottled | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, vendor: str) -> None:
        if self.throttled is not None:
            raise self.throttled
        if self.reason is not None:
            raise TargetUnreachable(f"{vendor}: {self.reason}")

    def stop(self, reason: str) -> None:
        """Send nothing more: the caller knows the target cannot serve the run (every answer says so)."""
        with self._lock:
            self.reason = self.reason or reason

    def trip(self, throttled: TargetThrottled) -> None:
        """A target that is still throttling after every wait is throttling the rest of the run too."""
        self.throttled = throttled

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.limit and self.reason is None:
                detail = REDACTOR.text(f"{type(error).__name__}: {error}")[:200]
                self.reason = f"{self.failures} requests in a row got no answer (last: {detail})"

    def answered(self) -> None:
        with self._lock:
            self.failures = 0


@dataclass
class Guard:
    """The rules one vendor's traffic keeps on one target."""

    vendor: str
    recorder: Recorder
    budget: Budget
    pacer: Pacer | None = None
    allowed_hosts: frozenset[str] = frozenset()
    retry_429: int = 0
    max_backoff: float = 60.0
    # Each request's timeout is at most this (seconds); None leaves the caller's.
    timeout: float | None = None
    breaker: Breaker = field(default_factory=Breaker)
    # Recording needs each request's replay key, computed from the whole body before it is clipped.
    keyed: bool = False
    sleep: Callable[[float], None] = time.sleep
    waited: list[float] = field(default_factory=list)


class HostNotAllowed(requests.RequestException):
    """A request to a host outside the target: never sent."""


class GuardedAdapter(requests.adapters.BaseAdapter):
    def __init__(self, inner: requests.adapters.BaseAdapter, guard: Guard) -> None:
        super().__init__()
        self.inner = inner
        self.guard = guard

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        guard = self.guard
        host = urlsplit(request.url or "").netloc.lower()
        if guard.allowed_hosts and host not in guard.allowed_hosts:
            raise HostNotAllowed(f"{guard.vendor}: refusing to send to {host!r}, which is not the target")
        if guard.timeout is not None:
            given = kwargs.get("timeout")
            kwargs["timeout"] = guard.timeout if not isinstance(given, int | float) else min(given, guard.timeout)
        attempt = 0
        while True:
            guard.breaker.check(guard.vendor)
            guard.budget.take(guard.vendor)
            with guard.pacer.sending(request.method or "GET") if guard.pacer is not None else nullcontext():
                response = self._send_and_record(request, **kwargs)
            if response.status_code != 429 or observing_429():
                return response
            guard.recorder.throttle(guard.vendor, response.headers.get("Retry-After"))
            if attempt >= guard.retry_429:
                if guard.retry_429:
                    given = response.headers.get("Retry-After")
                    throttled = TargetThrottled(
                        f"{guard.vendor}: throttled: still 429 after {attempt} waits"
                        + (f" (Retry-After: {given})" if given else ""),
                        retry_after=given,
                    )
                    guard.breaker.trip(throttled)
                    raise throttled
                return response
            delay = min(retry_after(response.headers.get("Retry-After")) or 2.0**attempt, guard.max_backoff)
            guard.waited.append(delay)
            guard.sleep(delay)
            attempt += 1

    def _send_and_record(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        guard = self.guard
        seq = guard.recorder.next_seq()
        started = time.time()
        clock = time.perf_counter()
        source: Any = request.body
        tap = _Tap(source) if _streamed(source) else None
        if tap is not None:
            request.body = tap.chunks()  # type: ignore[assignment]  # requests sends any iterable
        try:
            response = self.inner.send(request, **kwargs)
            content = response.content  # read here, so a body cut off mid-way is a network failure too
        except Exception as exc:
            sent = tap.sent() if tap is not None else _whole(source)
            guard.recorder.record(_exchange(seq, guard.vendor, request, sent, None, b"", started, clock, error=exc))
            if isinstance(exc, NETWORK_ERRORS):
                guard.breaker.failed(exc)
            raise
        finally:
            request.body = source  # a retry after a 429 iterates the streamed body afresh
        sent = tap.sent() if tap is not None else _whole(source)
        guard.breaker.answered()
        exchange = _exchange(seq, guard.vendor, request, sent, response, content, started, clock)
        if guard.keyed:
            exchange.match_key = match_key(exchange.method, exchange.url, exchange.request_headers, sent[0])
        # requests' own `elapsed` also counts pacing waits and 429 back-off; this is the vendor's time alone.
        response.imgconf_elapsed = exchange.elapsed_ms / 1000  # type: ignore[attr-defined]
        # The exchange travels with its response, so a failure judged on it can show it as evidence later.
        response.imgconf_exchange = exchange  # type: ignore[attr-defined]
        guard.recorder.record(exchange)
        return response

    def close(self) -> None:
        self.inner.close()


def _whole(body: Any) -> tuple[bytes, int]:
    """A body sent in one piece, and its size."""
    if body is None:
        return b"", 0
    if not isinstance(body, str | bytes | bytearray):
        return b"<streamed body>", 0
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return data, len(data)


def _streamed(body: Any) -> bool:
    return body is not None and not isinstance(body, str | bytes | bytearray) and isinstance(body, Iterable)


class _Tap:
    """A streamed request body passed through chunk by chunk, keeping only what the exchange records.

    The adapter below gets a generator (schemathesis' ASGI adapter streams only generators; urllib3 sends
    any iterable), so the body is never joined: the exchange keeps its first BODY_KEEP bytes and its size.
    """

    def __init__(self, source: Iterable[bytes]) -> None:
        self.source = source
        self.kept = bytearray()
        self.size = 0

    def chunks(self) -> Iterator[bytes]:
        for chunk in self.source:
            if len(self.kept) < BODY_KEEP:
                self.kept += chunk[: BODY_KEEP - len(self.kept)]
            self.size += len(chunk)
            yield chunk

    def sent(self) -> tuple[bytes, int]:
        return bytes(self.kept), self.size


def _exchange(
    seq: int,
    vendor: str,
    request: requests.PreparedRequest,
    sent: tuple[bytes, int],
    response: requests.Response | None,
    content: bytes,
    started: float,
    clock: float,
    error: Exception | None = None,
) -> Exchange:
    return Exchange(
        seq=seq,
        vendor=vendor,
        method=request.method or "GET",
        url=request.url or "",
        request_headers={name: str(value) for name, value in request.headers.items()},
        request_body=sent[0][:BODY_KEEP],
        request_size=sent[1],
        status=response.status_code if response is not None else None,
        response_headers=dict(response.headers) if response is not None else {},
        response_body=content[:BODY_KEEP],
        response_size=len(content),
        elapsed_ms=(time.perf_counter() - clock) * 1000,
        started_at=started,
        error=REDACTOR.text(f"{type(error).__name__}: {error}") if error is not None else None,
        reason=response.reason if response is not None else None,
    )


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def guarded_session(inner: requests.adapters.BaseAdapter, guard: Guard) -> requests.Session:
    session = requests.Session()
    # The proxy environment is never consulted: every target is named explicitly, most on loopback.
    session.trust_env = False
    adapter = GuardedAdapter(inner, guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "imgconf"
    return session
