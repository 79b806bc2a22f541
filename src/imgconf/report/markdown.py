"""summary.md: what a PR comment or a CI job summary shows."""

from __future__ import annotations

from typing import Any

ICONS = {"conformant": "✅", "non-conformant": "❌", "unreachable": "⚠️", "retired": "🪦", "skipped": "➖"}


def _pct(score: float | None) -> str:
    return "–" if score is None else f"{score * 100:.0f}%"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def render(report: dict[str, Any]) -> str:
    lines = [
        f"## imgconf: {ICONS.get(report['verdict'], '')} {report['verdict']}",
        "",
        f"Run `{report['run_id']}` · target **{report['target']['description']}**"
        + (f" · drift {', '.join(report['target']['drifts'])}" if report["target"]["drifts"] else "")
        + f" · profile {report['profile']} · seed {report['seed']} · {report['requests']} requests"
        + f" · {report['duration_s']:.1f} s",
        "",
        "| vendor | verdict | score | findings | requests | tests passed |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for vendor in report["vendors"]:
        tests = vendor["tests"]
        total = sum(tests.values())
        lines.append(
            f"| {vendor['title']} | {ICONS.get(vendor['verdict'], '')} {vendor['verdict']} | {_pct(vendor['score'])} "
            f"| {vendor['findings']} | {vendor['requests']} | {tests.get('passed', 0)}/{total} |"
        )
    notes = [f"- **{v['id']}**: {v['note']}" for v in report["vendors"] if v.get("note")] + [
        f"- {note}" for note in report["notes"]
    ]
    if notes:
        lines += ["", *notes]
    diff = report.get("diff")
    if diff:
        lines += [
            "",
            f"### Since the previous run ({diff['previous_run'] or 'none'})",
            "",
            f"{len(diff['new'])} new · {len(diff['fixed'])} fixed · {len(diff['persisting'])} persisting",
            "",
        ]
        for label, items in (("New", diff["new"]), ("Fixed", diff["fixed"])):
            for item in items:
                lines.append(
                    f"- {label}: `{item['rule']}` on {item['operation'] or '-'} ({item['vendor']}) — "
                    f"{_cell(item['title'])}; first seen {item.get('first_seen') or 'now'}"
                )
    if report["findings"]:
        lines += [
            "",
            "### Findings",
            "",
            "| id | vendor | operation | rule | basis | check | what |",
            "|---|---|---|---|---|---|---|",
        ]
        for finding in report["findings"]:
            status = f" ({finding['status']})" if finding.get("status") else ""
            lines.append(
                f"| {finding['id']}{status} | {finding['vendor']} | {_cell(finding['operation'] or '-')} "
                f"| `{finding['rule']['id']}` | {finding['rule']['basis']} | {finding['check']} "
                f"| {_cell(finding['title'])}: {_cell(_first_line(finding['message']))} |"
            )
        lines += ["", "<details><summary>Reproduce</summary>", ""]
        for finding in report["findings"]:
            if finding["curl"]:
                lines += [f"**{finding['id']}** `{finding['rule']['id']}`", "", "```sh", finding["curl"], "```", ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"
