"""Documented rate limits kept client-side, so a careful run never provokes a vendor's 429."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """A documented limit: at most `requests` per `seconds` for the methods named (per key)."""

    requests: int
    seconds: float
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")


class _Sent:
    """One request in a window: when it left, then, once answered, when its answer came back."""

    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class Pacer:
    """Keeps to documented rate limits: a sliding window per limit, waiting (never failing) for room.

    The vendor counts a request when it arrives, which is some time after it left here: on a loaded machine or
    a slow network, one that left early can arrive late, just before the next one, and the two then count in
    one window. So a request counts from when it left until its answer is back (`answered`), and from the
    answer's arrival after that: never earlier than the vendor counted it.
    """

    def __init__(
        self,
        limits: tuple[RateLimit, ...],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.sleep = sleep
        self.sent: dict[int, list[_Sent]] = {index: [] for index in range(len(limits))}
        self._lock = threading.Lock()
        # A little slack: the vendor's window and ours do not start at the same instant.
        self.margin = 0.05

    def wait(self, method: str) -> _Sent:
        """Wait for room in every window of `method`; the request counts in them from now (see `answered`)."""
        with self._lock:
            while True:
                now = self.clock()
                delay = 0.0
                for index, limit in enumerate(self.limits):
                    if method.upper() not in limit.methods:
                        continue
                    # One expression decides both expiry and wait, so float rounding cannot disagree with itself.
                    window = [sent for sent in self.sent[index] if sent.at + limit.seconds + self.margin > now]
                    self.sent[index] = window
                    if len(window) >= limit.requests:
                        delay = max(delay, min(sent.at for sent in window) + limit.seconds + self.margin - now)
                if delay <= 0:
                    sent = _Sent(now)
                    for index, limit in enumerate(self.limits):
                        if method.upper() in limit.methods:
                            self.sent[index].append(sent)
                    return sent
                self.sleep(delay)

    @contextmanager
    def sending(self, method: str) -> Iterator[None]:
        """Around one request: wait for room (`wait`), and count it until its answer is back (`answered`)."""
        sent = self.wait(method)
        try:
            yield
        finally:
            self.answered(sent)

    def answered(self, sent: _Sent) -> None:
        """The request's answer is back: it counts from now, the latest the vendor can have counted it."""
        with self._lock:
            sent.at = max(sent.at, self.clock())
