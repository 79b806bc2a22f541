"""What every vendor emulator is built from: active drifts, credentials, clock, options."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmulatorConfig:
    drifts: frozenset[str] = frozenset()
    # Extra credentials accepted on top of the module's defaults, e.g. {"api_key": "..."} or AK/SK pairs.
    credentials: tuple[Mapping[str, str], ...] = ()
    # Wall clock in seconds; tests inject a fake one to expire tokens or skip rate windows.
    clock: Callable[[], float] = time.time
    # Vendor-specific switches (rate limits on or off, polls until done, quotas...).
    options: Mapping[str, Any] = field(default_factory=dict)

    def drifting(self, name: str) -> bool:
        return name in self.drifts

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)
