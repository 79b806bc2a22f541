"""`imgconf run`: the suites against a target, a report at the end, an exit code a monitor can act on."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from imgconf import paths
from imgconf.cli import output
from imgconf.cli.show import show
from imgconf.report.outcome import Gate
from imgconf.report.publish import publish
from imgconf.report.wording import counted
from imgconf.report.writer import check_writable
from imgconf.runner import plan
from imgconf.runner import run as runner
from imgconf.runner import workers as parallel
from imgconf.testing.options import SuiteOptions
from imgconf.testing.plugin import parse_emulator_options


class WorkerCount(click.ParamType):
    """`--workers`: `auto` (None: `runner.workers.resolve` decides from the target and the cores) or N >= 1."""

    name = "auto|N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None or isinstance(value, int):
            count = value
        elif str(value).strip().lower() == "auto":
            return None
        else:
            try:
                count = int(str(value))
            except ValueError:
                self.fail(f"{value!r} is neither 'auto' nor a number of processes", param, ctx)
        if count is not None and count < 1:
            self.fail(f"{count} is not a number of processes (at least 1, or 'auto')", param, ctx)
        return count


WORKERS = WorkerCount()


@click.command("run", context_settings={"auto_envvar_prefix": "IMGCONF"})
@click.option(
    "--target",
    default=None,
    metavar="T",
    help="emulator (default: in-process), emulator-http, live, a base URL, or VENDOR=URL[,VENDOR=URL].",
)
@click.option("--vendor", "vendors", multiple=True, metavar="V", help="Vendor to test (repeatable; default: all).")
@click.option(
    "--profile",
    default=None,
    type=click.Choice(["smoke", "full"]),
    help="How much to test: smoke (default) or full. (Deviations of the emulator are drifts: --drift.)",
)
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
    envvar="IMGCONF_DRIFT",
    metavar="NAME",
    help="Run against the emulator with this drift (repeatable; see `imgconf drift list`).",
)
@click.option(
    "--budget", default=None, type=int, help="Request budget per vendor, at least 1 (default: 50 live, none local)."
)
@click.option("--allow-mutations", is_flag=True, help="Also run operations that change a live account.")
@click.option(
    "--thorough",
    is_flag=True,
    help="URL targets: run every rule the target can answer, as on the emulator (a larger budget, no pacing, "
    'account changes, rate limits provoked). Also `thorough = true` under [targets."URL"] in imgconf.toml.',
)
@click.option(
    "--callback-url",
    "callback_url",
    default=None,
    metavar="http://HOST:PORT",
    help="Where the target can reach this machine: the suite's image server and webhook receiver listen there "
    "(default: a loopback port when the target is on loopback; else the URL-input and webhook rules are not checked).",
)
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
    envvar="IMGCONF_CONFIG",
    type=click.Path(path_type=Path),
    help="The git-ignored imgconf.toml with live credentials (default: as `imgconf --config`).",
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
    help="Exit 1 on any finding, or only on findings new since the vendor's previous run on this target.",
)
@click.option(
    "--fail-on-basis",
    "fail_on_basis",
    default="any",
    show_default=True,
    type=click.Choice(["any", "documented"]),
    help="Exit 1 only for rules of this basis: `documented` leaves out this project's assumptions and errata "
    "(the report still shows them).",
)
@click.option(
    "--timeout",
    default=None,
    type=float,
    help="Seconds each request to a network target may take (default 10); 3 in a row without an answer "
    "and the target is unreachable.",
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
@click.option(
    "--specs",
    "specs",
    default=None,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Test against the specs in this folder (a working tree's specs/) instead of the installed ones.",
)
@click.option("-k", "keyword", default=None, metavar="EXPR", help="Only tests whose names match EXPR, as pytest -k.")
@click.option(
    "--workers",
    default="auto",
    show_default=True,
    type=WORKERS,
    help="Run the vendors in parallel on N processes (same verdicts as one). auto: one per core, at most one "
    "per vendor, on the emulator; one process on live, URL and replay targets and when recording.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only the verdict line and the report path.")
@click.option("-v", "--verbose", is_flag=True, help="More detail (--dry-run: every operation and test).")
def command(
    target: str | None,
    vendors: tuple[str, ...],
    profile: str | None,
    seed: int | None,
    out: Path,
    drifts: tuple[str, ...],
    budget: int | None,
    allow_mutations: bool,
    thorough: bool,
    callback_url: str | None,
    emulator_options: tuple[str, ...],
    config_path: Path | None,
    record: bool,
    replay: Path | None,
    fail_on: str,
    fail_on_basis: str,
    timeout: float | None,
    history_path: Path | None,
    no_history: bool,
    dry_run: bool,
    stop_on_rules: tuple[str, ...],
    specs: Path | None,
    keyword: str | None,
    workers: int | None,
    quiet: bool,
    verbose: bool,
) -> int:
    """Run the conformance suites and write report.json, junit.xml, summary.md and report.html.

    Exit code: 0 conformant, 1 non-conformant, 2 usage error or credentials refused, 3 unreachable, retired
    or incomplete, 4 imgconf's own error, 130 interrupted (143 on SIGTERM).
    """
    if specs is not None:
        # Exported, so every process of the run (emulator servers, workers) reads the same specs.
        os.environ[paths.SPECS_ENV] = str(specs.resolve())
    values: dict[str, Any] = dict(
        target=target,
        vendors=list(vendors),
        profile=profile,
        seed=seed,
        drifts=list(drifts),
        budget=budget,
        allow_mutations=allow_mutations,
        thorough=thorough,
        callback_url=callback_url,
        emulator_options=parse_emulator_options(list(emulator_options)),
        out=out,
        config_path=config_path,
        command="imgconf " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        record=record,
        replay=replay,
        timeout=timeout,
        gate=Gate(fail_on=fail_on, basis=fail_on_basis),
        stop_on_rules=frozenset(stop_on_rules),
        keyword=keyword,
    )
    options = SuiteOptions.from_values(**values)
    console = output.console()
    if dry_run:
        if not plan.show(options, console, verbose=verbose):
            click.echo("imgconf: dry run: a required credential is missing (listed above)", err=True)
            return 2
        return 0
    runner.preflight(options)  # specs and missing credentials: one line, before anything is written or sent
    check_writable(out)
    processes = parallel.resolve(workers, options)
    if not quiet:
        drift_note = f" · drift {', '.join(drifts)}" if drifts else ""
        drift_note += " · thorough" if options.target.thorough and options.target.operator_credentials else ""
        drift_note += f" · {processes} workers" if processes > 1 else ""
        console.print(
            f"[bold]imgconf[/] · target [bold]{options.target.describe()}[/]{drift_note} · vendors "
            f"{', '.join(options.vendors)} · profile {options.profile.name} · seed {options.seed}"
        )
    errors = output.console(stderr=True)
    # The workers are forked before the progress display starts its thread (see runner.workers.started).
    workers_running = parallel.started(options, values, processes) if processes > 1 else contextlib.nullcontext()
    with (
        workers_running as pool,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
            disable=quiet or not errors.is_terminal,
            # pytest's output is captured by the runner; the display must not redirect the streams itself.
            redirect_stdout=False,
            redirect_stderr=False,
        ) as progress,
    ):
        tasks: dict[str, TaskID] = {}

        def on_progress(snapshot: dict[str, runner.VendorProgress]) -> None:
            for vendor, state in snapshot.items():
                if vendor not in tasks:
                    tasks[vendor] = progress.add_task(vendor, total=state.total, detail="")
                progress.update(
                    tasks[vendor],
                    completed=state.done,
                    total=state.total,
                    detail=f"{counted(state.requests, 'request')} · {counted(state.findings, 'finding')}",
                )
            progress.refresh()

        if pool is not None:
            outcome, artifacts = parallel.finish(pool, on_progress), dict[str, bytes]()
        else:
            outcome, artifacts = runner.execute(options, on_progress)
    published = publish(
        outcome,
        out,
        artifacts=artifacts,
        history_path=None if no_history else (history_path or out / "history.sqlite"),
    )
    show(console, published.outcome, published.directory, quiet)
    if outcome.history_error:
        click.echo(f"imgconf: {outcome.history_error}", err=True)
    return outcome.exit_code
