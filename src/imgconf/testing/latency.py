"""Latency as a rule: the slowest of a few small, valid requests must arrive within the budget.

The budget is the spec's `x-latency-budget-s` (in `info`) for live and URL targets, and a tight
fixed budget for the emulator, which answers in milliseconds: there a slow answer is a regression. A URL
target may set its own (`latency_budget_s` under its `[targets."URL"]` in imgconf.toml), so a deployment
known to answer fast is held to that.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from imgconf.checks import violated
from imgconf.testing.client import ApiClient

DEFAULT_REMOTE_BUDGET_S = 10.0


def budget(api: ApiClient) -> float:
    own = api.target.target.latency_budget_s
    if own is not None:
        return own
    declared = [spec.raw.get("info", {}).get("x-latency-budget-s") for spec in api.vendor.specs]
    values = [float(value) for value in declared if value is not None]
    return min(values) if values else DEFAULT_REMOTE_BUDGET_S


def assert_within_budget(
    api: ApiClient, send: Callable[[], requests.Response], rule: str, samples: int | None = None
) -> None:
    """Time `samples` requests: 25 on the emulator (where its latency drift slows one request in 25), 3 live."""
    limit = budget(api)
    samples = samples or (25 if api.local else 3)
    timings = []
    for _ in range(samples):
        response = send()
        timings.append(getattr(response, "imgconf_elapsed", response.elapsed.total_seconds()))
    slowest = max(timings)
    violated(
        rule,
        slowest <= limit,
        f"the slowest of {samples} answers took {slowest:.2f} s, over the {limit:.1f} s budget "
        f"(all: {', '.join(f'{t:.2f}' for t in timings)})",
    )
