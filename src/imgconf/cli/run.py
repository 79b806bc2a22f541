"""`imgconf run`: the suites against a target, a report at the end, an exit code a monitor can act on."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from imgconf.cli import output
from imgconf.errors import ExitCode
from imgconf.report.model import Run
from imgconf.runner import run as runner
from imgconf.testing.plugin import parse_emulator_options
from imgconf.testing.session import SuiteOptions

VERDICT_STYLE = {
    "conformant": "green",
    "non-conformant": "red",
    "unreachable": "yellow",
    "retired": "yellow",
    "skipped": "dim",
}


@click.command("run")
@click.option(
    "--target",
    default=None,
    metavar="T",
    help="emulator (default: in-process), emulator-http, live, a base URL, or VENDOR=URL[,VENDOR=URL].",
)
@click.option("--vendor", "vendors", multiple=True, metavar="V", help="Vendor to test (repeatable; default: all).")
@click.option("--profile", default=None, type=click.Choice(["smoke", "full"]), help="How much to test (default smoke).")
@click.option("--seed", default=None, type=int, help="Seed for generated cases (default 0): same seed, same cases.")
@click.option(
    "--out",
    default="reports",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Directory for reports/<run-id>/ and the run history.",
)
@click.option(
    "--drift",
    "drifts",
    multiple=True,
    metavar="NAME",
    help="Run against the emulator with this drift profile (repeatable; see `imgconf drift list`).",
)
@click.option("--budget", default=None, type=int, help="Request budget per vendor (default: 50 live, none local).")
@click.option("--allow-mutations", is_flag=True, help="Also run operations that change a live account.")
@click.option(
    "--emulator-option",
    "emulator_options",
    multiple=True,
    metavar="VENDOR.KEY=VALUE",
    help="Option for the emulator target (repeatable).",
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(path_type=Path),
    help="The git-ignored imgconf.toml with live credentials (default ./imgconf.toml).",
)
@click.option("--record", is_flag=True, help="Write the exchanges to a redacted VCR.py cassette (live/URL targets).")
@click.option(
    "--replay",
    default=None,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    metavar="CASSETTE",
    help="Re-run offline, every answer taken from a recorded cassette.",
)
@click.option(
    "--fail-on",
    "fail_on",
    default="any",
    show_default=True,
    type=click.Choice(["any", "new"]),
    help="Exit 1 on any finding, or only on findings new since the previous run on this target.",
)
@click.option(
    "--history",
    "history_path",
    default=None,
    type=click.Path(path_type=Path),
    help="SQLite history file (default <out>/history.sqlite).",
)
@click.option("--no-history", is_flag=True, help="Neither read nor record run history.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, to where, with which limits; send nothing.")
@click.option(
    "--stop-on-rule",
    "stop_on_rules",
    multiple=True,
    hidden=True,
    help="Stop at the first finding naming this rule (the selftest's drift runs).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict line and the report path.")
def command(
    target: str | None,
    vendors: tuple[str, ...],
    profile: str | None,
    seed: int | None,
    out: Path,
    drifts: tuple[str, ...],
    budget: int | None,
    allow_mutations: bool,
    emulator_options: tuple[str, ...],
    config_path: Path | None,
    record: bool,
    replay: Path | None,
    fail_on: str,
    history_path: Path | None,
    no_history: bool,
    dry_run: bool,
    stop_on_rules: tuple[str, ...],
    quiet: bool,
) -> int:
    """Run the conformance suites and write report.json, junit.xml, summary.md and report.html.

    Exit code: 0 conformant, 1 non-conformant, 2 usage error, 3 unreachable, retired or budget exhausted.
    """
    options = SuiteOptions.from_values(
        target=target,
        vendors=list(vendors),
        profile=profile,
        seed=seed,
        drifts=list(drifts),
        budget=budget,
        allow_mutations=allow_mutations,
        emulator_options=parse_emulator_options(list(emulator_options)),
        out=out,
        config_path=config_path,
        command="imgconf " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        record=record,
        replay=replay,
        dry_run=dry_run,
        stop_on_rules=frozenset(stop_on_rules),
    )
    console = output.console()
    if dry_run:
        from imgconf.runner import plan

        plan.show(options, console)
        return 0
    if not quiet:
        drift_note = f" · drift {', '.join(drifts)}" if drifts else ""
        console.print(
            f"[bold]imgconf[/] · target [bold]{options.target.describe()}[/]{drift_note} · vendors "
            f"{', '.join(options.vendors)} · profile {options.profile.name} · seed {options.seed}"
        )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=output.console(stderr=True),
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task("collecting", total=None)

        def on_progress(nodeid: str, done: int, total: int) -> None:
            label = nodeid.split("::")[-1][:48] if done else "running"
            progress.update(task, completed=done, total=total, description=label)

        result, artifacts = runner.execute(options, on_progress, extra_args=[f"--hypothesis-seed={options.seed}"])
    published = runner.publish(
        result,
        out,
        artifacts=artifacts,
        fail_on=fail_on,
        history_path=None if no_history else (history_path or out / "history.sqlite"),
    )
    show(console, result, published, quiet)
    if published.history_error:
        click.echo(f"imgconf: {published.history_error}", err=True)
        return int(ExitCode.USAGE)
    return published.exit_code


def show(console: Console, run: Run, published: runner.Published, quiet: bool) -> None:
    directory = published.directory
    diff = published.report.get("diff")
    style = VERDICT_STYLE.get(run.verdict, "")
    if not quiet:
        table = Table(show_edge=False, header_style="bold")
        for column in ("vendor", "verdict", "score", "findings", "requests", "tests"):
            table.add_column(column, justify="right" if column in ("score", "findings", "requests") else "left")
        for vendor in run.vendors:
            score = "–" if vendor.score is None else f"{vendor.score * 100:.0f}%"
            tests = vendor.tests
            table.add_row(
                vendor.id,
                f"[{VERDICT_STYLE.get(vendor.verdict, '')}]{vendor.verdict}[/]",
                score,
                str(vendor.findings),
                str(vendor.requests),
                f"{tests.get('passed', 0)} passed, {tests.get('failed', 0)} failed, "
                f"{tests.get('skipped', 0) + tests.get('unreachable', 0)} skipped",
            )
        console.print(table)
        for finding in run.findings[:20]:
            console.print(
                f"  [red]{finding.id}[/] {finding.vendor} {finding.operation or '-'} "
                f"[bold]{finding.rule['id']}[/] ({finding.rule['basis']}): {finding.title}",
                overflow="fold",
            )
            first = finding.message.splitlines()[0] if finding.message else ""
            if first:
                console.print(f"      {first[:200]}", overflow="fold", markup=False)
        if len(run.findings) > 20:
            console.print(f"  … and {len(run.findings) - 20} more in the report")
        for vendor in run.vendors:
            if vendor.note:
                console.print(f"  [yellow]{vendor.id}[/]: {escape(vendor.note)}", overflow="fold")
        for note in run.notes:
            console.print(f"  {escape(note)}", overflow="fold")
    if diff and diff["previous_run"]:
        console.print(
            f"since {diff['previous_run']}: {len(diff['new'])} new, {len(diff['fixed'])} fixed, "
            f"{len(diff['persisting'])} persisting"
        )
    console.print(
        f"[{style}]{run.verdict}[/] · {len(run.findings)} findings · {run.requests} requests · "
        f"{run.duration_s:.1f} s · exit {published.exit_code}"
    )
    console.print(f"report: {directory / 'report.html'}")
