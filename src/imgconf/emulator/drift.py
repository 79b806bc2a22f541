"""Drift profiles: named, catalogued departures from the contract.

Each imitates a regression a real vendor could ship, names the spec rules it
breaks, and belongs to one category, so that the suite's sensitivity can be
measured rule by rule (`imgconf selftest`). The emulator code asks
`config.drifting("altum.confidence-as-number")` at the one place the drift
changes behaviour; the faithful emulator is the one with no drift active.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    TYPE_CHANGED = "type changed"
    FIELD_RENAMED = "field removed or renamed"
    ENUM_WIDENED = "enum widened"
    STATUS_CHANGED = "status code changed"
    ERROR_SHAPE = "error-body shape"
    CONTENT_TYPE = "content type"
    AUTH = "auth no longer enforced (security)"
    SEMANTICS = "limit or threshold not honoured (semantics)"
    STATE = "state machine broken"
    LATENCY = "latency regression"


@dataclass(frozen=True)
class Drift:
    name: str
    category: Category
    imitates: str
    breaks: tuple[str, ...]

    @property
    def vendor(self) -> str:
        return self.name.split(".", 1)[0]

    def asdict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "category": str(self.category),
            "imitates": self.imitates,
            "breaks": list(self.breaks),
        }
