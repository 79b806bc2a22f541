"""A pytest plugin for bench_peers.py's `gen` section: counts and times contract cases, and can skip sending them.

Loaded into `imgconf run`'s in-process pytest by the bench only, through `PYTEST_PLUGINS=contract_cases` with
bench/ on `PYTHONPATH` (pytest honours `PYTEST_PLUGINS` with autoloading off); nothing in imgconf knows it.

- `IMGCONF_BENCH_CONTRACT=send`: every `ApiClient.call_and_validate(case)` runs as usual (sent to the target,
  every check run on the answer), and is counted.
- `IMGCONF_BENCH_CONTRACT=skip`: the same call is counted and returns at once: the case was drawn (schema,
  configuration, strategies, hooks, auth provider, seed and examples all as in a real run) and never sent.

Both modes wrap the call the same way, so the counting costs both alike. A contract test is one schemathesis
parametrises (a `SchemathesisFunction`); its time is pytest's call phase (Hypothesis' whole loop over the cases, not
fixture setup), summed over those tests, as wall time and as the process's CPU time (every thread: the
emulator's too), and, in the sending variant, the wall time spent inside `call_and_validate` (so one run
also splits its own time into generating and sending+checking). The totals go as JSON to `IMGCONF_BENCH_CONTRACT_OUT`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from schemathesis.pytest.plugin import SchemathesisFunction

from imgconf.testing import client

MODE = os.environ.get("IMGCONF_BENCH_CONTRACT", "send")
OUT = os.environ.get("IMGCONF_BENCH_CONTRACT_OUT")
TOTALS: dict[str, Any] = {"mode": MODE, "cases": 0, "seconds": 0.0, "cpu_seconds": 0.0, "tests": 0, "per_test": []}

_original = client.ApiClient.call_and_validate
_cases = 0
_inside = 0.0


def _counted(self: client.ApiClient, case: Any, **options: Any) -> Any:
    global _cases, _inside
    _cases += 1
    if MODE == "skip":
        return None
    started = time.perf_counter()
    try:
        return _original(self, case, **options)
    finally:
        _inside += time.perf_counter() - started


client.ApiClient.call_and_validate = _counted  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    global _cases, _inside
    if not isinstance(item, SchemathesisFunction):
        return (yield)
    _cases, _inside = 0, 0.0
    started, cpu = time.perf_counter(), time.process_time()
    try:
        return (yield)
    finally:
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        TOTALS["cpu_seconds"] += used
        TOTALS["cases"] += _cases
        TOTALS["seconds"] += elapsed
        TOTALS["tests"] += 1
        TOTALS["per_test"].append([item.nodeid, _cases, round(elapsed, 4), round(used, 4), round(_inside, 4)])


def pytest_unconfigure(config: pytest.Config) -> None:
    if OUT:
        Path(OUT).write_text(json.dumps(TOTALS))
