"""`imgconf run --workers N`: vendors in parallel on N processes, merged into the one outcome a single run gives.

Each worker is a fork of this process (`imgconf.runner.worker`) that builds its options from the same values as
the parent, for its share of the vendors, and runs them exactly as `imgconf run` does; its progress and its
`RunOutcome` come back pickled over a pipe. Vendors never share state, so the merge is a concatenation,
except for the finding ids: a single run numbers findings over all vendors in (vendor, fingerprint) order,
so the merge numbers them again the same way and renames what carries an id (tests' finding lists, evidence
files and the reproducers that name them). Same seed, same verdicts, same ids, whatever N is.

Stopping is the parent's: the workers run in process groups of their own (Ctrl-C at the terminal reaches
the parent alone), and on Ctrl-C or SIGTERM the parent passes the same signal on to each worker once and
waits for their interrupted outcomes, so the report names the signal the operator sent, as a single
process's does. A second Ctrl-C or SIGTERM kills the workers.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import secrets
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from imgconf import vendors as registry
from imgconf.emulator import forking
from imgconf.errors import ExitCode, ImgconfError, UsageError
from imgconf.report.outcome import Evidence, RunOutcome, Target
from imgconf.runner import run as runner
from imgconf.runner import worker
from imgconf.runner.worker import WorkerResult, share_options
from imgconf.testing.collector import Collector
from imgconf.testing.options import SuiteOptions
from imgconf.wire.recorder import Recorder

AUTO = None  # `--workers auto`
EXIT_GRACE_S = 10.0  # a worker that has handed back its outcome gets this long to exit


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve(requested: int | None, options: SuiteOptions, cores: int | None = None) -> int:
    """How many processes a run uses, never more than one per vendor: `requested`, or for `auto` one per core.

    `auto` stays at one process where a second would change what the operator sees or spends: a target
    whose vendors' accounts, callback address or cassette are the operator's (`parallel` False: live, a
    URL, a replay; recording is only for those).
    """
    if requested is not None:
        return max(1, min(requested, len(options.vendors)))
    if not options.target.parallel:
        return 1
    return max(1, min(cores or usable_cores(), len(options.vendors)))


def shares(vendors: list[str], workers: int, cost: Mapping[str, int] | None = None) -> list[list[str]]:
    """The vendors split into at most `workers` groups of about equal `cost`, each in the run's vendor order.

    Longest first, each to the group with the least so far (the LPT rule): with one vendor four times the
    others (identifai has 22 operations, the other three 10 together), round-robin left one worker idle for
    a third of the run. Equal costs (or none) split round-robin.
    """
    count = max(1, min(workers, len(vendors)))
    weights = {vendor: (cost or {}).get(vendor, 1) for vendor in vendors}
    groups: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for vendor in sorted(vendors, key=lambda vendor: -weights[vendor]):  # stable: ties keep the run's order
        lightest = loads.index(min(loads))
        groups[lightest].append(vendor)
        loads[lightest] += weights[vendor]
    order = {vendor: index for index, vendor in enumerate(vendors)}
    return [sorted(group, key=order.__getitem__) for group in groups]


def operation_counts(vendors: list[str]) -> dict[str, int]:
    """Each vendor's number of operations, what its suites' cost grows with (its specs are loaded already)."""
    return {vendor.id: sum(len(spec.operations) for spec in vendor.specs) for vendor in registry.select(vendors)}


@dataclass
class _Worker:
    vendors: list[str]
    process: forking.Forked
    log: Path
    ready: bool = False
    signalled: bool = False
    result: WorkerResult | None = None
    progress: dict[str, runner.VendorProgress] = field(default_factory=dict)

    @property
    def code(self) -> int | None:
        """Its exit code once reaped (negative: the signal that killed it)."""
        return self.process.returncode

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, name: str) -> None:
        """The parent's signal, passed on once, when the worker can take it in order (else on "ready")."""
        if self.ready and not self.signalled and self.running():
            self.signalled = True
            os.kill(self.process.pid, signal.Signals[name])

    def wait(self, timeout: float) -> None:
        """Reap it, killing it if it is still there after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.running():
            self.kill()

    def kill(self) -> None:
        """SIGKILL for its whole process group (it leads one), so what it forked goes with it: a served emulator
        holds the worker's pipe to this process, as every fork holds its parent's descriptors, and only Linux
        ties it to the worker besides (`forking._tie`)."""
        if self.running():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:  # its group is not set yet (it was killed on its way there): the worker
                self.process.kill()
            self.process.wait()

    def last_words(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"


@dataclass
class Pool:
    """The started workers of a run, and what their events come in on."""

    options: SuiteOptions
    values: dict[str, Any]
    workers: list[_Worker]
    events: queue.Queue[tuple[int, Any]]
    started: float


def _relay(read: int, index: int, events: queue.Queue[tuple[int, Any]]) -> None:
    with os.fdopen(read, "rb") as channel:
        while True:
            try:
                events.put((index, pickle.load(channel)))
            except (EOFError, pickle.UnpicklingError):
                break
    events.put((index, None))


@contextlib.contextmanager
def started(options: SuiteOptions, values: dict[str, Any], count: int) -> Iterator[Pool]:
    """The workers, forked from this process; none outlives the block.

    Forked, not started afresh: this process has imported the suites' libraries and loaded the specs
    (the preflight), which a fresh interpreter spends ~0.8 s of every worker's start on. So they are forked
    first, before this process starts a thread (the progress display's, the relays'), which a child could
    inherit holding a lock.
    """
    if options.record or values.get("replay") is not None:
        raise UsageError("--workers runs one cassette per process; use --record and --replay with --workers 1")
    runner.preflight(options)
    begun = time.time()
    events: queue.Queue[tuple[int, Any]] = queue.Queue()
    pool = Pool(options, values, [], events, begun)
    channels: list[int] = []
    with tempfile.TemporaryDirectory(prefix="imgconf-workers-") as logs:
        try:
            for index, group in enumerate(shares(options.vendors, count, operation_counts(options.vendors))):
                read, write = os.pipe()
                log = Path(logs) / f"worker-{index}.log"
                pid = forking.start(partial(_forked, write, [*channels, read], values, group), log, own_group=True)
                os.close(write)
                channels.append(read)
                pool.workers.append(_Worker(group, forking.Forked(pid), log))
            for index, read in enumerate(channels):
                threading.Thread(
                    target=_relay, args=(read, index, events), name=f"imgconf-worker-{index}", daemon=True
                ).start()
            yield pool
        finally:
            for one in pool.workers:
                one.kill()


def _forked(write: int, inherited: list[int], values: dict[str, Any], vendors: list[str]) -> int:
    for fd in inherited:  # the read ends of this pipe and the ones before: the parent's, not this worker's
        os.close(fd)
    return worker.serve(write, values, vendors)


@contextlib.contextmanager
def _signals_as_flags() -> Iterator[list[str]]:
    """Ctrl-C and SIGTERM, while the workers run, only noted (in the yielded list, in the order given)."""
    given: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        given.append(signal.Signals(signum).name)

    with runner.on_signals(handler):
        yield given


def _wait(pool: Pool, on_progress: runner.Progress | None) -> str | None:
    """Every worker's events until each has closed its pipe; the signal the run was stopped by, if any."""
    workers = pool.workers
    open_channels = len(workers)
    with _signals_as_flags() as given:
        while open_channels:
            if given:
                for one in workers:
                    one.stop(given[0])
                if len(given) > 1:  # asked twice: stop waiting for an orderly end
                    for one in workers:
                        one.kill()
            try:
                index, event = pool.events.get(timeout=0.1)
            except queue.Empty:
                continue
            one = workers[index]
            if event is None:
                open_channels -= 1
            elif event[0] == "ready":
                one.ready = True
            elif event[0] == "progress":
                one.progress = event[1]
                if on_progress is not None:
                    on_progress({vendor: state for w in workers for vendor, state in w.progress.items()})
            elif event[0] == "result":
                one.result = event[1]
        for one in workers:  # its outcome is in; whatever keeps it alive past the grace is not ours to wait on
            one.wait(EXIT_GRACE_S)
        return given[0] if given else None


def finish(pool: Pool, on_progress: runner.Progress | None = None) -> RunOutcome:
    """The workers' progress relayed until they are done; their outcomes merged into the run's."""
    stopped_by = _wait(pool, on_progress)
    outcomes = []
    for one in pool.workers:
        outcome, message, code = one.result or (None, None, 0)
        if message is not None:
            raise UsageError(message) if code == ExitCode.USAGE else ImgconfError(message)
        if outcome is None and stopped_by is None:
            raise ImgconfError(
                f"the worker running {', '.join(one.vendors)} stopped (exit {one.code}) "
                f"without an outcome: {one.last_words()}"
            )
        outcomes.append(outcome or _not_run(pool.values, one.vendors, stopped_by))
    merged = merge(pool.options, outcomes, pool.started)
    return replace(merged, interrupted=stopped_by) if stopped_by else merged


def execute(
    options: SuiteOptions, values: dict[str, Any], workers: int, on_progress: runner.Progress | None = None
) -> RunOutcome:
    """Run `options.vendors` on `workers` processes; `values` are the keyword arguments of `from_values`."""
    with started(options, values, workers) as pool:
        return finish(pool, on_progress)


def _not_run(values: dict[str, Any], vendors: list[str], stopped_by: str | None) -> RunOutcome:
    """The outcome of vendors whose worker was stopped before their suites started: nothing ran."""
    return Collector(share_options(values, vendors), Recorder()).build(interrupted=stopped_by)


def _renamed(evidence: Evidence, old: str, new: str) -> Evidence:
    if old == new:
        return evidence
    files = {
        (new + name[len(old) :] if name.startswith(f"{old}-") else name): data for name, data in evidence.files.items()
    }
    curl = evidence.curl.replace(f"evidence/{old}-", f"evidence/{new}-") if evidence.curl else evidence.curl
    return replace(evidence, files=files, curl=curl)


def merge(options: SuiteOptions, outcomes: list[RunOutcome], started: float) -> RunOutcome:
    """One outcome from the workers' outcomes, as one process running every vendor would have built it."""
    order = {vendor: index for index, vendor in enumerate(options.vendors)}
    renames: list[dict[str, str]] = [{} for _ in outcomes]
    tagged = [(group, finding) for group, outcome in enumerate(outcomes) for finding in outcome.findings]
    tagged.sort(key=lambda item: (item[1].vendor, item[1].fingerprint))
    findings = []
    for index, (group, finding) in enumerate(tagged, start=1):
        new = f"F{index}"
        renames[group][finding.id] = new
        findings.append(replace(finding, id=new, evidence=_renamed(finding.evidence, finding.id, new)))
    tests = [
        replace(record, findings=[renames[group].get(found, found) for found in record.findings])
        for group, outcome in enumerate(outcomes)
        for record in outcome.tests
    ]
    tests.sort(key=lambda record: order.get(record.vendor, len(order)))
    vendors = sorted((v for outcome in outcomes for v in outcome.vendors), key=lambda v: order.get(v.id, len(order)))
    first = outcomes[0]
    urls = {vendor: url for outcome in outcomes for vendor, url in outcome.target.urls.items()}
    target = Target(
        kind=first.target.kind,
        description=options.target.describe(),
        urls=urls,
        drifts=sorted({name for outcome in outcomes for name in outcome.target.drifts}),
        key=options.target.key(urls),
    )
    begun = datetime.fromtimestamp(started, UTC)
    finished = max(outcome.finished_at for outcome in outcomes)
    return replace(
        first,
        run_id=f"{begun.strftime('%Y%m%dT%H%M%SZ')}-{first.target.kind}-{'-'.join(options.vendors)}"
        f"-{secrets.token_hex(2)}",
        started_at=begun.isoformat(timespec="seconds"),
        finished_at=finished,
        duration_s=time.time() - started,
        target=target,
        vendors=vendors,
        findings=findings,
        cells=sorted((c for o in outcomes for c in o.cells), key=lambda c: (c.vendor, c.operation, c.check)),
        tests=tests,
        requests=sum(outcome.requests for outcome in outcomes),
        notes=[note for outcome in outcomes for note in outcome.notes],
        interrupted=next((outcome.interrupted for outcome in outcomes if outcome.interrupted), None),
    )
