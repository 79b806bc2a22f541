"""What a run's tests would import (or validate) on first use is imported by its preflight, in the process that
forks the run's workers (so they share it), and only what the target needs: an emulator's apps for an emulator
target; and schemathesis' arbitrary-JSON strategy is validated there, for every target."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from imgconf.runner import run as runner
from imgconf.testing.options import SuiteOptions
watched = json.loads(sys.argv[2])
options = SuiteOptions.from_values(target=sys.argv[1], vendors=["altum"], profile="smoke", seed=0, drifts=None)
from imgconf.testing import memos
def validated():
    return all(memos._anything_for(memos._Alphabet(allow_x00=nul)).validate_called for nul in (True, False))
before = {name: name in sys.modules for name in watched}
before["any-json validated"] = validated()
runner.preflight(options)
after = {name: name in sys.modules for name in watched}
after["any-json validated"] = validated()
print(json.dumps({"before": before, "after": after}))
"""

EMULATOR_MODULES = ["imgconf.emulator.altum", "anyio._backends._asyncio"]
LIBRARY_MODULES = ["pyrate_limiter", "hypothesis.strategies._internal.regex", "schemathesis.generation.dictionaries"]


def preflight_imports(target: str, **env: str) -> dict[str, dict[str, bool]]:
    """In a fresh interpreter (this one has imported everything already): which modules were there before the
    preflight of an Altum run at `target`, and which after."""
    watched = json.dumps(EMULATOR_MODULES + LIBRARY_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, target, watched],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr[-2000:]  # Hypothesis' side-effect warning, say
    return json.loads(done.stdout)


@pytest.mark.parametrize("target", ["emulator", "emulator-http"])
def test_an_emulator_runs_preflight_imports_the_emulator_and_what_the_tests_import_first(target):
    seen = preflight_imports(target)
    assert not any(seen["before"].values()), seen["before"]  # else the test proves nothing
    assert all(seen["after"].values()), seen["after"]


def test_a_url_targets_preflight_leaves_the_emulator_alone():
    seen = preflight_imports("http://127.0.0.1:9", ALTUM_API_KEY="preload-test-key")  # a preflight sends nothing
    assert not any(seen["before"].values()), seen["before"]
    assert not any(seen["after"][name] for name in EMULATOR_MODULES), seen["after"]
    assert all(seen["after"][name] for name in [*LIBRARY_MODULES, "any-json validated"]), seen["after"]
