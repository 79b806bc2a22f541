"""Vendor-specific checks: plain functions, registered by name, each tied to a spec rule.

A check has schemathesis' signature `(ctx, response, case)` so the contract
tests run it on every generated response; behaviour tests call the same
function on the answers they provoke. A check that fails raises
`RuleViolation`, which carries the rule id into the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

CheckFn = Callable[[Any, Any, Any], bool | None]
F = TypeVar("F", bound=CheckFn)

_REGISTRY: dict[str, dict[str, CheckFn]] = {}
# Who hears that a rule was put to the test (the run's coverage): bound by the pytest plugin for the length of
# one test, per run, as a context variable; unbound, nobody listens.
_OBSERVER: ContextVar[Callable[[str], None] | None] = ContextVar("imgconf_rule_observer", default=None)


@contextmanager
def observing(listener: Callable[[str], None] | None) -> Iterator[None]:
    """Tell `listener` the id of every rule checked (held or broken) inside the block."""
    token = _OBSERVER.set(listener)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


def exercised(rule: str) -> None:
    """Record that `rule` was checked, whatever the answer."""
    listener = _OBSERVER.get()
    if listener is not None:
        listener(rule)


class RuleViolation(AssertionError):
    """A response broke a named spec rule."""

    def __init__(self, rule: str, message: str) -> None:
        exercised(rule)
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


def violated(rule: str, condition: bool, message: str) -> None:
    """Raise `RuleViolation(rule, message)` unless `condition` holds: `assert` with a rule attached."""
    exercised(rule)
    if not condition:
        raise RuleViolation(rule, message)


def check(vendor: str, name: str | None = None) -> Callable[[F], F]:
    """Register a check for `vendor`; its name is `<vendor>.<function name>` unless given."""

    def decorate(func: F) -> F:
        check_name = name or func.__name__
        func.__name__ = check_name  # schemathesis reports checks by function name
        _REGISTRY.setdefault(vendor, {})[check_name] = func
        return func

    return decorate


def checks_for(vendor: str) -> list[CheckFn]:
    return list(_REGISTRY.get(vendor, {}).values())


def run_checks(vendor: str, response: Any, case: Any = None) -> None:
    """Run every registered check of `vendor` on one response, outside schemathesis."""
    for func in checks_for(vendor):
        func(None, response, case)
