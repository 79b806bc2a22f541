"""Helpers for the project's own tests: the CLI as a user runs it, a served emulator, report loading."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    out: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def report(self) -> dict:
        latest = (self.out / "LATEST").read_text().strip()
        return json.loads((self.out / latest / "report.json").read_text())

    def report_dir(self) -> Path:
        return self.out / (self.out / "LATEST").read_text().strip()


# The files that take longest, in the order xdist should start them (pyproject.toml turns off its own
# reordering, by number of tests, which started the few-test long files last: both cores sat idle for the
# last ~50 s while they waited). Those that mostly wait (paced to documented rate windows, backing off from
# outages, signalled runs) come first, so their waits overlap the CPU-bound selftests; then the rest by their
# time in a full run (2026-12-07: a test_memos started last had kept one worker busy ~25 s past the others);
# every other file follows in collection order. Among the long ones, a file that mostly waits (test_monitoring's
# outages and 429 storms, test_verdict's throttled targets) follows one that computes: a timeline of the workers
# (2026-12-07) had test_monitoring and test_verdict start together while identifAI's paced run still waited, the
# two cores 11-37% idle for 20 s; started apart, the cores were 97.5% busy over the run against 95%.
LONGEST_FIRST = (
    "test_identifai_live.py",
    "test_selftest_identifai.py",
    "test_selftest_huawei.py",
    "test_selftest_altum.py",
    "test_memos.py",
    "test_monitoring.py",
    "test_drifts.py",
    "test_draws.py",
    "test_verdict.py",
    "test_proxy.py",
    "test_selftest_imagerecognize.py",
    "test_verdict_history.py",
    "test_fuzz.py",
    "test_docs_site.py",
    "test_wheel.py",
    "test_verdict_replay.py",
    "test_workers.py",
    "test_cli.py",
    "test_hypothesis_phases.py",
    "test_cli_conventions.py",
    "test_proxy_load.py",
    "test_architecture.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IMGCONF_", "ALTUM_", "IDENTIFAI_", "IMAGERECOGNIZE_", "HUAWEI_"))
    }
    env.update(extra)
    return env


_forkserver: multiprocessing.context.ForkServerContext | None = None


def _forks() -> multiprocessing.context.ForkServerContext:
    """multiprocessing's fork server, started once per test process, with imgconf imported and its specs loaded."""
    global _forkserver
    if _forkserver is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["warm_imgconf"])
        # Python 3.11's fork server ignores the sys.path it is handed, so its preload of warm_imgconf (in this
        # folder) failed silently and every command imported and loaded everything itself (~2 s each, measured):
        # the server finds the module through PYTHONPATH instead. The commands' own environment is set anew.
        previous = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent), previous]))
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if previous is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = previous
        _forkserver = context
    return _forkserver


def imgconf(
    *args: str, out: Path, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
) -> Result:
    """Run the CLI in a child process, as a user would: `imgconf ARGS` with its own environment and directory.

    The child is a fork of a warm fork server (tests/warm_imgconf.py) rather than a fresh interpreter, which
    saves ~2.5 s of imports and spec loading per command; a command for another checkout (IMGCONF_ROOT), or
    any command when IMGCONF_TEST_FRESH=1 (in this process's environment, or in `env` for one command), runs
    in a fresh `python -m imgconf` instead.
    """
    argv = list(args)
    if args and args[0] in ("run", "selftest") and "--out" not in args:
        argv += ["--out", str(out)]
    env = env or clean_env()
    directory = cwd or out
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"no such directory: {directory}")  # as subprocess would, in this process
    process = started(argv, env, directory)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return Result(int(process.returncode or 0), stdout, stderr, out)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class Forked:
    """A long-running `imgconf` command (a served emulator, a proxy) forked from the fork server: the part of
    subprocess.Popen the tests use (pid, poll, send_signal, terminate, kill, wait, communicate -> text).

    Each of those commands used to be a fresh interpreter, ~2.5 s of imports and spec loading before it served
    anything; the environment and directory are the command's own either way.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        import warm_imgconf  # the fork server's preload; here only to hand it the function it runs

        self._tmp = tempfile.TemporaryDirectory(prefix="imgconf-bg-")
        self._stdout, self._stderr = Path(self._tmp.name) / "stdout", Path(self._tmp.name) / "stderr"
        command = (argv, env, cwd, str(self._stdout), str(self._stderr))
        self._process = _forks().Process(target=warm_imgconf.command, args=command)
        self._process.start()
        self.pid = int(self._process.pid or 0)
        self.args = ["imgconf", *argv]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._process.exitcode is not None:
            self.returncode = self._process.exitcode
            self._process.join()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        output = (_read(self._stdout), _read(self._stderr))
        self._tmp.cleanup()
        return output


def started(argv: list[str], env: dict[str, str], cwd: str | Path) -> Forked | subprocess.Popen[str]:
    """`imgconf ARGV` left running: forked from the fork server, or a fresh process with IMGCONF_TEST_FRESH=1."""
    if env.get("IMGCONF_ROOT") or "1" in (os.environ.get("IMGCONF_TEST_FRESH"), env.get("IMGCONF_TEST_FRESH")):
        return subprocess.Popen(
            [sys.executable, "-m", "imgconf", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
    return Forked(argv, env, str(cwd))


@pytest.fixture
def cli(tmp_path: Path):
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Result:
        return imgconf(*args, out=tmp_path / "reports", env=env, timeout=timeout, cwd=tmp_path)

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(*args: str, env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """`imgconf emulator serve` in a child process on free ports; yields vendor -> base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        argv = ["emulator", "serve", "--port", "0", "--ready-file", str(ready), *args]
        process = started(argv, env or clean_env(), tmp)
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
            yield json.loads(ready.read_text())
        finally:
            process.terminate()
            process.wait(timeout=10)


def make_outcome(vendor: object, findings: list | None = None):
    """A one-vendor run outcome for tests of what reads one (renderers, writer, history readers)."""
    from imgconf.report.outcome import RunKind, RunOutcome, Target, number_findings

    return RunOutcome(
        run_id="20261201T100000Z-emulator-altum-0001",
        kind=RunKind.MONITOR,
        started_at="2026-12-01T10:00:00+00:00",
        finished_at="2026-12-01T10:00:05+00:00",
        duration_s=5.0,
        target=Target("emulator", "emulator", {}, [], "emulator"),
        profile="smoke",
        seed=0,
        versions={},
        vendors=[vendor],
        findings=number_findings(findings or []),
        cells=[],
        tests=[],
        requests=3,
        command="imgconf run",
    )
