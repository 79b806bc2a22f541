"""The `imgconf` command: every failure a user can cause ends as one line and an exit code.

0 conformant · 1 non-conformant · 2 usage error · 3 target unreachable, retired or budget exhausted
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
from pathlib import Path
from typing import NoReturn

import click

from imgconf import __version__
from imgconf.cli import config
from imgconf.errors import ExitCode, ImgconfError
from imgconf.redact import REDACTOR, install_logging_filter

# Each subcommand, and the object in its module: imported when it is used, so that `imgconf --version` or
# `imgconf history` does not import the proxy, the docs builder and the runner (over 2 s in a fresh process).
COMMANDS = {
    "run": "imgconf.cli.run:command",
    "emulator": "imgconf.cli.emulator:group",
    "drift": "imgconf.cli.drift:group",
    "history": "imgconf.cli.history:history_command",
    "diff": "imgconf.cli.history:diff_command",
    "validate": "imgconf.cli.validate:command",
    "proxy": "imgconf.cli.proxy:command",
    "selftest": "imgconf.cli.selftest:command",
    "docs": "imgconf.cli.docs:command",
    "config": "imgconf.cli.config:command",
}


class LazyGroup(click.Group):
    """click's group with subcommands named up front and imported on first use (click's documented pattern)."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, name = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 110,
        # Every option also reads IMGCONF_<COMMAND>_<OPTION> (`imgconf run`'s: IMGCONF_<OPTION>); see cli/config.py.
        "auto_envvar_prefix": config.ENV_PREFIX,
    },
)
@click.version_option(__version__, "-V", "--version", prog_name="imgconf")
@click.option(
    "--config",
    "config_path",
    default=None,
    envvar="IMGCONF_CONFIG",
    type=click.Path(path_type=Path, dir_okay=False),
    help="imgconf.toml with option defaults and credentials (default ./imgconf.toml, "
    "then $XDG_CONFIG_HOME/imgconf/imgconf.toml).",
)
@click.option("--no-color", is_flag=True, help="No colour in the output (as NO_COLOR=1 does).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, no_color: bool) -> None:
    """Contract tests and conformance reports for four image-recognition APIs, with a faithful emulator of each.

    Every option can also come from an environment variable or from imgconf.toml; `imgconf config` shows
    which. Shell completion: eval "$(_IMGCONF_COMPLETE=bash_source imgconf)" (zsh_source, fish_source).
    """
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich, and so every console imgconf opens, honours it
    if config_path is not None:
        os.environ["IMGCONF_CONFIG"] = str(config_path)  # the credentials are read from the same file
    defaults, found = config.load_default_map(cli)
    ctx.default_map = defaults
    ctx.obj = {"config_path": found}


def preload(*names: str) -> None:
    """Import these subcommands (default: all) now: a process that forks commands pays for them once."""
    for name in names or tuple(COMMANDS):
        cli.get_command(None, name)


def fail(message: str, code: int) -> int:
    click.echo(f"imgconf: {REDACTOR.text(message)}", err=True)
    return code


def main(argv: list[str] | None = None) -> None:
    install_logging_filter()
    try:
        code = cli.main(args=argv, prog_name="imgconf", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        code = fail("interrupted", 130)
    except click.ClickException as exc:
        code = fail(exc.format_message(), int(ExitCode.USAGE))
    except ImgconfError as exc:
        code = fail(exc.message, int(exc.exit_code))
    except KeyboardInterrupt as exc:  # before or after the run's own handling: SIGTERM (the runner's) is 143
        code = fail("interrupted", 143 if getattr(exc, "signal_name", None) == "SIGTERM" else 130)
    except Exception as exc:  # a bug in imgconf: still one line unless asked for more
        if os.environ.get("IMGCONF_DEBUG"):
            raise
        code = fail(
            f"internal error: {type(exc).__name__}: {exc} (set IMGCONF_DEBUG=1 for a traceback)", int(ExitCode.ERROR)
        )
    sys.exit(int(code or 0))


def entry() -> NoReturn:
    """The `imgconf` command's own process (`imgconf`, `python -m imgconf`): `main`, then out without the
    interpreter's teardown.

    Freeing every module and object a run leaves (some 900 modules, a heap of 100-150 MB) took 0.2-0.27 s at
    the end of every `imgconf run`, after its verdict was printed and its reports written (measured: the
    wall from `main`'s return to the process's end). Nothing of imgconf's is left in that teardown: the exit
    handlers libraries registered (logging's flush, temporary directories' finalizers, multiprocessing's) run
    as they would, the output is flushed, then the process ends with its code, as mypy's fast exit does. Any
    thread still running gets the ordinary exit, which waits for it. Processes forked from a warm one (the
    selftest's runs, the workers) call `main` and leave as `forking.start` has them: without the parent's
    exit handlers.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            stream.flush()
    os._exit(code)
