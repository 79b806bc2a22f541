"""Content-derived randomness: every answer the emulators draw is a function of the bytes they were sent."""

from __future__ import annotations

import hashlib
import random

from imgconf.emulator import digests


def content_rng(data: bytes, salt: str = "") -> random.Random:
    """Randomness that is a function of the content: the same bytes always draw the same answer."""
    if not salt:  # the digest the decode cache took of these very bytes, if it did
        return random.Random(digests.sha256(data))
    return random.Random(hashlib.sha256(salt.encode() + data).digest())


def percent(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)
