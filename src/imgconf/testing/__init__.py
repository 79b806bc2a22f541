"""The suite-side library: what the black-box suites import (never the emulator)."""

from imgconf.checks import RuleViolation, check, violated
from imgconf.testing.client import judging
from imgconf.testing.context import active, sized
from imgconf.wire.guard import observe_429

__all__ = ["RuleViolation", "active", "check", "judging", "observe_429", "sized", "violated"]
