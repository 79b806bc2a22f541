"""Checking, off the request path: relayed exchanges wait in a bounded queue for one worker thread.

The relay only ever calls `Checker.submit`, which never blocks: when the queue is full the exchange is
counted as unchecked and dropped, so a slow check can never delay the application. The worker turns each
exchange into what `imgconf validate` reads (`runner.validate.Recorded`) and sends it through the same
path (`runner.validate.hold`: response checks and the vendor's checks, into the run's collector); the
application's own request is judged beside it (application.py), apart from the vendor's answer.
The worker also flushes the window (session.py) every `flush_every` seconds and once more when stopped.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imgconf.proxy.relay import Proxied

_NOTHING: Any = object()  # the queue stayed empty until the next flush
QUEUE = 256  # exchanges waiting to be checked; their copies are bounded (capture.KEEP), so is this


@dataclass
class Counters:
    relayed: int = 0
    checked: int = 0
    dropped: int = 0  # the queue was full: relayed unchanged, not checked
    unreachable: int = 0


@dataclass
class Checker:
    """One worker: `check` judges an exchange, `flush` publishes the window; both run on its thread only."""

    check: Callable[[Proxied], None]
    flush: Callable[[bool], None]
    flush_every: float
    counters: Counters = field(default_factory=Counters)
    _queue: queue.Queue[Proxied | None] = field(default_factory=lambda: queue.Queue(QUEUE))
    _thread: threading.Thread | None = None
    errors: list[str] = field(default_factory=list)

    def submit(self, proxied: Proxied) -> None:
        """Called by the relay for every exchange; never blocks."""
        self.counters.relayed += 1
        try:
            self._queue.put_nowait(proxied)
        except queue.Full:
            self.counters.dropped += 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="imgconf-proxy-checker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Check what is queued, flush a last time, and end the worker."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every submitted exchange has been checked (tests and benches use it)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def _work(self) -> None:
        next_flush = time.monotonic() + self.flush_every
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = _NOTHING
            if item is None:
                self._safely(self.flush, True)
                self._queue.task_done()
                return
            if isinstance(item, Proxied):
                self._safely(self.check, item)
                self.counters.checked += 1
                self._queue.task_done()
            if time.monotonic() >= next_flush:
                self._safely(self.flush, False)
                next_flush = time.monotonic() + self.flush_every

    def _safely(self, job: Callable[[Any], None], argument: Any) -> None:
        """A check or a flush that fails is imgconf's bug: noted, never the end of the proxy."""
        try:
            job(argument)
        except Exception as exc:  # the worker must outlive any one exchange
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
