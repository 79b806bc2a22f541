"""`imgconf run`: drive pytest over the suites in-process, then write the report.

pytest does the running; a plugin registered as `imgconf-runner` hands it the
options, shows progress, and receives the finished `Run`. pytest's own
terminal output is captured and only shown if pytest itself fails.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from imgconf import paths
from imgconf import vendors as registry
from imgconf.errors import ImgconfError, UsageError
from imgconf.report import writer
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
        self.run = run


def preflight(options: SuiteOptions) -> None:
    """Fail fast, with one line, on what would otherwise fail every test: specs and credentials."""
    selected = registry.select(options.vendors)
    for vendor in selected:
        _ = vendor.specs  # loads and validates every spec of the vendor
    if not options.target.local:
        config = targets.load_config(options.config_path)
        for vendor in selected:
            targets.live_credentials(vendor, config)
    if options.drifts and not options.target.local:
        raise UsageError("drift profiles change the emulator; use them with --target emulator or emulator-http")


def execute(
    options: SuiteOptions,
    on_progress: Callable[[str, int, int], None] | None = None,
    extra_args: list[str] | None = None,
) -> Run:
    preflight(options)
    plugin = RunnerPlugin(options, on_progress)
    suites = paths.suites_dir()
    args = [
        *(str(suites / vendor) for vendor in options.vendors),
        "--rootdir",
        str(suites),
        "-c",
        str(suites / "pytest.ini"),
        "-p",
        "no:cacheprovider",
        "-q",
        *(extra_args or []),
    ]
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        code = pytest.main(args, plugins=[plugin])
    if plugin.collection_errors:
        raise ImgconfError(f"the suites could not be collected: {plugin.collection_errors[0][:500]}")
    if plugin.run is None or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        tail = " | ".join(line.strip() for line in captured.getvalue().strip().splitlines()[-3:])
        raise ImgconfError(f"the suites did not run (pytest exit {int(code)}): {tail[:500]}")
    if not plugin.run.tests:
        raise ImgconfError("no test ran: check --vendor and the suites folder")
    return plugin.run


def write(run: Run, out_dir: Path) -> Path:
    return writer.write(run, out_dir)
