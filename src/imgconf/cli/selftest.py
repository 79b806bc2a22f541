"""`imgconf selftest`: does the suite catch every catalogued drift, and stay quiet on the faithful emulator?"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from jinja2 import Environment, PackageLoader, select_autoescape
from rich.table import Table

import imgconf.cli
from imgconf import emulator
from imgconf import vendors as registry
from imgconf.cli import output
from imgconf.errors import ExitCode, UsageError
from imgconf.runner.selftest import HTTP_MODES, Selftest


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
@click.option(
    "--over-http",
    is_flag=True,
    help="Also serve each drift (`imgconf emulator serve --drift NAME`) and run the suite at it as a URL target.",
)
@click.option(
    "--http-mode",
    "http_modes",
    multiple=True,
    type=click.Choice(HTTP_MODES),
    help="With --over-http: the URL-target modes to run (repeatable; default: careful and thorough).",
)
@click.option("--out", default="reports", show_default=True, type=click.Path(path_type=Path))
def command(
    vendors: tuple[str, ...],
    seeds: int,
    profile: str,
    workers: int,
    no_plain: bool,
    over_http: bool,
    http_modes: tuple[str, ...],
    out: Path,
) -> int:
    """Run every drift and N faithful seeds; print and write the detection matrix.

    Exit 1 if any drift escapes or any faithful run reports a finding; with --over-http, also if the thorough
    column misses a drift, or the careful column misses one whose rule a careful run checks.
    """
    if http_modes and not over_http:
        raise UsageError("--http-mode goes with --over-http")
    modes = tuple(mode for mode in HTTP_MODES if mode in http_modes) or (HTTP_MODES if over_http else ())
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
        f"{' · over HTTP: ' + ', '.join(modes) if modes else ''}"
    )
    imgconf.cli.preload("run")  # every forked run executes it: imported here once
    result = Selftest(
        selected,
        seeds,
        profile,
        workers=workers,
        plain=not no_plain,
        http_modes=modes,
        progress=lambda message: console.print(f"  {message}", markup=False),
        main=imgconf.cli.main,  # runs fork from this process, imports and specs already loaded
    ).run(directory / "runs")
    (directory / "selftest.json").write_text(json.dumps(result, indent=2) + "\n")
    env = Environment(loader=PackageLoader("imgconf", "report/templates"), autoescape=select_autoescape(["j2"]))
    (directory / "selftest.html").write_text(env.get_template("selftest.html.j2").render(s=result))
    show(console, result)
    console.print(f"report: {directory / 'selftest.html'}")
    return int(ExitCode.CONFORMANT if result["ok"] else ExitCode.NON_CONFORMANT)


VERDICT_STYLE = {
    "caught": "[green]caught[/]",
    "not checkable": "[yellow]not checkable[/]",
    "ESCAPED": "[red]ESCAPED[/]",
}


def show(console: object, result: dict) -> None:
    table = Table(title="detection matrix", show_edge=False, header_style="bold")
    modes = result.get("over_http", {}).get("modes", [])
    for column in ("drift", "category", "breaks", "imgconf", "caught by", "req#", *(f"URL {m}" for m in modes)):
        table.add_column(column, overflow="fold")
    table.add_column("plain st", overflow="fold")
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
            *(VERDICT_STYLE[item["over_http"][mode]["verdict"]] for mode in modes),
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
    for mode, column in result.get("over_http", {}).get("summary", {}).items():
        console.print(  # type: ignore[attr-defined]
            f"over HTTP, {mode}: caught {column['caught']}/{summary['drifts']}, "
            f"{len(column['not_checkable'])} not checkable in this mode, {len(column['escaped'])} escaped; "
            f"faithful runs with findings: {', '.join(column['false_positive_vendors']) or 'none'}"
        )
