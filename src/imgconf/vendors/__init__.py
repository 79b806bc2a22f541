"""The vendor registry: every module in this package that defines `VENDOR` is a vendor.

Adding a vendor never edits this file: drop `vendors/<id>.py` beside the others.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from imgconf.errors import UsageError
from imgconf.vendors.base import Vendor


@cache
def all_vendors() -> dict[str, Vendor]:
    found: dict[str, Vendor] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda item: item.name):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        vendor = getattr(module, "VENDOR", None)
        if isinstance(vendor, Vendor):
            found[vendor.id] = vendor
    return found


def get(vendor_id: str) -> Vendor:
    vendors = all_vendors()
    if vendor_id not in vendors:
        raise UsageError(f"unknown vendor {vendor_id!r}; known: {', '.join(vendors) or 'none'}")
    return vendors[vendor_id]


def select(ids: list[str] | tuple[str, ...] | None) -> list[Vendor]:
    if not ids:
        return list(all_vendors().values())
    return [get(vendor_id) for vendor_id in dict.fromkeys(ids)]
