"""Where a run sends its requests: one small class per kind of target, behind one `Target` protocol.

    emulator        InProcessEmulator: the embedded emulator, called in-process over ASGI (default)
    emulator-http   ServedEmulator: the emulator served by a forked child process on loopback ports
    live            LiveTarget: each vendor's documented server, credentials from the environment
    URL             UrlTarget: one base URL (a pre-release deployment) for every vendor selected
    V=URL[,V=URL]   UrlTarget: one base URL per vendor
    --replay FILE   ReplayTarget: a recorded cassette answers every request, offline

Nothing outside this package asks which kind it has: what differs between kinds is a property of the
target (`reaches_loopback`, `metered`, `drifts_allowed`, ...) or a method (`connect`, `describe`, `key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imgconf import vendors as registry
from imgconf.errors import UsageError
from imgconf.redact import REDACTOR
from imgconf.targets.base import Connection, RunSettings, Target
from imgconf.targets.credentials import target_settings
from imgconf.targets.emulator import InProcessEmulator, ServedEmulator
from imgconf.targets.remote import LiveTarget, UrlTarget
from imgconf.targets.replay import ReplayTarget

__all__ = [
    "Connection",
    "InProcessEmulator",
    "LiveTarget",
    "ReplayTarget",
    "RunSettings",
    "ServedEmulator",
    "Target",
    "UrlTarget",
    "parse",
]

NAMED: dict[str, type[InProcessEmulator] | type[ServedEmulator] | type[LiveTarget]] = {
    "emulator": InProcessEmulator,
    "emulator-http": ServedEmulator,
    "live": LiveTarget,
}
FORMS = "emulator, emulator-http, live, a base URL or VENDOR=URL[,VENDOR=URL]"


def parse(
    value: str | None,
    cassette: Path | None = None,
    *,
    thorough: bool = False,
    callback: str | None = None,
    config: Mapping[str, Any] | None = None,
    record: bool = False,
) -> Target:
    """The target a `--target` value names; every mistake is a one-line usage error, before any request.

    `thorough` and `callback` (flags) are for URL targets; `config` (imgconf.toml) may set them per target.
    A recorded run gets no automatic callback address: its replay could not serve the URLs it would send.
    """
    if callback is not None:
        callback = check_callback(callback)
    if cassette is not None:
        if thorough or callback:
            raise UsageError("--thorough and --callback-url are for URL targets, not a replay")
        return ReplayTarget(cassette)
    value = (value or "emulator").strip()
    if value in NAMED:
        chosen = NAMED[value]()
        if callback:
            raise UsageError(f"--callback-url is for URL targets; {value} needs none")
        if thorough and not chosen.thorough:
            raise UsageError("--thorough is for URL targets (a deployment you own); a live vendor stays careful")
        return chosen
    url_target = _parse_urls(value)
    settings = target_settings(config or {}, url_target.urls.values())
    thorough = thorough or bool(settings.get("thorough", False))
    callback = callback or (check_callback(str(settings["callback_url"])) if settings.get("callback_url") else None)
    if record and (thorough or callback):
        raise UsageError(
            "--record is for careful runs: a replay is careful and cannot serve the callback address; "
            "a thorough run is reproduced by running it again"
        )
    url = UrlTarget(url_target.urls, thorough=thorough, callback=callback, automatic=not record)
    if "latency_budget_s" in settings:
        url.latency_budget_s = float(settings["latency_budget_s"])
    return url


def check_callback(url: str) -> str:
    """A `--callback-url`: http://HOST:PORT, where the target can reach this machine (PORT 0: any free one)."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise UsageError(f"--callback-url {url!r} is not http://HOST:PORT")
    return f"http://{parts.netloc}"


def _parse_urls(value: str) -> UrlTarget:
    if "=" in value and "://" not in value.split("=", 1)[0]:
        urls: dict[str, str] = {}
        known = registry.all_vendors()
        for item in value.split(","):
            vendor, sep, url = item.partition("=")
            vendor = vendor.strip()
            if not sep or not vendor:
                raise UsageError(f"target item {item!r} is not VENDOR=URL")
            if vendor not in known:
                raise UsageError(f"target names an unknown vendor {vendor!r}; vendors are {', '.join(sorted(known))}")
            urls[vendor] = _check_url(url.strip())
        return UrlTarget(urls)
    return UrlTarget({"*": _check_url(value)})


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"target {REDACTOR.url(url)!r} is not one of {FORMS}")
    try:
        _ = parts.port
    except ValueError:
        raise UsageError(f"target {REDACTOR.url(url)!r} has a port that is not a number") from None
    REDACTOR.add_secret(parts.password)  # userinfo is a credential: redacted by value too, wherever it appears
    return url.rstrip("/")
