"""`imgconf run --workers N`: vendors in parallel on N processes, merged into the one outcome a single run gives.

Each worker is a fresh (spawned) process that builds its options from the same values as the parent, for
its share of the vendors, and runs them exactly as `imgconf run` does (`runner.run.execute`); its
`RunOutcome` comes back pickled. Vendors never share state, so the merge is a concatenation, except for the
finding ids: a single run numbers findings over all vendors in (vendor, fingerprint) order, so the merge
numbers them again the same way and renames what carries an id (tests' finding lists, evidence files and the
reproducers that name them). Same seed, same verdicts, same ids, whatever N is.
"""

from __future__ import annotations

import multiprocessing
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from imgconf.errors import ExitCode, ImgconfError, UsageError
from imgconf.report.outcome import Evidence, RunOutcome, Target
from imgconf.runner import run as runner
from imgconf.testing.options import SuiteOptions

# What a worker hands back: its outcome, or the one-line error and exit code it stopped with.
WorkerResult = tuple[RunOutcome | None, str | None, int]


def shares(vendors: list[str], workers: int) -> list[list[str]]:
    """The vendors split into at most `workers` groups, round-robin (the slow vendors are spread out)."""
    count = max(1, min(workers, len(vendors)))
    return [vendors[index::count] for index in range(count)]


def _work(values: dict[str, Any], vendors: list[str]) -> WorkerResult:
    try:
        drifts = [name for name in values.get("drifts") or [] if name.partition(".")[0] in vendors]
        options = SuiteOptions.from_values(**{**values, "vendors": vendors, "drifts": drifts})
        outcome, _artifacts = runner.execute(options)
    except ImgconfError as exc:
        return None, exc.message, int(exc.exit_code)
    return outcome, None, 0


def execute(options: SuiteOptions, values: dict[str, Any], workers: int) -> RunOutcome:
    """Run `options.vendors` on `workers` processes; `values` are the keyword arguments of `from_values`."""
    if options.record or values.get("replay") is not None:
        raise UsageError("--workers runs one cassette per process; use --record and --replay with --workers 1")
    runner.preflight(options)
    started = time.time()
    context = multiprocessing.get_context("spawn")  # no inherited pytest or emulator state
    groups = shares(options.vendors, workers)
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=context) as pool:
        results = list(pool.map(_work, [values] * len(groups), groups))
    for outcome, message, code in results:
        if outcome is None:
            raise (UsageError(message or "") if code == ExitCode.USAGE else ImgconfError(message or ""))
    return merge(options, [outcome for outcome, _, _ in results if outcome is not None], started)


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
