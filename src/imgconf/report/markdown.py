"""summary.md, from the run outcome: what a PR comment or a CI job summary shows."""

from __future__ import annotations

from typing import Any

from imgconf.report.outcome import RunOutcome, State
from imgconf.report.wording import (
    MEANING,
    cases_text,
    counted,
    coverage_cell,
    coverage_text,
    findings_sentence,
    gate_note,
    score_text,
    tests_text,
    unchecked_where,
    vendor_line,
)

ICONS = {
    State.CONFORMANT: "✅",
    State.NON_CONFORMANT: "❌",
    State.UNREACHABLE: "⚠️",
    State.RETIRED: "🪦",
    State.CREDENTIALS_REJECTED: "🔑",
    State.INCOMPLETE: "◐",
    State.INTERRUPTED: "⏹",
    State.ERROR: "💥",
}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def render(run: RunOutcome) -> str:
    state = run.state
    lines = [
        f"## imgconf: {ICONS[state]} {state} · exit {run.exit_code}",
        "",
        f"{MEANING[state]}; {findings_sentence(run)}.",
        "",
        f"Run `{run.run_id}` ({run.kind}) · target **{run.target.description}**"
        + (f" · drift {', '.join(run.target.drifts)}" if run.target.drifts else "")
        + f" · {cases_text(run)} · {counted(run.requests, 'request')} · {run.duration_s:.1f} s",
        "",
        "| vendor | state | score | rules checked | findings | requests | tests | why |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for vendor in run.vendors:
        lines.append(
            f"| {vendor.title} | {ICONS[vendor.state]} {vendor.state} | {score_text(vendor.score)} "
            f"| {coverage_cell(vendor)} | {vendor.findings} | {vendor.requests} "
            f"| {tests_text(run, vendor)} "
            f"| {_cell(vendor_line(vendor) or '')} |"
        )
    notes = [note for note in (gate_note(run), run.history_error) if note] + run.notes
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    uncovered = [vendor for vendor in run.vendors if vendor.coverage and vendor.coverage.not_checked]
    if uncovered:
        lines += ["", f"<details><summary>Rules not checked {unchecked_where(run)}</summary>", ""]
        for vendor in uncovered:
            assert vendor.coverage is not None
            lines.append(f"**{vendor.title}**: {coverage_text(vendor.coverage.checked, vendor.coverage.total)}")
            lines.append("")
            lines += [f"- `{item.rule}`: {_cell(item.why)}" for item in vendor.coverage.not_checked]
            lines.append("")
        lines.append("</details>")
    diff = run.diff
    if diff is not None:
        lines += [
            "",
            f"### Since each vendor's previous run ({diff.previous_run or 'none'})",
            "",
            f"{len(diff.new)} new · {len(diff.fixed)} fixed · {len(diff.persisting)} persisting",
            "",
        ]
        for label, items in (("New", diff.new), ("Fixed", diff.fixed)):
            for item in items:
                lines.append(
                    f"- {label}: `{item.rule}` on {item.operation or '-'} ({item.vendor}) — "
                    f"{_cell(item.title)}; first seen {item.first_seen or 'now'}"
                )
    if run.findings:
        lines += [
            "",
            "### Findings",
            "",
            "| id | vendor | operation | rule | basis | check | what |",
            "|---|---|---|---|---|---|---|",
        ]
        for finding in run.findings:
            status = f" ({finding.status})" if finding.status else ""
            lines.append(
                f"| {finding.id}{status} | {finding.vendor} | {_cell(finding.operation or '-')} "
                f"| `{finding.rule['id']}` | {finding.rule['basis']} | {finding.check} "
                f"| {_cell(finding.title)}: {_cell(_first_line(finding.message))} |"
            )
        lines += ["", "<details><summary>Reproduce</summary>", ""]
        for finding in run.findings:
            if finding.evidence.curl:
                lines += [f"**{finding.id}** `{finding.rule['id']}`", "", "```sh", finding.evidence.curl, "```", ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"
