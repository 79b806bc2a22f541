"""The documented rate limits, per key: GET 2/s and 60/min, POST 1/s and 30/min.

Sliding windows over the requests that were let through (x-assumption
identifai-rate-limit-window): a client that keeps to the limits over any
interval is never refused, and one that does not is refused at once, with
the number of seconds until its oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    requests: int
    seconds: float


LIMITS: dict[str, tuple[Window, ...]] = {
    "GET": (Window(2, 1.0), Window(60, 60.0)),
    "POST": (Window(1, 1.0), Window(30, 60.0)),
}


class RateLimiter:
    def __init__(self, clock: Callable[[], float], limits: dict[str, tuple[Window, ...]] | None = None) -> None:
        self.clock = clock
        self.limits = limits or LIMITS
        self._sent: dict[tuple[str, str, int], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def admit(self, key: str, method: str) -> int | None:
        """Count the request and return None, or return the Retry-After seconds if it is over a limit."""
        windows = self.limits.get(method.upper(), ())
        now = self.clock()
        with self._lock:
            wait = 0.0
            for index, window in enumerate(windows):
                sent = self._sent[(key, method.upper(), index)]
                while sent and now - sent[0] >= window.seconds:
                    sent.popleft()
                if len(sent) >= window.requests:
                    wait = max(wait, sent[0] + window.seconds - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            for index in range(len(windows)):
                self._sent[(key, method.upper(), index)].append(now)
            return None
