"""The one road every request takes: budget, pacing, 429 handling, host guard, recording.

Suites and schemathesis both send through a `requests.Session` whose adapter
is a `GuardedAdapter` wrapped around the real transport: a plain
`HTTPAdapter` for network targets, schemathesis' ASGI adapter for the
in-process emulator. So every target is spoken to by exactly the same code,
and the limits a live run must keep are enforced in one place.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters

from imgconf.errors import BudgetExhausted
from imgconf.redact import REDACTOR
from imgconf.vendors.base import RateLimit

# Bodies beyond this are kept as a prefix plus their size and hash: a report needs the evidence, not 50 MB.
BODY_KEEP = 256 * 1024

_retry_429: contextvars.ContextVar[bool] = contextvars.ContextVar("imgconf_retry_429", default=True)


@contextmanager
def observe_429() -> Iterator[None]:
    """Inside this block a 429 is returned to the caller, not waited out: for tests of rate limiting itself."""
    token = _retry_429.set(False)
    try:
        yield
    finally:
        _retry_429.reset(token)


@dataclass
class Exchange:
    """One request and its response, as sent and received (redacted when written anywhere)."""

    seq: int
    vendor: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    request_size: int
    status: int | None
    response_headers: dict[str, str]
    response_body: bytes
    response_size: int
    elapsed_ms: float
    started_at: float
    error: str | None = None
    test: str | None = None
    reason: str | None = None
    match_key: str | None = None  # set when the run is recorded (see runner/cassette.py)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


Listener = Callable[[Exchange], None]


class Recorder:
    """Collects exchanges for the test that is running and tells listeners (progress, cassettes) about each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self.per_vendor: dict[str, int] = defaultdict(int)
        self.server_errors: dict[str, int] = defaultdict(int)
        self.current_test: str | None = None
        self.test_exchanges: list[Exchange] = []
        self.listeners: list[Listener] = []

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    @property
    def total(self) -> int:
        return self._seq

    def start_test(self, nodeid: str) -> None:
        self.current_test = nodeid
        self.test_exchanges = []

    def record(self, exchange: Exchange) -> None:
        exchange.test = self.current_test
        with self._lock:
            self.per_vendor[exchange.vendor] += 1
            if exchange.status is not None and exchange.status >= 500:
                self.server_errors[exchange.vendor] += 1
            self.test_exchanges.append(exchange)
        for listener in self.listeners:
            listener(exchange)


class Budget:
    """At most `limit` requests per vendor per run (None: unlimited)."""

    def __init__(self, limits: Mapping[str, int | None]) -> None:
        self.limits = dict(limits)
        self.used: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def take(self, vendor: str) -> None:
        limit = self.limits.get(vendor)
        with self._lock:
            if limit is not None and self.used[vendor] >= limit:
                raise BudgetExhausted(f"{vendor}: the request budget of {limit} is used up")
            self.used[vendor] += 1


class Pacer:
    """Keeps to documented rate limits: a sliding window per limit, waiting (never failing) for room."""

    def __init__(
        self,
        limits: tuple[RateLimit, ...],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self.sent: dict[int, deque[float]] = {index: deque() for index in range(len(limits))}
        self._lock = threading.Lock()
        # A little slack: the vendor's window and ours do not start at the same instant.
        self.margin = 0.05

    def wait(self, method: str) -> None:
        with self._lock:
            while True:
                now = self.clock()
                delay = 0.0
                for index, limit in enumerate(self.limits):
                    if method.upper() not in limit.methods:
                        continue
                    window = self.sent[index]
                    # One expression decides both expiry and wait, so float rounding cannot disagree with itself.
                    while window and window[0] + limit.seconds + self.margin <= now:
                        window.popleft()
                    if len(window) >= limit.requests:
                        delay = max(delay, window[0] + limit.seconds + self.margin - now)
                if delay <= 0:
                    for index, limit in enumerate(self.limits):
                        if method.upper() in limit.methods:
                            self.sent[index].append(now)
                    return
                self.sleep(delay)


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
        attempt = 0
        while True:
            guard.budget.take(guard.vendor)
            if guard.pacer is not None:
                guard.pacer.wait(request.method or "GET")
            response = self._send_and_record(request, **kwargs)
            if response.status_code != 429 or not _retry_429.get() or attempt >= guard.retry_429:
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
        body = _body_bytes(request.body)
        try:
            response = self.inner.send(request, **kwargs)
        except Exception as exc:
            guard.recorder.record(_exchange(seq, guard.vendor, request, body, None, started, clock, error=exc))
            raise
        exchange = _exchange(seq, guard.vendor, request, body, response, started, clock)
        if guard.keyed:
            from imgconf.runner.cassette import match_key

            exchange.match_key = match_key(exchange.method, exchange.url, exchange.request_headers, body)
        # requests' own `elapsed` also counts pacing waits and 429 back-off; this is the vendor's time alone.
        response.imgconf_elapsed = exchange.elapsed_ms / 1000  # type: ignore[attr-defined]
        guard.recorder.record(exchange)
        return response

    def close(self) -> None:
        self.inner.close()


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    return b"<streamed body>"


def _exchange(
    seq: int,
    vendor: str,
    request: requests.PreparedRequest,
    body: bytes,
    response: requests.Response | None,
    started: float,
    clock: float,
    error: Exception | None = None,
) -> Exchange:
    content = response.content if response is not None else b""
    return Exchange(
        seq=seq,
        vendor=vendor,
        method=request.method or "GET",
        url=request.url or "",
        request_headers={name: str(value) for name, value in request.headers.items()},
        request_body=body[:BODY_KEEP],
        request_size=len(body),
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
    adapter = GuardedAdapter(inner, guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "imgconf"
    return session
