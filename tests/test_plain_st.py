"""imgconf.runner.plain_st: plain `st run` forked from an interpreter that has imported schemathesis alone.

What the selftest's plain column and tests/test_fuzz.py rest on: a forked `st run` reports what a fresh
`python -m schemathesis.cli` reports, its exit code and output reach the caller, a run past its time is killed,
and the interpreter it is forked from has imported nothing of imgconf (so nothing imgconf registers with
schemathesis can reach it).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import served
from imgconf import emulator, specs, vendors
from imgconf.runner import plain_st
from imgconf.runner.selftest import _toml

SPEC = "altum-labelling.yaml"


@pytest.fixture(scope="module")
def st():
    with plain_st.Server() as server:
        yield server


def _altum_run(tmp_path: Path, url: str, name: str) -> tuple[list[str], Path]:
    credentials = dict(emulator.get("altum").default_credentials[0])
    config = tmp_path / "st.toml"
    config.write_text(_toml(vendors.get("altum").auth.schemathesis_config(credentials, url) or {}))
    reports = tmp_path / name
    argv = [
        "--config-file", str(config), "run", str(specs.spec_path(SPEC)), "--url", url, "--max-examples", "3",
        "--seed", "4", "--generation-database", "none", "--continue-on-failure", "--report", "json",
        "--report-dir", str(reports), "--workers", "1",
    ]  # fmt: skip
    return argv, reports


def _report(directory: Path) -> dict:
    (path,) = directory.glob("*.json")
    return json.loads(path.read_text())


def test_a_forked_st_run_reports_what_a_fresh_one_does(st, tmp_path):
    with served("--vendor", "altum", "--fast") as urls:
        forked_argv, forked_reports = _altum_run(tmp_path, urls["altum"], "forked")
        fresh_argv, fresh_reports = _altum_run(tmp_path, urls["altum"], "fresh")
        code = st.run(forked_argv, tmp_path / "forked.log", timeout=120)
        fresh = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", *fresh_argv], capture_output=True, text=True, timeout=120
        )
    assert code == fresh.returncode
    forked, reference = _report(forked_reports), _report(fresh_reports)
    assert forked["test_cases"]["generated"] > 0
    for key in ("test_cases", "operations", "stop_reason", "failures", "errors"):
        assert forked[key] == reference[key], key
    assert "Schemathesis" in (tmp_path / "forked.log").read_text()


def test_exit_codes_and_output_come_back_to_each_caller(st, tmp_path):
    missing = tmp_path / "missing.yaml"
    commands = {
        "usage": (["run", "--no-such-option"], 2),
        "missing": (["run", str(missing), "--url", "http://127.0.0.1:9"], 2),
        "version": (["--version"], 0),
    }
    with ThreadPoolExecutor(len(commands)) as pool:
        codes = {
            name: pool.submit(st.run, argv, tmp_path / f"{name}.log", cwd=tmp_path)
            for name, (argv, _) in commands.items()
        }
    assert {name: future.result() for name, future in codes.items()} == {
        name: code for name, (_, code) in commands.items()
    }
    assert "--no-such-option" in (tmp_path / "usage.log").read_text()
    assert "does not exist" in (tmp_path / "missing.log").read_text()


@contextmanager
def silent_spec() -> Iterator[str]:
    """The URL of a spec on a listening socket that never answers: `st run` waits on it until it is killed."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        yield f"http://127.0.0.1:{silent.getsockname()[1]}/openapi.json"


def test_a_run_past_its_time_is_killed(st, tmp_path):
    with silent_spec() as url:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            st.run(["run", url], tmp_path / "slow.log", timeout=1.0)
    assert time.monotonic() - started < 8  # killed, not waited out (a kill is reaped in well under a second)
    assert st.run(["--version"], tmp_path / "after.log") == 0  # the server serves on


def test_a_run_given_up_before_it_started_is_killed_and_the_server_serves_on(st, tmp_path):
    """Its start is reported after its caller stopped waiting: it used to run on unkilled (the caller then waited
    10 s for an exit that never came), and a start reported later still crashed the reader for every later run."""
    with silent_spec() as url:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            st.run(["run", url], tmp_path / "abandoned.log", timeout=0)
        assert time.monotonic() - started < 8  # killed once its start was reported, not waited out
    assert st.run(["--version"], tmp_path / "after.log", timeout=60) == 0


def test_the_server_imports_nothing_of_imgconf_but_itself():
    """What the server imports: this module (it imports only the standard library) and the warm modules."""
    code = (
        "import importlib, sys; from imgconf.runner import plain_st; "
        "[importlib.import_module(name) for name in plain_st.WARM]; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'imgconf'))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert shown.stdout.strip() == "['imgconf', 'imgconf.runner', 'imgconf.runner.plain_st']"
