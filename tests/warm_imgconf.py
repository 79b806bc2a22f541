"""What the tests' fork server imports before it forks a child per `imgconf` command (see conftest.imgconf).

Importing imgconf and loading every vendor's specs costs a fresh interpreter ~2.5 s; the project's tests
start the CLI over a hundred times. The fork server (multiprocessing's, one per xdist worker) imports this
module once, single-threaded and untouched by any test, so each command is a fork of a clean, warm process:
as isolated from the tests and from the other commands as a fresh `python -m imgconf` is.
"""

from __future__ import annotations

import gc
import io
import os
import sys
from pathlib import Path

import imgconf.cli
from imgconf import vendors
from imgconf.runner import selftest

imgconf.cli.preload()
selftest.warm(list(vendors.all_vendors()))


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
    gc.freeze()  # the warm server's heap is never garbage: keep it out of the command's collections
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = [str(Path(sys.executable).parent / "imgconf"), *argv]
    imgconf.cli.main(argv)
