"""Writing a run: report.json (validated against its schema) and its renderings, atomically.

The run directory is assembled under a temporary name, every file fsynced, and renamed into place, so a
crash leaves either a whole report or none, never half of one; a staging directory a crashed run left
behind (its process gone) is removed by the next run that writes there.
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
import jsonschema_rs

from imgconf import paths
from imgconf.errors import ImgconfError
from imgconf.redact import REDACTOR
from imgconf.report import html, junit, markdown
from imgconf.report.outcome import RunOutcome


@cache
def _schema() -> dict[str, Any]:
    return json.loads(paths.report_schema_path().read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(_schema())
    return cls(_schema(), format_checker=cls.FORMAT_CHECKER)


@cache
def _quick_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(_schema(), validate_formats=True)


def validate(report: dict[str, Any]) -> None:
    """Every report is checked; a valid one by jsonschema-rs (~50x faster), an invalid one again by jsonschema,
    whose best_match gives the message."""
    if _quick_validator().is_valid(report):
        return
    error = jsonschema.exceptions.best_match(_validator().iter_errors(report))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        raise ImgconfError(f"report.json does not match its schema at {where}: {error.message[:300]}")


def _scrub(text: str) -> str:
    """Last net: any registered secret still in a rendered artifact is replaced before it reaches disk."""
    return REDACTOR.text(text)


def render_all(run: RunOutcome, trend: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """Every file of a report, each rendered from the one outcome."""
    document = run.to_json()
    validate(document)
    return {
        "report.json": json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        "junit.xml": junit.render(run),
        "summary.md": markdown.render(run),
        "report.html": html.render(run, trend),
    }


STAGING = ".staging-"


def _remove_abandoned(out_dir: Path) -> None:
    """Staging directories of runs that died before their rename: their process is gone, so nobody owns them."""
    for path in out_dir.glob(f"{STAGING}*"):
        pid = path.name.removeprefix(STAGING).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_writable(out_dir: Path) -> None:
    """Before the first request: a report directory that cannot be written is the operator's mistake, now."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkstemp(prefix=".probe-", dir=out_dir)[1])
        probe.unlink()
    except OSError as exc:
        raise ImgconfError(f"--out {out_dir} cannot be written: {exc.strerror or exc}") from None


def write_report(
    run: RunOutcome,
    out_dir: Path,
    trend: dict[str, list[dict[str, Any]]] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write report.json and its renderings, plus evidence files and extras (the cassette), atomically."""
    rendered = render_all(run, trend)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out_dir)
    final = out_dir / run.run_id
    suffix = 1
    while final.exists():
        suffix += 1
        final = out_dir / f"{run.run_id}-{suffix}"
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING}{os.getpid()}-", dir=out_dir))
    try:
        for name, text in rendered.items():
            _write(staging / name, _scrub(text).encode("utf-8"))
        files = run.evidence_files()
        if files:
            (staging / "evidence").mkdir()
            for name, data in files.items():
                _write(staging / "evidence" / name, REDACTOR.bytes(data))
        for name, data in (extra_files or {}).items():
            _write(staging / name, REDACTOR.bytes(data))
        _fsync_dir(staging)
        os.replace(staging, final)
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = out_dir / "LATEST"
    temporary = out_dir / ".LATEST.tmp"
    _write(temporary, (final.name + "\n").encode())
    os.replace(temporary, latest)
    return final
