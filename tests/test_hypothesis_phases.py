"""How a suite's own Hypothesis test fails under imgconf's plugin: shrunk on the emulator, never explained
(Hypothesis' explain phase replays a shrunk failure under a line tracer, each replay another request, to say
which lines of the test only failing runs reach), and not shrunk at all against a metered target, where each
step would be a request the operator pays for (testing/plugin.py says why).

The suite here is a file of its own run by pytest under the plugin, in a process of its own: a test that fails
for every number from ten notes, each time it runs, the number it was given and whether a tracer watched it.
Each process runs as under CI, where Hypothesis loads its own "ci" profile (the CI variable set, as GitHub
Actions sets it): the plugin's profile must neither inherit that profile's `derandomize`, which outranks the
run's seed, nor leave the process without it afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env

# What makes Hypothesis load its "ci" profile (hypothesis._settings._CI_VARS): none of them reaches a
# process meant to run as at a desk.
CI_VARIABLES = (
    "CI",
    "TF_BUILD",
    "BUILDKITE",
    "CIRCLECI",
    "CIRRUS_CI",
    "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "HEROKU_TEST_RUN_ID",
    "TEAMCITY_VERSION",
    "bamboo.buildKey",
    "__TOX_ENVIRONMENT_VARIABLE_ORIGINAL_CI",
)

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

# A test the run's seed alone decides: it notes the numbers it is given.
SEEDED = """
import json
import pytest
from hypothesis import given, settings, strategies as st

@pytest.mark.rule("example.any-number")
@settings(max_examples=5, database=None, deadline=None)
@given(st.integers())
def test_draws(number):
    with open({log!r}, "a") as log:
        log.write(json.dumps([number, False]) + "\\n")
"""

# Loaded after imgconf's plugin, it notes Hypothesis' profile once every plugin has unconfigured.
AFTER = """
import pytest
from hypothesis import settings

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    open("profile-after.txt", "w").write(settings.get_current_profile_name())
"""


def calls(
    tmp_path: Path, *args: str, suite: str = SUITE, failed: bool = True, ci: bool = True
) -> list[tuple[int, bool]]:
    """Run the one test of `suite` (under imgconf's plugin when `args` name it, with its options), as under CI
    unless `ci` is false: for each call, the number it was given and whether a tracer watched it."""
    log = tmp_path / "calls.jsonl"
    log.unlink(missing_ok=True)
    (tmp_path / "test_suite.py").write_text(suite.format(log=str(log)))
    (tmp_path / "after.py").write_text(AFTER)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args, "-p", "after"]
    env = {key: value for key, value in clean_env().items() if key not in CI_VARIABLES}
    env.update(ALTUM_API_KEY="phases-test-key")  # a URL target's credential; nothing is sent
    if ci:
        env["CI"] = "true"
    done = subprocess.run(
        [*command, "test_suite.py"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert done.returncode == (1 if failed else 0), done.stdout[-2000:] + done.stderr[-2000:]
    return [tuple(json.loads(line)) for line in log.read_text().splitlines()]


def test_a_failing_suite_test_is_shrunk_but_never_replayed_under_a_tracer(tmp_path: Path) -> None:
    made = calls(tmp_path, "-p", "imgconf.testing.plugin")
    assert made[-1][0] == 10  # shrunk to the smallest failing number, on the emulator
    assert not any(traced for _, traced in made)
    # The profile is Hypothesis' process-wide setting: the plugin gives back the one it found.
    assert (tmp_path / "profile-after.txt").read_text() == "ci"


def test_the_runs_seed_decides_a_behaviour_tests_cases_under_ci_as_at_a_desk(tmp_path: Path) -> None:
    """Hypothesis' "ci" profile derandomizes, which outranks `--hypothesis-seed` (the seed `imgconf run`
    passes and its report names): inherited, every seed would draw the same cases in CI, and other cases
    than the same seed draws without CI."""
    plugin = ("-p", "imgconf.testing.plugin")
    seeded = {"suite": SEEDED, "failed": False}
    at_a_desk = calls(tmp_path, *plugin, "--hypothesis-seed=1", ci=False, **seeded)
    assert calls(tmp_path, *plugin, "--hypothesis-seed=1", **seeded) == at_a_desk
    assert calls(tmp_path, *plugin, "--hypothesis-seed=2", **seeded) != at_a_desk


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
