"""The terminal: rich where there is one; long, unwrapped lines where output goes to a log or a pipe."""

from __future__ import annotations

import sys

from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A console bound to the stream as it is now: a run captures pytest's output by redirecting sys.stdout
    and sys.stderr, and the progress display must keep writing to the terminal meanwhile."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(file=stream, highlight=False)
    return Console(file=stream, highlight=False, soft_wrap=True, width=160)
