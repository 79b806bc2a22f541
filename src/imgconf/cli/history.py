"""`imgconf history`, `imgconf diff`: what a monitor reads after its runs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from imgconf.cli import output
from imgconf.report.history import History, HistoryError, diff_runs

HISTORY_HELP = "SQLite history file (default reports/history.sqlite)."
SPARKS = "▁▂▃▄▅▆▇█"


def _spark(scores: list[float | None]) -> str:
    return "".join(" " if score is None else SPARKS[min(7, int(score * 7.999))] for score in scores)


@click.command("history")
@click.option(
    "--history", "history_path", default="reports/history.sqlite", type=click.Path(path_type=Path), help=HISTORY_HELP
)
@click.option("--vendor", "vendor", default=None, help="Only this vendor.")
@click.option("--limit", default=20, show_default=True, help="Runs per target.")
def history_command(history_path: Path, vendor: str | None, limit: int) -> None:
    """Each vendor's conformance score over time, per target."""
    history = History(history_path)
    runs = history.runs()
    if not runs:
        click.echo(f"no runs recorded in {history_path}")
        return
    console = output.console()
    for target in dict.fromkeys(run.target_key for run in runs):
        trend = history.trend(target, limit=limit)
        table = Table(title=f"target {target}", show_edge=False, header_style="bold")
        for column in ("vendor", "trend", "latest", "score", "findings", "runs", "since"):
            table.add_column(column)
        for vendor_id, points in sorted(trend.items()):
            if vendor and vendor_id != vendor:
                continue
            last = points[-1]
            score = "–" if last["score"] is None else f"{last['score'] * 100:.0f}%"
            table.add_row(
                vendor_id,
                _spark([p["score"] for p in points]),
                last["verdict"],
                score,
                str(last["findings"]),
                str(len(points)),
                points[0]["at"][:10],
            )
        console.print(table)


@click.command("diff")
@click.argument("older", required=False)
@click.argument("newer", required=False)
@click.option(
    "--history", "history_path", default="reports/history.sqlite", type=click.Path(path_type=Path), help=HISTORY_HELP
)
def diff_command(older: str | None, newer: str | None, history_path: Path) -> None:
    """New, fixed and persisting findings between two runs (default: the last two runs on the latest target)."""
    history = History(history_path)
    if newer is None:
        runs = history.runs()
        if not runs:
            raise HistoryError(f"no runs recorded in {history_path}")
        latest = history.run(older) if older else runs[0]
        same = [
            run
            for run in history.runs(latest.target_key)
            if run.started_at <= latest.started_at and run.run_id != latest.run_id
        ]
        if not same:
            raise HistoryError(f"{latest.run_id} is the only run on target {latest.target_key}; nothing to compare")
        older, newer = same[0].run_id, latest.run_id
    assert older is not None
    result = diff_runs(history, older, newer)
    console = output.console()
    console.print(
        f"{older} → {newer}: {len(result['new'])} new, {len(result['fixed'])} fixed, "
        f"{len(result['persisting'])} persisting"
    )
    for label, style in (("new", "red"), ("fixed", "green"), ("persisting", "yellow")):
        for item in result[label]:
            console.print(
                f"  [{style}]{label:<10}[/] {item['vendor']:<14} {item['operation'] or '-':<28} "
                f"{item['rule']:<36} first seen {item['first_seen'] or '?'}  {item['title']}",
                overflow="fold",
            )
