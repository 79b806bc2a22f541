"""A served emulator in a child process on loopback: waited for, and stopped, the same way however it began.

`started` runs `imgconf emulator serve` in a fresh interpreter, for a caller that has not imported the
emulators (the selftest without its warm process); server.forked_child serves from a fork of the caller,
which has (a run: ~0.04 s to serve where a fresh interpreter took ~0.3 s).

Starting and waiting are separate (`started`, then `Child.urls`), so a run that starts its emulator first
gets the start back while pytest starts and collects the suites (`ServedEmulator.starting`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from imgconf.errors import TargetUnreachable


def serve_command(
    vendors: list[str], drifts: Mapping[str, frozenset[str]], options: Mapping[str, Any] | None, ready: Path
) -> list[str]:
    """`imgconf emulator serve` for these vendors, drifts and options, on ephemeral ports, announcing itself
    in `ready` once it serves."""
    command = [sys.executable, "-m", "imgconf", "emulator", "serve", "--port", "0"]
    command += ["--ready-file", str(ready), "--fast"]
    for vendor in vendors:
        command += ["--vendor", vendor]
    for names in drifts.values():
        for name in sorted(names):
            command += ["--drift", name]
    for key, value in (options or {}).items():
        command += ["--option", f"{key}={json.dumps(value)}"]
    return command


class Process(Protocol):
    """What `Child` needs of the process serving: `subprocess.Popen`, or `forking.Forked`."""

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    def wait(self) -> int: ...


class Child:
    """A started emulator that announces its URLs in `ready`: `urls` waits until it serves (once), `stop` ends it."""

    def __init__(self, process: Process, ready: Path, log: Path, timeout: float) -> None:
        self._process, self._ready, self._log, self._timeout = process, ready, log, timeout
        self._started = time.monotonic()
        self._urls: dict[str, str] | None = None

    def urls(self) -> dict[str, str]:
        """vendor -> base URL, once the child serves; TargetUnreachable if it exits or takes too long."""
        if self._urls is not None:
            return self._urls
        deadline = self._started + self._timeout
        while not self._ready.exists():
            if self._process.poll() is not None:
                text = self._log.read_text(errors="replace") if self._log.exists() else ""
                last = text.strip().splitlines()[-1:]
                raise TargetUnreachable(f"the emulator exited with code {self._process.returncode}: {last}")
            if time.monotonic() > deadline:
                raise TargetUnreachable(f"the emulator did not start within {self._timeout:.0f} s")
            time.sleep(0.01)
        self._urls = json.loads(self._ready.read_text())
        return self._urls

    def stop(self) -> None:
        """Killed, not asked to stop: the child holds nothing to save (its state lives and dies with it, its
        log is only read if it fails to start), and uvicorn's graceful shutdown, which ticks every 0.1 s and
        waits for every keep-alive connection, cost each run 0.1-0.2 s of waiting."""
        self._process.kill()
        self._process.wait()


@contextmanager
def started(
    vendors: list[str],
    drifts: Mapping[str, frozenset[str]],
    options: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
) -> Iterator[Child]:
    """Start `imgconf emulator serve` in a child process on ephemeral loopback ports; stopped after the block."""
    with tempfile.TemporaryDirectory(prefix="imgconf-emulator-") as tmp:
        ready, log = Path(tmp) / "ready.json", Path(tmp) / "emulator.log"
        with log.open("wb") as sink:  # the child holds its own copy of the descriptor
            process = subprocess.Popen(
                serve_command(vendors, drifts, options, ready), stdout=sink, stderr=subprocess.STDOUT
            )
        child = Child(process, ready, log, timeout)
        try:
            yield child
        finally:
            child.stop()


@contextmanager
def spawned(
    vendors: list[str],
    drifts: Mapping[str, frozenset[str]],
    options: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
) -> Iterator[dict[str, str]]:
    """Start `imgconf emulator serve` in a child process on ephemeral loopback ports; yield vendor -> URL."""
    with started(vendors, drifts, options, timeout) as child:
        yield child.urls()
