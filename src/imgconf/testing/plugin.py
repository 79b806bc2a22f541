"""The pytest plugin the suites run under: options, targets, and a report at the end.

`suites/conftest.py` loads it, so `pytest suites/ --target emulator-http`
works on its own; `imgconf run` calls pytest with the same options and reads
the run back from the `imgconf-runner` plugin it registers.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from imgconf import paths
from imgconf.errors import ImgconfError, TargetUnreachable
from imgconf.testing.session import SuiteOptions, SuiteSession

KINDS = ("contract", "examples", "behaviour")

__all__ = [
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_ignore_collect",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]


def _runner(config: pytest.Config) -> Any:
    """The `imgconf run` plugin, when pytest was started by it."""
    return next((p for p in config.pluginmanager.get_plugins() if getattr(p, "imgconf_runner", False)), None)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("imgconf", "imgconf conformance suites")
    group.addoption(
        "--target",
        default=None,
        help="emulator (default), emulator-http, live, a base URL, or VENDOR=URL[,VENDOR=URL] [env IMGCONF_TARGET]",
    )
    group.addoption("--vendor", action="append", default=None, help="vendor id; repeat for several [IMGCONF_VENDORS]")
    group.addoption("--drift", action="append", default=None, help="drift profile for the emulator [IMGCONF_DRIFT]")
    group.addoption("--profile", default=None, help="smoke (default) or full [IMGCONF_PROFILE]")
    group.addoption("--imgconf-seed", type=int, default=None, help="seed for generated cases [IMGCONF_SEED]")
    group.addoption("--imgconf-out", default=None, help="write a report into this directory")
    group.addoption("--budget", type=int, default=None, help="request budget per vendor (live default 50)")
    group.addoption(
        "--allow-mutations", action="store_true", default=False, help="run operations that change a live account"
    )
    group.addoption(
        "--emulator-option",
        action="append",
        default=[],
        help="VENDOR.KEY=JSON option for the emulator, e.g. identifai.rate_limits=false",
    )
    group.addoption("--imgconf-config", default=None, help="path of the git-ignored imgconf.toml")
    group.addoption(
        "--record",
        action="store_true",
        default=False,
        help="write the exchanges to a redacted VCR.py cassette beside the report",
    )
    group.addoption("--replay", default=None, help="answer every request from this cassette (offline)")


def parse_emulator_options(values: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise ImgconfError(f"emulator option {item!r} is not VENDOR.KEY=VALUE")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(id): the spec rule a behaviour test checks")
    runner = _runner(config)
    try:
        if runner is not None:
            options = runner.options
        else:
            options = SuiteOptions.from_values(
                target=config.getoption("target"),
                vendors=config.getoption("vendor"),
                profile=config.getoption("profile"),
                seed=config.getoption("imgconf_seed"),
                drifts=config.getoption("drift"),
                budget=config.getoption("budget"),
                allow_mutations=config.getoption("allow_mutations"),
                emulator_options=parse_emulator_options(config.getoption("emulator_option")),
                out=Path(config.getoption("imgconf_out")) if config.getoption("imgconf_out") else None,
                config_path=Path(config.getoption("imgconf_config")) if config.getoption("imgconf_config") else None,
                command="pytest " + " ".join(config.invocation_params.args),
                record=config.getoption("record"),
                replay=Path(config.getoption("replay")) if config.getoption("replay") else None,
            )
    except ImgconfError as exc:
        raise pytest.UsageError(exc.message) from None
    session = SuiteSession(options)
    session.activate()
    config.stash[_SESSION] = session


_SESSION = pytest.StashKey[SuiteSession]()


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION, None)
    if session is not None:
        session.close()


def _vendor_and_kind(path: Path) -> tuple[str | None, str]:
    try:
        relative = path.resolve().relative_to(paths.suites_dir().resolve())
    except ValueError:
        return None, "behaviour"
    vendor = relative.parts[0] if len(relative.parts) > 1 else None
    stem = path.stem.removeprefix("test_")
    return vendor, stem if stem in KINDS else "behaviour"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    session = config.stash.get(_SESSION, None)
    if session is None:
        return None
    vendor, _ = _vendor_and_kind(collection_path / "x.py" if collection_path.is_dir() else collection_path)
    if vendor is not None and vendor not in session.options.vendors:
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if _vendor_and_kind(item.path)[1] == "behaviour" and item.get_closest_marker("rule") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "behaviour tests must name their rule with @pytest.mark.rule(...): " + ", ".join(unmarked[:5])
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    SuiteSession.current().recorder.start_test(item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        session = SuiteSession.current()
        vendor, kind = _vendor_and_kind(item.path)
        if vendor is not None:
            marker = item.get_closest_marker("rule")
            rule = marker.args[0] if marker and marker.args else None
            reason = None
            if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
                reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            exc = call.excinfo.value if call.excinfo is not None and report.outcome == "failed" else None
            declared = [value for name, value in item.user_properties if name == "operation"]
            session.collector.finished(
                item.nodeid,
                vendor,
                kind,
                rule,
                report.outcome,
                report.duration,
                exc,
                list(session.recorder.test_exchanges),
                reason,
                declared,
            )
            stop = session.options.stop_on_rules
            if stop and any(finding.rule["id"] in stop for finding in session.collector.findings):
                item.session.shouldstop = "a finding named a rule the run was asked to stop on"
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    suite = session.config.stash.get(_SESSION, None)
    if suite is None:
        return
    run = suite.collector.build(time.time() - suite.collector.started)
    runner = _runner(session.config)
    if runner is not None:
        runner.finished(run)
    elif suite.options.out is not None:
        from imgconf.runner.run import publish

        published = publish(
            run, suite.options.out, artifacts=suite.artifacts(), history_path=suite.options.out / "history.sqlite"
        )
        session.config.stash[_REPORT_DIR] = published.directory


_REPORT_DIR = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    directory = config.stash.get(_REPORT_DIR, None)
    if directory is not None:
        terminalreporter.write_line(f"imgconf report: {directory / 'report.html'}")


def end_run(exc: ImgconfError) -> NoReturn:
    """Stop the whole run on an error no test can get past (missing credentials, say).

    The error is kept on the session so `imgconf run` reports it as it is, not as pytest's exit.
    """
    SuiteSession.current().fatal = exc
    pytest.exit(exc.message, returncode=int(exc.exit_code))


def client_fixture(vendor: str) -> Callable[[], Any]:
    """A session fixture giving the suite an `ApiClient` for `vendor`; skips the suite if it is unreachable."""

    @pytest.fixture(scope="session")
    def fixture() -> Any:
        session = SuiteSession.current()
        try:
            return session.client(vendor)
        except TargetUnreachable as exc:
            pytest.skip(f"unreachable: {exc.message}")
        except ImgconfError as exc:
            end_run(exc)

    return fixture
