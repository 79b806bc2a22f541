"""`imgconf drift list`: the catalogue of emulator deviations, each with the rule it breaks."""

from __future__ import annotations

import json

import click
from rich.table import Table

from imgconf import emulator
from imgconf.cli import output


@click.group("drift")
def group() -> None:
    """Drift profiles: catalogued departures from the contract that imitate real vendor regressions."""


@group.command("list")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor's profiles (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
def list_command(vendors: tuple[str, ...], as_json: bool) -> None:
    """List every drift profile: what it imitates and which spec rules it breaks."""
    drifts = [drift for drift in emulator.catalogue() if not vendors or drift.vendor in vendors]
    if as_json:
        click.echo(json.dumps([drift.asdict() for drift in drifts], indent=2))
        return
    table = Table(title=f"{len(drifts)} drift profiles", show_lines=False)
    for column in ("profile", "category", "imitates", "breaks"):
        table.add_column(column, overflow="fold")
    for drift in drifts:
        table.add_row(drift.name, str(drift.category), drift.imitates, "\n".join(drift.breaks))
    output.console().print(table)
