"""Who saw which exchange: the running test's list, per-vendor counts, and listeners (progress, cassettes)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

from imgconf.wire.exchange import Exchange

Listener = Callable[[Exchange], None]


class Recorder:
    """Collects exchanges for the test that is running and tells listeners (progress, cassettes) about each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self.per_vendor: dict[str, int] = defaultdict(int)
        self.server_errors: dict[str, int] = defaultdict(int)
        # 429s the suite did not provoke on purpose, and the last Retry-After given with one.
        self.throttled: dict[str, int] = defaultdict(int)
        self.retry_after: dict[str, str] = {}
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

    def throttle(self, vendor: str, retry_after: str | None) -> None:
        with self._lock:
            self.throttled[vendor] += 1
            if retry_after:
                self.retry_after[vendor] = retry_after

    def record(self, exchange: Exchange) -> None:
        exchange.test = self.current_test
        with self._lock:
            self.per_vendor[exchange.vendor] += 1
            if exchange.status is not None and exchange.status >= 500:
                self.server_errors[exchange.vendor] += 1
            self.test_exchanges.append(exchange)
        for listener in self.listeners:
            listener(exchange)
