"""How a suite's own Hypothesis test fails under imgconf's plugin: shrunk on the emulator, never explained
(Hypothesis' explain phase replays a shrunk failure under a line tracer, each replay another request, to say
which lines of the test only failing runs reach), and not shrunk at all against a metered target, where each
step would be a request the operator pays for (testing/plugin.py says why).

The suite here is a file of its own run by pytest under the plugin, in a process of its own: a test that fails
for every number from ten notes, each time it runs, the number it was given and whether a tracer watched it.
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

@pytest.mark.rule("example.fails-from-ten")
@settings(max_examples=50, database=None, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=1000))
def test_fails_from_ten(number):
    with open({log!r}, "a") as log:
        log.write(json.dumps([number, sys.gettrace() is not None]) + "\\n")
    assert number < 10
"""

# Loaded after imgconf's plugin, it notes Hypothesis' profile once every plugin has unconfigured.
AFTER = """
import pytest
from hypothesis import settings

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    open("profile-after.txt", "w").write(settings.get_current_profile_name())
"""


def calls(tmp_path: Path, *args: str) -> list[tuple[int, bool]]:
    """Run the one failing test (under imgconf's plugin when `args` name it, with its options): for each
    call, the number it was given and whether a tracer watched it."""
    log = tmp_path / "calls.jsonl"
    (tmp_path / "test_suite.py").write_text(SUITE.format(log=str(log)))
    (tmp_path / "after.py").write_text(AFTER)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args, "-p", "after"]
    done = subprocess.run(
        [*command, "test_suite.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(ALTUM_API_KEY="phases-test-key"),  # a URL target's credential; nothing is sent
        timeout=120,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # the test failed, as written
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()]


def test_a_failing_suite_test_is_shrunk_but_never_replayed_under_a_tracer(tmp_path: Path) -> None:
    made = calls(tmp_path, "-p", "imgconf.testing.plugin")
    assert made[-1][0] == 10  # shrunk to the smallest failing number, on the emulator
    assert not any(traced for _, traced in made)
    # The profile is Hypothesis' process-wide setting: the plugin gives back the one it found.
    assert (tmp_path / "profile-after.txt").read_text() == "default"


def test_against_a_metered_target_a_failure_is_not_shrunk(tmp_path: Path) -> None:
    """Each shrink step would be another request to a vendor that bills for it: the failure is reported as
    found, and the next call after it is its one replay."""
    target = ["--target", "http://127.0.0.1:9", "--vendor", "altum"]
    made = calls(tmp_path, "-p", "imgconf.testing.plugin", *target)
    first_failure = next(index for index, (number, _) in enumerate(made) if number >= 10)
    assert made[first_failure + 1 :] == [made[first_failure]]
    assert made[-1][0] > 10  # its first failure was not already the smallest: shrunk, it would end on 10


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="from 3.12 Hypothesis traces with sys.monitoring")
def test_without_the_plugin_hypothesis_explains_under_a_tracer(tmp_path: Path) -> None:
    """The control: the phase the plugin leaves out is there by default and shows as a tracer, so the test
    above fails if the plugin stops leaving it out."""
    assert any(traced for _, traced in calls(tmp_path))
