"""A loopback receiver for webhook calls.

APIs that call back (identifAI's `webhook_url`) are tested by giving them a
URL on this machine and looking at what arrives. Each test asks for its own
URL (a fresh path), so deliveries never mix; `wait` polls until the expected
number of calls has arrived or the timeout passes. Only targets that can
reach the suite's callback address (the emulator, a URL target on loopback or
given `--callback-url`) can call it; a live vendor cannot. The run's receiver
shares the image server's address (`ImageServer.webhooks`); a receiver made on
its own listens on a loopback port of its own.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from imgconf.testing import threaded

MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """One call, as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    PREFIX = "/hooks/"

    def __init__(self, host: str = "127.0.0.1", *, server: bool = True) -> None:
        self._calls: dict[str, list[Delivery]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.base_url = ""
        self._server: ThreadingHTTPServer | None = None
        if not server:
            return  # fed by another server's handler (the run's callback address), through `handle`
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _receive(self) -> None:
                receiver.handle(self)

            do_POST = _receive
            do_PUT = _receive
            do_GET = _receive

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        bound_host, port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{port}"
        self._thread = threaded.serve(self._server, "imgconf-webhooks")

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Record one call and answer 204."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(min(length, MAX_BODY)) if length else b""
        self._record(Delivery(request.command, request.path, dict(request.headers.items()), body, time.monotonic()))
        request.send_response(204)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def url(self) -> str:
        """A fresh URL: whatever is delivered to it belongs to the caller alone."""
        path = f"{self.PREFIX}{secrets.token_hex(8)}"
        with self._lock:
            self._calls[path] = []
        return self.base_url + path

    def _record(self, delivery: Delivery) -> None:
        with self._arrived:
            self._calls.setdefault(delivery.path, []).append(delivery)
            self._arrived.notify_all()

    def calls(self, url: str) -> list[Delivery]:
        path = url.removeprefix(self.base_url)
        with self._lock:
            return list(self._calls.get(path, []))

    def wait(self, url: str, count: int = 1, timeout: float = 10.0) -> list[Delivery]:
        """The calls to `url` once `count` have arrived, or whatever arrived within `timeout` seconds."""
        path = url.removeprefix(self.base_url)
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._calls.get(path, [])) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
            return list(self._calls.get(path, []))

    def close(self) -> None:
        if self._server is not None:
            threaded.stop(self._server)
