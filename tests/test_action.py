"""action.yml, the composite action users copy: its steps call real imgconf commands, options and variables.

Each `imgconf ...` line of its scripts is parsed by the click command's own parser (so a renamed option fails
here), and each IMGCONF_* variable it sets must be one that an option of `imgconf run` reads.
"""

from __future__ import annotations

import re
import shlex

import click
import yaml

from conftest import ROOT
from imgconf import cli as cli_module
from imgconf.cli import config as config_module

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def _imgconf_lines(script: str) -> list[list[str]]:
    return [shlex.split(line.strip()) for line in script.splitlines() if line.strip().startswith("imgconf ")]


def _run_variables() -> set[str]:
    group_ctx = click.Context(cli_module.cli, auto_envvar_prefix=config_module.ENV_PREFIX)
    run = cli_module.cli.get_command(group_ctx, "run")
    assert run is not None
    ctx = click.Context(run, parent=group_ctx, info_name="run", **run.context_settings)
    return {name for param in run.params if (name := config_module.envvar_of(ctx, param))}


def test_the_action_is_composite_with_the_documented_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert {"target", "vendors", "fail-on", "budget"} <= set(ACTION["inputs"])
    uses = [step.get("uses", "") for step in ACTION["runs"]["steps"]]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    scripts = " ".join(step.get("run", "") for step in ACTION["runs"]["steps"])
    assert "$GITHUB_STEP_SUMMARY" in scripts and "summary.md" in scripts


def test_every_imgconf_command_line_parses_with_the_real_cli():
    lines = [line for step in ACTION["runs"]["steps"] for line in _imgconf_lines(step.get("run", ""))]
    assert any("run" in line for line in lines)
    for line in lines:
        # click parses the line exactly as `imgconf` would; a bad option or command raises UsageError
        ctx = cli_module.cli.make_context("imgconf", line[1:], resilient_parsing=False)
        with ctx:
            name, command, rest = cli_module.cli.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
            assert command is not None, line
            command.make_context(name or "", rest, parent=ctx)


def test_every_variable_the_action_sets_is_read_by_an_option():
    variables = _run_variables()
    for step in ACTION["runs"]["steps"]:
        for name, value in (step.get("env") or {}).items():
            if name.startswith("IMGCONF_"):
                assert name in variables, name
                input_name = re.search(r"inputs\.([\w-]+)", value).group(1)
                assert input_name in ACTION["inputs"], value


def test_the_readme_recipes_use_the_action():
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"uses: [\w./-]*imgconf@", readme), "the README's workflow recipe should use action.yml"
