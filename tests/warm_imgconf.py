"""What the tests' fork server imports before it forks a child per `imgconf` command (see conftest.imgconf).

Importing imgconf and loading every vendor's specs costs a fresh interpreter ~2.5 s; the project's tests
start the CLI over a hundred times. The fork server (multiprocessing's, one per xdist worker) imports this
module once, single-threaded and untouched by any test, so each command is a fork of a clean, warm process:
as isolated from the tests and from the other commands as a fresh `python -m imgconf` is.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import _hypothesis_pytestplugin  # noqa: F401 - imported by every run's pytest
import schemathesis.pytest.plugin  # noqa: F401 - imported by every run's pytest

import imgconf.cli
from imgconf import emulator, vendors

for _vendor in vendors.all_vendors().values():
    _ = _vendor.specs
for _emulator in emulator.all_emulators():
    emulator.get(_emulator)


def command(argv: list[str], env: dict[str, str], cwd: str, stdout: str, stderr: str) -> None:
    """In the forked child: the environment, directory and output files a fresh process would have, then run."""
    for fd, path in ((1, stdout), (2, stderr)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", line_buffering=True)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [str(Path(sys.executable).parent / "imgconf"), *argv]
    imgconf.cli.main(argv)
