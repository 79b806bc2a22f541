"""Pieces every emulator needs: bounded body reads, content-derived randomness, safe URL fetches."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import random
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgconf.emulator.config import EmulatorConfig

FETCH_TIMEOUT = 5.0


class BodyTooLarge(Exception):
    """The body passed its limit while streaming in; the rest was never read."""


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it passes `limit` bytes (never buffer an unbounded body)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def with_body(request: Request, body: bytes) -> Request:
    """A request whose body is `body`, so Starlette's form and JSON parsers can run on bytes read already."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def content_rng(data: bytes, salt: str = "") -> random.Random:
    """Randomness that is a function of the content: the same bytes always draw the same answer."""
    return random.Random(hashlib.sha256(salt.encode() + data).digest())


def percent(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DownloadFailed(Exception):
    """The URL is not one the emulator may fetch, or fetching it failed."""


class UrlFetcher:
    """Resolves image URLs without touching the network.

    Known fixture URLs (the vendors' documented example URLs among them) map to
    images made in-process; loopback URLs are fetched from loopback, without
    following redirects; every other URL fails as an undownloadable one would.
    """

    def __init__(self, fixtures: Mapping[str, bytes], max_bytes: int) -> None:
        self.fixtures = dict(fixtures)
        self.max_bytes = max_bytes

    async def fetch(self, url: str) -> bytes:
        if url in self.fixtures:
            return self.fixtures[url]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not is_loopback_host(parts.hostname):
            raise DownloadFailed(f"not a loopback or fixture URL: {url}")
        return await run_in_threadpool(self._get, url)

    def _get(self, url: str) -> bytes:
        try:
            with requests.get(url, timeout=FETCH_TIMEOUT, allow_redirects=False, stream=True) as response:
                if response.status_code != 200:
                    raise DownloadFailed(f"{url} answered {response.status_code}")
                data = b""
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise DownloadFailed(f"{url} is larger than {self.max_bytes} bytes")
                return data
        except requests.RequestException as exc:
            raise DownloadFailed(f"{url}: {type(exc).__name__}") from None


class SlowEveryNth:
    """ASGI wrapper for a latency drift: every `nth` request waits `delay` seconds before it is answered.

    A tail-latency regression: most answers stay fast and one in `nth` is slow, so a monitor that times
    `nth` consecutive requests sees it, and the rest of the run is not slowed to a crawl.
    """

    # One in 25: imgconf.testing.latency times 25 consecutive requests against the emulator, so it meets one.
    def __init__(self, app: ASGIApp, config: EmulatorConfig, drift: str, nth: int = 25, delay: float = 1.2) -> None:
        self.app = app
        self.active = config.drifting(drift)
        self.nth = int(config.option("latency_nth", nth))
        self.delay = float(config.option("latency_delay", delay))
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.active and scope["type"] == "http":
            self.count += 1
            if self.count % self.nth == 0:
                await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


class Disturbances:
    """ASGI wrapper for operational trouble that is not a contract drift, switched on by emulator options.

    `storm_429: N` answers the first N requests 429 with `Retry-After: 1` (a throttling storm a careful
    client waits out); `outage: true` answers everything 500 (a service that is down). Both use the
    vendor's documented bodies, so a monitor can be tested on telling an outage from a regression.
    """

    def __init__(
        self, app: ASGIApp, config: EmulatorConfig, throttled: dict[str, object], failing: dict[str, object]
    ) -> None:
        self.app = app
        self.storm = int(config.option("storm_429", 0))
        self.outage = bool(config.option("outage", False))
        self.throttled = JSONResponse(throttled, 429, headers={"Retry-After": "1"})
        self.failing = JSONResponse(failing, 500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.outage:
                await self.failing(scope, receive, send)
                return
            if self.storm > 0:
                self.storm -= 1
                await self.throttled(scope, receive, send)
                return
        await self.app(scope, receive, send)
