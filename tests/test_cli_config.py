"""One configuration story: flag > IMGCONF_* > imgconf.toml (working directory, then XDG) > default, for every
option of every command, through click's own envvar/default_map; `imgconf config` says where each came from."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conftest import clean_env
from imgconf import cli as cli_module
from imgconf.cli import config as config_module
from imgconf.cli import run as run_module


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for key in list(os.environ):
        if key.startswith(("IMGCONF_", "ALTUM_", "IDENTIFAI_", "IMAGERECOGNIZE_", "HUAWEI_")):
            monkeypatch.delenv(key)

    def run(*args: str, **env: str) -> click.testing.Result:
        return CliRunner().invoke(cli_module.cli, list(args), env=env, catch_exceptions=False)

    return run


def _row(output: str, option: str) -> str:
    match = re.search(rf"^  {re.escape(option)}\s+(.*)$", output, re.MULTILINE)
    assert match, output
    return re.sub(r"\s+", " ", match.group(1))


def test_flag_beats_env_beats_file_beats_default(invoke, tmp_path: Path):
    (tmp_path / "imgconf.toml").write_text('[run]\nseed = 5\nfail-on = "new"\nbudget = 9\n')
    result = invoke("config", "--seed", "7", IMGCONF_SEED="6", IMGCONF_FAIL_ON="any")
    assert result.exit_code == 0, result.output
    assert _row(result.output, "--seed") == "7 flag"
    assert _row(result.output, "--fail-on") == "any env $IMGCONF_FAIL_ON"
    assert _row(result.output, "--budget") == f"9 file {(tmp_path / 'imgconf.toml').resolve()}"
    assert _row(result.output, "--timeout") == "- default ($IMGCONF_TIMEOUT)"


def test_the_user_file_under_xdg_is_read_when_the_working_directory_has_none(invoke, tmp_path: Path):
    user = tmp_path / "xdg" / "imgconf" / "imgconf.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[run]\nprofile = "full"\n[vendors.altum]\napi_key = "xdg-secret-abc123"\n')
    result = invoke("config")
    assert _row(result.output, "--profile") == f"full file {user.resolve()}"
    assert "xdg-secret-abc123" not in result.output
    assert _row(result.output, "altum.api_key").startswith("******** (set) file")
    (tmp_path / "imgconf.toml").write_text('[run]\nprofile = "smoke"\n')
    assert _row(invoke("config").output, "--profile").startswith("smoke file ")


def test_secrets_from_the_environment_are_masked(invoke):
    result = invoke("config", ALTUM_API_KEY="env-secret-xyz789")
    assert "env-secret-xyz789" not in result.output
    assert _row(result.output, "altum.api_key") == "******** (set) env $ALTUM_API_KEY"


def test_every_option_of_every_command_has_a_variable_and_a_toml_key(invoke):
    """Generic: nothing per option. A command's options are IMGCONF_<PATH>_<NAME>, run's IMGCONF_<NAME>."""
    ctx = click.Context(cli_module.cli, auto_envvar_prefix="IMGCONF")

    def walk(command: click.Command, ctx: click.Context, table: dict) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):  # the lazy group's: `.commands` holds those imported so far
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                sub_ctx = click.Context(sub, parent=ctx, info_name=name, **sub.context_settings)
                walk(sub, sub_ctx, table.setdefault(name, {}))
            return
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert config_module.envvar_of(ctx, param), (command.name, param.name)
                table[max(param.opts, key=len).lstrip("-")] = None

    tables: dict = {}
    walk(cli_module.cli, ctx, tables)
    mapped = config_module.default_map(cli_module.cli, {k: v for k, v in tables.items() if v}, "test")
    assert mapped["run"]["fail_on"] is None and mapped["emulator"]["serve"]["port"] is None
    assert (
        config_module.envvar_of(
            click.Context(run_module.command, parent=ctx, info_name="run", **run_module.command.context_settings),
            next(p for p in run_module.command.params if p.name == "fail_on"),
        )
        == "IMGCONF_FAIL_ON"
    )


def test_an_option_added_later_gets_env_and_file_support_with_no_extra_code(invoke, tmp_path, monkeypatch):
    added = click.Option(["--added-later"], default=None, help="added by another feature")
    monkeypatch.setattr(run_module.command, "params", [*run_module.command.params, added])
    assert _row(invoke("config", IMGCONF_ADDED_LATER="http://127.0.0.1:9").output, "--added-later") == (
        "http://127.0.0.1:9 env $IMGCONF_ADDED_LATER"
    )
    (tmp_path / "imgconf.toml").write_text('[run]\nadded-later = "http://127.0.0.1:8"\n')
    assert _row(invoke("config").output, "--added-later").startswith("http://127.0.0.1:8 file ")


def test_the_thorough_options_come_from_env_and_file_too(invoke, tmp_path):
    assert _row(invoke("config", IMGCONF_CALLBACK_URL="http://127.0.0.1:9").output, "--callback-url") == (
        "http://127.0.0.1:9 env $IMGCONF_CALLBACK_URL"
    )
    (tmp_path / "imgconf.toml").write_text("[run]\nthorough = true\n")
    assert _row(invoke("config").output, "--thorough").startswith("True file ")


def test_legacy_variables_keep_working(invoke):
    result = invoke("config", IMGCONF_TARGET="emulator-http", IMGCONF_VENDORS="altum", IMGCONF_DRIFT="altum.x")
    assert _row(result.output, "--target") == "emulator-http env $IMGCONF_TARGET"
    assert _row(result.output, "--vendor") == "altum env $IMGCONF_VENDORS"
    assert _row(result.output, "--drift") == "altum.x env $IMGCONF_DRIFT"


def test_a_toml_key_no_option_has_is_a_one_line_usage_error(cli, tmp_path: Path):
    (tmp_path / "imgconf.toml").write_text("[run]\nbudgett = 3\n")
    result = cli("run", "--vendor", "altum")
    assert result.code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == "imgconf: imgconf.toml: run has no option 'budgett'", result.stderr


def test_env_and_toml_reach_a_real_run(cli, tmp_path: Path):
    (tmp_path / "imgconf.toml").write_text('[run]\nseed = 4\nvendor = ["altum"]\n')
    result = cli("run", "-k", "examples", env=clean_env(IMGCONF_PROFILE="smoke"))
    assert result.code == 0, result.output
    report = result.report()
    assert report["seed"] == 4 and [v["id"] for v in report["vendors"]] == ["altum"]
