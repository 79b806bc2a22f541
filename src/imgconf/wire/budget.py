"""A request budget per vendor: a live run spends at most what the operator allowed."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping

from imgconf.errors import BudgetExhausted


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
