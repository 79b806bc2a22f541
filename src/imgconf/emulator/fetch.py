"""The emulators' only way out: URLs fetched from loopback, checked on the very address that is connected to.

A URL is parsed once, here, strictly, into a literal loopback IP address, a port and a request target; the
connection is then opened to that literal and nothing else. There is no second parser (urllib3's, say) that
could read `http://10.0.0.1\\@127.0.0.1/` differently from the check, and no name lookup that could answer
differently the second time: the only name accepted is `localhost`, and it is 127.0.0.1 without a lookup.
Userinfo, backslashes, percent-encoded or zone-scoped hosts, control characters and anything that is not
plain ASCII are refused before any socket exists; and the socket layer checks again (`guard`) on the
address it is about to connect to, so a parsing mistake here still cannot reach beyond loopback.
Redirects are never followed, and a download is collected in one growing buffer (linear in its size).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

TIMEOUT = 5.0
CHUNK = 64 * 1024
_DELIMITERS = "/?#"


class DownloadFailed(Exception):
    """The URL is not one the emulator may fetch, or fetching it failed."""


class NotLoopback(DownloadFailed):
    """A connection to an address outside loopback was refused before it was attempted."""


def is_loopback_host(host: str | None) -> bool:
    """A host the emulator may serve on or connect to: `localhost` or a literal loopback address."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """Where one URL points, parsed once: the literal address connected to and what is sent to it."""

    scheme: str
    address: str  # a literal loopback IP address: what the socket connects to, verbatim
    port: int
    path: str  # the request target: path and query, never the fragment
    host_header: str


def parse(url: str) -> Target:
    """The URL as a loopback target, or DownloadFailed for anything else (including every parser quirk)."""
    if not url.isascii() or any(ord(char) <= 0x20 or ord(char) == 0x7F or char == "\\" for char in url):
        raise DownloadFailed("the URL has characters a strict parser refuses")
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in ("http", "https"):
        raise DownloadFailed("only http and https URLs are fetched")
    end = min((index for index in (rest.find(char) for char in _DELIMITERS) if index >= 0), default=len(rest))
    authority, remainder = rest[:end], rest[end:]
    if "@" in authority or "%" in authority:
        raise DownloadFailed("userinfo and percent-encoded hosts are refused")
    host, port = _split_authority(authority, 443 if scheme == "https" else 80)
    address = _loopback_address(host)
    path = remainder.split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    return Target(scheme, address, port, path, authority)


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, bracket, tail = authority[1:].partition("]")
        if not bracket:
            raise DownloadFailed("an unterminated IPv6 literal")
    else:
        host, _, tail = authority.partition(":")
        tail = ":" + tail if ":" in authority else ""
    if not tail:
        return host, default_port
    digits = tail[1:] if tail.startswith(":") else "x"
    if not digits.isdigit() or len(digits) > 5 or not 0 < int(digits) < 65536:
        raise DownloadFailed("the port is not a number from 1 to 65535")
    return host, int(digits)


def _loopback_address(host: str) -> str:
    if host.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise DownloadFailed("the host is not a loopback address") from None
    if not address.is_loopback:
        raise DownloadFailed("the host is not a loopback address")
    return str(address)


def guard(host: str) -> None:
    """The socket layer's own check, on the exact string given to connect(): a loopback literal or nothing."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"refused to connect to {host!r}: not a loopback address")


class _LoopbackHTTP(http.client.HTTPConnection):
    def connect(self) -> None:
        guard(self.host)
        super().connect()


class _LoopbackHTTPS(http.client.HTTPSConnection):
    def connect(self) -> None:
        guard(self.host)
        super().connect()


def _connection(target: Target) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _LoopbackHTTPS(target.address, target.port, timeout=TIMEOUT, context=ssl.create_default_context())
    return _LoopbackHTTP(target.address, target.port, timeout=TIMEOUT)


def get(url: str, max_bytes: int) -> bytes:
    """GET a loopback URL without following redirects; refuse it past `max_bytes` while it streams in."""
    target = parse(url)
    connection = _connection(target)
    try:
        connection.request("GET", target.path, headers={"Host": target.host_header, "Accept": "*/*"})
        response = connection.getresponse()
        if response.status != 200:
            raise DownloadFailed(f"the URL answered {response.status}")
        data = bytearray()
        while chunk := response.read(CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise DownloadFailed(f"the download is larger than {max_bytes} bytes")
        return bytes(data)
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise DownloadFailed(f"fetching failed: {type(exc).__name__}") from None
    finally:
        connection.close()


def post_json(url: str, payload: Any, headers: Mapping[str, str] | None = None) -> int:
    """POST a JSON document to a loopback URL (a webhook); the status it answered."""
    target = parse(url)
    connection = _connection(target)
    try:
        sent = {"Host": target.host_header, "Content-Type": "application/json", **(headers or {})}
        connection.request("POST", target.path, body=json.dumps(payload).encode(), headers=sent)
        response = connection.getresponse()
        response.read()
        return response.status
    except (TimeoutError, OSError, http.client.HTTPException, ssl.SSLError) as exc:
        raise DownloadFailed(f"posting failed: {type(exc).__name__}") from None
    finally:
        connection.close()


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
        parse(url)  # refuse before a thread is taken
        return await run_in_threadpool(get, url, self.max_bytes)
