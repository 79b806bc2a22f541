"""A recorded run, answered from its cassette: same suites, same seed, no network at all."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from imgconf.errors import UsageError
from imgconf.redact import REDACTOR
from imgconf.report.outcome import RunKind
from imgconf.targets.base import WEBHOOK_GRACE_S, Connection, ObservedTraffic, RunSettings
from imgconf.vendors.base import Vendor
from imgconf.wire import cassette
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, guarded_session
from imgconf.wire.recorder import Recorder

RETRIES = 5


class ReplayTarget:
    name = "replay"
    # The recorded target's view: a replay sends what the live run sent, so it is treated as a metered,
    # remote target (no loopback downloads, no drifts), whatever was recorded.
    reaches_loopback = False
    metered = True
    drifts_allowed = False
    operator_credentials = False
    paced = False
    thorough = False
    parallel = False  # one cassette, read by one process
    callback: str | None = None
    latency_budget_s: float | None = None
    webhook_grace_s = WEBHOOK_GRACE_S

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recorded = cassette.load(path)  # a cassette that does not parse is a usage error, now

    @property
    def metadata(self) -> dict[str, object]:
        return self.recorded.metadata

    def describe(self) -> str:
        return f"replay of {self.path}"

    def key(self, urls: Mapping[str, str]) -> str:
        return f"replay:{self.metadata.get('target', self.path)}"

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind:
        return RunKind.REPLAY

    def _urls(self, vendor: Vendor) -> dict[str, str]:
        recorded = self.metadata.get("urls")
        urls = dict(recorded.get(vendor.id) or {}) if isinstance(recorded, dict) else {}
        if not urls:
            raise UsageError(f"the cassette {self.path} holds no exchanges of {vendor.id}")
        return urls

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        return {name: f"answers from {self.path}" for name in vendor.spec_files}

    def preload(self, vendors: list[Vendor]) -> None:
        return None  # its transport is requests, imported with the targets

    def starting(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[None]:
        return nullcontext()

    @contextmanager
    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> Iterator[dict[str, Connection]]:
        yield {vendor.id: self._connection(vendor, recorder) for vendor in vendors}

    def _connection(self, vendor: Vendor, recorder: Recorder) -> Connection:
        urls = self._urls(vendor)
        guard = Guard(
            vendor.id,
            recorder,
            Budget({vendor.id: None}),
            allowed_hosts=frozenset(urlsplit(url).netloc.lower() for url in urls.values()),
            retry_429=RETRIES,
            sleep=lambda seconds: None,  # the live run waited; the replay need not
        )
        session = guarded_session(cassette.ReplayAdapter(self.recorded.for_vendor(vendor.id)), guard)
        recorded = self.metadata.get("credentials")
        had = recorded.get(vendor.id) if isinstance(recorded, dict) else None
        present = [c for c in vendor.credentials if (c.name in had if isinstance(had, list) else not c.optional)]
        credentials = {credential.name: f"replayed-{credential.name}-credential" for credential in present}
        for credential in present:
            # Named as at recording, so a request's replay key says which credential it carried.
            REDACTOR.add_secret(credentials[credential.name], f"${credential.env}")
        image_urls = self.metadata.get("image_urls")
        recorded_images = image_urls.get(vendor.id) if isinstance(image_urls, dict) else None
        return Connection(
            vendor,
            self,
            urls,
            credentials,
            session,
            guard,
            tuple(recorded_images or vendor.image_urls),
            allow_mutations=bool(self.metadata.get("allow_mutations", False)),
        )


class RecordedTraffic(ObservedTraffic):
    """Traffic recorded by anyone (a HAR file, a cassette), held to the specs by `imgconf validate`."""

    name = "replay"
    metered = True
    refusal = "recorded traffic is validated as it is; nothing can be sent to it"

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def origin(self) -> str:
        return f"exchanges recorded in {self.path}"

    def describe(self) -> str:
        return f"traffic recorded in {self.path}"

    def key(self, urls: Mapping[str, str]) -> str:
        return f"validate:{self.path.name}"

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind:
        return RunKind.VALIDATE
