"""The suite-side library: what the black-box suites import (never the emulator)."""

from imgconf.testing.checks import RuleViolation, check, violated

__all__ = ["RuleViolation", "check", "violated"]
