"""One suite run's state: options, connections (opened on first use), the recorder and the collector.

The pytest plugin creates it in `pytest_configure` and keeps it in `config.stash`; fixtures reach it
through `request.config`, and code that runs on a test's behalf (schemathesis hooks, module-level
parametrisation while pytest imports a suite module) through `testing.context`, which the plugin sets
from the stash only for the length of that collection or test.
"""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from typing import Any

import requests

from imgconf import images
from imgconf import vendors as registry
from imgconf.errors import CredentialsRejected, ImgconfError, TargetUnreachable
from imgconf.redact import REDACTOR
from imgconf.targets import Connection
from imgconf.targets.remote import check_reachable
from imgconf.testing.collector import Collector
from imgconf.testing.imageserver import ImageServer
from imgconf.testing.options import SuiteOptions
from imgconf.testing.webhooks import WebhookReceiver
from imgconf.vendors.base import CallbackProbe
from imgconf.wire.cassette import CassetteRecorder
from imgconf.wire.guard import NETWORK_ERRORS
from imgconf.wire.recorder import Recorder

PREFLIGHT_TIMEOUT = 10.0
CALLBACK_WAIT = 5.0  # seconds a probed target has to fetch the probe's image (an async job may fetch later)


class RunState:
    def __init__(self, options: SuiteOptions) -> None:
        self.options = options
        self.recorder = Recorder()
        self.collector = Collector(options, self.recorder)
        self._stack = ExitStack()
        self._connections: dict[str, Connection] | None = None
        self._failure: ImgconfError | None = None
        self._image_server: ImageServer | None = None
        self._callback_probed: dict[str, bool] = {}
        # Per vendor, once: None when the target answered and took the credential, else why not.
        self._checked: dict[str, ImgconfError | None] = {}
        # An error that ends the whole run (a suite that cannot start, say); the runner reports it as it is.
        self.fatal: ImgconfError | None = None
        self.interrupted: str | None = None
        # Vendors whose stop rule a finding named (`--stop-on-rule`): their remaining tests are skipped.
        self.stopped: set[str] = set()
        # Every vendor with a stop rule has named it: the run's remaining tests are not run at all.
        self.stopping = False
        self.fresh = random.Random(options.nonce)
        # What a vendor's own suite helpers keep for the length of the run (Huawei's clients and token).
        self.memo: dict[str, Any] = {}
        # Schemathesis schemas of this run, loaded while pytest imports the suites (contract.schema).
        self.schemas: dict[tuple[str, str], Any] = {}
        self.cassette: CassetteRecorder | None = None
        if options.record:
            self.cassette = CassetteRecorder()
            self.recorder.listeners.append(self.cassette)

    def close(self) -> None:
        if self._image_server is not None:
            self._image_server.close()
        self._stack.close()

    # -- connections -----------------------------------------------------------------------------

    def connections(self) -> dict[str, Connection]:
        """Every selected vendor, connected; opened on first use and kept for the run."""
        if self._failure is not None:
            raise self._failure
        if self._connections is None:
            try:
                self._connections = self._stack.enter_context(
                    self.options.target.connect(
                        registry.select(self.options.vendors), self.options.settings(), self.recorder
                    )
                )
            except ImgconfError as exc:
                self._failure = exc
                raise
            self.collector.connected(self._connections)
        return self._connections

    def connection(self, vendor: str) -> Connection:
        """The vendor's connection, once its target has been found reachable and its credential accepted.

        Raises `TargetUnreachable` or `CredentialsRejected` (the same one for every test of the vendor).
        """
        connection = self.connections()[vendor]
        if vendor not in self._checked:
            self._checked[vendor] = self._preflight(connection)
        problem = self._checked[vendor]
        if problem is not None:
            raise problem
        return connection

    def _preflight(self, connection: Connection) -> ImgconfError | None:
        """On a metered target: is it there, and does it take the operator's credential? One request each."""
        target = connection.target
        if not connection.preflighted:
            return None
        vendor = connection.vendor
        try:
            if target.operator_credentials:
                for url in set(connection.urls.values()):
                    check_reachable(url)
            probe = vendor.preflight
            if probe is None:
                return None
            base = connection.url_for(vendor.spec_files[0])
            request = requests.Request(
                probe.method,
                base + probe.path,
                params=dict(probe.params),
                json=probe.json,
                data=dict(probe.data) if probe.data is not None else None,
            )
            prepared = connection.session.prepare_request(request)
            vendor.auth.apply(prepared, connection.credentials)
            self.recorder.start_test(f"{vendor.id}::preflight")
            response = connection.session.send(prepared, timeout=PREFLIGHT_TIMEOUT)
        except TargetUnreachable as exc:
            return TargetUnreachable(exc.message if exc.message.startswith(vendor.id) else f"{vendor.id}: {exc}")
        except NETWORK_ERRORS as exc:
            return TargetUnreachable(f"{vendor.id}: {REDACTOR.text(f'{type(exc).__name__}: {exc}')[:300]}")
        # A gateway's answer to a path it routes nowhere (API Gateway's 403 for one) is no refusal of the key:
        # the tests then find whether nothing at the target serves the API, or the probe's operation alone is gone.
        refused = probe.refusal(response)
        if refused is not None and not vendor.not_the_api(response.status_code, response.content):
            secrets = [credential.env for credential in vendor.credentials if not credential.optional]
            said = str(refused) if refused == response.status_code else f"{refused} in a {response.status_code} body"
            return CredentialsRejected(
                f"{vendor.id}: the vendor refused the configured credential ({said} on "
                f"{probe.method} {probe.path}); check {', '.join(secrets)}"
            )
        return None

    # -- what the run leaves ---------------------------------------------------------------------

    def artifacts(self) -> dict[str, bytes]:
        """Files the run leaves beside its report: the redacted cassette when recording."""
        if self.cassette is None:
            return {}
        connected = self._connections or {}
        metadata: dict[str, Any] = {
            "imgconf": {"format": 1},
            "vendors": list(self.options.vendors),
            "target": self.options.target.describe(),
            "profile": self.options.profile.name,
            "seed": self.options.seed,
            "nonce": self.options.nonce,
            "allow_mutations": self.options.allow_mutations,
            "urls": {
                vendor: {name: REDACTOR.url(url) for name, url in connection.urls.items()}
                for vendor, connection in connected.items()
            },
            "image_urls": {vendor: list(connection.image_urls) for vendor, connection in connected.items()},
            # Which credentials the run had (never their values): a replay has the same, so it runs the same tests.
            "credentials": {vendor: sorted(connection.credentials) for vendor, connection in connected.items()},
        }
        return {"cassette.yaml": REDACTOR.text(self.cassette.serialize(metadata)).encode()}

    @property
    def image_server(self) -> ImageServer:
        """The callback address: generated images and webhook deliveries, at the target's `callback`."""
        if self._image_server is None:
            self._image_server = ImageServer(self.options.target.callback)
        return self._image_server

    @property
    def webhooks(self) -> WebhookReceiver:
        return self.image_server.webhooks

    def reaches_callback(self, connection: Connection) -> bool:
        """Can the target download from the callback address? Probed once per vendor, on URL targets.

        The emulator is known to; a URL target with a callback address is asked once, by the vendor's
        `callback_probe` (one request naming a freshly published image): unless the image is fetched within
        a few seconds, every rule that needs the address is reported not checked for the rest of the run.
        """
        if not connection.reaches_callback:
            return False
        vendor = connection.vendor
        probe = vendor.callback_probe
        if not connection.target.operator_credentials or probe is None:
            return True
        if vendor.id not in self._callback_probed:
            self._callback_probed[vendor.id] = self._probe_callback(connection, probe)
            connection.reaches_callback = self._callback_probed[vendor.id]
        return self._callback_probed[vendor.id]

    def _probe_callback(self, connection: Connection, probe: CallbackProbe) -> bool:
        url = self.image_server.publish(images.render(32, 24, seed=self.fresh.randrange(2**31), fmt="jpeg"), "jpeg")
        request = requests.Request(
            probe.method,
            connection.url_for(connection.vendor.spec_files[0]) + probe.path,
            json=None if probe.form else {probe.field: url},
            files={probe.field: (None, url)} if probe.form else None,
        )
        prepared = connection.session.prepare_request(request)
        connection.vendor.auth.apply(prepared, connection.credentials)
        try:
            response = connection.session.send(prepared, timeout=PREFLIGHT_TIMEOUT)
        except NETWORK_ERRORS:
            return False
        accepted = response.ok and not connection.vendor.not_the_api(response.status_code, response.content)
        if not accepted or probe.fetches_before_answering:
            # Only an accepted request to an asynchronous API may have started a job that fetches the image
            # later; waiting out CALLBACK_WAIT for anything else cost every wrong URL and every outage 5 s.
            return self.image_server.was_fetched(url)
        deadline = time.monotonic() + CALLBACK_WAIT
        while not self.image_server.was_fetched(url) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.image_server.was_fetched(url)
