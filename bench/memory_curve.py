"""Where a one-process full run's memory goes: its resident set at each milestone of the run.

    python bench/memory_curve.py [--profile full] [--vendor V ...]

Runs `imgconf run --workers 1` with this file loaded into its in-process pytest (as a plugin, through
`PYTEST_PLUGINS`, bench/ on `PYTHONPATH`; nothing in imgconf knows it), which notes the process's RSS and its
peak (VmHWM) when pytest is configured (the libraries imported, the specs loaded), when the suites are
collected, at the first test of every test file, and when the run ends; the last line is the whole process's
peak, reports written included (wait4's ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = os.environ.get("IMGCONF_BENCH_MEMORY_OUT")
_lines: list[str] = []
_last_file: list[str | None] = [None]
_started = time.perf_counter()


def _status() -> str:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    return f"RSS {fields['VmRSS']:4d} MB, peak {fields['VmHWM']:4d} MB"


def _note(what: str) -> None:
    _lines.append(f"{time.perf_counter() - _started:6.2f} s  {_status()}  {what}")


def pytest_configure(config: object) -> None:
    _note("pytest configured: libraries imported, specs loaded")


def pytest_collection_finish(session: object) -> None:
    _note("suites collected")


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    path = nodeid.split("::")[0]
    if path != _last_file[0]:
        _last_file[0] = path
        _note(f"starts {path}")


def pytest_unconfigure(config: object) -> None:
    _note("tests done")
    if OUT:
        Path(OUT).write_text("\n".join(_lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--vendor", action="append", dest="vendors", help="repeatable; default: every vendor")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "curve.txt"
        command = [sys.executable, "-m", "imgconf", "run", "--profile", args.profile, "--workers", "1"]
        command += ["--out", str(Path(tmp) / "reports"), "--no-history", "-q"]
        command += [arg for vendor in args.vendors or [] for arg in ("--vendor", vendor)]
        here = str(Path(__file__).resolve().parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])),
            "PYTEST_PLUGINS": "memory_curve",
            "IMGCONF_BENCH_MEMORY_OUT": str(out),
        }
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not out.exists():
            raise SystemExit(f"imgconf run failed: {process.stderr.read().decode()[-500:] if process.stderr else ''}")
        print(out.read_text(), end="")
        print(f"whole process, reports written: peak {usage.ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
