"""One worker of `imgconf run --workers N`: a fork of the parent, driven by it.

It is given its share of the run (the `SuiteOptions.from_values` keyword arguments and its vendors), runs
them exactly as `imgconf run` does (`runner.run.execute`), and writes pickled events to its pipe:
`("ready", None)` once it can be stopped in order, `("progress", snapshot)` after every test, and
`("result", WorkerResult)` last. The parent forks it into a process group of its own, so Ctrl-C at the
terminal reaches the parent only, and the parent passes on the signal it was given (SIGINT or SIGTERM):
the same orderly stop, a report marked interrupted by that signal, as a single-process run makes.
"""

from __future__ import annotations

import os
import pickle
import signal
from types import FrameType
from typing import Any, BinaryIO

from imgconf.errors import ImgconfError
from imgconf.report.outcome import RunOutcome
from imgconf.runner import run as runner
from imgconf.testing.options import SuiteOptions

# What a worker hands back: its outcome, or the one-line error and exit code it stopped with, or (None,
# None, 0) when it was stopped before its suites started.
WorkerResult = tuple[RunOutcome | None, str | None, int]


def _stop(signum: int, frame: FrameType | None) -> None:
    raise runner.Interrupted("SIGTERM")


def share_options(values: dict[str, Any], vendors: list[str]) -> SuiteOptions:
    """The run's options for its share `vendors` (with the drifts that name one of them)."""
    drifts = [name for name in values.get("drifts") or [] if name.partition(".")[0] in vendors]
    return SuiteOptions.from_values(**{**values, "vendors": vendors, "drifts": drifts})


def work(values: dict[str, Any], vendors: list[str], send: Any) -> WorkerResult:
    """Run `vendors` with the parent's option values; `send(event)` tells the parent how far it got."""
    signal.signal(signal.SIGTERM, _stop)  # until the runner installs its own, for the length of the run
    send(("ready", None))
    try:
        outcome, _artifacts = runner.execute(
            share_options(values, vendors), lambda snapshot: send(("progress", snapshot))
        )
    except KeyboardInterrupt:  # SIGINT, or SIGTERM (`Interrupted`), before the suites started
        return None, None, 0
    except ImgconfError as exc:
        return None, exc.message, int(exc.exit_code)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the result is on its way: nothing left to stop
    return outcome, None, 0


def serve(channel_fd: int, values: dict[str, Any], vendors: list[str]) -> int:
    """The forked worker's whole life: `work`, its events written to the pipe `channel_fd`."""
    channel: BinaryIO
    with os.fdopen(channel_fd, "wb") as channel:

        def send(event: tuple[str, Any]) -> None:
            pickle.dump(event, channel)
            channel.flush()

        send(("result", work(values, vendors, send)))
    return 0
