"""The terminal: rich where there is one; long, unwrapped lines where output goes to a log or a pipe."""

from __future__ import annotations

import contextlib
import os
import sys

from rich.console import Console


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`imgconf run | head -1`): what is left to print is dropped, and the command
        ends with its own code. rich's default exits 1 here, which is imgconf's "non-conformant": a
        conformant run piped to `head` would have told a CI job the vendor broke its contract."""
        self.quiet = True
        with contextlib.suppress(AttributeError, OSError, ValueError):  # a stream with no descriptor: quiet is all
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())  # later writes to the stream (click's too) go nowhere, quietly
            os.close(devnull)


def console(stderr: bool = False) -> Console:
    """A console bound to the stream as it is now: a run captures pytest's output by redirecting sys.stdout
    and sys.stderr, and the progress display must keep writing to the terminal meanwhile."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return _Console(file=stream, highlight=False)
    return _Console(file=stream, highlight=False, soft_wrap=True, width=160)
