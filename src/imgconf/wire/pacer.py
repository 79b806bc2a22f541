"""Documented rate limits kept client-side, so a careful run never provokes a vendor's 429."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """A documented limit: at most `requests` per `seconds` for the methods named (per key)."""

    requests: int
    seconds: float
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")


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
