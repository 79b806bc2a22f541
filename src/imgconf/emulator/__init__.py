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


@cache
def all_emulators() -> dict[str, Emulator]:
    found: dict[str, Emulator] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
        if info.name.startswith("_") or info.name in _NOT_EMULATORS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not all(hasattr(module, name) for name in ("VENDOR", "DRIFTS", "create_app")):
            continue
        found[module.VENDOR] = Emulator(
            vendor=module.VENDOR,
            drifts=tuple(module.DRIFTS),
            default_credentials=tuple(getattr(module, "DEFAULT_CREDENTIALS", ())),
            module=module,
        )
    names = [drift.name for emulator in found.values() for drift in emulator.drifts]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate drift names: {sorted(duplicates)}")
    return found


def get(vendor: str) -> Emulator:
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
