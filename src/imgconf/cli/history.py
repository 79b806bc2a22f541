"""`imgconf history`, `imgconf diff`: what a monitor reads after its runs.

Both read only monitor runs unless asked otherwise: drift runs, replays, validate runs and interrupted runs
are kept in the history but are not the vendor's story (`imgconf history --all` lists every run). Times are
shown to the minute, in UTC, because a monitor runs several times a day and a date alone cannot tell its
runs apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imgconf.cli import output
from imgconf.report.history import History, HistoryError, RunRow, diff_runs
from imgconf.report.outcome import RunKind

HISTORY_HELP = "SQLite history file (default reports/history.sqlite)."
SPARKS = "▁▂▃▄▅▆▇█"


def _spark(scores: list[float | None]) -> str:
    return "".join(" " if score is None else SPARKS[min(7, int(score * 7.999))] for score in scores)


def when(at: str | None) -> str:
    """An ISO datetime as the terminal shows it: "2026-12-01 20:31" (UTC); anything unparsable as it is."""
    if not at:
        return "?"
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _note(run: RunRow) -> str:
    parts = []
    if run.interrupted:
        parts.append(f"interrupted ({run.interrupted})")
    if run.drifts:
        parts.append("drift " + ", ".join(run.drifts))
    return "; ".join(parts)


@click.command("history")
@click.option(
    "--history", "history_path", default="reports/history.sqlite", type=click.Path(path_type=Path), help=HISTORY_HELP
)
@click.option("--vendor", "vendor", default=None, help="Only this vendor.")
@click.option("--limit", default=20, show_default=True, help="Runs per target (with --all: runs in all).")
@click.option(
    "--all", "show_all", is_flag=True, help="List every run: drift runs, replays, validate and interrupted runs too."
)
@click.option("--check", is_flag=True, help="Check the file's integrity (PRAGMA integrity_check): ok, or the problem.")
def history_command(history_path: Path, vendor: str | None, limit: int, show_all: bool, check: bool) -> None:
    """Each vendor's conformance score over its monitor runs, per target, with date and time (UTC)."""
    history = History(history_path)
    if check:
        problem = history.check()
        click.echo(problem or "ok")
        raise click.exceptions.Exit(2 if problem else 0)
    runs = history.runs()
    if not runs:
        click.echo(f"no runs recorded in {history_path}")
        return
    console = output.console()
    if show_all:
        _all_runs(console, runs[:limit])
        return
    monitored = [run for run in runs if run.kind is RunKind.MONITOR and not run.interrupted]
    for target in dict.fromkeys(run.target_key for run in monitored):
        trend = history.trend(target, limit=limit)
        table = Table(title=f"target {escape(target)} · monitor runs (UTC)", show_edge=False, header_style="bold")
        for column in ("vendor", "trend", "latest", "score", "findings", "runs", "since", "last run"):
            table.add_column(column)
        for vendor_id, points in trend.items():
            if vendor and vendor_id != vendor:
                continue
            last = points[-1]
            score = "–" if last["score"] is None else f"{last['score'] * 100:.0f}%"
            table.add_row(
                vendor_id,
                _spark([point["score"] for point in points]),
                last["state"],
                score,
                str(last["findings"]),
                str(len(points)),
                when(points[0]["at"]),
                when(last["at"]),
            )
        console.print(table)
    apart = len(runs) - len(monitored)
    if apart:
        console.print(
            f"{apart} run(s) kept apart from the trends (drift, replay, validate or interrupted): "
            "`imgconf history --all` lists them"
        )


def _all_runs(console: Console, runs: list[RunRow]) -> None:
    table = Table(title="every run, newest first (UTC)", show_edge=False, header_style="bold")
    for column in ("run", "at", "kind", "target", "state", "exit", "note"):
        table.add_column(column)
    for run in runs:
        table.add_row(
            escape(run.run_id),
            when(run.started_at),
            str(run.kind),
            escape(run.target_key),
            run.state,
            str(run.exit_code),
            escape(_note(run)),
        )
    console.print(table)


@click.command("diff")
@click.argument("older", required=False)
@click.argument("newer", required=False)
@click.option(
    "--history", "history_path", default="reports/history.sqlite", type=click.Path(path_type=Path), help=HISTORY_HELP
)
def diff_command(older: str | None, newer: str | None, history_path: Path) -> None:
    """New, fixed and persisting findings, vendor by vendor.

    With no run: the latest monitor run, each vendor against its own previous comparable run. With one run:
    that run, the same way. With two: the second against the first (runs of the same kind only).
    """
    history = History(history_path)
    if newer is None and older is not None:
        older, newer = None, older
    if newer is None:
        latest = history.runs(kinds=(RunKind.MONITOR,), include_interrupted=False, limit=1)
        if not latest:
            raise HistoryError(f"no monitor run recorded in {history_path}")
        newer = latest[0].run_id
    row = history.run(newer)
    result = diff_runs(history, older, newer)
    console = output.console()
    console.print(
        f"{escape(newer)} ({row.kind}, target {escape(row.target_key)}): {len(result.new)} new, "
        f"{len(result.fixed)} fixed, {len(result.persisting)} persisting",
        overflow="fold",
    )
    for vendor_id, previous in result.previous.items():
        against = f"against {escape(previous)}" if previous else "no earlier comparable run: every finding is new"
        console.print(f"  {vendor_id:<14} {against}", overflow="fold")
    for label, style, items in (
        ("new", "red", result.new),
        ("fixed", "green", result.fixed),
        ("persisting", "yellow", result.persisting),
    ):
        for item in items:
            console.print(
                f"  [{style}]{label:<10}[/] {item.vendor:<14} {escape(item.operation or '-'):<28} "
                f"{escape(item.rule):<36} first seen {when(item.first_seen)}  {escape(item.title)}",
                overflow="fold",
            )
