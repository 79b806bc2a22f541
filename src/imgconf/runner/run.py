"""`imgconf run`: drive pytest over the suites in-process, and hand back the run's outcome.

pytest does the running; a plugin registered as the `imgconf_runner` hands it the options, reports
progress, turns Ctrl-C and SIGTERM into one orderly stop, and receives the finished `RunOutcome`.
pytest's own terminal output is captured and only shown if pytest itself fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from imgconf import paths
from imgconf import vendors as registry
from imgconf.errors import ExitCode, ImgconfError
from imgconf.report.outcome import RunOutcome
from imgconf.runner.hypothesis_home import keep_hypothesis_caches_per_user
from imgconf.targets.credentials import live_credentials, load_config
from imgconf.testing import memos
from imgconf.testing.options import SuiteOptions
from imgconf.testing.plugin import STATE
from imgconf.testing.state import RunState


@dataclass
class VendorProgress:
    total: int = 0
    done: int = 0
    requests: int = 0
    findings: int = 0


Progress = Callable[[dict[str, VendorProgress]], None]


class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that pytest stops the same orderly way and says which."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass(eq=False)
class RunnerPlugin:
    """Carries options into the pytest session and the finished outcome out of it."""

    imgconf_runner = True

    options: SuiteOptions
    on_progress: Progress | None = None
    outcome: RunOutcome | None = None
    progress: dict[str, VendorProgress] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    artifacts: dict[str, bytes] = field(default_factory=dict)
    fatal: ImgconfError | None = None
    interrupted_by: str | None = None
    _state: RunState | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._state = session.config.stash.get(STATE, None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        suites = paths.resolved(paths.suites_dir())
        for item in session.items:
            try:
                vendor = paths.resolved(item.path).relative_to(suites).parts[0]
            except ValueError:
                continue
            self.progress.setdefault(vendor, VendorProgress()).total += 1
        self._report()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {_cause(str(report.longrepr))}")

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        vendor = nodeid.split("/", 1)[0]
        if vendor in self.progress:
            self.progress[vendor].done += 1
        self._report()
        if self.interrupted_by is not None:  # a signal came, yet the run goes on: its interrupt was swallowed
            raise Interrupted(self.interrupted_by)

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Cut the interrupted traceback to its last frame before pytest's terminal reporter formats it.

        The reporter renders every frame with its arguments' reprs, and schemathesis' configuration objects
        take seconds each to repr: four runs side by side took 3.9-22.3 s to stop on Ctrl-C (0.4-1.4 s after),
        measured, spent on a report that is captured unseen (the outcome says interrupted, and by what).
        """
        excinfo.traceback = excinfo.traceback[-1:]

    def _report(self) -> None:
        if self.on_progress is None:
            return
        if self._state is not None:
            for vendor, progress in self.progress.items():
                progress.requests = self._state.recorder.per_vendor.get(vendor, 0)
                progress.findings = sum(1 for f in self._state.collector.findings if f.vendor == vendor)
        self.on_progress(self.progress)

    def finished(self, outcome: RunOutcome, state: RunState) -> None:
        self.outcome = outcome
        self.artifacts = state.artifacts()
        self.fatal = state.fatal


def _cause(longrepr: str) -> str:
    """The line of a collection failure that says why: its `E ` lines, else its last line."""
    lines = [line.strip() for line in longrepr.strip().splitlines() if line.strip()]
    said = [line.removeprefix("E").strip() for line in lines if line.startswith("E ")]
    return (" ".join(said) if said else (lines[-1] if lines else "collection failed"))[:400]


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
        # Findings carry their own evidence, and pytest's report is captured unseen: its long tracebacks,
        # with the source of every frame read and parsed, cost a failing run ~0.4 s for nothing.
        "--tb=line",
        # The suites' ini ignores unraisable-exception warnings; the plugin's only other effect is a full
        # gc.collect() at the end of every run.
        "-p",
        "no:unraisableexception",
    ]


def keyword_args(options: SuiteOptions) -> list[str]:
    """`-k EXPR`: pytest's own selection by test name, passed through unchanged."""
    return ["-k", options.keyword] if options.keyword else []


def pycache_dir() -> Path:
    """Where an installed imgconf keeps the suites' bytecode: `$XDG_CACHE_HOME/imgconf/pycache`."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "imgconf" / "pycache"


@contextlib.contextmanager
def quiet_pytest() -> Iterator[io.StringIO]:
    """pytest in-process, its terminal output captured and plugin autoloading off (see `pytest_args`).

    The suite modules pytest imported are forgotten afterwards: their module-level parametrisation belongs
    to the run that imported them, and a second run in the same process must import them afresh.
    """
    captured = io.StringIO()
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    before = set(sys.modules)
    prefix = sys.pycache_prefix
    if paths.checkout() is None and prefix is None:
        # Installed suites live in site-packages, which may be read-only and is not ours to write: the
        # bytecode of the suites (pytest's assertion rewriting included) goes to the user's cache instead.
        sys.pycache_prefix = str(pycache_dir())
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            yield captured
    finally:
        sys.pycache_prefix = prefix
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous
        suites = str(paths.suites_dir().resolve())
        for name in set(sys.modules) - before:
            module_file = getattr(sys.modules[name], "__file__", None) or ""
            if module_file.startswith(suites):
                del sys.modules[name]


@contextlib.contextmanager
def on_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` for Ctrl-C and SIGTERM for the length of the block, the previous handlers restored after.

    Outside the main thread signals cannot be handled there, and are left alone.
    """
    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def signals_as_interrupt(plugin: RunnerPlugin) -> contextlib.AbstractContextManager[None]:
    """Ctrl-C and SIGTERM stop the run in order (a report marked interrupted by that signal, exit 130 or 143).

    Each raises `Interrupted` where the run is, and is noted on the plugin: a KeyboardInterrupt raised
    where Python cannot deliver it (a finalizer, an unraisable-exception path) is swallowed, and the run
    would go on to its end (seen: a `--workers` worker given SIGINT ran its last 9 s). The note makes the
    next test boundary raise it again (`pytest_runtest_logfinish`).
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        plugin.interrupted_by = plugin.interrupted_by or name
        raise Interrupted(name)

    return on_signals(handler)


# What the suites' libraries import the first time a test needs it: schemathesis' rate limiter (asked for on
# every call, even unlimited), its dictionary overlays and coverage cases, Hypothesis' regex and random
# strategies and its targeting phase. ~0.1 s a process, inside its first tests (py-spy, a full run); the
# preflight imports them instead (see there).
LAZY_MODULES = (
    "pyrate_limiter",
    "schemathesis.generation.dictionaries",
    "schemathesis.specs.openapi.coverage",
    "schemathesis.specs.openapi.coverage._operation",
    "hypothesis.strategies._internal.regex",
    "hypothesis.strategies._internal.random",
    "hypothesis.internal.conjecture.optimiser",
)


def preflight(options: SuiteOptions) -> None:
    """Fail fast, with one line, on what would otherwise fail every test: specs and missing credentials.

    Then import what the tests would import on first use (`LAZY_MODULES`, the target's `preload`) and
    validate the one strategy every run's first draws validate (schemathesis' arbitrary JSON): once, in the
    process that forks a run's workers, which then share it rather than each doing it in its first tests (a
    run in one process pays the same, before its tests rather than inside them).
    """
    selected = registry.select(options.vendors)
    for vendor in selected:
        _ = vendor.specs  # loads and validates every spec of the vendor
    if options.target.operator_credentials:
        config = load_config(options.config_path)
        for vendor in selected:
            live_credentials(vendor, config)
    options.target.preload(selected)
    load_first_use(LAZY_MODULES)


def load_first_use(modules: Iterable[str]) -> None:
    """Import `modules` and validate schemathesis' arbitrary-JSON strategy (what each process's first draw did
    otherwise, see memos): in a process that forks (a run's workers, the selftest's runs), once for every fork.

    Hypothesis warns of caches filled while it initialises (its regex strategies load the Unicode charmap on
    import): filled here, before pytest starts, they are the ones every test reads.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for module in modules:
            with contextlib.suppress(ModuleNotFoundError):  # a library's internals moved: the tests import theirs
                importlib.import_module(module)
        memos.validate_any_json()


# Blocks from this size up get pages of their own, handed back to the system the moment they are freed.
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold at `MMAP_THRESHOLD`, so a run's large transient buffers never stay resident.

    glibc raises the threshold every time a mapped block is freed (up to 32 MiB), so after the first size-limit
    test (a 10-12 MB body) every later large buffer comes from the heap instead, and the heap keeps the pages
    of whatever it once held: a Huawei run ended 22 MB higher, measured (153 MB against 131 MB). A fixed
    threshold keeps 1 MiB-and-up buffers (bodies, decoded images) mapped, and so released when freed.
    False where the C library has no `mallopt` (macOS, Windows): there the allocator keeps its own policy.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def execute(options: SuiteOptions, on_progress: Progress | None = None) -> tuple[RunOutcome, dict[str, bytes]]:
    """Run the suites; the outcome comes back whatever happened to the vendors (interrupted included)."""
    return_large_blocks()
    keep_hypothesis_caches_per_user()
    preflight(options)
    plugin = RunnerPlugin(options, on_progress)
    args = [*pytest_args(options.vendors), "-q", f"--hypothesis-seed={options.seed}", *keyword_args(options)]
    # A target that is slow to come up (a served emulator) starts now, while pytest starts and collects.
    starting = options.target.starting(registry.select(options.vendors), options.settings())
    with signals_as_interrupt(plugin), starting, quiet_pytest() as captured:
        code = pytest.main(args, plugins=[plugin])
    if plugin.fatal is not None and plugin.fatal.exit_code == ExitCode.USAGE:
        raise plugin.fatal
    # A signal that lands while a suite module is being collected fails that module's collection, as pytest
    # collects: the run was stopped, not broken, and its outcome says so (interrupted, every vendor incomplete).
    if plugin.collection_errors and plugin.interrupted_by is None:
        raise ImgconfError(f"the suites could not be collected: {plugin.collection_errors[0]}")
    if plugin.outcome is None or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        tail = " | ".join(line.strip() for line in captured.getvalue().strip().splitlines()[-3:])
        raise ImgconfError(f"the suites did not run (pytest exit {int(code)}): {tail[:500]}")
    if not plugin.outcome.tests and not plugin.outcome.interrupted:
        raise ImgconfError("no test ran: check --vendor and the suites folder")
    return plugin.outcome, plugin.artifacts
