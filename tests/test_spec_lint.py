"""The specs pass Redocly CLI's `recommended` ruleset with 0 errors (redocly.yaml says what is turned down, and why).

Redocly reads YAML as every other OpenAPI tool does, so it also guards against constructs that only PyYAML
understands (the `<<:` merge keys that once built imagerecognize's /api/v3/). The CLI's version is pinned in
tools/redocly/package.json and package-lock.json; .ci/run installs it with `npm ci`. Skipped only where node
is not installed; with node but without the install, the test fails and says what to run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

TOOLS = ROOT / "tools" / "redocly"
CLI = TOOLS / "node_modules" / "@redocly" / "cli" / "bin" / "cli.js"
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
# The CLI must not phone home (telemetry, update check): nothing leaves the machine.
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_UPDATE_NOTIFIER": "1"}


def test_the_pinned_cli_is_the_locked_one():
    pinned = json.loads((TOOLS / "package.json").read_text())["devDependencies"]["@redocly/cli"]
    locked = json.loads((TOOLS / "package-lock.json").read_text())["packages"]["node_modules/@redocly/cli"]["version"]
    assert pinned == locked and pinned[0].isdigit(), "pin an exact version"


def test_every_spec_passes_the_recommended_ruleset():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    assert CLI.exists(), "run `npm ci` in tools/redocly (as .ci/run does)"
    result = subprocess.run(
        [node, str(CLI), "lint", "--config", str(ROOT / "redocly.yaml"), "--format", "json", *map(str, SPECS)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **QUIET},
    )
    problems = []
    decoder, text, at = json.JSONDecoder(), result.stdout, result.stdout.find("{")
    while at != -1:  # one JSON report per spec, one after the other
        report, end = decoder.raw_decode(text, at)
        problems += report["problems"]
        at = text.find("{", end)
    assert len(problems) > 0 or result.stdout, result.stderr[-2000:]
    errors = [
        f"{problem['ruleId']}: {problem['message']} at {problem['location'][0]['source']['ref']}"
        f"#{problem['location'][0]['pointer']}"
        for problem in problems
        if problem["severity"] == "error"
    ]
    assert errors == [], "\n".join(errors)
    assert result.returncode == 0, result.stderr[-2000:]
