"""Vendor-specific checks: plain functions, registered by name, each tied to a spec rule.

A check has schemathesis' signature `(ctx, response, case)` so the contract
tests run it on every generated response; behaviour tests call the same
function on the answers they provoke. A check that fails raises
`RuleViolation`, which carries the rule id into the report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

CheckFn = Callable[[Any, Any, Any], bool | None]
F = TypeVar("F", bound=CheckFn)

_REGISTRY: dict[str, dict[str, CheckFn]] = {}


class RuleViolation(AssertionError):
    """A response broke a named spec rule."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


def violated(rule: str, condition: bool, message: str) -> None:
    """Raise `RuleViolation(rule, message)` unless `condition` holds: `assert` with a rule attached."""
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
