"""Plain `st run`, started many times without paying for its imports each time.

`python -m schemathesis.cli` spends ~1.2 s of CPU importing before its first request: close to half of a
smoke-sized run, and a selftest starts one per drift. So one interpreter imports schemathesis' CLI and the
modules a run imports as it goes (and nothing of imgconf: run as `python -m imgconf.runner.plain_st`, this
module imports only the standard library and schemathesis), then forks a child per command. The child is
`python -m schemathesis.cli ARGS` as a fresh process would run it, with its own working directory, its output
in a file of the caller's, and its exit code reported back; only the imports are done already.

Commands come in on stdin as JSON lines; `started ID PID` and `exited PID CODE` go out on stdout. The server
is one thread (a fork never copies a lock another thread holds); the caller's `Server` may be used from many.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

# What `st run` imports before and while it runs, by the size of their import (`python -X importtime`).
WARM = (
    "schemathesis.cli",
    "schemathesis.cli.commands.run.executor",
    "schemathesis.specs.openapi.schemas",
    "schemathesis.engine.core",
    "schemathesis.engine.run.unit",
    "schemathesis.transport.asgi",
    "rich.console",
    "rich.progress",
    "yaml",
    "pyrate_limiter",
)


def _child(argv: list[str], cwd: str, log: str) -> int:
    """`python -m schemathesis.cli ARGV`, in this fork: stdin empty, stdout and stderr to `log`."""
    os.chdir(cwd)
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    # Fresh stream objects: the server's are never written to after the fork, so no lock of theirs is held here.
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stream, for its whole life
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.argv = ["st", *argv]
    code: object = 0
    try:
        runpy.run_module("schemathesis.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code if isinstance(code, int) else (0 if code is None else 1)


def serve() -> None:
    """The server's loop: fork a child per command line, report each start and each exit."""
    for name in WARM:
        with contextlib.suppress(ImportError):  # a module a schemathesis release moved: only its warmth is lost
            importlib.import_module(name)
    children: set[int] = set()
    pending = b""
    open_input = True

    def say(line: str) -> None:
        os.write(1, (line + "\n").encode())

    while open_input or children:
        readable, _, _ = select.select([0] if open_input else [], [], [], 0.02)
        if readable:
            chunk = os.read(0, 65536)
            if not chunk:
                open_input = False
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                command = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _child(command["argv"], command["cwd"], command["log"])
                    finally:
                        os._exit(code)
                children.add(pid)
                say(f"started {command['id']} {pid}")
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                say(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just ended
        os.kill(pid, signal.SIGKILL)


@dataclass
class _Run:
    ident: int
    pid: int | None = None
    code: int | None = None
    abandoned: bool = False  # its caller stopped waiting: killed as soon as its pid is known
    done: threading.Event = field(default_factory=threading.Event)


class Server:
    """The caller's side: `run` a plain `st` command (from any thread) and get its exit code."""

    def __init__(self) -> None:
        # A process group of its own, which its children share: `close` can stop every run at once.
        self._process = subprocess.Popen(
            [sys.executable, "-m", "imgconf.runner.plain_st"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._by_pid: dict[int, _Run] = {}
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            kind, first, second = raw.decode().split()
            with self._lock:
                if kind == "started":
                    run = self._runs[int(first)]
                    run.pid = int(second)
                    self._by_pid[run.pid] = run
                    if run.abandoned:  # timed out before it had even started
                        _kill(run.pid)
                else:
                    run = self._by_pid.pop(int(first))
                    del self._runs[run.ident]
                    run.code = int(second)
                    run.done.set()
        with self._lock:  # the server is gone: whatever still runs has no exit to report
            for run in self._runs.values():
                if not run.done.is_set():
                    run.code = -signal.SIGKILL
                    run.done.set()

    def run(self, argv: list[str], log: Path, cwd: Path | None = None, timeout: float | None = None) -> int:
        """`st ARGV`'s exit code, its output in `log`; killed past `timeout` (raises `subprocess.TimeoutExpired`)."""
        assert self._process.stdin is not None
        with self._lock:
            run = self._runs[self._next] = _Run(self._next)
            self._next += 1
            line = json.dumps({"id": run.ident, "argv": argv, "cwd": str(cwd or Path.cwd()), "log": str(log)})
            self._process.stdin.write(line.encode() + b"\n")
            self._process.stdin.flush()
        if not run.done.wait(timeout):
            with self._lock:
                run.abandoned = True
                if run.pid is not None:
                    _kill(run.pid)
            run.done.wait(10)
            raise subprocess.TimeoutExpired(["st", *argv], timeout or 0)
        assert run.code is not None
        return run.code

    def close(self, stop: bool = False) -> None:
        """End the server once its runs have ended, or (`stop`, or past 30 s) kill it and every run at once."""
        if stop:
            self._kill_group()
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._kill_group()
            self._process.wait()
        self._reader.join(5)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        """Left by an exception (a failure, Ctrl-C): no run is waited for."""
        self.close(stop=kind is not None)


if __name__ == "__main__":
    serve()
