"""The terminal's rendering of a run outcome: the table, the findings, and one closing line.

It reads only the outcome (and the words report/wording.py gives every output), so what the terminal says
is what report.json, summary.md, report.html and junit.xml say.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imgconf.report.outcome import RunOutcome, State
from imgconf.report.wording import (
    MEANING,
    counted,
    coverage_cell,
    findings_sentence,
    gate_note,
    score_text,
    tests_text,
    vendor_line,
)

STATE_STYLE = {
    State.CONFORMANT: "green",
    State.NON_CONFORMANT: "red",
    State.UNREACHABLE: "yellow",
    State.RETIRED: "yellow",
    State.INCOMPLETE: "yellow",
    State.CREDENTIALS_REJECTED: "magenta",
    State.INTERRUPTED: "magenta",
    State.ERROR: "red",
}
SHOWN_FINDINGS = 20


def show(console: Console, run: RunOutcome, directory: Path, quiet: bool) -> None:
    if not quiet:
        table = Table(show_edge=False, header_style="bold")
        for column in ("vendor", "state", "score", "rules checked", "findings", "requests", "tests"):
            numeric = column in ("score", "rules checked", "findings", "requests")
            table.add_column(column, justify="right" if numeric else "left")
        for vendor in run.vendors:
            table.add_row(
                vendor.id,
                f"[{STATE_STYLE[vendor.state]}]{vendor.state}[/]",
                score_text(vendor.score),
                coverage_cell(vendor),
                str(vendor.findings),
                str(vendor.requests),
                tests_text(run, vendor),
            )
        console.print(table)
        for finding in run.findings[:SHOWN_FINDINGS]:
            console.print(
                f"  [red]{finding.id}[/] {finding.vendor} {escape(finding.operation or '-')} "
                f"[bold]{escape(finding.rule['id'])}[/] ({finding.rule['basis']}): {escape(finding.title)}",
                overflow="fold",
            )
            first = finding.message.splitlines()[0] if finding.message else ""
            if first:
                console.print(f"      {first[:200]}", overflow="fold", markup=False)
        if len(run.findings) > SHOWN_FINDINGS:
            console.print(f"  … and {len(run.findings) - SHOWN_FINDINGS} more in the report")
        for vendor in run.vendors:
            line = vendor_line(vendor)
            if line:
                console.print(f"  [yellow]{vendor.id}[/]: {escape(line)}", overflow="fold")
        for note in run.notes:
            console.print(f"  {escape(note)}", overflow="fold")
        diff = run.diff
        if diff is not None and any(diff.previous.values()):
            console.print(
                f"since each vendor's previous run: {len(diff.new)} new, {len(diff.fixed)} fixed, "
                f"{len(diff.persisting)} persisting"
            )
        gate = gate_note(run)
        if gate:
            console.print(f"  {escape(gate)}", overflow="fold")
        console.print(f"  {MEANING[run.state]}", style="dim")
    style = STATE_STYLE[run.state]
    console.print(
        f"[{style}]{run.state}[/] · {findings_sentence(run)} · {counted(run.requests, 'request')} · "
        f"{run.duration_s:.1f} s · exit {run.exit_code}"
    )
    console.print(f"report: {directory / 'report.html'}")
