"""How much testing a run does. `smoke` is for CI and quick checks, `full` for scheduled monitoring."""

from __future__ import annotations

from dataclasses import dataclass

from imgconf.errors import UsageError


@dataclass(frozen=True)
class Profile:
    name: str
    # Hypothesis examples per operation in the fuzzing phase.
    max_examples: int
    # Schemathesis' deterministic boundary-value phase (tens of cases per operation).
    coverage: bool
    # How many distinct images the behaviour sweeps send (a fixed corpus: the same every run).
    corpus: int
    description: str
    # Requests per vendor a `--thorough` URL run may send: above what the profile sends to the emulator
    # (smoke: 150 to 380 per vendor), so the budget never cuts it short, yet still a bound on a runaway.
    thorough_budget: int = 1000


PROFILES = {
    "smoke": Profile(
        "smoke",
        max_examples=10,
        coverage=False,
        corpus=24,
        description="few generated cases per operation; every behaviour rule once",
    ),
    "full": Profile(
        "full",
        max_examples=60,
        coverage=True,
        corpus=64,
        description="boundary values, more generated cases, a larger image corpus",
        thorough_budget=10000,
    ),
}


def get(name: str) -> Profile:
    if name not in PROFILES:
        raise UsageError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]
