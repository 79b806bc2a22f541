"""report.html: one self-contained page (inline CSS and SVG, no scripts, no CDN)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, Template, select_autoescape
from markupsafe import Markup

from imgconf.report.outcome import FORMAT, RunOutcome
from imgconf.report.wording import (
    MEANING,
    cases_text,
    counted,
    coverage_text,
    findings_sentence,
    gate_note,
    score_text,
    tests_text,
    unchecked_where,
    vendor_line,
)

_ENV = Environment(loader=PackageLoader("imgconf", "report/templates"), autoescape=select_autoescape(["html", "j2"]))


def _pretty(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return json.dumps(body, indent=2, ensure_ascii=False)


def _when(at: str) -> str:
    """A trend point's time as people read it: date and minute (runs of one day must stay apart)."""
    return at[:16].replace("T", " ")


def sparkline(points: list[dict[str, Any]], width: int = 560, height: int = 90) -> Markup:
    """Score over time as an inline SVG polyline; points are {run_id, at, score}."""
    scored = [point for point in points if point.get("score") is not None]
    if not scored:
        return Markup('<p class="meta">no scored runs yet</p>')
    pad = 24
    step = (width - 2 * pad) / max(1, len(scored) - 1)
    coords = [
        (pad + index * step, height - pad - point["score"] * (height - 2 * pad)) for index, point in enumerate(scored)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{"#1a7f37" if p["score"] >= 1 else "#cf222e"}">'
        f"<title>{_when(p['at'])} {p['run_id']}: {p['score'] * 100:.0f}%</title></circle>"
        for (x, y), p in zip(coords, scored, strict=True)
    )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#d0d7de"/>'
        f'<text x="2" y="{pad + 4}">100%</text><text x="8" y="{height - pad + 4}">0%</text>'
        f'<text x="{pad}" y="{height - 4}">{_when(scored[0]["at"])}</text>'
        f'<text x="{width - pad - 90}" y="{height - 4}">{_when(scored[-1]["at"])}</text>'
    )
    return Markup(
        f'<svg width="{width}" height="{height}" role="img" aria-label="score trend">{axis}'
        f'<polyline fill="none" stroke="#0969da" stroke-width="2" points="{path}"/>{dots}</svg>'
    )


def _matrix(run: RunOutcome) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    for vendor in run.vendors:
        cells = [cell for cell in run.cells if cell.vendor == vendor.id]
        checks = sorted({cell.check for cell in cells})
        operations = [
            {
                "label": op.operation,
                "score": op.score,
                "deprecated": op.deprecated,
                "rules": f"{op.rules_checked}/{op.rules_total}" if op.rules_total else "–",
            }
            for op in vendor.operations
        ]
        known = {op["label"] for op in operations}
        operations += [
            {"label": label, "score": None, "deprecated": False, "rules": "–"}
            for label in sorted({cell.operation for cell in cells} - known)
        ]
        views[vendor.id] = {
            "checks": checks,
            "operations": operations,
            "grid": {(cell.operation, cell.check): cell for cell in cells},
        }
    return views


@cache
def template() -> Template:
    """The page's compiled template: compiling it is ~0.1 s, so a warm process compiles it once for its forks."""
    return _ENV.get_template("report.html.j2")


def render(run: RunOutcome, trend: dict[str, list[dict[str, Any]]] | None = None) -> str:
    return template().render(
        r=run,
        format=FORMAT,
        matrix=_matrix(run),
        pct=score_text,
        pretty=_pretty,
        sparkline=sparkline,
        trend=trend or {},
        meaning={str(state): text for state, text in MEANING.items()},
        findings_sentence=findings_sentence,
        gate_note=gate_note,
        vendor_line=vendor_line,
        tests_text=tests_text,
        coverage_text=coverage_text,
        cases_text=cases_text,
        counted=counted,
        unchecked_where=unchecked_where,
    )
