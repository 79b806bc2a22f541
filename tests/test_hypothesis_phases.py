"""A failing Hypothesis test in a suite is shrunk, never explained: Hypothesis' explain phase replays a shrunk
failure under a line tracer, each replay another request to the vendor, to say which lines of the test only
failing runs reach (testing/plugin.py says why the suites do without it).

The suite here is a file of its own run by pytest under imgconf's plugin, in a process of its own: a test
that always fails notes, every time it runs, whether a tracer is watching it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env

SUITE = """
import json, sys
import pytest
from hypothesis import given, settings, strategies as st

@pytest.mark.rule("example.always-fails")
@settings(max_examples=20, database=None, deadline=None)
@given(st.integers(min_value=0, max_value=1000))
def test_always_fails(number):
    with open({log!r}, "a") as log:
        log.write(json.dumps(sys.gettrace() is not None) + "\\n")
    assert number < 0
"""

# Loaded after imgconf's plugin, it notes Hypothesis' profile once every plugin has unconfigured.
AFTER = """
import pytest
from hypothesis import settings

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    open("profile-after.txt", "w").write(settings.get_current_profile_name())
"""


def traced_runs(tmp_path: Path, *plugin: str) -> list[bool]:
    """Run the one failing test (under imgconf's plugin when `plugin` names it); for each call, was it traced?"""
    log = tmp_path / "calls.jsonl"
    (tmp_path / "test_suite.py").write_text(SUITE.format(log=str(log)))
    (tmp_path / "after.py").write_text(AFTER)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *plugin, "-p", "after"]
    done = subprocess.run(
        [*command, "test_suite.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # the test failed, as written
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_failing_suite_test_is_shrunk_but_never_replayed_under_a_tracer(tmp_path: Path) -> None:
    calls = traced_runs(tmp_path, "-p", "imgconf.testing.plugin")
    assert len(calls) > 1  # generated, failed, shrunk
    assert not any(calls)
    # The profile is Hypothesis' process-wide setting: the plugin gives back the one it found.
    assert (tmp_path / "profile-after.txt").read_text() == "default"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="from 3.12 Hypothesis traces with sys.monitoring")
def test_without_the_plugin_hypothesis_explains_under_a_tracer(tmp_path: Path) -> None:
    """The control: the phase the plugin leaves out is there by default and shows as a tracer, so the test
    above fails if the plugin stops leaving it out."""
    assert any(traced_runs(tmp_path))
