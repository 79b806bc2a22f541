"""`imgconf selftest`: the suite's own sensitivity, measured.

Two questions, answered with ordinary runs of `imgconf run` in child processes:

- false positives: against the faithful emulator, with N different seeds, every run must be conformant;
- sensitivity: against every drift profile, every run must be non-conformant with at least one finding
  whose rule is one the drift breaks (a finding elsewhere does not count as catching it).

Beside each drift the same question is put to plain schemathesis (`st run`, its default checks only, on
the same spec and the same drifted emulator over HTTP): a drift counts as caught by it when it reports a
failure (code and operation) that it does not report against the faithful emulator with the same seed.
That column is what our vendor-specific checks add, measured rather than claimed.

Each run is a child process, so that no run can leak state into another. Given the `imgconf` command's
entry point (`main`), the children are forks of this process after it has imported imgconf and loaded the
specs once, rather than fresh interpreters that each pay ~2.5-3 s for that before their first request
(most of a smoke run's time: 48 drifts, measured 6.9 s -> 2.4 s for an Altum run); the drifted emulators
that plain schemathesis is pointed at are forked the same way. `st run` itself never runs in a process that has
imported imgconf: it is the plain tool, and must not see anything imgconf registers with schemathesis. Its
runs are forks of one interpreter that has imported schemathesis alone (runner/plain_st.py), each the same
`python -m schemathesis.cli` a fresh process would be, without its ~1.2 s of imports.

With `over_http`, each drift is also served as `imgconf emulator serve --drift NAME` and the suite run against
it as a URL target (the operator's view of a staging deployment): in the default careful mode, and with
`--thorough`. The thorough column must catch every drift, as in-process; the careful column must catch every
drift whose rule a careful run checks (a drift whose rules the run's coverage lists as not checked is
`not checkable` there, not escaped). One faithful run per vendor and mode shows the columns raise nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from imgconf import __version__, emulator, specs
from imgconf import vendors as registry
from imgconf.emulator import child, forking, server
from imgconf.emulator.drift import Category, Drift
from imgconf.report import html
from imgconf.runner import plain_st
from imgconf.runner import run as runner
from imgconf.testing import profiles

RUN_TIMEOUT = 900
# The served emulator answers in milliseconds, as in-process: its URL runs hold it to the emulator's budget.
SERVED_LATENCY_BUDGET_S = 1.0

# The `imgconf` command's entry point (`imgconf.cli.main`: argv in, exits with the run's code), handed down
# by the CLI so that this layer can fork runs of it without importing the layer above.
Main = Callable[[list[str]], object]


class RunInterrupted(KeyboardInterrupt):
    """A run ended interrupted (exit 130 on SIGINT, 143 on SIGTERM): the signal was meant for the selftest too.

    A forked run restores the default SIGINT handling, whatever this process's own: a shell that starts the
    selftest in the background leaves SIGINT ignored here, so a Ctrl-C sent to the process group stopped the
    runs while the selftest went on and counted each stopped run as a drift that escaped (seen: "8/10 caught",
    exit 1). A signal is the user's act, never the suite's blind spot: the whole selftest ends interrupted.
    """

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.signal_name = "SIGTERM" if code == 143 else "SIGINT"  # the CLI exits 143 or 130 by it


INTERRUPTED_CODES = (130, 143)


@dataclass
class RunOutcome:
    code: int
    report: dict[str, Any] | None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class DriftResult:
    drift: str
    vendor: str
    category: str
    imitates: str
    breaks: list[str]
    seed: int
    caught: bool
    exit_code: int
    rules_named: list[str]
    caught_by: list[str]
    requests_to_detection: int | None
    requests: int
    seconds: float
    plain_schemathesis: dict[str, Any] = field(default_factory=dict)
    # mode (careful, thorough) -> the same drift served over HTTP and run as a URL target in that mode
    over_http: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class SeedResult:
    seed: int
    conformant: bool
    exit_code: int
    false_positives: list[dict[str, Any]]
    requests: int
    seconds: float
    error: str | None = None


HTTP_MODES = ("careful", "thorough")


def emulator_env(vendor: registry.Vendor) -> dict[str, str]:
    """The environment a URL run needs for the served emulator: its default account, under the vendor's variables."""
    credentials = emulator.get(vendor.id).default_credentials[0]
    return {field.env: credentials[field.name] for field in vendor.credentials if field.name in credentials}


def _run_args(args: list[str], out: Path) -> list[str]:
    return ["run", *args, "--out", str(out), "--no-history", "-q"]


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """A fresh `imgconf` process's environment: none of this one's IMGCONF_ settings but the root, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("IMGCONF_")}
    if "IMGCONF_ROOT" in os.environ:
        env["IMGCONF_ROOT"] = os.environ["IMGCONF_ROOT"]
    return {**env, **(extra or {})}


def _forked_main(main: Main, argv: list[str], env: dict[str, str]) -> object:
    """In the forked child: the environment a fresh `imgconf` process would get, then the command."""
    os.environ.clear()
    os.environ.update(env)
    return main(argv)


def _launch(main: Main | None, argv: list[str], out: Path, env: dict[str, str]) -> tuple[int | None, str]:
    """`imgconf <argv>`: a fork of this process running `main`, else a fresh interpreter. (exit code, output)."""
    if main is None:
        command = [sys.executable, "-m", "imgconf", *argv]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
        except subprocess.TimeoutExpired:
            return None, ""
        return done.returncode, done.stderr or done.stdout
    log = out / "imgconf.log"
    code = forking.wait(forking.start(partial(_forked_main, main, argv, env), log), RUN_TIMEOUT)
    return code, log.read_text(errors="replace") if log.exists() else ""


def _imgconf(
    args: list[str], out: Path, main: Main | None = None, extra_env: dict[str, str] | None = None
) -> RunOutcome:
    started = time.monotonic()
    code, output = _launch(main, _run_args(args, out), out, _child_env(extra_env))
    seconds = time.monotonic() - started
    if code in INTERRUPTED_CODES:
        raise RunInterrupted(code)
    if code is None:
        return RunOutcome(-1, None, f"timed out after {RUN_TIMEOUT} s", seconds)
    latest = out / "LATEST"
    if not latest.exists():
        tail = output.strip().splitlines()[-1:] or ["no output"]
        return RunOutcome(code, None, tail[0][:300], seconds)
    report = json.loads((out / latest.read_text().strip() / "report.json").read_text())
    return RunOutcome(code, report, None, seconds)


# What a run imports only once it collects and runs the suites (pytest's default plugins, schemathesis'
# OpenAPI machinery, Pillow's codecs, the suites' helpers): ~0.5 s of every forked run, imported once here.
# A module missing from the list costs time, never correctness: the run imports it itself.
WARM_MODULES = (
    *runner.LAZY_MODULES,
    "schemathesis.pytest.plugin",
    "_hypothesis_pytestplugin",
    "_pytest.python",
    "_pytest.faulthandler",
    "_pytest.helpconfig",
    "_pytest.pastebin",
    "_pytest.setuponly",
    "_pytest.setupplan",
    "_pytest.skipping",
    "_pytest.threadexception",
    "_pytest.tracemalloc",
    "_pytest.unittest",
    "_pytest.warnings",
    "schemathesis.specs.openapi.schemas",
    "schemathesis.specs.openapi._hypothesis",
    "schemathesis.specs.openapi.examples",
    "schemathesis.specs.openapi.negative",
    "schemathesis.specs.openapi.stateful",
    "schemathesis.specs.openapi.stateful.inference",
    "schemathesis.specs.openapi.adapter",
    "schemathesis.specs.openapi.auths",
    "schemathesis.generation.stateful.control",
    "schemathesis.generation.jsonschema.strategy",
    "schemathesis.engine.supervisor",
    "schemathesis.transport.requests",
    "schemathesis.transport.asgi",
    "schemathesis.transport.wsgi",
    "schemathesis.generation.body_overrides",
    "hypothesis.strategies._internal.flatmapped",
    "anyio._backends._asyncio",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
    "pdb",
    "imgconf.testing.examples",
    "imgconf.testing.latency",
    "imgconf.vendors.huawei.clients",
    "imgconf.vendors.huawei.probes",
)


def warm(vendors: list[str]) -> None:
    """Import and load, once in this process, what every forked run would otherwise repeat.

    The selected vendors' specs (parsed and validated), their emulators, the modules a run imports
    (`WARM_MODULES`) and the report page's compiled template; a run still collects its suites itself, with
    its own options.
    """
    for vendor_id in vendors:
        _ = registry.get(vendor_id).specs
        emulator.get(vendor_id)
    runner.load_first_use(WARM_MODULES)
    # Hypothesis warns when its caches (here the constants of local modules) are filled outside a test
    # session: filling them once here is the point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Hypothesis harvests constants from each local module it has not seen yet, at every run's collection
        # (~0.2 s); seen here once, a run harvests only its own suite modules, to the same set of constants.
        providers = importlib.import_module("hypothesis.internal.conjecture.providers")
        getattr(providers, "_get_local_constants", lambda: None)()
    html.template()  # every run writes report.html


def _attributable(report: dict[str, Any], drift: Drift) -> list[dict[str, Any]]:
    return [finding for finding in report["findings"] if finding["rule"]["id"] in drift.breaks]


# -- plain schemathesis ------------------------------------------------------------------------------


def _toml(config: dict[str, Any]) -> str:
    """Just enough TOML for a schemathesis config of string headers and parameters."""
    lines = []
    for table, values in config.items():
        lines.append(f"[{table}]")
        lines.extend(f"{json.dumps(key)} = {json.dumps(value)}" for key, value in values.items())
    return "\n".join(lines) + "\n"


def plain_schemathesis(
    vendor: registry.Vendor, base_url: str, seed: int, max_examples: int, workdir: Path, st: plain_st.Server
) -> dict[str, Any]:
    """`st run` with its default checks on each of the vendor's specs; the failures it reports, by key."""
    credentials = dict(emulator.get(vendor.id).default_credentials[0])
    config = vendor.auth.schemathesis_config(credentials, base_url)
    if config is None:
        reason = "its credentials cannot be given to plain `st run` as fixed headers or query parameters"
        return {"applicable": False, "reason": reason}
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "schemathesis.toml"
    config_path.write_text(_toml(config))
    failures: set[str] = set()
    requests = 0
    for spec_file in vendor.spec_files:
        report_dir = workdir / Path(spec_file).stem
        command = [
            "--config-file",
            str(config_path),
            "run",
            str(specs.spec_path(spec_file)),
            "--url",
            base_url,
            "--max-examples",
            str(max_examples),
            "--seed",
            str(seed),
            "--generation-database",
            "none",
            "--continue-on-failure",
            "--report",
            "json",
            "--report-dir",
            str(report_dir),
            "--workers",
            "1",
        ]
        try:
            st.run(command, workdir / f"{Path(spec_file).stem}.log", timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {"applicable": True, "error": "st run timed out"}
        reports = sorted(report_dir.glob("*.json"))
        if not reports:
            return {"applicable": True, "error": "st run wrote no report"}
        data = json.loads(reports[-1].read_text())
        requests += int(data.get("test_cases", {}).get("generated", 0))
        for failure in data.get("failures", []):
            for operation in failure.get("operations", []):
                failures.add(f"{failure['code']} {operation}")
    return {"applicable": True, "failures": sorted(failures), "cases": requests}


def _plain_for(
    vendor: registry.Vendor,
    drift: str | None,
    seed: int,
    max_examples: int,
    workdir: Path,
    st: plain_st.Server,
    fork: bool = False,
) -> dict[str, Any]:
    drifts = {vendor.id: frozenset({drift})} if drift else {}
    serving = server.forked if fork else child.spawned
    with serving([vendor.id], drifts) as urls:
        return plain_schemathesis(vendor, urls[vendor.id], seed, max_examples, workdir, st)


# -- the whole selftest --------------------------------------------------------------------------------


def _url_run(
    vendor_ids: list[str],
    drifts: dict[str, Drift],
    mode: str,
    seed: int,
    profile: str,
    out: Path,
    main: Main | None = None,
) -> tuple[RunOutcome, float]:
    """Serve the emulators (each vendor with its drift, if any) in one child and run the suite at them as URL
    targets, in one `imgconf run`: one process start for several vendors, each stopping at its own drift."""
    started = time.monotonic()
    serving = server.forked if main is not None else child.spawned
    with serving(vendor_ids, {vendor: frozenset({drift.name}) for vendor, drift in drifts.items()}) as urls:
        served = time.monotonic() - started
        config = out.parent / f"{out.name}.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "".join(f'[targets."{urls[v]}"]\nlatency_budget_s = {SERVED_LATENCY_BUDGET_S}\n' for v in vendor_ids)
        )
        env: dict[str, str] = {}
        args = ["--target", ",".join(f"{vendor}={urls[vendor]}" for vendor in vendor_ids)]
        for vendor in vendor_ids:
            args += ["--vendor", vendor]
            env.update(emulator_env(registry.get(vendor)))
        args += ["--seed", str(seed), "--profile", profile, "--config", str(config)]
        args += ["--thorough"] if mode == "thorough" else []
        args += [f"--stop-on-rule={rule}" for drift in drifts.values() for rule in drift.breaks]
        return _imgconf(args, out, main, env), served


def _batches(drifts: list[Drift]) -> list[dict[str, Drift]]:
    """The drifts in runs of at most one per vendor: each run serves and tests every vendor of its batch."""
    per_vendor: dict[str, list[Drift]] = {}
    for drift in drifts:
        per_vendor.setdefault(drift.vendor, []).append(drift)
    count = max((len(items) for items in per_vendor.values()), default=0)
    return [
        {vendor: items[index] for vendor, items in per_vendor.items() if index < len(items)} for index in range(count)
    ]


def _waits(drifts: Iterable[Drift]) -> bool:
    """Whether a run of these drifts spends most of its time waiting: a latency drift answers one request in 25
    late, and its run sleeps through each until its rule's test comes (7-18 s at the smoke profile)."""
    return any(drift.category == Category.LATENCY for drift in drifts)


def _spread(waiting: list[Callable[[], Any]], runs: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
    """`runs` with the `waiting` ones placed evenly among them, the first at the start: 3 among 30 go 1st, 11th
    and 21st."""
    order = list(runs)
    total = len(runs) + len(waiting)
    for index, run in enumerate(waiting):
        order.insert(index * total // len(waiting), run)
    return order


def _not_checked(report: dict[str, Any], rules: tuple[str, ...]) -> dict[str, str]:
    """Which of `rules` the run's coverage lists as not checked, and why."""
    found: dict[str, str] = {}
    for vendor in report.get("vendors", []):
        for item in (vendor.get("coverage") or {}).get("not_checked", []):
            if item["rule"] in rules:
                found[item["rule"]] = item["why"]
    return found


@dataclass
class Selftest:
    vendors: list[str]
    seeds: int
    profile: str
    workers: int = 2
    plain: bool = True
    progress: Callable[[str], None] = lambda message: None
    # `imgconf.cli.main`, to fork runs from this warm process; None: every run a fresh interpreter.
    main: Main | None = None

    def __post_init__(self) -> None:
        self.progress = forking.quietly(self.progress)

    # The drifts served over HTTP too, run as URL targets in these modes (empty: in-process only).
    http_modes: tuple[str, ...] = ()
    # vendor -> mode -> the faithful emulator's URL run (filled by `run`)
    http_faithful: dict[str, dict[str, Any]] = field(default_factory=dict)

    def run(self, work: Path) -> dict[str, Any]:
        """Run everything, keeping each run's reports under `work`."""
        started = datetime.now(UTC)
        if self.main is not None:
            warm(self.vendors)
        profile = profiles.get(self.profile)
        # A drift's seed follows its place in the whole catalogue, so a selftest of some vendors runs each of
        # their drifts exactly as the selftest of all vendors does.
        seeded = [
            (drift, index % max(1, self.seeds))
            for index, drift in enumerate(emulator.catalogue())
            if drift.vendor in self.vendors
        ]
        drifts = [drift for drift, _ in seeded]
        # The runs that mostly wait are spread over the pool's order, the first of them first, so that their sleep
        # overlaps the others' work: started last, a latency drift's run had kept the selftest waiting on it alone,
        # the other runs done; started all at once, they left both of the pool's slots asleep.
        waiting: list[Callable[[], Any]] = []
        runs: list[Callable[[], Any]] = []

        def queue(run: Callable[[], Any], drifts: Iterable[Drift] = ()) -> None:
            (waiting if _waits(drifts) else runs).append(run)

        for seed in range(self.seeds):
            queue(partial(self._faithful, seed, work / f"faithful-{seed}"))
        for drift, seed in seeded:
            queue(partial(self._drift, drift, seed, work / drift.name), [drift])
        for mode in self.http_modes:
            queue(partial(self._http_faithful, mode, work / f"http-{mode}-faithful"))
            for index, batch in enumerate(_batches(drifts)):
                queue(partial(self._http_drifts, batch, mode, work / f"http-{mode}-batch-{index}"), batch.values())
        # Plain `st run` is forked from an interpreter that has imported schemathesis alone (runner/plain_st.py).
        st = plain_st.Server() if self.plain else None
        if st is not None:
            for vendor_id in self.vendors:
                queue(partial(self._plain, st, vendor_id, None, profile.max_examples, work))
            for drift in drifts:
                queue(partial(self._plain, st, drift.vendor, drift, profile.max_examples, work), [drift])
        seeds: list[SeedResult] = []
        results: list[DriftResult] = []
        http_drifts: dict[tuple[str, str], dict[str, Any]] = {}
        plain_faithful: dict[str, dict[str, Any]] = {}
        plain_drifts: dict[str, dict[str, Any]] = {}
        self.http_faithful = {}
        # The server inside the pool: left by Ctrl-C or a failure, it stops its `st` runs before the pool waits.
        with ThreadPoolExecutor(max_workers=self.workers) as pool, st or contextlib.nullcontext():
            for outcome in pool.map(lambda job: job(), _spread(waiting, runs)):
                if isinstance(outcome, SeedResult):
                    seeds.append(outcome)
                elif isinstance(outcome, DriftResult):
                    results.append(outcome)
                elif outcome[0] == "http-drifts":
                    http_drifts.update(outcome[1])
                elif outcome[0] == "http-faithful":
                    for vendor_id, result in outcome[1].items():
                        self.http_faithful.setdefault(vendor_id, {})[outcome[2]] = result
                elif outcome[2] is None:  # ("plain", vendor, drift or None, its result)
                    plain_faithful[outcome[1]] = outcome[3]
                else:
                    plain_drifts[outcome[2]] = outcome[3]
        for result in results:
            result.over_http = {mode: http_drifts[(result.drift, mode)] for mode in self.http_modes}
            if self.plain:
                result.plain_schemathesis = _plain_verdict(
                    plain_drifts[result.drift], plain_faithful.get(result.vendor, {})
                )
        return self._summary(started, seeds, sorted(results, key=lambda r: r.drift), plain_faithful, work)

    def _plain(
        self, st: plain_st.Server, vendor_id: str, drift: Drift | None, max_examples: int, work: Path
    ) -> tuple[str, str, str | None, dict[str, Any]]:
        """Plain `st run` against the vendor's faithful emulator (`drift` None) or against that drift."""
        name = drift.name if drift else None
        workdir = work / (f"st-{name}" if name else f"st-faithful-{vendor_id}")
        plain = _plain_for(registry.get(vendor_id), name, 0, max_examples, workdir, st, fork=self.main is not None)
        return ("plain", vendor_id, name, plain)

    def _http_drifts(
        self, batch: dict[str, Drift], mode: str, out: Path
    ) -> tuple[str, dict[tuple[str, str], dict[str, Any]]]:
        """A batch of drifts (one per vendor), served, run as URL targets in `mode`: per drift, caught, not
        checkable in this mode, or escaped."""
        outcome, served = _url_run(sorted(batch), batch, mode, 0, self.profile, out, self.main)
        report = outcome.report or {"findings": [], "requests": 0, "vendors": []}
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for vendor_id, drift in batch.items():
            vendor: dict[str, Any] = next((item for item in report.get("vendors", []) if item["id"] == vendor_id), {})
            hits = [finding for finding in _attributable(report, drift) if finding["vendor"] == vendor_id]
            caught = vendor.get("state") == "non-conformant" and bool(hits)
            unchecked = {} if caught else _not_checked({"vendors": [vendor]}, drift.breaks)
            if not caught and mode == "careful" and str(drift.category) == "latency regression":
                # A careful run samples 3 answers at the live budget; this drift slows one in 25.
                unchecked = {rule: "a careful run samples 3 answers, the drift slows 1 in 25" for rule in drift.breaks}
            checkable = caught or len(unchecked) < len(drift.breaks)
            verdict = "caught" if caught else ("ESCAPED" if checkable else "not checkable")
            self.progress(f"{drift.name} over HTTP, {mode}: {verdict}")
            sequence = [finding["seq"] for finding in hits if finding.get("seq")]
            found[(drift.name, mode)] = {
                "caught": caught,
                "checkable": checkable,
                "verdict": verdict,
                "not_checked": unchecked,
                "state": vendor.get("state"),
                "rules_named": sorted({f["rule"]["id"] for f in report["findings"] if f["vendor"] == vendor_id}),
                "requests_to_detection": min(sequence) if sequence else None,
                "requests": vendor.get("requests", 0),
                "batch": sorted(item.name for item in batch.values()),
                "seconds": round(outcome.seconds + served, 2),  # of the whole batch's run
                "error": outcome.error,
            }
        return ("http-drifts", found)

    def _http_faithful(self, mode: str, out: Path) -> tuple[str, dict[str, dict[str, Any]], str]:
        """The faithful emulators, served, run as URL targets in `mode`: conformant, with their coverage."""
        outcome, served = _url_run(list(self.vendors), {}, mode, 0, self.profile, out, self.main)
        report = outcome.report or {"findings": [], "requests": 0, "vendors": []}
        self.progress(f"faithful emulators over HTTP, {mode}: exit {outcome.code}")
        found: dict[str, dict[str, Any]] = {}
        for vendor_id in self.vendors:
            vendor: dict[str, Any] = next((item for item in report.get("vendors", []) if item["id"] == vendor_id), {})
            coverage = vendor.get("coverage") or {}
            tests = vendor.get("tests") or {}
            found[vendor_id] = {
                "conformant": vendor.get("state") == "conformant",
                "state": vendor.get("state"),
                "false_positives": [
                    f"{f['rule']['id']}: {f['title']}" for f in report["findings"] if f["vendor"] == vendor_id
                ],
                "tests": sum(tests.values()),
                "skipped": sum(count for name, count in tests.items() if name not in ("passed", "failed")),
                "requests": vendor.get("requests", 0),
                "rules_checked": coverage.get("checked"),
                "rules_total": coverage.get("total"),
                "seconds": round(outcome.seconds + served, 2),  # of the run of every vendor
                "error": outcome.error,
            }
        return ("http-faithful", found, mode)

    def _faithful(self, seed: int, out: Path) -> SeedResult:
        args = [*self._vendor_args(self.vendors), "--seed", str(seed), "--profile", self.profile]
        outcome = _imgconf(args, out, self.main)
        self.progress(f"faithful seed {seed}: exit {outcome.code}")
        report = outcome.report or {"findings": [], "requests": 0}
        return SeedResult(
            seed=seed,
            conformant=outcome.code == 0,
            exit_code=outcome.code,
            false_positives=[
                {
                    "vendor": f["vendor"],
                    "rule": f["rule"]["id"],
                    "check": f["check"],
                    "title": f["title"],
                    "test": f["test"],
                }
                for f in report["findings"]
            ],
            requests=report["requests"],
            seconds=round(outcome.seconds, 2),
            error=outcome.error,
        )

    def _drift(self, drift: Drift, seed: int, out: Path) -> DriftResult:
        outcome = _imgconf(
            [
                "--vendor",
                drift.vendor,
                "--drift",
                drift.name,
                "--seed",
                str(seed),
                "--profile",
                self.profile,
                *(f"--stop-on-rule={rule}" for rule in drift.breaks),
            ],
            out,
            self.main,
        )
        report = outcome.report or {"findings": [], "requests": 0}
        hits = _attributable(report, drift)
        caught = outcome.code == 1 and bool(hits)
        self.progress(f"{drift.name}: {'caught' if caught else 'ESCAPED'}")
        sequence = [finding["seq"] for finding in hits if finding.get("seq")]
        return DriftResult(
            drift=drift.name,
            vendor=drift.vendor,
            category=str(drift.category),
            imitates=drift.imitates,
            breaks=list(drift.breaks),
            seed=seed,
            caught=caught,
            exit_code=outcome.code,
            rules_named=sorted({f["rule"]["id"] for f in report["findings"]}),
            caught_by=sorted({f["check"] for f in hits}),
            requests_to_detection=min(sequence) if sequence else None,
            requests=report["requests"],
            seconds=round(outcome.seconds, 2),
            error=outcome.error,
        )

    @staticmethod
    def _vendor_args(vendors: list[str]) -> list[str]:
        return [arg for vendor in vendors for arg in ("--vendor", vendor)]

    def _summary(
        self,
        started: datetime,
        seeds: list[SeedResult],
        results: list[DriftResult],
        plain_faithful: dict[str, dict[str, Any]],
        work: Path,
    ) -> dict[str, Any]:
        escaped = [r.drift for r in results if not r.caught]
        false_positives = [s.seed for s in seeds if not s.conformant]
        http: dict[str, Any] = {}
        for mode in self.http_modes:
            column = [r.over_http[mode] for r in results]
            http[mode] = {
                "caught": sum(1 for item in column if item["caught"]),
                "not_checkable": sorted(r.drift for r in results if r.over_http[mode]["verdict"] == "not checkable"),
                "escaped": sorted(r.drift for r in results if r.over_http[mode]["verdict"] == "ESCAPED"),
                "false_positive_vendors": sorted(
                    vendor for vendor, modes in self.http_faithful.items() if not modes[mode]["conformant"]
                ),
            }
        # Careful mode may leave a drift unchecked (its rule needs --thorough); thorough mode may not.
        http_failed = any(
            column["escaped"] or column["false_positive_vendors"] or (mode == "thorough" and column["not_checkable"])
            for mode, column in http.items()
        )
        plain_applicable = [r for r in results if r.plain_schemathesis.get("applicable")]
        categories: dict[str, dict[str, list[str]]] = {}
        for result in results:
            categories.setdefault(result.category, {}).setdefault(result.vendor, []).append(result.drift)
        return {
            "format": "imgconf-selftest/1",
            "imgconf": __version__,
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "profile": self.profile,
            "vendors": self.vendors,
            "seeds": [asdict(seed) for seed in sorted(seeds, key=lambda s: s.seed)],
            "drifts": [asdict(result) for result in results],
            "plain_schemathesis_faithful": plain_faithful,
            "categories": categories,
            "summary": {
                "drifts": len(results),
                "caught": len(results) - len(escaped),
                "escaped": escaped,
                "sensitivity": round((len(results) - len(escaped)) / len(results), 4) if results else None,
                "faithful_runs": len(seeds),
                "false_positive_runs": false_positives,
                "plain_schemathesis_caught": sum(1 for r in plain_applicable if r.plain_schemathesis.get("caught")),
                "plain_schemathesis_applicable": len(plain_applicable),
                "plain_schemathesis_false_positives": sorted(
                    {f for data in plain_faithful.values() for f in data.get("failures", [])}
                ),
            },
            "over_http": {"modes": list(self.http_modes), "summary": http, "faithful": self.http_faithful},
            "work_dir": str(work),
            "ok": not escaped and not false_positives and not http_failed,
        }


def _plain_verdict(drifted: dict[str, Any], faithful: dict[str, Any]) -> dict[str, Any]:
    if not drifted.get("applicable"):
        return drifted
    if "error" in drifted or "error" in faithful:
        return {**drifted, "caught": False, "new_failures": [], "error": drifted.get("error") or faithful.get("error")}
    new = sorted(set(drifted["failures"]) - set(faithful.get("failures", [])))
    return {"applicable": True, "caught": bool(new), "new_failures": new, "cases": drifted.get("cases")}
