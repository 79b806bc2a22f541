"""Where a run sends its requests, and with which credentials.

    emulator        the embedded emulator, called in-process over ASGI (default)
    emulator-http   the emulator spawned as a child process on loopback ports
    live            each vendor's documented server, credentials from the environment
    URL             one base URL (a pre-release deployment) for every vendor selected
    V=URL[,V=URL]   one base URL per vendor

`live` and URL targets are the same code path: a URL target is live mode
pointed elsewhere, which is how live mode is tested against the emulator
served on loopback.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters

from imgconf.errors import CredentialsMissing, TargetUnreachable, UsageError
from imgconf.redact import REDACTOR
from imgconf.testing.transport import Budget, Guard, Pacer, Recorder, guarded_session
from imgconf.vendors.base import Vendor

EMULATOR_KINDS = ("emulator", "emulator-http")
DEFAULT_LIVE_RETRIES = 5
CONFIG_ENV = "IMGCONF_CONFIG"
CONFIG_FILE = "imgconf.toml"


@dataclass(frozen=True)
class TargetSpec:
    kind: str  # emulator | emulator-http | live | url | replay
    urls: Mapping[str, str] = field(default_factory=dict)  # vendor id or "*" -> base URL
    cassette: Path | None = None  # replay only

    @property
    def local(self) -> bool:
        return self.kind in EMULATOR_KINDS

    def describe(self) -> str:
        if self.kind == "replay":
            return f"replay of {self.cassette}"
        if self.kind == "url":
            shown = {vendor: REDACTOR.url(url) for vendor, url in self.urls.items()}  # userinfo is a credential
            return ", ".join(f"{vendor}={url}" if vendor != "*" else url for vendor, url in shown.items())
        return self.kind


def parse(value: str | None) -> TargetSpec:
    value = (value or "emulator").strip()
    if value in ("emulator", "emulator-http", "live"):
        return TargetSpec(value)
    if "=" in value and "://" not in value.split("=", 1)[0]:
        urls: dict[str, str] = {}
        for item in value.split(","):
            vendor, _, url = item.partition("=")
            urls[vendor.strip()] = _check_url(url.strip())
        return TargetSpec("url", urls)
    return TargetSpec("url", {"*": _check_url(value)})


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"target {url!r} is not one of emulator, emulator-http, live, a base URL or VENDOR=URL[,VENDOR=URL]"
        )
    REDACTOR.add_secret(parts.password)  # also where a text is redacted by value only (a password in userinfo)
    return url.rstrip("/")


@dataclass
class VendorTarget:
    """A vendor, reachable: base URL per spec file, credentials, and the guarded session to use."""

    vendor: Vendor
    kind: str
    urls: dict[str, str]
    credentials: dict[str, str]
    session: requests.Session
    guard: Guard
    image_urls: tuple[str, ...]
    drifts: frozenset[str] = frozenset()
    allow_mutations: bool = False

    @property
    def local(self) -> bool:
        return self.kind in EMULATOR_KINDS

    @property
    def base_url(self) -> str:
        return next(iter(self.urls.values()))

    def url_for(self, spec_file: str) -> str:
        return self.urls.get(spec_file, self.base_url)


@dataclass
class RunSettings:
    """What the runner asks of the transport for one run."""

    budget: int | None = None  # None: the default for the kind
    drifts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    emulator_options: Mapping[str, Any] = field(default_factory=dict)
    allow_mutations: bool = False
    config_path: Path | None = None
    record: bool = False
    dry_run: bool = False


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The git-ignored `imgconf.toml`: credentials and live settings that must not sit in the shell history."""
    candidate = path or Path(os.environ.get(CONFIG_ENV, CONFIG_FILE))
    if not candidate.exists():
        if path is not None or CONFIG_ENV in os.environ:
            raise UsageError(f"config file {candidate} does not exist")
        return {}
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {candidate} is not valid TOML: {exc}") from None
    for section in data.get("vendors", {}).values():
        for key, value in section.items():
            if isinstance(value, str) and key not in ("image_urls",):
                REDACTOR.add_secret(value)
    return data


def live_credentials(vendor: Vendor, config: Mapping[str, Any]) -> dict[str, str]:
    section = config.get("vendors", {}).get(vendor.id, {})
    found: dict[str, str] = {}
    missing = []
    for credential in vendor.credentials:
        value = os.environ.get(credential.env) or section.get(credential.name)
        if value:
            found[credential.name] = str(value)
            if credential.secret:
                REDACTOR.add_secret(str(value), f"${credential.env}")
        elif not credential.optional:
            missing.append(credential.env)
    if missing:
        raise CredentialsMissing(
            f"{vendor.id}: set {', '.join(missing)} (or [vendors.{vendor.id}] in {CONFIG_FILE}) "
            "for a live or URL target"
        )
    return found


def live_image_urls(vendor: Vendor, config: Mapping[str, Any]) -> tuple[str, ...]:
    env = os.environ.get(vendor.image_urls_env)
    if env:
        return tuple(url.strip() for url in env.split(",") if url.strip())
    configured = config.get("vendors", {}).get(vendor.id, {}).get("image_urls")
    return tuple(configured) if configured else vendor.image_urls


def check_reachable(url: str, timeout: float = 5.0) -> None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TargetUnreachable(f"{parts.hostname}:{port} is unreachable ({reason})") from None


@contextmanager
def resolve(
    spec: TargetSpec, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
) -> Iterator[dict[str, VendorTarget]]:
    """Make every vendor reachable (starting emulators as needed) for the length of the block."""
    for vendor_id in settings.drifts:
        if vendor_id not in {vendor.id for vendor in vendors}:
            raise UsageError(f"drift for {vendor_id!r} given, but {vendor_id} is not among the vendors run")
    if settings.drifts and not spec.local:
        raise UsageError("drift profiles change the emulator; use them with --target emulator or emulator-http")
    with ExitStack() as stack:
        if settings.dry_run:
            yield {vendor.id: _dry(vendor, spec, recorder) for vendor in vendors}
        elif spec.kind == "emulator":
            yield {vendor.id: _in_process(vendor, settings, recorder) for vendor in vendors}
        elif spec.kind == "emulator-http":
            from imgconf.emulator import server

            urls = stack.enter_context(
                server.spawned([vendor.id for vendor in vendors], settings.drifts, settings.emulator_options)
            )
            yield {vendor.id: _spawned(vendor, urls[vendor.id], settings, recorder) for vendor in vendors}
        elif spec.kind == "replay":
            yield {vendor.id: _replayed(vendor, spec, recorder) for vendor in vendors}
        else:
            config = load_config(settings.config_path)
            yield {vendor.id: _remote(vendor, spec, settings, recorder, config) for vendor in vendors}


def _emulator_credentials(vendor: Vendor) -> dict[str, str]:
    from imgconf import emulator

    credentials = dict(emulator.get(vendor.id).default_credentials[0])
    env = {credential.name: credential.env for credential in vendor.credentials}
    for name, value in credentials.items():
        REDACTOR.add_secret(value, f"${env[name]}" if name in env else None)
    return credentials


def _in_process(vendor: Vendor, settings: RunSettings, recorder: Recorder) -> VendorTarget:
    from schemathesis.python import asgi

    from imgconf import emulator
    from imgconf.emulator.config import EmulatorConfig

    drifts = settings.drifts.get(vendor.id, frozenset())
    options = {"rate_limits": False}
    options.update(
        {
            key.split(".", 1)[1]: value
            for key, value in settings.emulator_options.items()
            if key.startswith(f"{vendor.id}.")
        }
    )
    app = emulator.get(vendor.id).create_app(EmulatorConfig(drifts=drifts, options=options))
    host = f"{vendor.id}.emulator"
    guard = Guard(vendor.id, recorder, Budget({vendor.id: settings.budget}), allowed_hosts=frozenset({host}))
    session = guarded_session(asgi.get_client(app).adapter, guard)
    urls = {name: f"http://{host}" for name in vendor.spec_files}
    return VendorTarget(
        vendor,
        "emulator",
        urls,
        _emulator_credentials(vendor),
        session,
        guard,
        vendor.image_urls,
        drifts,
        allow_mutations=True,
    )


def _spawned(vendor: Vendor, url: str, settings: RunSettings, recorder: Recorder) -> VendorTarget:
    guard = Guard(
        vendor.id, recorder, Budget({vendor.id: settings.budget}), allowed_hosts=frozenset({urlsplit(url).netloc})
    )
    session = guarded_session(requests.adapters.HTTPAdapter(), guard)
    urls = {name: url for name in vendor.spec_files}
    return VendorTarget(
        vendor,
        "emulator-http",
        urls,
        _emulator_credentials(vendor),
        session,
        guard,
        vendor.image_urls,
        settings.drifts.get(vendor.id, frozenset()),
        allow_mutations=True,
    )


def _remote(
    vendor: Vendor, spec: TargetSpec, settings: RunSettings, recorder: Recorder, config: Mapping[str, Any]
) -> VendorTarget:
    if spec.kind == "live":
        urls = vendor.live_urls()
    else:
        base = spec.urls.get(vendor.id) or spec.urls.get("*")
        if base is None:
            raise UsageError(f"the target names no URL for {vendor.id}")
        urls = {name: base for name in vendor.spec_files}
    credentials = live_credentials(vendor, config)
    section = config.get("vendors", {}).get(vendor.id, {})
    budget = settings.budget if settings.budget is not None else int(section.get("budget", vendor.live_budget))
    guard = Guard(
        vendor.id,
        recorder,
        Budget({vendor.id: budget}),
        pacer=Pacer(vendor.rate_limits) if vendor.rate_limits else None,
        allowed_hosts=frozenset(urlsplit(url).netloc.lower() for url in urls.values()),
        retry_429=DEFAULT_LIVE_RETRIES,
        keyed=settings.record,
    )
    session = guarded_session(requests.adapters.HTTPAdapter(), guard)
    return VendorTarget(
        vendor,
        spec.kind,
        dict(urls),
        credentials,
        session,
        guard,
        live_image_urls(vendor, config),
        allow_mutations=settings.allow_mutations,
    )


def _replayed(vendor: Vendor, spec: TargetSpec, recorder: Recorder) -> VendorTarget:
    """A recorded run, answered from its cassette: same suites, same seed, no network at all."""
    from imgconf.runner import cassette

    assert spec.cassette is not None
    recorded = cassette.load(spec.cassette)
    metadata = recorded.metadata
    urls = dict(metadata.get("urls", {}).get(vendor.id) or {})
    if not urls:
        raise UsageError(f"the cassette {spec.cassette} holds no exchanges of {vendor.id}")
    guard = Guard(
        vendor.id,
        recorder,
        Budget({vendor.id: None}),
        allowed_hosts=frozenset(urlsplit(url).netloc.lower() for url in urls.values()),
        retry_429=DEFAULT_LIVE_RETRIES,
        sleep=lambda seconds: None,  # the live run waited; the replay need not
    )
    session = guarded_session(cassette.ReplayAdapter(recorded.for_vendor(vendor.id)), guard)
    credentials = {credential.name: f"replayed-{credential.name}-credential" for credential in vendor.credentials}
    image_urls = tuple(metadata.get("image_urls", {}).get(vendor.id) or vendor.image_urls)
    return VendorTarget(
        vendor,
        "replay",
        urls,
        credentials,
        session,
        guard,
        image_urls,
        allow_mutations=bool(metadata.get("allow_mutations", False)),
    )


class RefusingAdapter(requests.adapters.BaseAdapter):
    """The transport of a dry run: any attempt to send is a bug, and says so."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raise RuntimeError(f"dry run: refusing to send {request.method} {request.url}")

    def close(self) -> None:
        pass


def _dry(vendor: Vendor, spec: TargetSpec, recorder: Recorder) -> VendorTarget:
    if spec.kind in ("live", "url"):
        base = spec.urls.get(vendor.id) or spec.urls.get("*")
        urls = vendor.live_urls() if spec.kind == "live" else {name: base or "" for name in vendor.spec_files}
    else:
        urls = {name: f"http://{vendor.id}.emulator" for name in vendor.spec_files}
    guard = Guard(vendor.id, recorder, Budget({vendor.id: 0}))
    credentials = {credential.name: f"dry-run-{credential.name}" for credential in vendor.credentials}
    return VendorTarget(
        vendor, spec.kind, urls, credentials, guarded_session(RefusingAdapter(), guard), guard, vendor.image_urls
    )
