"""One configuration story: every option from a flag, an `IMGCONF_*` variable or `imgconf.toml`, in that order.

The layering is click's own: a flag beats the environment (`auto_envvar_prefix`), which beats the context's
`default_map` (filled from imgconf.toml here), which beats the option's default; `ctx.get_parameter_source`
then says which one a value came from. Nothing is layered by hand, so an option added to any command later
gets its variable and its toml key with no extra code:

- `imgconf run`'s options are the run options: `--fail-on` is `IMGCONF_FAIL_ON`, `fail-on` under `[run]`;
- another command's are prefixed with its path: `imgconf docs --out` is `IMGCONF_DOCS_OUT`, `out` under
  `[docs]`; `imgconf emulator serve --port` is `IMGCONF_EMULATOR_SERVE_PORT`, `port` under `[emulator.serve]`.

The toml's `[vendors.<id>]` tables hold credentials and live settings (targets/credentials.py); every other
table holds option defaults, keyed by the option's long name (`fail-on` or `fail_on`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from imgconf import paths
from imgconf import vendors as registry
from imgconf.errors import UsageError
from imgconf.targets.credentials import config_file, load_config, vendor_section

ENV_PREFIX = "IMGCONF"
# Tables of imgconf.toml that are not option defaults.
DATA_TABLES = frozenset({"vendors"})


def _key(name: str) -> str:
    return name.replace("_", "-").lower()


def _param_for(command: click.Command, key: str) -> click.Parameter | None:
    wanted = _key(key)
    for param in command.params:
        names = [_key(param.name or "")] + [_key(opt.lstrip("-")) for opt in getattr(param, "opts", [])]
        if wanted in names:
            return param
    return None


def default_map(command: click.Command, table: dict[str, Any], where: str) -> dict[str, Any]:
    """imgconf.toml's table for `command`, keyed by click's parameter names; a key no option has is an error."""
    mapped: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(command, click.Group) and isinstance(value, dict):
            sub = command.get_command(None, key)  # type: ignore[arg-type]  # a lookup; no context is read
            if sub is None:
                raise UsageError(f"{where}: [{key}] names no imgconf command")
            mapped[key] = default_map(sub, value, where)
            continue
        param = _param_for(command, key)
        if param is None or param.name is None:
            raise UsageError(f"{where}: {command.name} has no option {key!r}")
        mapped[param.name] = value
    return mapped


def load_default_map(group: click.Group) -> tuple[dict[str, Any], Path | None]:
    """The option defaults of the imgconf.toml in force (see `config_file`), and that file's path."""
    path = config_file()
    if path is None:
        return {}, None
    data = load_config(path)
    tables = {key: value for key, value in data.items() if key not in DATA_TABLES}
    for key, value in tables.items():
        if not isinstance(value, dict):
            raise UsageError(f"{path}: {key!r} belongs in a table such as [run]")
    return default_map(group, tables, str(path)), path


def envvar_of(ctx: click.Context, param: click.Parameter) -> str | None:
    """The variable a parameter reads: its own `envvar`, else click's automatic one."""
    if isinstance(param.envvar, str):
        return param.envvar
    if ctx.auto_envvar_prefix and param.name:
        return f"{ctx.auto_envvar_prefix}_{param.name.upper()}"
    return None


def sources(ctx: click.Context, config_path: Path | None) -> list[tuple[str, Any, str]]:
    """Each option of the context's command: its name, effective value, and where that value came from."""
    rows = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.hidden or param.name is None or param.name == "help":
            continue
        source = ctx.get_parameter_source(param.name)
        value = ctx.params.get(param.name)
        if source == ParameterSource.COMMANDLINE:
            said = "flag"
        elif source == ParameterSource.ENVIRONMENT:
            said = f"env ${envvar_of(ctx, param)}"
        elif source == ParameterSource.DEFAULT_MAP:
            said = f"file {config_path.resolve() if config_path else ''}"
        else:
            said = "default"
        name = max(param.opts, key=len)
        variable = envvar_of(ctx, param)
        rows.append(
            (name, value, said if source != ParameterSource.DEFAULT or not variable else f"default (${variable})")
        )
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value) or "-"
    return "-" if value is None else str(value)


def mask(value: str) -> str:
    """A secret as `imgconf config` shows it: that it is set, never a character of it, nor its length."""
    return "******** (set)"


@click.command(
    "config",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def command(ctx: click.Context, run_args: tuple[str, ...]) -> None:
    """Print the effective configuration of `imgconf run [RUN_ARGS]`: each value and where it came from
    (flag, env, file, default), the data folders in use, and the credentials found (masked)."""
    group = ctx.parent.command if ctx.parent is not None else None
    run = group.get_command(ctx, "run") if isinstance(group, click.Group) else None
    if run is None:
        raise UsageError("imgconf config needs the run command")
    config_path = ctx.obj.get("config_path") if isinstance(ctx.obj, dict) else None
    run_ctx = run.make_context("run", list(run_args), parent=ctx.parent)
    click.echo(
        f"config file: {config_path.resolve() if config_path else 'none'} (searched: $IMGCONF_CONFIG, ./imgconf.toml, "
        "$XDG_CONFIG_HOME/imgconf/imgconf.toml)"
    )
    rows = sources(run_ctx, config_path)
    width = max(len(name) for name, _, _ in rows)
    click.echo("\nimgconf run")
    for name, value, said in rows:
        click.echo(f"  {name:<{width}}  {_shown(value):<24}  {said}")
    click.echo("\ndata")
    for label, where in (("specs", paths.specs_dir), ("schemas", paths.schemas_dir), ("suites", paths.suites_dir)):
        origin = (
            "env $IMGCONF_SPECS"
            if label == "specs" and os.environ.get(paths.SPECS_ENV)
            else (
                "env $IMGCONF_ROOT"
                if os.environ.get(paths.ROOT_ENV)
                else "installed package"
                if paths.checkout() is None
                else "checkout"
            )
        )
        click.echo(f"  {label:<8} {where()}  {origin}")
    config = load_config(config_path) if config_path else {}
    click.echo("\ncredentials (live and URL targets)")
    for vendor in registry.select([]):
        section = vendor_section(config, vendor)
        for credential in vendor.credentials:
            env_value = os.environ.get(credential.env)
            file_value = section.get(credential.name)
            if env_value:
                state = f"{mask(env_value) if credential.secret else env_value}  env ${credential.env}"
            elif file_value:
                text = str(file_value)
                state = f"{mask(text) if credential.secret else text}  file {config_path} [vendors.{vendor.id}]"
            else:
                state = "optional, unset" if credential.optional else "unset"
            click.echo(f"  {f'{vendor.id}.{credential.name}':<32} {state}")
