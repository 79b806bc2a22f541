"""Errors a user can act on, each with the exit code the CLI turns it into.

Anything raised as an `ImgconfError` reaches the terminal as one redacted line,
never as a traceback: the message is the whole interface.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    CONFORMANT = 0
    NON_CONFORMANT = 1
    USAGE = 2
    UNREACHABLE = 3
    ERROR = 4
    INTERRUPTED = 130


class ImgconfError(Exception):
    """Base class: a message for the user and the exit code that goes with it."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(ImgconfError):
    """Bad flags, unknown names, malformed input files."""


class SpecError(ImgconfError):
    """A spec or schema file that does not load or does not validate."""


class TargetUnreachable(ImgconfError):
    """The target did not answer: an outage, not a contract violation."""

    exit_code = ExitCode.UNREACHABLE


class TargetThrottled(TargetUnreachable):
    """The target answered 429 to everything, past every wait: throttled, not non-conformant."""

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExhausted(ImgconfError):
    """The per-vendor request budget ran out before the suite finished."""

    exit_code = ExitCode.UNREACHABLE


class CredentialsMissing(ImgconfError):
    """A live or URL target needs credentials that the environment does not hold."""


class CredentialsRejected(ImgconfError):
    """The vendor refused the configured credential with its documented auth answer: the operator's to fix."""
