"""Forwarding: an HTTP/1.1 relay that parses only the framing and passes every byte on as it came.

Like mitmproxy's reverse mode, not like a framework: a request's head is read, its target turned into
origin form and (in reverse mode) its Host set to the upstream's; every other header line, and every body
byte, chunk-size line and trailer, goes on exactly as received, in both directions, streamed in chunks with
back-pressure (`drain`). Nothing is decoded, re-encoded or buffered whole, so a multipart upload, an
AK/SK-signed request and an IAM token pass unchanged.

Two ways in, on one port:
* reverse proxy: the application's base URL is the proxy (`http://127.0.0.1:8780`); the Host header is
  rewritten to the upstream's (as mitmproxy and nginx do), unless `keep_host`;
* forward proxy: the application keeps the upstream's URL and names the proxy as its HTTP proxy (the
  Huawei SDK's `HttpConfig.proxy_*`, `HTTP_PROXY`): the request arrives in absolute form with the Host the
  application signed, which passes unchanged. Only the configured upstream's host is served; anything
  else gets 403, so the proxy is never an open relay. With an `https://` upstream the application writes
  `http://` in its endpoint (the loopback leg is plain) and the proxy speaks TLS upstream: the Host, path
  and query it signed are the ones the vendor sees. CONNECT is refused: a tunnel cannot be checked.

Each finished exchange is handed to `sink` (non-blocking, see checking.py) with bounded copies of both
bodies (capture.py). An upstream that cannot be reached gets the client a 502 with a short JSON body.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from imgconf.errors import UsageError
from imgconf.proxy.capture import BodyCapture

CHUNK = 64 * 1024
HEAD_LIMIT = 64 * 1024  # the most a request or response head may take (asyncio's limit is the same)
CONNECT_TIMEOUT = 10.0
NO_BODY_STATUSES = frozenset({204, 304})
# Clients keep Nagle on for proxy connections (urllib3 sets TCP_NODELAY only when there is no proxy), so a
# request head and its body leave in two segments, the second held until the first is ACKed; Linux delays
# that ACK by up to 40 ms. Asking for a quick ACK once a head (or a body chunk) has been read sends it now.
QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _quickack(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if QUICKACK is not None and sock is not None:
        with contextlib.suppress(OSError):  # a socket already closed
            sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)


@dataclass(frozen=True)
class Upstream:
    """Where the proxy forwards to: scheme, host, port, and the Host header value that names it."""

    scheme: str
    host: str
    port: int
    netloc: str
    base_path: str = ""

    @classmethod
    def parse(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--upstream must be an http:// or https:// URL, not {url!r}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        netloc = parts.hostname if port == default else f"{parts.hostname}:{port}"
        if ":" in parts.hostname:
            netloc = f"[{parts.hostname}]" if port == default else f"[{parts.hostname}]:{port}"
        return cls(parts.scheme, parts.hostname, port, netloc, parts.path.rstrip("/"))

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.base_path}"

    def serves(self, netloc: str) -> bool:
        """A forward-proxy request for `netloc` is one for this upstream (any scheme's default port)."""
        netloc = netloc.lower()
        return netloc in (self.netloc.lower(), f"{self.netloc.lower()}:{self.port}") or (
            netloc == self.host.lower() and self.port in (80, 443)
        )


@dataclass
class Proxied:
    """One exchange as the relay saw it, with bounded copies of its bodies (never the whole upload)."""

    method: str
    url: str  # the upstream URL it went to
    request_headers: list[tuple[str, str]]
    request: BodyCapture
    started_at: float
    status: int | None = None
    reason: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response: BodyCapture = field(default_factory=BodyCapture)
    elapsed_ms: float = 0.0
    error: str | None = None

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self.method,
            self.url,
            tuple(self.request_headers),
            self.request.close(),
            self.request.size,
            self.request.truncated,
            self.started_at,
            self.status,
            self.reason,
            tuple(self.response_headers),
            self.response.close(),
            self.response.size,
            self.elapsed_ms,
            self.error,
        )


@dataclass(frozen=True)
class Snapshot:
    """A finished exchange as the checker gets it: plain values only, so it crosses to the checking process."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes  # the bounded copy (capture.py)
    request_size: int
    request_truncated: bool
    started_at: float
    status: int | None
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    response_size: int
    elapsed_ms: float
    error: str | None


class BadRequest(Exception):
    """The client's head cannot be framed: it gets a 400 and the connection is closed."""


@dataclass
class _Head:
    first: list[bytes]  # the request or status line, split in three
    lines: list[bytes]  # the header lines, raw, without CRLF
    headers: list[tuple[str, str]]

    def value(self, name: str) -> str | None:
        wanted = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == wanted:
                found = value
        return found

    def framing(self) -> tuple[bool, int | None]:
        """(chunked, content length): how the body that follows this head ends."""
        encoding = (self.value("transfer-encoding") or "").lower()
        if "chunked" in encoding:
            return True, None
        length = self.value("content-length")
        if length is None:
            return False, None
        try:
            size = int(length.split(",")[0].strip())
        except ValueError:
            raise BadRequest(f"Content-Length {length!r} is not a number") from None
        if size < 0:
            raise BadRequest("Content-Length is negative")
        return False, size


def _parse_head(raw: bytes) -> _Head:
    text = raw[:-4] if raw.endswith(b"\r\n\r\n") else raw
    lines = text.split(b"\r\n")
    first = lines[0].split(b" ", 2)
    if len(first) < 2:
        raise BadRequest("malformed start line")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadRequest("malformed header line")
        headers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
    return _Head(first, lines[1:], headers)


def error_response(status: int, reason: str, message: str, **extra: str) -> bytes:
    body = json.dumps({"error": message, **extra}, separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "x-imgconf-proxy: 1\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


# An upstream connection: its streams and the upstream it goes to.
_Up = tuple[asyncio.StreamReader, asyncio.StreamWriter, Upstream]


class Relay:
    """The connection handler for `asyncio.start_server`: one upstream connection per client connection."""

    def __init__(
        self,
        upstream: Upstream,
        sink: Callable[[Proxied], None],
        *,
        also: Sequence[Upstream] = (),
        keep_host: bool = False,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream  # where reverse-proxy requests go
        self.upstreams = [upstream, *also]  # the hosts forward-proxy requests may name (Huawei: service and IAM)
        self.sink = sink
        self.keep_host = keep_host
        needs_tls = any(item.scheme == "https" for item in self.upstreams)
        self.context = context or (ssl.create_default_context() if needs_tls else None)
        self.busy = 0  # exchanges in flight (idle keep-alive connections are not counted)
        self.clients: set[asyncio.StreamWriter] = set()

    def close_all(self) -> None:
        """At shutdown, once the exchanges in flight are done: end every client connection."""
        for writer in list(self.clients):
            writer.close()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up: _Up | None = None
        self.clients.add(writer)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed between requests
                except asyncio.LimitOverrunError:
                    writer.write(error_response(431, "Request Header Fields Too Large", "request head too large"))
                    return
                _quickack(writer)
                self.busy += 1
                try:
                    keep, up = await self._exchange(raw, reader, writer, up)
                finally:
                    self.busy -= 1
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError, asyncio.CancelledError):
            return  # a connection lost, or the proxy stopping: nothing to tell anyone
        finally:
            self.clients.discard(writer)
            for stream in (writer, up[1] if up else None):
                if stream is not None:
                    stream.close()

    async def _connect(self, upstream: Upstream) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        tls = self.context if upstream.scheme == "https" else None
        return await asyncio.wait_for(
            asyncio.open_connection(
                upstream.host,
                upstream.port,
                ssl=tls,
                server_hostname=upstream.host if tls else None,
                limit=HEAD_LIMIT,
            ),
            CONNECT_TIMEOUT,
        )

    def _request_head(self, head: _Head) -> tuple[bytes, str, str, Upstream]:
        """The head to send upstream, the request's upstream URL, its method, and the upstream it goes to."""
        method = head.first[0].decode("latin-1")
        target = head.first[1].decode("latin-1")
        version = head.first[2] if len(head.first) > 2 else b"HTTP/1.1"
        lines = list(head.lines)
        upstream = self.upstream
        if "://" in target.split("?", 1)[0]:  # absolute form: a forward-proxy request
            parts = urlsplit(target)
            served = next((item for item in self.upstreams if item.serves(parts.netloc)), None)
            if served is None:
                raise PermissionError(parts.netloc)
            upstream = served
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif not self.keep_host:
            lines = [
                b"Host: " + upstream.netloc.encode("latin-1") if line[:5].lower() == b"host:" else line
                for line in lines
            ]
        path = upstream.base_path + target
        first = b" ".join((method.encode("latin-1"), path.encode("latin-1"), version))
        data = b"\r\n".join([first, *lines]) + b"\r\n\r\n"
        return data, f"{upstream.scheme}://{upstream.netloc}{path}", method, upstream

    async def _exchange(
        self,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up: _Up | None,
    ) -> tuple[bool, _Up | None]:
        """Relay one request and its answer; (keep the client connection, the upstream connection)."""
        started = time.perf_counter()
        try:
            head = _parse_head(raw)
            if head.first[0].upper() == b"CONNECT":
                writer.write(
                    error_response(
                        501,
                        "Not Implemented",
                        "CONNECT tunnels cannot be checked: use an http:// endpoint, the proxy speaks TLS upstream",
                    )
                )
                return False, up
            chunked, length = head.framing()
            data, url, method, upstream = self._request_head(head)
        except BadRequest as exc:
            writer.write(error_response(400, "Bad Request", f"imgconf proxy: {exc}"))
            return False, up
        except PermissionError as exc:
            writer.write(
                error_response(
                    403,
                    "Forbidden",
                    f"this proxy forwards only to {', '.join(item.netloc for item in self.upstreams)}",
                    host=str(exc),
                )
            )
            return False, up
        proxied = Proxied(
            method, url, head.headers, BodyCapture(head.value("content-type") or ""), started_at=time.time()
        )
        if up is None or up[0].at_eof() or up[2] != upstream:
            if up is not None:
                up[1].close()
            try:
                up = (*await self._connect(upstream), upstream)
            except (OSError, TimeoutError) as exc:
                proxied.error = f"{type(exc).__name__}: {exc}"[:300]
                proxied.elapsed_ms = (time.perf_counter() - started) * 1000
                proxied.request.close()
                self.sink(proxied)
                writer.write(error_response(502, "Bad Gateway", "upstream unreachable", upstream=upstream.netloc))
                return False, None
        up_reader, up_writer, _ = up
        up_writer.write(data)
        sending = asyncio.ensure_future(
            self._body(reader, up_writer, chunked, length, proxied.request, False, client=writer)
        )
        try:
            keep = await self._response(up_reader, writer, method, proxied)
            await sending
        except (ConnectionError, asyncio.IncompleteReadError, OSError, BadRequest) as exc:
            sending.cancel()
            proxied.error = proxied.error or f"{type(exc).__name__}: {exc}"[:300]
            proxied.elapsed_ms = (time.perf_counter() - started) * 1000
            if proxied.status is None:
                writer.write(error_response(502, "Bad Gateway", "upstream closed the connection"))
            self.sink(proxied)
            up_writer.close()
            return False, None
        proxied.elapsed_ms = (time.perf_counter() - started) * 1000
        proxied.request.close()
        proxied.response.close()
        self.sink(proxied)
        asks_close = (head.value("connection") or "").lower() == "close"
        return keep and not asks_close, (up if keep else None)

    async def _response(
        self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, proxied: Proxied
    ) -> bool:
        """Relay the answer (1xx interim answers first); whether both connections may be kept."""
        while True:
            raw = await up_reader.readuntil(b"\r\n\r\n")
            head = _parse_head(raw)
            try:
                status = int(head.first[1])
            except ValueError:
                raise BadRequest("malformed status line") from None
            writer.write(raw)
            if 100 <= status < 200 and status != 101:
                continue
            break
        proxied.status = status
        proxied.reason = head.first[2].decode("latin-1") if len(head.first) > 2 else ""
        proxied.response_headers = head.headers
        proxied.response = BodyCapture(head.value("content-type") or "")
        if method == "HEAD" or status in NO_BODY_STATUSES or status == 101:
            await writer.drain()
            return status != 101
        chunked, length = head.framing()
        await self._body(up_reader, writer, chunked, length, proxied.response, True)
        return (chunked or length is not None) and (head.value("connection") or "").lower() != "close"

    async def _body(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        chunked: bool,
        length: int | None,
        capture: BodyCapture,
        to_close: bool,
        client: asyncio.StreamWriter | None = None,
    ) -> None:
        """Relay one body as it is framed: `length` bytes, chunked (size lines and trailers too), or to EOF."""
        if chunked:
            while True:
                line = await source.readuntil(b"\r\n")
                sink.write(line)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequest("malformed chunk size") from None
                if size == 0:
                    while True:
                        trailer = await source.readuntil(b"\r\n")
                        sink.write(trailer)
                        if trailer == b"\r\n":
                            break
                    break
                await self._exact(source, sink, size, capture, client)
                sink.write(await source.readexactly(2))
        elif length is not None:
            await self._exact(source, sink, length, capture, client)
        elif to_close:
            while chunk := await source.read(CHUNK):
                capture.feed(chunk)
                sink.write(chunk)
                await sink.drain()
        await sink.drain()

    @staticmethod
    async def _exact(
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        size: int,
        capture: BodyCapture,
        client: asyncio.StreamWriter | None,
    ) -> None:
        left = size
        while left:
            chunk = await source.read(min(CHUNK, left))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", left)
            if client is not None:
                _quickack(client)
            left -= len(chunk)
            capture.feed(chunk)
            sink.write(chunk)
            await sink.drain()
