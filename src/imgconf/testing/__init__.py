"""The suite-side library: what the black-box suites import (never the emulator)."""

from typing import NoReturn

import pytest

from imgconf.checks import RuleViolation, check, violated
from imgconf.report.wording import (
    NOT_CHECKED_CALLBACK,
    NOT_CHECKED_CLOCK,
    NOT_CHECKED_CREDENTIAL,
    NOT_CHECKED_MUTATIONS,
    NOT_CHECKED_THOROUGH,
)
from imgconf.testing.client import judging
from imgconf.testing.context import active, sized
from imgconf.wire.guard import observe_429


def not_checked(why: str, detail: str) -> NoReturn:
    """Skip a test as not checked on this target, saying why (`why` is one of the NOT_CHECKED_* causes)."""
    pytest.skip(f"{why}: {detail}")


__all__ = [
    "NOT_CHECKED_CALLBACK",
    "NOT_CHECKED_CLOCK",
    "NOT_CHECKED_CREDENTIAL",
    "NOT_CHECKED_MUTATIONS",
    "NOT_CHECKED_THOROUGH",
    "RuleViolation",
    "active",
    "check",
    "judging",
    "not_checked",
    "observe_429",
    "sized",
    "violated",
]
