"""The sentences every output uses to say what a run found, so the terminal, summary.md, report.html and
junit.xml say it in the same words."""

from __future__ import annotations

from imgconf.report.outcome import RunKind, RunOutcome, State, VendorOutcome, vendor_exit_state

MEANING: dict[State, str] = {
    State.CONFORMANT: "every rule that was checked held",
    State.NON_CONFORMANT: "the vendor broke its documented contract (or a rule this project states)",
    State.UNREACHABLE: (
        "the target did not answer, or nothing at it serves the API: an outage or a wrong address, "
        "not a contract violation"
    ),
    State.RETIRED: "the service is past its announced retirement date and did not answer",
    State.CREDENTIALS_REJECTED: "the vendor refused the configured credential: the operator's to fix",
    State.INCOMPLETE: "the run could not check everything (budget or time ran out, or nothing could be checked)",
    State.INTERRUPTED: "the run was stopped by the operator before it finished",
    State.ERROR: "imgconf could not run this vendor's suite (its own error, not the vendor's)",
}


# Why a rule was not checked on a target: the skip reasons the suites give start with one of these, so
# coverage can say, per rule, what would check it (a mode, a credential, a reachable callback address).
NOT_CHECKED_CALLBACK = "not checked: target cannot reach the callback address"
NOT_CHECKED_THOROUGH = "not checked: needs --thorough"
NOT_CHECKED_CLOCK = "not checked: needs the emulator's clock"
NOT_CHECKED_CREDENTIAL = "not checked: needs a credential you did not provide"
NOT_CHECKED_MUTATIONS = "not checked: needs --allow-mutations or --thorough"
WHY_NOT_CHECKED = {
    NOT_CHECKED_CALLBACK: "target cannot reach the callback address",
    NOT_CHECKED_THOROUGH: "needs --thorough",
    NOT_CHECKED_CLOCK: "needs the emulator's clock",
    NOT_CHECKED_CREDENTIAL: "needs a credential you did not provide",
    NOT_CHECKED_MUTATIONS: "needs --allow-mutations or --thorough",
}
# Runs that hold observed traffic to the specs (`imgconf proxy`, `imgconf validate`) send nothing of their own:
# a rule is unchecked there because the traffic never exercised it, and no seed or profile made any case.
OBSERVED_KINDS = frozenset({RunKind.PROXY, RunKind.VALIDATE})
NOT_EXERCISED = "the observed traffic did not exercise it"
# Below this share of its rules checked, a conformant vendor's line says how little that verdict covers.
LOW_COVERAGE = 0.8


def why_not_checked(reason: str | None) -> str:
    """The short cause of a skip, for the coverage list: one of WHY_NOT_CHECKED, or the reason itself."""
    text = (reason or "").strip()
    for prefix, why in WHY_NOT_CHECKED.items():
        if text.startswith(prefix):
            return why
    if text.startswith(("needs a key", "needs the key", "needs a second key", "no AK/SK", "no IAM user", "no spare")):
        return WHY_NOT_CHECKED[NOT_CHECKED_CREDENTIAL]
    if text.startswith(("unreachable:", "credentials:")):
        return text.split(":", 1)[0]
    return text[:120] or "skipped"


def counted(number: int, noun: str) -> str:
    """`1 request`, `2 requests`: a run against a refused key sends one."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def cases_text(run: RunOutcome) -> str:
    """How the run's cases were made: `profile smoke · seed 0`, or that it only observed traffic."""
    if run.kind in OBSERVED_KINDS or run.seed is None:
        return "observed traffic, no generated cases"
    return f"profile {run.profile} · seed {run.seed}"


def unchecked_where(run: RunOutcome) -> str:
    """Where the rules a run left unchecked went unchecked: on the target, or in the traffic it observed."""
    return _where(run.kind in OBSERVED_KINDS)


def _where(observed: bool) -> str:
    return "in this traffic" if observed else "on this target"


def coverage_text(checked: int, total: int) -> str:
    return f"rules checked {checked} of {total}"


def coverage_cell(vendor: VendorOutcome) -> str:
    """The coverage beside the score: `52/56` (short, for tables)."""
    coverage = vendor.coverage
    return "–" if coverage is None or not coverage.total else f"{coverage.checked}/{coverage.total}"


def why_counts(vendor: VendorOutcome) -> list[tuple[str, int]]:
    """The reasons rules were not checked, most common first."""
    counts: dict[str, int] = {}
    for item in vendor.coverage.not_checked if vendor.coverage else []:
        counts[item.why] = counts.get(item.why, 0) + 1
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def coverage_note(vendor: VendorOutcome) -> str | None:
    """A line for a conformant (or non-conformant) verdict that covers little of the catalogue, else None."""
    coverage = vendor.coverage
    if coverage is None or coverage.ratio is None or coverage.ratio >= LOW_COVERAGE:
        return None
    if vendor.state not in (State.CONFORMANT, State.NON_CONFORMANT):
        return None
    causes = "; ".join(f"{why} ({count})" for why, count in why_counts(vendor)[:4])
    verdict = "conformant" if vendor.state is State.CONFORMANT else "checked"
    # A vendor's line has no run to ask its kind: an observed run's reasons say it.
    observed = any(item.why == NOT_EXERCISED for item in coverage.not_checked)
    return (
        f"{verdict} on {coverage_text(coverage.checked, coverage.total)} ({coverage.ratio * 100:.0f}%), "
        f"low coverage: the rest were not checked {_where(observed)}: {causes}"
    )


def score_text(score: float | None) -> str:
    return "–" if score is None else f"{score * 100:.0f}%"


def vendor_line(vendor: VendorOutcome) -> str:
    """One line on a vendor beyond its state: why, and what was cut short.

    Every place it is shown already names the vendor (its row, its card), so a reason written to stand alone
    ("altum: the vendor refused ...", as a one-line error says it) loses its vendor's prefix here."""
    own = f"{vendor.id}: "
    parts = [part.removeprefix(own) for part in (vendor.reason, vendor.cut_short, coverage_note(vendor)) if part]
    if vendor.state is State.NON_CONFORMANT and vendor.cut_short:
        parts = [f"cut short: {vendor.cut_short.removeprefix(own)}"]
    return "; ".join(dict.fromkeys(parts))


# States in which the vendor's answers were judged; in the others its tests that passed may be only the ones
# that send nothing (a spec's examples held to its schemas), and the tests' count says so.
_JUDGED = frozenset({State.CONFORMANT, State.NON_CONFORMANT})


def tests_text(run: RunOutcome, vendor: VendorOutcome) -> str:
    """`61 passed, 0 failed, 0 not run`; where the vendor's answers were not judged (a refused key, an
    outage), how many of the passed sent nothing: "27 passed" beside a refused key would read as 27 of the
    vendor's answers found right."""
    tests = vendor.tests
    passed = tests.get("passed", 0)
    not_run = sum(count for outcome, count in tests.items() if outcome not in ("passed", "failed"))
    said = f"{passed} passed"
    if vendor.state not in _JUDGED:
        offline = sum(1 for t in run.tests if t.vendor == vendor.id and t.kind == "examples" and t.outcome == "passed")
        if offline:
            said += f" ({'all' if offline == passed else offline} offline)"
    return f"{said}, {tests.get('failed', 0)} failed, {not_run} not run"


def gate_note(run: RunOutcome) -> str | None:
    """Why the exit code is milder than the findings, when the gate held findings back."""
    held = [f for f in run.findings if not run.gate.counts(f)]
    if not held or run.interrupted:
        return None
    passed = any(
        vendor.state is State.NON_CONFORMANT and vendor_exit_state(run, vendor) is not State.NON_CONFORMANT
        for vendor in run.vendors
    )
    if not passed and len(held) < len(run.findings):
        return f"{len(held)} of {len(run.findings)} findings do not fail the run ({run.gate.describe()} do)"
    if passed:
        shown = "the finding here is" if len(held) == 1 else f"the {len(held)} findings here are"
        return f"gate: {run.gate.describe()} fail the run; {shown} shown, not counted"
    return None


def _checked_nothing(vendor: VendorOutcome) -> bool:
    """Whether a vendor's report may say that nothing was checked: its coverage says so.

    Not its score: an outage is unscored but its answers ran checks (the card says "rules checked 19 of 27"
    beside it), and so is a vendor in `error` whose suite broke in its own code after the rest of it ran."""
    if vendor.score is not None:
        return False
    return not (vendor.coverage and vendor.coverage.checked)


def findings_sentence(run: RunOutcome) -> str:
    """What the findings list means, which depends on whether anything was checked at all."""
    if run.findings:
        own = sum(1 for finding in run.findings if finding.kind == "application")
        if own:  # imgconf proxy: the application's own requests, never the vendor's fault
            vendor = len(run.findings) - own
            return f"{counted(vendor, 'finding')} of the vendor, {own} in the application's own requests"
        return counted(len(run.findings), "finding")
    if run.interrupted:
        return "no findings in what ran before the run was interrupted"
    if all(_checked_nothing(vendor) for vendor in run.vendors):
        return "no findings, because nothing was checked"
    if all(vendor.state is State.CONFORMANT for vendor in run.vendors):
        return "no findings: every exercised check passed"
    return "no findings in what could be checked"


def headline(run: RunOutcome) -> str:
    return f"{run.state} · {findings_sentence(run)} · {counted(run.requests, 'request')} · exit {run.exit_code}"
