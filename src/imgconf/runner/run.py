"""`imgconf run`: drive pytest over the suites in-process, then write the report.

pytest does the running; a plugin registered as `imgconf-runner` hands it the
options, shows progress, and receives the finished `Run`. pytest's own
terminal output is captured and only shown if pytest itself fails.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imgconf import paths
from imgconf import vendors as registry
from imgconf.errors import ExitCode, ImgconfError, UsageError
from imgconf.report import writer
from imgconf.report.history import History, HistoryError, diff, target_key
from imgconf.report.model import Run
from imgconf.runner import targets
from imgconf.testing.session import SuiteOptions


@dataclass(eq=False)
class RunnerPlugin:
    """Carries options into the pytest session and the finished run out of it."""

    imgconf_runner = True

    options: SuiteOptions
    on_progress: Callable[[str, int, int], None] | None = None
    run: Run | None = None
    total: int = 0
    done: int = 0
    collection_errors: list[str] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    fatal: ImgconfError | None = None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)
        if self.on_progress:
            self.on_progress("collected", 0, self.total)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = [line for line in str(report.longrepr).strip().splitlines() if line.strip()]
            self.collection_errors.append(f"{report.nodeid}: {lines[-1] if lines else 'collection failed'}")

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.done += 1
        if self.on_progress:
            self.on_progress(nodeid, self.done, self.total)

    def finished(self, run: Run) -> None:
        from imgconf.testing.session import SuiteSession

        self.run = run
        self.artifacts = SuiteSession.current().artifacts()
        self.fatal = SuiteSession.current().fatal


def pytest_args(vendors: list[str]) -> list[str]:
    """pytest's arguments for the suites of `vendors`, under the suites' own ini file.

    The two plugins the suites need are named, and plugin autoloading is off while imgconf runs pytest
    (see `quiet_pytest`): autoloaded plugins have their whole distribution assertion-rewritten, which
    doubled every run's start-up (2.6 s -> 1.4 s to collect Altum's suite, measured).
    """
    suites = paths.suites_dir()
    return [
        *(str(suites / vendor) for vendor in vendors),
        "--rootdir",
        str(suites),
        "-c",
        str(suites / "pytest.ini"),
        "-p",
        "no:cacheprovider",
        "-p",
        "schemathesis.pytest.plugin",
        "-p",
        "_hypothesis_pytestplugin",
    ]


@contextlib.contextmanager
def quiet_pytest() -> Iterator[io.StringIO]:
    """pytest in-process, its terminal output captured and plugin autoloading off (see `pytest_args`)."""
    captured = io.StringIO()
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured
    finally:
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous


def preflight(options: SuiteOptions) -> None:
    """Fail fast, with one line, on what would otherwise fail every test: specs and credentials."""
    selected = registry.select(options.vendors)
    for vendor in selected:
        _ = vendor.specs  # loads and validates every spec of the vendor
    if options.target.kind in ("live", "url"):
        config = targets.load_config(options.config_path)
        for vendor in selected:
            targets.live_credentials(vendor, config)
    if options.drifts and not options.target.local and options.target.kind != "replay":
        raise UsageError("drift profiles change the emulator; use them with --target emulator or emulator-http")


def execute(
    options: SuiteOptions,
    on_progress: Callable[[str, int, int], None] | None = None,
    extra_args: list[str] | None = None,
) -> Run:
    preflight(options)
    plugin = RunnerPlugin(options, on_progress)
    args = [*pytest_args(options.vendors), "-q", *(extra_args or [])]
    with quiet_pytest() as captured:
        code = pytest.main(args, plugins=[plugin])
    if plugin.fatal is not None:
        raise plugin.fatal
    if plugin.collection_errors:
        raise ImgconfError(f"the suites could not be collected: {plugin.collection_errors[0][:500]}")
    if plugin.run is None or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        tail = " | ".join(line.strip() for line in captured.getvalue().strip().splitlines()[-3:])
        raise ImgconfError(f"the suites did not run (pytest exit {int(code)}): {tail[:500]}")
    if not plugin.run.tests:
        raise ImgconfError("no test ran: check --vendor and the suites folder")
    return plugin.run, plugin.artifacts


@dataclass
class Published:
    directory: Path
    exit_code: int
    report: dict[str, Any]
    history_error: str | None = None


def publish(
    run: Run,
    out_dir: Path,
    *,
    artifacts: dict[str, bytes] | None = None,
    history_path: Path | None = None,
    fail_on: str = "any",
) -> Published:
    """Diff against history, decide the exit code, write the report, then record the run in history.

    History problems never cost the report: it is written first, and the error comes back as one line.
    """
    report = run.asdict()
    history = History(history_path) if history_path is not None else None
    problem: str | None = None
    trend = None
    if history is not None:
        try:
            previous = history.previous(report)
            report["diff"] = diff(history, report, previous)
            _mark_findings(report)
            trend = history.trend(target_key(report))
        except HistoryError as exc:
            problem = exc.message
    if trend is not None:
        for vendor in report["vendors"]:
            trend.setdefault(vendor["id"], []).append(
                {
                    "run_id": report["run_id"],
                    "at": report["started_at"],
                    "score": vendor["score"],
                    "verdict": vendor["verdict"],
                    "findings": vendor["findings"],
                }
            )
    if fail_on == "new" and report["verdict"] == "non-conformant":
        has_new = not report.get("diff") or bool(report["diff"]["new"])
        if not has_new:
            report["exit_code"] = int(ExitCode.CONFORMANT)
            report["notes"].append("--fail-on new: every finding was already present in the previous run")
    files = run.evidence_files()
    directory = writer.write_report(report, out_dir, files, trend=trend, extra_files=artifacts)
    if history is not None and problem is None:
        try:
            history.record(report, directory)
        except HistoryError as exc:
            problem = exc.message
    return Published(directory, report["exit_code"], report, problem)


def _mark_findings(report: dict[str, Any]) -> None:
    diff_ = report["diff"]
    new = {item["fingerprint"] for item in diff_["new"]}
    first = {item["fingerprint"]: item["first_seen"] for item in diff_["new"] + diff_["persisting"]}
    for finding in report["findings"]:
        finding["status"] = "new" if finding["fingerprint"] in new else "persisting"
        finding["first_seen"] = first.get(finding["fingerprint"])
