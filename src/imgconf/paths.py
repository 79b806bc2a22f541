"""Where the project's data lives: specs, schemas and suites, in a checkout or inside the installed package.

In a checkout, specs/, schemas/ and suites/ sit at the repository root, where people read them. A wheel
carries the same three folders as package data, as `imgconf/_data/{specs,schemas,suites}` (setup.py maps
them in), found with `importlib.resources`. Which one is used, first match wins:

1. `IMGCONF_ROOT`: a checkout used from another venv (the folder holding specs/ and suites/);
2. the data inside the installed package (a wheel, `pip install .`, `pipx install`);
3. the checkout this module sits in (the editable install: `pip install -e .`).

`IMGCONF_SPECS` (what `imgconf run --specs DIR` sets) overrides the specs alone: a vendor's own team points it
at the specs/ of their working tree. The specs `$ref` their schemas as `../schemas/...`, so a working tree's
specs are checked against that tree's schemas.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

from imgconf.errors import UsageError

ROOT_ENV = "IMGCONF_ROOT"
SPECS_ENV = "IMGCONF_SPECS"


@cache
def _resolved_absolute(path: Path) -> Path:
    return path.resolve()


def resolved(path: Path) -> Path:
    """`path.resolve()`, worked out once per absolute path for the process (and the runs forked from it).

    A run asks for the real paths of the same few dozen spec, schema and suite files thousands of times, and
    each answer stats every component of the path: ~5% of the CPU of a selftest's drift run that stops at its
    first finding. A relative path depends on the working directory, which a forked run changes: it is
    resolved afresh each time.
    """
    return _resolved_absolute(path) if path.is_absolute() else path.resolve()


def _is_data_root(candidate: Path) -> bool:
    return (candidate / "specs").is_dir() and (candidate / "suites").is_dir()


def _packaged() -> Path | None:
    """The data folder of an installed (non-editable) package, if this is one.

    pytest runs the suites from real files, so the data must be a directory on disk (a wheel installed by
    pip is; a zip import would not be, and falls through to the checkout).
    """
    data = resources.files("imgconf") / "_data"
    if isinstance(data, Path) and _is_data_root(data):
        return data
    return None


@cache
def root() -> Path:
    """The folder holding specs/, schemas/ and suites/ (see the module docstring for the order)."""
    override = os.environ.get(ROOT_ENV)
    if override:
        candidate = Path(override)
        if not _is_data_root(candidate):
            raise UsageError(f"{ROOT_ENV}={override}: no specs/ and suites/ there (a checkout of imgconf?)")
        return candidate
    packaged = _packaged()
    if packaged is not None:
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if not _is_data_root(checkout):
        raise UsageError(
            f"cannot find imgconf's specs and suites (neither packaged nor at {checkout}); "
            f"reinstall imgconf (`pip install imgconf-*.whl`, or `pip install -e .` from a clone) or set {ROOT_ENV}"
        )
    return checkout


def checkout() -> Path | None:
    """The git checkout imgconf runs from (the editable install), or None when it is installed from a wheel."""
    candidate = Path(__file__).resolve().parents[2]
    return candidate if (candidate / "pyproject.toml").is_file() and _is_data_root(candidate) else None


def specs_dir() -> Path:
    override = os.environ.get(SPECS_ENV)
    if override:
        candidate = Path(override)
        if not candidate.is_dir() or not any(candidate.glob("*.yaml")):
            raise UsageError(f"--specs {override}: not a folder of OpenAPI specs (*.yaml)")
        return candidate
    return root() / "specs"


def schemas_dir() -> Path:
    return root() / "schemas"


def suites_dir() -> Path:
    return root() / "suites"


def cache_dir() -> Path:
    """imgconf's per-user cache: `$XDG_CACHE_HOME/imgconf`, else `~/.cache/imgconf` (what is there can go)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "imgconf"


def report_schema_path() -> Path:
    return schemas_dir() / "report" / "report.schema.json"
