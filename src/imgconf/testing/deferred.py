"""A schemathesis test's documented examples and coverage cases, drawn when the test is called, not collected.

schemathesis draws both in `create_test`, at collection, for every operation of every suite: one seeded
`@given` run per documented example (~13 ms each; identifAI's suites have 27) and the coverage phase's whole
list. A run that stops early (`--stop-on-rule`, a budget, a refused key, Ctrl-C) or only lists its tests
(`--dry-run`) never reaches most of those tests, yet drew every case for them: 38% of the CPU of a selftest's
identifAI drift run, which stops at its first finding (py-spy), 20% of Altum's. And a run held every test's
cases from its start, where now it holds those of the test being run (the plugin lets them go after it).

Drawn when the test is called, through schemathesis' own `add_examples` and `add_coverage`, in the order
`create_test` would have called them, they are the same cases in the same order: each example is drawn under
its own fixed seed, and coverage cases are enumerated, not drawn at random. tests/test_memos.py compares every
case a run sends with and without this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from schemathesis.generation.hypothesis import builder

# Where a test function keeps what collection left to draw: schemathesis' calls, in the order it made them.
PENDING = "_imgconf_pending_examples"

# None where a schemathesis release has renamed them: runs draw at collection as before (tests/test_deferred.py
# fails, so that this module is looked at again).
_add_examples: Any = getattr(builder, "add_examples", None)
_add_coverage: Any = getattr(builder, "add_coverage", None)


def _deferring(add: Callable[..., Any]) -> Callable[..., Any]:
    def deferred(test: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        test.__dict__.setdefault(PENDING, []).append(partial(add, test, *args, **kwargs))
        return test

    deferred.__wrapped__ = add  # type: ignore[attr-defined]
    return deferred


def install() -> None:
    """Route schemathesis' `add_examples` and `add_coverage` through `_deferring` (for the process; idempotent)."""
    if _add_examples is None or _add_coverage is None:
        return
    if builder.add_examples is _add_examples:
        builder.add_examples = _deferring(_add_examples)
    if builder.add_coverage is _add_coverage:
        builder.add_coverage = _deferring(_add_coverage)


def uninstall() -> None:
    """schemathesis' own functions back: cases drawn at collection again."""
    if _add_examples is not None and _add_coverage is not None:
        builder.add_examples = _add_examples
        builder.add_coverage = _add_coverage


def pending(function: object) -> bool:
    """Whether `function` has examples or coverage cases left to draw."""
    return bool(getattr(function, "__dict__", {}).get(PENDING))


def draw(function: object) -> None:
    """Draw what collection left to draw for `function`, once: the calls schemathesis made, in their order.

    Each call appends to the function's `hypothesis_explicit_examples`, where Hypothesis reads them when the
    test runs; schemathesis' marks (an unsatisfiable example, an unserialisable payload) are set on the
    function as they would have been at collection, before its pytest plugin looks for them after the call.
    """
    calls = getattr(function, "__dict__", {}).pop(PENDING, None)
    for call in calls or ():
        call()


def forget(function: object) -> None:
    """Drop what is left to draw for a test that will not be called again (passed over, or done)."""
    getattr(function, "__dict__", {}).pop(PENDING, None)
