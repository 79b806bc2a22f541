"""The `imgconf` command: every failure a user can cause ends as one line and an exit code.

0 conformant · 1 non-conformant · 2 usage error · 3 target unreachable, retired or budget exhausted
"""

from __future__ import annotations

import os
import sys

import click

from imgconf import __version__
from imgconf.cli import docs, drift, emulator, history, proxy, run, selftest, validate
from imgconf.errors import ExitCode, ImgconfError
from imgconf.redact import REDACTOR, install_logging_filter


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="imgconf")
def cli() -> None:
    """Contract tests and conformance reports for four image-recognition APIs, with a faithful emulator of each."""


cli.add_command(run.command)
cli.add_command(emulator.group)
cli.add_command(drift.group)
cli.add_command(history.history_command)
cli.add_command(history.diff_command)
cli.add_command(validate.command)
cli.add_command(proxy.command)
cli.add_command(selftest.command)
cli.add_command(docs.command)


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
    except KeyboardInterrupt:
        code = fail("interrupted", 130)
    except Exception as exc:  # a bug in imgconf: still one line unless asked for more
        if os.environ.get("IMGCONF_DEBUG"):
            raise
        code = fail(
            f"internal error: {type(exc).__name__}: {exc} (set IMGCONF_DEBUG=1 for a traceback)", int(ExitCode.USAGE)
        )
    sys.exit(int(code or 0))
