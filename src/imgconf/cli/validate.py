"""`imgconf validate`: recorded traffic held to the specs, sending nothing."""

from __future__ import annotations

from pathlib import Path

import click

from imgconf.cli import output
from imgconf.cli.show import show
from imgconf.report.publish import publish
from imgconf.runner.validate import validate


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", default="reports", show_default=True, type=click.Path(path_type=Path))
def command(file: Path, out: Path) -> int:
    """Check a recorded HAR file or VCR.py cassette against the specs, sending nothing.

    The report is an ordinary one (same outcome, same exit codes); it is kept out of the history.
    """
    outcome = validate(file)
    published = publish(outcome, out)
    show(output.console(), published.outcome, published.directory, quiet=False)
    return outcome.exit_code
