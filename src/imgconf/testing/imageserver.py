"""A loopback web server for the images the suites generate.

URL endpoints need images the target can download. The emulator may fetch
from loopback, so local runs publish each generated image here and send its
URL; a live vendor cannot reach loopback, so live runs use the configured
public fixture URLs instead.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from imgconf import images


class ImageServer:
    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        files = self._files

        class Handler(BaseHTTPRequestHandler):
            # Head and body go out in separate writes; without this, Nagle holds the body ~40 ms per image.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
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

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="imgconf-images", daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, data: bytes, fmt: str = "jpeg") -> str:
        """Serve `data` and return its URL; the URL is a function of the content."""
        name = f"/images/{hashlib.sha256(data).hexdigest()[:24]}.{images.EXTENSIONS.get(fmt, 'bin')}"
        with self._lock:
            self._files[name] = (data, images.MEDIA_TYPES.get(fmt, "application/octet-stream"))
        return self.base_url + name

    def missing(self) -> str:
        """A loopback URL that answers 404."""
        return self.base_url + "/images/missing.jpg"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
