"""Child processes forked from this warm process: imports and loaded specs shared, nothing else.

The selftest starts about a hundred children (a run per drift, an emulator per plain-schemathesis run);
as fresh interpreters each paid ~2.5 s of imports and spec loading before doing anything. A fork pays
none of it and is as isolated from its siblings as a fresh process is.

`os.fork` rather than multiprocessing's fork context: the callers fork from worker threads of a
`ThreadPoolExecutor`, and multiprocessing's child, on its way out, runs the executor's exit hook, which
joins the pool's threads (itself among them) and turns every exit code into 1. Here the child leaves
with `os._exit` and the code its target gave, as `python -m ...` would.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

# Held around every fork and by callers around their own output (see `quietly`): a fork taken while another
# thread holds a stream's lock (printing progress, say) would leave that lock held forever in the child.
LOCK = threading.Lock()


def quietly(say: Callable[[str], None]) -> Callable[[str], None]:
    """`say`, never at the same moment as a fork."""

    def said(message: str) -> None:
        with LOCK:
            say(message)

    return said


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    return value if isinstance(value, int) else 1


def start(target: Callable[[], object], log: Path, *, own_group: bool = False) -> int:
    """Fork; the child sends its output to `log`, runs `target` and exits with its code (SystemExit's too).

    `own_group`: the child leads a process group of its own, so Ctrl-C at the terminal reaches the parent
    only, which decides what the child is told (both sides set it, so no signal finds it half-way).
    """
    global LOCK
    log.parent.mkdir(parents=True, exist_ok=True)
    with LOCK:
        for stream in (sys.stdout, sys.stderr):  # else what they buffer is written again by the child
            with contextlib.suppress(Exception):
                stream.flush()
        # tempfile finds its directory once, under a lock of its own, on first use: a fork taken while another
        # thread held that lock left the child waiting on it for good (seen: a selftest run hung until its
        # timeout, a sibling thread serving a plain-schemathesis emulator). Found here first (it waits for that
        # thread if it must), the lock is never taken again.
        tempfile.gettempdir()
        pid = os.fork()
    if pid:
        if own_group:
            with contextlib.suppress(OSError):  # the child has set it already, or has already exited
                os.setpgid(pid, pid)
        return pid
    LOCK = threading.Lock()  # the child's copy was taken held
    if own_group:
        os.setpgid(0, 0)
    # What the warm parent built (modules, specs, emulators) is never garbage: left out of the child's
    # collections, it is neither scanned on every full collection nor copied page by page when touched.
    gc.freeze()
    code = 1
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = _exit_code(target())
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed stream on the way out changes nothing
                stream.flush()
        os._exit(code)


def wait(pid: int, timeout: float | None = None) -> int | None:
    """The child's exit code (negative: killed by that signal); None if it outlived `timeout` (it is stopped)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while True:
        code = reap(pid)
        if code is not None:
            return code
        if deadline is not None and time.monotonic() > deadline:
            stop(pid)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def reap(pid: int) -> int | None:
    """The child's exit code (negative: killed by that signal) if it has exited, reaping it; else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return os.waitstatus_to_exitcode(status) if done else None


def alive(pid: int) -> bool:
    """Whether the child still runs (a child that has exited is reaped here and counts as gone)."""
    return reap(pid) is None


def stop(pid: int, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; the child is reaped either way."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, ChildProcessError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
