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
import ctypes
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


def start(target: Callable[[], object], log: Path, *, own_group: bool = False, tied: bool = False) -> int:
    """Fork; the child sends its output to `log`, runs `target` and exits with its code (SystemExit's too).

    `own_group`: the child leads a process group of its own, so Ctrl-C at the terminal reaches the parent
    only, which decides what the child is told (both sides set it, so no signal finds it half-way).
    `tied`: the child is killed when this process ends, however it ends (see `_tie`).
    """
    global LOCK
    parent = os.getpid()
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
    if tied:
        _tie(parent)
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
        _streams_to_descriptors()
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


def _streams_to_descriptors() -> None:
    """sys.stdout and sys.stderr: new streams on descriptors 1 and 2, which now lead to the log.

    Not the parent's stream objects: a parent may have put streams of its own there (pytest's capture does;
    a traceback printed in the child went to the parent's capture buffer, never to the log that the caller
    reads for why a child died), and a thread of the parent may have held a stream's lock at the fork (the
    progress display's refresh, writing to stderr), which the child's first write would wait on forever.
    """
    for fd, name in ((1, "stdout"), (2, "stderr")):
        # Kept for the rest of the child's life, never closed.
        stream = open(fd, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
        setattr(sys, name, stream)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _tie(parent: int) -> None:
    """SIGKILL for this child the moment `parent` ends (Linux's PR_SET_PDEATHSIG); elsewhere, nothing.

    A fork holds every descriptor its parent held: a served emulator forked inside a run's worker holds the
    write end of that worker's pipe to the run, so a worker killed outright would leave the run waiting for
    an end of file that the orphaned emulator keeps from ever coming (a fresh interpreter inherits none).
    Tied, it goes with the worker. The signal follows the forking thread, so the caller keeps the child no
    longer than that thread lives.
    """
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return
    prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    if os.getppid() != parent:  # it ended before the line above took effect
        os._exit(1)


class Forked:
    """A child `start` forked, seen as `subprocess.Popen` shows one (`poll`, `kill`, `wait`, `returncode`), so
    what waits for a served emulator need not know whether it is a fork or a fresh interpreter."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = reap(self.pid)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


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
