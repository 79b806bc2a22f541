"""The pytest plugin the suites run under: options, the run's state in `config.stash`, the outcome at the end.

`suites/conftest.py` loads it, so `pytest suites/ --target emulator-http` works on its own; `imgconf run`
calls pytest with the same options and reads the outcome back from the runner plugin it registers (any
plugin object with `imgconf_runner = True`, an `options` attribute and a `finished(outcome, state)` method).
"""

from __future__ import annotations

import functools
import gc
import json
from collections import Counter
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import hypothesis
import pytest

from imgconf import checks, paths
from imgconf.errors import CredentialsRejected, ImgconfError, TargetUnreachable
from imgconf.report import publish
from imgconf.testing import context, deferred, draws
from imgconf.testing.client import ApiClient
from imgconf.testing.options import SuiteOptions
from imgconf.testing.state import RunState

KINDS = ("contract", "examples", "behaviour")
STATE = pytest.StashKey[RunState]()
REPORT_DIR = pytest.StashKey[Path]()

# The phases the suites' own Hypothesis tests (the behaviour tests) run, through a Hypothesis profile the
# plugin loads for the run; schemathesis sets its tests' phases itself, to the same effect (`no-shrink` on a
# metered target, in contract.py). Never the explain phase: after shrinking a failure it replays the test
# under a line tracer to say which lines of the *test* only failing runs reach. A finding is a vendor's answer,
# not a line of our code; the replays sent requests, and under Python's tracer they took more than half of an
# outage run (an Altum run against 503s: 7.9 -> 1.9 s of CPU; py-spy: 53% of it explaining). And no shrinking
# on a metered target (a live vendor): each shrink step is another request to a vendor that bills for it,
# and the budget spent on them is taken from the tests that have not run yet.
PROFILE = "imgconf"
NEVER = (hypothesis.Phase.explain,)
LOCAL_ONLY = (hypothesis.Phase.shrink,)
OUTER_PROFILE = pytest.StashKey[str]()


def phases(metered: bool) -> tuple[hypothesis.Phase, ...]:
    left_out = NEVER + LOCAL_ONLY if metered else NEVER
    return tuple(phase for phase in hypothesis.Phase if phase not in left_out)


__all__ = [
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_ignore_collect",
    "pytest_make_collect_report",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]


def _runner(config: pytest.Config) -> Any:
    """The `imgconf run` plugin, when pytest was started by it."""
    return next((p for p in config.pluginmanager.get_plugins() if getattr(p, "imgconf_runner", False)), None)


def run_state(config: pytest.Config) -> RunState:
    """This pytest session's run (fixtures: `run_state(request.config)`)."""
    return config.stash[STATE]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("imgconf", "imgconf conformance suites")
    group.addoption(
        "--target",
        default=None,
        help="emulator (default), emulator-http, live, a base URL, or VENDOR=URL[,VENDOR=URL] [env IMGCONF_TARGET]",
    )
    group.addoption("--vendor", action="append", default=None, help="vendor id; repeat for several [IMGCONF_VENDORS]")
    group.addoption("--drift", action="append", default=None, help="drift for the emulator [IMGCONF_DRIFT]")
    group.addoption("--profile", default=None, help="smoke (default) or full [IMGCONF_PROFILE]")
    group.addoption("--imgconf-seed", type=int, default=None, help="seed for generated cases [IMGCONF_SEED]")
    group.addoption("--imgconf-out", default=None, help="write a report into this directory")
    group.addoption("--budget", type=int, default=None, help="request budget per vendor (live default 50)")
    group.addoption(
        "--allow-mutations", action="store_true", default=False, help="run operations that change a live account"
    )
    group.addoption(
        "--thorough", action="store_true", default=False, help="URL targets: every rule, as on the emulator"
    )
    group.addoption("--callback-url", default=None, help="http://HOST:PORT where the target can reach this machine")
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


def _options(config: pytest.Config) -> SuiteOptions:
    runner = _runner(config)
    if runner is not None:
        return runner.options  # type: ignore[no-any-return]
    out = config.getoption("imgconf_out")
    config_path = config.getoption("imgconf_config")
    replay = config.getoption("replay")
    return SuiteOptions.from_values(
        target=config.getoption("target"),
        vendors=config.getoption("vendor"),
        profile=config.getoption("profile"),
        seed=config.getoption("imgconf_seed"),
        drifts=config.getoption("drift"),
        budget=config.getoption("budget"),
        allow_mutations=config.getoption("allow_mutations"),
        thorough=config.getoption("thorough"),
        callback_url=config.getoption("callback_url"),
        emulator_options=parse_emulator_options(config.getoption("emulator_option")),
        out=Path(out) if out else None,
        config_path=Path(config_path) if config_path else None,
        command="pytest " + " ".join(config.invocation_params.args),
        record=config.getoption("record"),
        replay=Path(replay) if replay else None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(id): the spec rule a behaviour test checks")
    try:
        options = _options(config)
    except ImgconfError as exc:
        raise pytest.UsageError(exc.message) from None
    config.stash[STATE] = RunState(options)
    config.pluginmanager.register(PassOver(), "imgconf-pass-over")
    draws.install()  # before the suites are collected: Hypothesis' plugin reads the constants then
    config.stash[OUTER_PROFILE] = hypothesis.settings.get_current_profile_name()
    # On Hypothesis' own defaults, not on the profile the process has loaded: where a CI variable is set (as
    # GitHub Actions sets it) Hypothesis loads its "ci" profile, whose `derandomize` outranks the run's
    # `--hypothesis-seed`, so a behaviour test would draw the same cases for every seed there, and other
    # cases than the same seed draws at a desk. The report's seed must reproduce the run wherever it ran.
    base = hypothesis.settings.get_profile("default")
    hypothesis.settings.register_profile(PROFILE, base, phases=phases(options.target.metered))
    hypothesis.settings.load_profile(PROFILE)  # before collection: the suites' @settings inherit from it


class PassOver:
    """Once the run is stopping (`RunState.stopping`), its remaining tests are passed over without a report.

    Not pytest's `session.shouldstop`: pytest ends such a session through its Ctrl-C path, whose terminal
    reporter renders a long traceback of the stop (~0.3 s of every selftest run) only to discard it.
    A plugin of its own, as this module's `pytest_runtest_protocol` is a wrapper that always runs the test.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        return True if run_state(item.config).stopping else None


# How many collected items still to run use each test function's examples (by the function's id).
EXAMPLE_USERS = pytest.StashKey[Counter[int]]()


def _test_function(item: pytest.Item) -> Any:
    """The function an item calls: one per parametrized test, shared by its items (a method's own function)."""
    obj = getattr(item, "obj", None)
    return getattr(obj, "__func__", obj)


def explicit_examples(item: pytest.Item) -> list[Any] | None:
    """The `@example`s Hypothesis keeps on the item's test function: for a schemathesis test, its
    operation's examples and coverage cases, drawn when the test is called (`deferred`)."""
    examples = getattr(_test_function(item), "hypothesis_explicit_examples", None)
    return examples if isinstance(examples, list) else None


def _has_examples(item: pytest.Item) -> bool:
    return bool(explicit_examples(item)) or deferred.pending(_test_function(item))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Two things that keep a run's peak memory down, both undone or spent by the end of the run.

    Everything collection built (the suites, schemathesis' schemas: ~35 MB of objects) is frozen out of the
    cyclic collector's sight until `pytest_unconfigure`. Hypothesis' tests leave cycles behind, which only a
    full collection frees; Python runs one when the objects added since the last reach a quarter of those it
    holds, so with collection's objects counted it ran rarely and a one-process full run peaked 4-5 MB higher
    (measured with bench/memory_curve.py).

    And each test function with examples (drawn, or still to draw) is counted by the items that use it, so
    that `pytest_runtest_teardown` can let them go once the last has run.
    """
    gc.freeze()
    session.config.stash[EXAMPLE_USERS] = Counter(
        id(_test_function(item)) for item in session.items if _has_examples(item)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Draw the test's examples and coverage cases now that it runs (imgconf.testing.deferred)."""
    deferred.draw(_test_function(item))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    users = item.config.stash.get(EXAMPLE_USERS, None)
    function = _test_function(item)
    if users is None or id(function) not in users:
        return
    users[id(function)] -= 1
    if users[id(function)] <= 0:  # no item left to run them: a test run again (`--lf`) collects them afresh
        del users[id(function)]
        deferred.forget(function)
        examples = explicit_examples(item)
        if examples:
            examples.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    gc.unfreeze()
    outer = config.stash.get(OUTER_PROFILE, None)
    if outer is not None:
        hypothesis.settings.load_profile(outer)
    state = config.stash.get(STATE, None)
    if state is not None:
        state.close()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Suite modules read the run's options while pytest imports them (their parametrisation)."""
    with context.bound(collector.config.stash.get(STATE, None)):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """Schemathesis hooks and auth providers run on a test's behalf: they find its run here, and every rule
    the test checks is counted towards the run's coverage."""
    state = item.config.stash.get(STATE, None)
    with context.bound(state), checks.observing(state.collector.exercised if state is not None else None):
        return (yield)


def _vendor_and_kind(path: Path) -> tuple[str | None, str]:
    return _classified(path, paths.suites_dir())


@functools.cache
def _classified(path: Path, suites: Path) -> tuple[str | None, str]:
    """Asked for every test at collection and again as it runs: resolving the paths each time was ~0.1 s a run."""
    try:
        relative = path.resolve().relative_to(suites.resolve())
    except ValueError:
        return None, "behaviour"
    vendor = relative.parts[0] if len(relative.parts) > 1 else None
    stem = path.stem.removeprefix("test_")
    return vendor, stem if stem in KINDS else "behaviour"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    vendor, _ = _vendor_and_kind(collection_path / "x.py" if collection_path.is_dir() else collection_path)
    if vendor is not None and vendor not in state.options.vendors:
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
    state = config.stash.get(STATE, None)
    if state is not None:
        for item in items:
            vendor, _ = _vendor_and_kind(item.path)
            if vendor is not None:
                state.collector.expected[vendor] = state.collector.expected.get(vendor, 0) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = run_state(item.config)
    state.recorder.start_test(item.nodeid)
    if state.stopped and _vendor_and_kind(item.path)[0] in state.stopped:
        pytest.skip("stopped: a finding named a rule the run was asked to stop on")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        state = run_state(item.config)
        vendor, kind = _vendor_and_kind(item.path)
        if vendor is not None:
            marker = item.get_closest_marker("rule")
            rule = marker.args[0] if marker and marker.args else None
            reason = None
            if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
                reason = str(report.longrepr[2]).removeprefix("Skipped: ")
            exc = call.excinfo.value if call.excinfo is not None and report.outcome == "failed" else None
            declared = [str(value) for name, value in item.user_properties if name == "operation"]
            state.collector.finished(
                item.nodeid,
                vendor,
                kind,
                rule,
                report.outcome,
                report.duration,
                exc,
                list(state.recorder.test_exchanges),
                reason,
                declared,
            )
            stop = state.options.stop_on_rules
            if stop:
                # Per vendor: a vendor whose stop rule was named runs no further tests; the run stops when
                # every vendor with a stop rule has (the selftest serves one drift per vendor in one run).
                state.stopped |= {finding.vendor for finding in state.collector.findings if finding.rule["id"] in stop}
                waiting = {rule.split(".", 1)[0] for rule in stop} & set(state.options.vendors)
                state.stopping = waiting <= state.stopped
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    runner = _runner(session.config)
    if exitstatus == pytest.ExitCode.INTERRUPTED and state.fatal is None:
        # Ctrl-C, or SIGTERM, which the runner turns into the same KeyboardInterrupt and names.
        state.interrupted = getattr(runner, "interrupted_by", None) or "SIGINT"
    outcome = state.collector.build(interrupted=state.interrupted, fatal=state.fatal)
    if runner is not None:
        runner.finished(outcome, state)
    elif state.options.out is not None:
        published = publish.publish(
            outcome, state.options.out, artifacts=state.artifacts(), history_path=state.options.out / "history.sqlite"
        )
        session.config.stash[REPORT_DIR] = published.directory


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    directory = config.stash.get(REPORT_DIR, None)
    if directory is not None:
        terminalreporter.write_line(f"imgconf report: {directory / 'report.html'}")


def end_run(exc: ImgconfError) -> NoReturn:
    """Stop the whole run on an error no test can get past (a suite that cannot start, say).

    The error is kept on the run's state so `imgconf run` reports it as it is, not as pytest's exit.
    """
    context.active().fatal = exc
    pytest.exit(exc.message, returncode=int(exc.exit_code))


def unavailable(state: RunState, vendor: str, exc: ImgconfError) -> NoReturn:
    """Skip every test of `vendor`: its target is away or refused the credential (the outcome says which)."""
    state.collector.note_unavailable(vendor, exc)
    kind = "credentials" if isinstance(exc, CredentialsRejected) else "unreachable"
    pytest.skip(f"{kind}: {exc.message}")


def client_fixture(vendor: str) -> Callable[..., Any]:
    """A session fixture giving the suite an `ApiClient` for `vendor`; skips the suite if it cannot be had."""

    @pytest.fixture(scope="session")
    def fixture(request: pytest.FixtureRequest) -> ApiClient:
        state = run_state(request.config)
        try:
            return ApiClient(state.connection(vendor), state)
        except (TargetUnreachable, CredentialsRejected) as exc:
            unavailable(state, vendor, exc)
        except ImgconfError as exc:
            end_run(exc)

    return fixture
