"""Where the project's data lives: specs, schemas and suites sit beside `src/`.

The package is installed in editable mode from a checkout (the README's first
command), so the checkout root is two levels above this file. `IMGCONF_ROOT`
points elsewhere, for a checkout used from another venv.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from imgconf.errors import UsageError


@cache
def root() -> Path:
    override = os.environ.get("IMGCONF_ROOT")
    candidate = Path(override) if override else Path(__file__).resolve().parents[2]
    if not (candidate / "specs").is_dir() or not (candidate / "suites").is_dir():
        raise UsageError(
            f"cannot find the imgconf checkout (specs/ and suites/) at {candidate}; "
            "install with `pip install -e .` from a clone or set IMGCONF_ROOT"
        )
    return candidate


def specs_dir() -> Path:
    return root() / "specs"


def schemas_dir() -> Path:
    return root() / "schemas"


def suites_dir() -> Path:
    return root() / "suites"


def report_schema_path() -> Path:
    return schemas_dir() / "report" / "report.schema.json"
