"""The sentences every output uses to say what a run found, so the terminal, summary.md, report.html and
junit.xml say it in the same words."""

from __future__ import annotations

from imgconf.report.outcome import RunOutcome, State, VendorOutcome, vendor_exit_state

MEANING: dict[State, str] = {
    State.CONFORMANT: "every rule that was checked held",
    State.NON_CONFORMANT: "the vendor broke its documented contract (or a rule this project states)",
    State.UNREACHABLE: "the target did not answer: an outage, not a contract violation",
    State.RETIRED: "the service is past its announced retirement date and did not answer",
    State.CREDENTIALS_REJECTED: "the vendor refused the configured credential: the operator's to fix",
    State.INCOMPLETE: "the run could not check everything (budget or time ran out, or nothing could be checked)",
    State.INTERRUPTED: "the run was stopped by the operator before it finished",
    State.ERROR: "imgconf could not run this vendor's suite (its own error, not the vendor's)",
}


def score_text(score: float | None) -> str:
    return "–" if score is None else f"{score * 100:.0f}%"


def vendor_line(vendor: VendorOutcome) -> str:
    """One line on a vendor beyond its state: why, and what was cut short."""
    parts = [part for part in (vendor.reason, vendor.cut_short) if part]
    if vendor.state is State.NON_CONFORMANT and vendor.cut_short:
        parts = [f"cut short: {vendor.cut_short}"]
    return "; ".join(dict.fromkeys(parts))


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
        return f"gate: {run.gate.describe()} fail the run; the {len(held)} findings here are shown, not counted"
    return None


def findings_sentence(run: RunOutcome) -> str:
    """What the findings list means, which depends on whether anything was checked at all."""
    if run.findings:
        own = sum(1 for finding in run.findings if finding.kind == "application")
        if own:  # imgconf proxy: the application's own requests, never the vendor's fault
            vendor = len(run.findings) - own
            return f"{vendor} findings of the vendor, {own} in the application's own requests"
        return f"{len(run.findings)} findings"
    if run.interrupted:
        return "no findings in what ran before the run was interrupted"
    if all(vendor.score is None for vendor in run.vendors):
        return "no findings, because nothing was checked"
    if all(vendor.state is State.CONFORMANT for vendor in run.vendors):
        return "no findings: every exercised check passed"
    return "no findings in what could be checked"


def headline(run: RunOutcome) -> str:
    return f"{run.state} · {findings_sentence(run)} · {run.requests} requests · exit {run.exit_code}"
