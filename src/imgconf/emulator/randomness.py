"""Content-derived randomness: every answer the emulators draw is a function of the bytes they were sent."""

from __future__ import annotations

import hashlib
import random


def content_rng(data: bytes, salt: str = "") -> random.Random:
    """Randomness that is a function of the content: the same bytes always draw the same answer."""
    return random.Random(hashlib.sha256(salt.encode() + data).digest())


def percent(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)
