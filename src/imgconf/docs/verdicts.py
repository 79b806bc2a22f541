"""What the run history says about each operation: its latest verdict and date on every target it was run against.

Read-only, through `imgconf.report.history`'s public API: the latest recorded run of each target that
covered the vendor gives the vendor's verdict, and that run's findings name the operations that broke a rule.
No history, or an unreadable one, is simply no column: the reference does not depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imgconf.report.history import History, HistoryError


@dataclass(frozen=True)
class Verdict:
    target: str
    verdict: str
    at: str
    run_id: str
    rules: tuple[str, ...] = ()


def latest(history_path: Path | None, vendor: str, operations: list[str]) -> dict[str, list[Verdict]]:
    """Per operation label, one verdict per target: non-conformant if the run found something on it."""
    if history_path is None or not history_path.is_file():
        return {}
    history = History(history_path)
    try:
        runs = history.runs()
        found: dict[str, list[Verdict]] = {label: [] for label in operations}
        seen_targets: set[str] = set()
        for run in runs:
            if run.target_key in seen_targets:
                continue
            points = history.trend(run.target_key, limit=1).get(vendor)
            if not points:
                continue
            seen_targets.add(run.target_key)
            point = points[-1]
            findings = [item for item in history.findings(point["run_id"]).values() if item["vendor"] == vendor]
            for label in operations:
                rules = tuple(sorted({item["rule"] for item in findings if item["operation"] == label}))
                verdict = "non-conformant" if rules else point["state"]
                found[label].append(Verdict(run.target_key, verdict, point["at"], point["run_id"], rules))
    except HistoryError:
        return {}
    return {label: verdicts for label, verdicts in found.items() if verdicts}
