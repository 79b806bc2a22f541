"""The suite-side library: what the black-box suites import (never the emulator)."""

from imgconf.testing.checks import RuleViolation, check, violated
from imgconf.testing.session import sized

__all__ = ["RuleViolation", "check", "sized", "violated"]
