"""`imgconf selftest`: does the suite catch every catalogued drift, and stay quiet on the faithful emulator?"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from jinja2 import Environment, PackageLoader, select_autoescape
from rich.table import Table

from imgconf import emulator
from imgconf import vendors as registry
from imgconf.cli import output
from imgconf.errors import ExitCode
from imgconf.runner.selftest import Selftest


@click.command("selftest")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable; default: all).")
@click.option(
    "--seeds",
    default=3,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Faithful runs, one per seed: each must be conformant.",
)
@click.option("--profile", default="smoke", show_default=True, type=click.Choice(["smoke", "full"]))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16), help="Runs at a time.")
@click.option("--no-plain", is_flag=True, help="Skip the plain-schemathesis comparison column.")
@click.option("--out", default="reports", show_default=True, type=click.Path(path_type=Path))
def command(vendors: tuple[str, ...], seeds: int, profile: str, workers: int, no_plain: bool, out: Path) -> int:
    """Run every drift and N faithful seeds; print and write the detection matrix.

    Exit 1 if any drift escapes or any faithful run reports a finding.
    """
    selected = [vendor.id for vendor in registry.select(list(vendors))]
    for vendor in selected:
        emulator.get(vendor)
    console = output.console()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = out / f"{stamp}-selftest"
    (directory / "runs").mkdir(parents=True, exist_ok=True)
    drifts = [drift for drift in emulator.catalogue() if drift.vendor in selected]
    console.print(
        f"[bold]imgconf selftest[/] · {len(drifts)} drifts · {seeds} faithful seeds · profile {profile}"
        f"{'' if no_plain else ' · with plain schemathesis'}"
    )
    result = Selftest(
        selected,
        seeds,
        profile,
        workers=workers,
        plain=not no_plain,
        progress=lambda message: console.print(f"  {message}", markup=False),
    ).run(directory / "runs")
    (directory / "selftest.json").write_text(json.dumps(result, indent=2) + "\n")
    env = Environment(loader=PackageLoader("imgconf", "report/templates"), autoescape=select_autoescape(["j2"]))
    (directory / "selftest.html").write_text(env.get_template("selftest.html.j2").render(s=result))
    show(console, result)
    console.print(f"report: {directory / 'selftest.html'}")
    return int(ExitCode.CONFORMANT if result["ok"] else ExitCode.NON_CONFORMANT)


def show(console: object, result: dict) -> None:
    table = Table(title="detection matrix", show_edge=False, header_style="bold")
    for column in ("drift", "category", "breaks", "imgconf", "caught by", "req#", "plain st"):
        table.add_column(column, overflow="fold")
    for item in result["drifts"]:
        plain = item["plain_schemathesis"]
        if not plain:
            plain_text = "–"
        elif not plain.get("applicable"):
            plain_text = "n/a"
        else:
            plain_text = "[green]caught[/]" if plain.get("caught") else "[red]missed[/]"
        table.add_row(
            item["drift"],
            item["category"],
            "\n".join(item["breaks"]),
            "[green]caught[/]" if item["caught"] else "[red]ESCAPED[/]",
            ", ".join(item["caught_by"]),
            str(item["requests_to_detection"] or "–"),
            plain_text,
        )
    console.print(table)  # type: ignore[attr-defined]
    summary = result["summary"]
    console.print(  # type: ignore[attr-defined]
        f"imgconf caught {summary['caught']}/{summary['drifts']} drifts; "
        f"{len(summary['false_positive_runs'])} false-positive runs of {summary['faithful_runs']}; "
        f"plain schemathesis caught {summary['plain_schemathesis_caught']}/{summary['plain_schemathesis_applicable']}"
        f" (and reports {len(summary['plain_schemathesis_false_positives'])} failures on the faithful emulator)"
    )
