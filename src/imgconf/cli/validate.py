"""`imgconf validate`: recorded traffic held to the specs, sending nothing."""

from __future__ import annotations

from pathlib import Path

import click

from imgconf.cli import output
from imgconf.errors import ExitCode
from imgconf.report import writer
from imgconf.runner.validate import validate


@click.command("validate")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", default="reports", show_default=True, type=click.Path(path_type=Path))
def command(file: Path, out: Path) -> int:
    """Check a recorded HAR file or VCR.py cassette against the specs, sending nothing."""
    run, code = validate(file, out)
    directory = writer.write_report(
        run.asdict(),
        out,
        files=run.evidence_files(),
    )
    console = output.console()
    for finding in run.findings:
        console.print(
            f"  [red]{finding.id}[/] {finding.vendor} {finding.operation} [bold]{finding.rule['id']}[/]: "
            f"{finding.title}",
            overflow="fold",
        )
    for note in run.notes:
        console.print(f"  {note}")
    console.print(f"{run.verdict} · {sum(v.requests for v in run.vendors)} exchanges checked · exit {code}")
    console.print(f"report: {directory / 'report.html'}")
    return code if code in (ExitCode.CONFORMANT, ExitCode.NON_CONFORMANT) else int(ExitCode.NON_CONFORMANT)
