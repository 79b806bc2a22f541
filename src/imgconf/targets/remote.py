"""Targets across the network: a vendor's live servers, or any base URL (a pre-release deployment).

The two are one code path: a URL target is live mode pointed elsewhere, which is how live mode is tested
against the emulator served on loopback. By default both are metered: a request budget, documented rate
limits kept, 429s waited out, a bounded per-request timeout and a circuit breaker, so that an outage is
declared within a known time (3 requests in a row without an answer, each given at most `DEFAULT_TIMEOUT`
seconds).

A URL target run `--thorough` (pre-release verification of a deployment the operator owns) is driven as the
emulator is: the budget lifted to what the profile needs (still enforced), no client-side pacing (429s are
still waited out), account changes allowed, rate limits provoked on purpose. A URL target on loopback, or
given `--callback-url`, can also reach the suite's image server and webhook receiver.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests.adapters

from imgconf.errors import TargetUnreachable, UsageError
from imgconf.redact import REDACTOR
from imgconf.report.outcome import RunKind
from imgconf.targets.base import WEBHOOK_GRACE_S, Connection, RunSettings
from imgconf.targets.credentials import live_credentials, live_image_urls, load_config, vendor_section
from imgconf.vendors.base import Vendor
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, guarded_session
from imgconf.wire.pacer import Pacer
from imgconf.wire.recorder import Recorder

DEFAULT_LIVE_RETRIES = 5
DEFAULT_TIMEOUT = 10.0


def check_reachable(url: str, timeout: float = 5.0) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TargetUnreachable(f"{parts.hostname}:{port} is unreachable ({reason})") from None


LOOPBACK_NAMES = frozenset({"localhost", "::1"})


def on_loopback(url: str) -> bool:
    """The URL's host is this machine (127.0.0.0/8, ::1, localhost): it can reach the suite's own servers."""
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_NAMES or host.startswith("127.")


class _Remote:
    reaches_loopback = False
    metered = True
    drifts_allowed = False
    operator_credentials = True
    paced = True
    thorough = False
    # A vendor's account (its quota, its rate limits) and a callback address are the operator's: one process
    # at a time reaches them unless `--workers N` says otherwise.
    parallel = False
    callback: str | None = None
    latency_budget_s: float | None = None
    webhook_grace_s = WEBHOOK_GRACE_S
    name = "url"

    def describe(self) -> str:
        raise NotImplementedError

    def urls_for(self, vendor: Vendor) -> dict[str, str]:
        raise NotImplementedError

    def key(self, urls: Mapping[str, str]) -> str:
        # The base URLs alone, whichever vendors a run selected: a run of one vendor and a run of another
        # on the same deployment are runs on the same target, and history compares each vendor with its own.
        return f"{self.name}:" + ",".join(sorted(set(urls.values())))

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind:
        return RunKind.MONITOR

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        try:
            return {name: REDACTOR.url(url) for name, url in self.urls_for(vendor).items()}
        except UsageError as exc:
            return {name: f"({exc.message})" for name in vendor.spec_files}

    def preload(self, vendors: list[Vendor]) -> None:
        return None  # its transport is requests, imported with the targets

    def starting(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[None]:
        return nullcontext()

    @contextmanager
    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> Iterator[dict[str, Connection]]:
        config = load_config(settings.config_path)
        yield {vendor.id: self._connection(vendor, settings, recorder, config) for vendor in vendors}

    def _connection(
        self, vendor: Vendor, settings: RunSettings, recorder: Recorder, config: Mapping[str, Any]
    ) -> Connection:
        urls = self.urls_for(vendor)
        credentials = live_credentials(vendor, config)
        section = vendor_section(config, vendor)
        default = settings.thorough_budget if self.thorough and settings.thorough_budget else vendor.live_budget
        budget = settings.budget if settings.budget is not None else int(section.get("budget", default))
        guard = Guard(
            vendor.id,
            recorder,
            Budget({vendor.id: budget}),
            pacer=Pacer(vendor.rate_limits) if vendor.rate_limits and self.paced else None,
            allowed_hosts=frozenset(urlsplit(url).netloc.lower() for url in urls.values()),
            retry_429=DEFAULT_LIVE_RETRIES,
            timeout=settings.timeout or DEFAULT_TIMEOUT,
            keyed=settings.record,
        )
        session = guarded_session(requests.adapters.HTTPAdapter(), guard)
        return Connection(
            vendor,
            self,
            dict(urls),
            credentials,
            session,
            guard,
            live_image_urls(vendor, config),
            allow_mutations=settings.allow_mutations or self.thorough,
        )


class LiveTarget(_Remote):
    """Each vendor's documented server (its spec's `servers`)."""

    name = "live"

    def describe(self) -> str:
        return "live"

    def key(self, urls: Mapping[str, str]) -> str:
        # Every vendor's documented server: one target, whichever vendors a run selected.
        return "live"

    def urls_for(self, vendor: Vendor) -> dict[str, str]:
        return dict(vendor.live_urls())


class UrlTarget(_Remote):
    """One base URL for every vendor (`*`), or one per vendor; careful by default, or `thorough`.

    Its attributes follow the mode, so the suites ask the same questions of every target: a thorough
    target is not metered and not paced; with a callback address (given, or chosen when every base URL is
    on loopback) it reaches the suite's image server and webhook receiver.
    """

    name = "url"

    def __init__(
        self, urls: Mapping[str, str], *, thorough: bool = False, callback: str | None = None, automatic: bool = True
    ) -> None:
        self.urls = dict(urls)
        self.thorough = thorough
        self.metered = not thorough
        self.paced = not thorough
        if callback is None and automatic and all(on_loopback(url) for url in self.urls.values()):
            callback = "http://127.0.0.1:0"
        self.callback = callback
        self.reaches_loopback = callback is not None

    def describe(self) -> str:
        return ", ".join(
            f"{vendor}={REDACTOR.url(url)}" if vendor != "*" else REDACTOR.url(url) for vendor, url in self.urls.items()
        )

    def urls_for(self, vendor: Vendor) -> dict[str, str]:
        base = self.urls.get(vendor.id) or self.urls.get("*")
        if base is None:
            raise UsageError(f"the target names no URL for {vendor.id}")
        return {name: base for name in vendor.spec_files}
