"""Checking, off the request path: relayed exchanges go through a bounded queue to a checking process.

A process, not a thread: schemathesis' validation is CPU work, and in one CPython process a checking
thread holds the GIL for up to the switch interval (5 ms) at a time, which the relay then waits out on
every read and write (measured: +9 ms at p50 with a thread, +0.4 ms with the checks in their own process;
bench/bench_proxy.py). The relay only ever calls `Checker.submit`, which never blocks: it puts a plain
snapshot of the exchange (its bodies already bounded, capture.py) on a `multiprocessing` queue, and when
the queue is full the exchange is counted as unchecked and dropped, so checking can never delay the
application. The checking process (forked before the relay starts, so it shares no sockets or threads)
runs `check` for each exchange (session.py: the same path `imgconf validate` takes) and `flush` every
`flush_every` seconds and once more when stopped, then exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imgconf.proxy.relay import Proxied, Snapshot

NICENESS = 10  # the checking process yields the CPU to the relay (and to the application on the same host)
QUEUE = 256  # exchanges waiting to be checked; their copies are bounded (capture.KEEP), so is this
_CONTEXT = multiprocessing.get_context("fork")


@dataclass
class Counters:
    relayed: int = 0
    checked: int = 0
    dropped: int = 0  # the queue was full: relayed unchanged, not checked
    unreachable: int = 0


@dataclass
class Checker:
    """`check` judges an exchange, `flush` publishes the window; both run in the checking process only."""

    check: Callable[[Snapshot], None]
    flush: Callable[[bool], None]
    flush_every: float
    counters: Counters = field(default_factory=Counters)
    errors: list[str] = field(default_factory=list)
    _queue: Any = field(default_factory=lambda: _CONTEXT.Queue(QUEUE))
    _process: Any = None

    def submit(self, proxied: Proxied) -> None:
        """Called by the relay for every exchange; never blocks."""
        self.counters.relayed += 1
        try:
            self._queue.put_nowait((proxied.snapshot(), self.counters.relayed, self.counters.dropped))
        except queue.Full:
            self.counters.dropped += 1

    def start(self) -> None:
        self._process = _CONTEXT.Process(target=self._work, name="imgconf-proxy-checker", daemon=False)
        self._process.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Let the checking process check what is queued, flush a last time, and end."""
        self._queue.put((None, self.counters.relayed, self.counters.dropped))
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():  # pragma: no cover - a check that hangs
                self._process.terminate()

    def _work(self) -> None:
        # The operator's Ctrl-C reaches the whole process group: the relay's process decides when to stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Checks wait; the application does not: the scheduler gives the relay the CPU first.
        with contextlib.suppress(OSError):
            os.nice(NICENESS)
        parent = os.getppid()
        next_flush = time.monotonic() + self.flush_every
        while True:
            try:
                item, relayed, dropped = self._queue.get(timeout=max(0.05, min(1.0, next_flush - time.monotonic())))
                self.counters.relayed, self.counters.dropped = relayed, dropped
            except queue.Empty:
                item = False
                if os.getppid() != parent:  # the relay died without a word: publish what there is
                    item = None
            if item is None:
                self._safely(self.flush, True)
                return
            if item is not False:
                self._safely(self.check, item)
                self.counters.checked += 1
            if time.monotonic() >= next_flush:
                self._safely(self.flush, False)
                next_flush = time.monotonic() + self.flush_every

    def _safely(self, job: Callable[[Any], None], argument: Any) -> None:
        """A check or a flush that fails is imgconf's bug: noted, never the end of the proxy."""
        try:
            job(argument)
        except Exception as exc:  # the worker must outlive any one exchange
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
