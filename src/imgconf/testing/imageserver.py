"""The suite's callback address: a web server for the images the suites generate, and for webhook calls.

URL endpoints need images the target can download, and webhooks need somewhere to arrive. The emulator,
and a URL target on loopback, can reach this machine, so those runs publish each generated image here and
send its URL; a staging deployment elsewhere reaches it at the address given by `--callback-url`
(`advertised`), and a live vendor not at all (live runs use the configured public fixture URLs instead).
Webhook deliveries to `/hooks/...` go to the run's `WebhookReceiver`, so one address serves both.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from imgconf import images
from imgconf.testing import threaded
from imgconf.testing.webhooks import WebhookReceiver


def bind_address(callback: str | None) -> tuple[tuple[str, int], str | None]:
    """Where to listen for a callback URL, and the host:port to advertise (None: what the socket got).

    An IP literal is listened on as given; a host name (a NAT, a DNS name for this machine) on every
    interface, since the name is the operator's to route. Port 0 takes a free port.
    """
    if callback is None:
        return ("127.0.0.1", 0), None
    parts = urlsplit(callback)
    host = parts.hostname or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
        bind_host = host
    except ValueError:
        bind_host = "0.0.0.0"
    port = parts.port or 0
    return (bind_host, port), (host if port == 0 else f"{host}:{port}")


class ImageServer:
    def __init__(self, callback: str | None = None) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self.fetched: set[str] = set()  # paths downloaded so far: the reachability probe looks here
        self.webhooks = WebhookReceiver(server=False)
        files, fetched, hooks = self._files, self.fetched, self.webhooks

        class Handler(BaseHTTPRequestHandler):
            # Head and body go out in separate writes; without this, Nagle holds the body ~40 ms per image.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                if self.path.startswith(WebhookReceiver.PREFIX):
                    hooks.handle(self)
                    return
                fetched.add(self.path)
                entry = files.get(self.path)
                if entry is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data, media_type = entry
                self.send_response(200)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                hooks.handle(self)

            do_PUT = do_POST

            def log_message(self, format: str, *args: object) -> None:
                return

        address, advertised = bind_address(callback)
        self._server = ThreadingHTTPServer(address, Handler)
        self._server.daemon_threads = True
        self._advertised = advertised
        self.webhooks.base_url = self.base_url
        self._thread = threaded.serve(self._server, "imgconf-images")

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        if self._advertised is None:
            return f"http://{host!s}:{port}"
        return f"http://{self._advertised}" if ":" in self._advertised else f"http://{self._advertised}:{port}"

    def publish(self, data: bytes, fmt: str = "jpeg") -> str:
        """Serve `data` and return its URL; the URL is a function of the content."""
        name = f"/images/{hashlib.sha256(data).hexdigest()[:24]}.{images.EXTENSIONS.get(fmt, 'bin')}"
        with self._lock:
            self._files[name] = (data, images.MEDIA_TYPES.get(fmt, "application/octet-stream"))
        return self.base_url + name

    def missing(self) -> str:
        """A URL on the callback address that answers 404."""
        return self.base_url + "/images/missing.jpg"

    def was_fetched(self, url: str) -> bool:
        return urlsplit(url).path in self.fetched

    def close(self) -> None:
        threaded.stop(self._server)
