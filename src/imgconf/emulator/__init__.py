"""The emulator registry: every module here with `VENDOR`, `DRIFTS` and `create_app` is one vendor's emulator.

Adding a vendor never edits this file. Drift names are global, prefixed with
the vendor id, and must be unique across the catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from starlette.types import ASGIApp

from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.drift import Category, Drift
from imgconf.errors import UsageError

__all__ = ["Category", "Drift", "Emulator", "EmulatorConfig", "all_emulators", "catalogue", "get", "resolve_drifts"]

_NOT_EMULATORS = {"bodies", "config", "decoding", "drift", "fetch", "middleware", "randomness", "server"}


@dataclass(frozen=True)
class Emulator:
    vendor: str
    drifts: tuple[Drift, ...]
    default_credentials: tuple[Mapping[str, str], ...]
    module: ModuleType

    def create_app(self, config: EmulatorConfig) -> ASGIApp:
        return self.module.create_app(config)


def _emulator(name: str) -> Emulator | None:
    """The emulator in this package's module `name`, or None where that module is not one."""
    module = importlib.import_module(f"{__name__}.{name}")
    if not all(hasattr(module, attribute) for attribute in ("VENDOR", "DRIFTS", "create_app")):
        return None
    return Emulator(
        vendor=module.VENDOR,
        drifts=tuple(module.DRIFTS),
        default_credentials=tuple(getattr(module, "DEFAULT_CREDENTIALS", ())),
        module=module,
    )


def _names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in _NOT_EMULATORS
    )


@cache
def all_emulators() -> dict[str, Emulator]:
    found = {emulator.vendor: emulator for name in _names() if (emulator := _emulator(name)) is not None}
    names = [drift.name for emulator in found.values() for drift in emulator.drifts]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate drift names: {sorted(duplicates)}")
    return found


@cache
def get(vendor: str) -> Emulator:
    """One vendor's emulator, importing the module named for it alone where there is one: a run of one vendor
    need not import the other emulators (the whole registry is read where the name is not a module's)."""
    own = _emulator(vendor) if vendor in _names() else None
    if own is not None and own.vendor == vendor:
        return own
    emulators = all_emulators()
    if vendor not in emulators:
        raise UsageError(f"no emulator for vendor {vendor!r}; known: {', '.join(emulators)}")
    return emulators[vendor]


def catalogue() -> list[Drift]:
    return [drift for emulator in all_emulators().values() for drift in emulator.drifts]


def resolve_drifts(names: Iterable[str]) -> dict[str, frozenset[str]]:
    """Check drift names against the catalogue and group them by vendor."""
    known = {drift.name: drift for drift in catalogue()}
    grouped: dict[str, set[str]] = {}
    for name in names:
        if name not in known:
            close = [candidate for candidate in known if name.split(".")[-1] in candidate]
            hint = f"; did you mean {', '.join(close[:3])}?" if close else "; see `imgconf drift list`"
            raise UsageError(f"unknown drift {name!r}{hint}")
        grouped.setdefault(known[name].vendor, set()).add(name)
    return {vendor: frozenset(items) for vendor, items in grouped.items()}
