"""Publishing a run: compare it with history, write the report, then record it in history.

The order matters: history problems never cost the report (it is written first, and the problem comes back
as one line on the outcome, which every output then shows, with its exit code), and a run is recorded only
once its report exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgconf.report import writer
from imgconf.report.history import History, HistoryError
from imgconf.report.outcome import RunKind, RunOutcome


@dataclass
class Published:
    directory: Path
    outcome: RunOutcome


def publish(
    run: RunOutcome,
    out_dir: Path,
    *,
    artifacts: dict[str, bytes] | None = None,
    history_path: Path | None = None,
) -> Published:
    history = History(history_path) if history_path is not None else None
    trend: dict[str, list[dict[str, Any]]] | None = None
    if history is not None:
        try:
            run.diff = history.compare(run)
            trend = history.trend(run.target.key)
        except HistoryError as exc:
            run.history_error = exc.message
            history = None
    if trend is not None and run.kind is RunKind.MONITOR and not run.interrupted:
        for vendor in run.vendors:
            if vendor.score is not None:
                trend.setdefault(vendor.id, []).append(
                    {
                        "run_id": run.run_id,
                        "at": run.started_at,
                        "score": vendor.score,
                        "state": str(vendor.state),
                        "findings": vendor.findings,
                    }
                )
    directory = writer.write_report(run, out_dir, trend=trend, extra_files=artifacts)
    if history is not None:
        try:
            history.record(run, directory)
        except HistoryError as exc:
            run.history_error = exc.message
    return Published(directory, run)
