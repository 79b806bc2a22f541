"""The emulator as a target: in-process over ASGI (the default), or served on loopback ports over HTTP."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, cast
from urllib.parse import urlsplit

import anyio
import anyio.lowlevel
import requests.adapters

from imgconf import emulator
from imgconf.emulator import child, server
from imgconf.emulator.config import EmulatorConfig
from imgconf.redact import REDACTOR
from imgconf.report.outcome import RunKind
from imgconf.targets.asgi import InThreadASGIAdapter
from imgconf.targets.base import Connection, RunSettings
from imgconf.vendors.base import Vendor
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, guarded_session
from imgconf.wire.recorder import Recorder


def emulator_credentials(vendor: Vendor) -> dict[str, str]:
    """The emulator's first documented account, registered with the redactor like any operator secret."""
    credentials = dict(emulator.get(vendor.id).default_credentials[0])
    env = {credential.name: credential.env for credential in vendor.credentials}
    for name, value in credentials.items():
        REDACTOR.add_secret(value, f"${env[name]}" if name in env else None)
    return credentials


def vendor_options(vendor: Vendor, options: Mapping[str, object]) -> dict[str, object]:
    return {key.split(".", 1)[1]: value for key, value in options.items() if key.startswith(f"{vendor.id}.")}


class _Emulator:
    reaches_loopback = True
    metered = False
    drifts_allowed = True
    operator_credentials = False
    paced = False
    thorough = True
    parallel = True  # each process serves (or calls in-process) emulators of its own, on ephemeral ports
    callback: str | None = None  # the suite's own loopback servers, on ephemeral ports
    latency_budget_s: float | None = 1.0  # it answers in milliseconds: a slow answer is a regression
    webhook_grace_s = 0.0  # its webhooks for a request are delivered before it answers (emulator/identifai/app.py)
    name = "emulator"

    def describe(self) -> str:
        return self.name

    def key(self, urls: Mapping[str, str]) -> str:
        # Ports and hosts change between runs; the contract does not: every emulator run is one target.
        return "emulator"

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind:
        return RunKind.DRIFT if any(drifts.values()) else RunKind.MONITOR

    def preload(self, vendors: list[Vendor]) -> None:
        """The vendors' emulators, and the anyio backend their apps hand work to threads through (anyio imports
        it on first use): ~0.1 s that a run's first tests paid in each process, now paid once before its workers
        fork (and before a served emulator forks, which then starts with them imported)."""
        for vendor in vendors:
            emulator.get(vendor.id)
        anyio.run(anyio.lowlevel.checkpoint)

    def starting(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[None]:
        return nullcontext()  # the in-process emulator is made when connected, its modules preloaded


class InProcessEmulator(_Emulator):
    """The embedded emulator, in-process over ASGI, in the calling thread (targets/asgi.py)."""

    name = "emulator"

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        return {name: "in-process emulator" for name in vendor.spec_files}

    @contextmanager
    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> Iterator[dict[str, Connection]]:
        connections = {vendor.id: self._connection(vendor, settings, recorder) for vendor in vendors}
        try:
            yield connections
        finally:
            for connection in connections.values():
                connection.session.close()  # the adapter's event loops, and any thread anyio left on them

    def _connection(self, vendor: Vendor, settings: RunSettings, recorder: Recorder) -> Connection:
        drifts = settings.drifts.get(vendor.id, frozenset())
        options: dict[str, object] = {"rate_limits": False, **vendor_options(vendor, settings.emulator_options)}
        app = emulator.get(vendor.id).create_app(EmulatorConfig(drifts=drifts, options=options))
        host = f"{vendor.id}.emulator"
        guard = Guard(vendor.id, recorder, Budget({vendor.id: settings.budget}), allowed_hosts=frozenset({host}))
        session = guarded_session(InThreadASGIAdapter(cast(Any, app)), guard)
        urls = {name: f"http://{host}" for name in vendor.spec_files}
        return Connection(
            vendor, self, urls, emulator_credentials(vendor), session, guard, vendor.image_urls, drifts, True
        )


class ServedEmulator(_Emulator):
    """The emulator served by a child process on ephemeral loopback ports, spoken to over real HTTP.

    The child is a fork of the run (server.forked_child), which has imported the emulators already.
    """

    name = "emulator-http"

    def __init__(self) -> None:
        # The child `starting` began, with what it serves: `connect` takes it if it serves what it is asked.
        self._early: tuple[tuple[Any, ...], child.Child] | None = None

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        return {name: "emulator spawned on a loopback port" for name in vendor.spec_files}

    @staticmethod
    def _serves(vendors: list[Vendor], settings: RunSettings) -> tuple[Any, ...]:
        return (
            tuple(vendor.id for vendor in vendors),
            sorted((vendor, sorted(names)) for vendor, names in settings.drifts.items()),
            sorted((key, repr(value)) for key, value in settings.emulator_options.items()),
        )

    @staticmethod
    def _start(vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[child.Child]:
        return server.forked_child([vendor.id for vendor in vendors], settings.drifts, settings.emulator_options)

    @contextmanager
    def starting(self, vendors: list[Vendor], settings: RunSettings) -> Iterator[None]:
        with self._start(vendors, settings) as early:
            self._early = (self._serves(vendors, settings), early)
            try:
                yield
            finally:
                self._early = None

    def _child(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[child.Child]:
        """The child `starting` began, if it serves what is asked; else one started (and stopped) for `connect`."""
        if self._early is not None and self._early[0] == self._serves(vendors, settings):
            return nullcontext(self._early[1])
        return self._start(vendors, settings)

    @contextmanager
    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> Iterator[dict[str, Connection]]:
        with self._child(vendors, settings) as served:
            urls = served.urls()
            yield {vendor.id: self._connection(vendor, urls[vendor.id], settings, recorder) for vendor in vendors}

    def _connection(self, vendor: Vendor, url: str, settings: RunSettings, recorder: Recorder) -> Connection:
        guard = Guard(
            vendor.id,
            recorder,
            Budget({vendor.id: settings.budget}),
            allowed_hosts=frozenset({urlsplit(url).netloc}),
            timeout=settings.timeout,
        )
        session = guarded_session(requests.adapters.HTTPAdapter(), guard)
        urls = {name: url for name in vendor.spec_files}
        drifts = settings.drifts.get(vendor.id, frozenset())
        return Connection(
            vendor, self, urls, emulator_credentials(vendor), session, guard, vendor.image_urls, drifts, True
        )
