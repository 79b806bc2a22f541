"""The emulator served from a fresh interpreter: `imgconf emulator serve` as a child process on loopback.

Apart from server.py so that a run against `emulator-http` (and every run: the targets are imported
together) does not import uvicorn itself: the child does. server.forked, for a caller that has imported
the emulators already, serves from a fork of the caller instead.
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
from typing import Any

from imgconf.errors import TargetUnreachable


@contextmanager
def spawned(
    vendors: list[str],
    drifts: Mapping[str, frozenset[str]],
    options: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
) -> Iterator[dict[str, str]]:
    """Start `imgconf emulator serve` in a child process on ephemeral loopback ports; yield vendor -> URL."""
    with tempfile.TemporaryDirectory(prefix="imgconf-emulator-") as tmp:
        ready = Path(tmp) / "ready.json"
        command = [
            sys.executable,
            "-m",
            "imgconf",
            "emulator",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--fast",
        ]
        for vendor in vendors:
            command += ["--vendor", vendor]
        for names in drifts.values():
            for name in sorted(names):
                command += ["--drift", name]
        for key, value in (options or {}).items():
            command += ["--option", f"{key}={json.dumps(value)}"]
        log = Path(tmp) / "emulator.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + timeout
                while not ready.exists():
                    if process.poll() is not None:
                        raise TargetUnreachable(
                            f"the emulator exited with code {process.returncode}: "
                            f"{log.read_text(errors='replace').strip().splitlines()[-1:]}"
                        )
                    if time.monotonic() > deadline:
                        raise TargetUnreachable(f"the emulator did not start within {timeout:.0f} s")
                    time.sleep(0.05)
                yield json.loads(ready.read_text())
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:  # pragma: no cover
                    process.kill()
                    process.wait()
