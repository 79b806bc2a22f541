"""Writing a run: report.json (validated against its schema) and its renderings, atomically.

The run directory is assembled under a temporary name and renamed into place,
so a crash leaves either a whole report or none, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from imgconf import paths
from imgconf.errors import ImgconfError
from imgconf.redact import REDACTOR
from imgconf.report import html, junit, markdown


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(paths.report_schema_path().read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(report: dict[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(_validator().iter_errors(report))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise ImgconfError(f"report.json does not match its schema at {where}: {error.message[:300]}")


def _scrub(text: str) -> str:
    """Last net: any registered secret still in a rendered artifact is replaced before it reaches disk."""
    return REDACTOR.text(text)


def render_all(report: dict[str, Any], trend: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    return {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False) + "\n",
        "junit.xml": junit.render(report),
        "summary.md": markdown.render(report),
        "report.html": html.render(report, trend),
    }


def write_report(
    report: dict[str, Any],
    out_dir: Path,
    files: dict[str, bytes] | None = None,
    trend: dict[str, list[dict[str, Any]]] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write report.json and its renderings, plus evidence files and extras (the cassette), atomically."""
    validate(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / report["run_id"]
    suffix = 1
    while final.exists():
        suffix += 1
        final = out_dir / f"{report['run_id']}-{suffix}"
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        for name, text in render_all(report, trend).items():
            (staging / name).write_text(_scrub(text), encoding="utf-8")
        if files:
            (staging / "evidence").mkdir()
            for name, data in files.items():
                (staging / "evidence" / name).write_bytes(REDACTOR.bytes(data))
        for name, data in (extra_files or {}).items():
            (staging / name).write_bytes(REDACTOR.bytes(data))
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = out_dir / "LATEST"
    temporary = out_dir / ".LATEST.tmp"
    temporary.write_text(final.name + "\n")
    os.replace(temporary, latest)
    return final
