"""Record and replay: live exchanges as a redacted VCR.py cassette, and an adapter that answers from one.

Recording writes vcrpy's own format (through vcrpy's serializer), so any VCR.py user can load the file;
imgconf adds a `metadata` block (vendors, target, profile, seed) and, per request, an
`X-Imgconf-Match` header: a hash of the request with secrets, signatures, dates and multipart
boundaries taken out. Replay runs the same suites with the same seed, so they send the same requests;
each is answered with the recorded response for its match key, in recorded order.
"""

from __future__ import annotations

import io
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3

from imgconf.errors import UsageError
from imgconf.redact import REDACTOR
from imgconf.wire.replay_keys import keyed_body, match_key

if TYPE_CHECKING:
    from vcr.request import Request as VcrRequest

# vcrpy is imported where a cassette is written or read, not with this module: its package imports the
# patches for every HTTP library it knows (~100 modules, 4 MB of a run's peak), which a run that neither
# records nor replays (nearly every run) would hold for nothing.


def _vcr_format() -> tuple[ModuleType, ModuleType]:
    """vcrpy's (de)serializer and its YAML format, the pair a cassette is written and read with."""
    from vcr import serialize
    from vcr.serializers import yamlserializer

    return serialize, yamlserializer


MATCH_HEADER = "X-Imgconf-Match"
VENDOR_HEADER = "X-Imgconf-Vendor"


class CassetteRecorder:
    """A transport listener that keeps every exchange, redacted, for the cassette."""

    def __init__(self) -> None:
        from vcr.request import Request

        self._request = Request
        self.requests: list[VcrRequest] = []
        self.responses: list[dict[str, Any]] = []

    def __call__(self, exchange: Any) -> None:
        if exchange.status is None:
            return  # a network error has no answer to replay
        headers = {name: [value] for name, value in REDACTOR.headers(exchange.request_headers).items()}
        headers[MATCH_HEADER] = [exchange.match_key]
        headers[VENDOR_HEADER] = [exchange.vendor]
        self.requests.append(
            self._request(exchange.method, REDACTOR.url(exchange.url), REDACTOR.bytes(exchange.request_body), headers)
        )
        self.responses.append(
            {
                "status": {"code": exchange.status, "message": exchange.reason or ""},
                "headers": {name: [value] for name, value in REDACTOR.headers(exchange.response_headers).items()},
                "body": {"string": REDACTOR.bytes(exchange.response_body)},
            }
        )

    def serialize(self, metadata: dict[str, Any]) -> str:
        serializer, yaml_format = _vcr_format()
        return serializer.serialize(
            {"requests": self.requests, "responses": self.responses, "metadata": metadata}, yaml_format
        )


@dataclass
class Cassette:
    path: Path
    requests: list[VcrRequest]
    responses: list[dict[str, Any]]
    metadata: dict[str, Any]

    def for_vendor(self, vendor: str) -> list[tuple[VcrRequest, dict[str, Any]]]:
        return [
            (request, response)
            for request, response in zip(self.requests, self.responses, strict=True)
            if _header(request, VENDOR_HEADER) in (vendor, None)
        ]


def _header(request: VcrRequest, name: str) -> str | None:
    """vcrpy keeps one value per header (its HeadersDict takes the last of a list)."""
    value = request.headers.get(name)
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    return value


def load(path: Path) -> Cassette:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read cassette {path}: {exc.strerror}") from None
    serializer, yaml_format = _vcr_format()
    try:
        loaded = serializer.deserialize(text, yaml_format)
    except Exception as exc:
        raise UsageError(f"{path} is not a VCR.py cassette: {' '.join(str(exc).split())[:200]}") from None
    requests_, responses, *rest = loaded
    metadata = rest[0] if rest else {}
    return Cassette(path, list(requests_), list(responses), metadata or {})


class ReplayMiss(requests.ConnectionError):
    """The suites sent a request the cassette has no answer for."""


class ReplayAdapter(requests.adapters.BaseAdapter):
    def __init__(self, entries: list[tuple[VcrRequest, dict[str, Any]]]) -> None:
        super().__init__()
        self.queues: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        for request, response in entries:
            key = _header(request, MATCH_HEADER)
            if key is None:  # a cassette recorded by another tool: compute the key from the request
                flat = {
                    name: values[-1] if isinstance(values, list) else values for name, values in request.headers.items()
                }
                key = match_key(request.method, request.uri, flat, keyed_body(request.body))
            self.queues[key].append(response)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        key = match_key(request.method or "GET", request.url or "", dict(request.headers), keyed_body(request.body))
        queue = self.queues.get(key)
        if not queue:
            path = urlsplit(request.url or "").path
            raise ReplayMiss(f"the cassette has no recorded answer for {request.method} {path}", request=request)
        recorded = queue.popleft() if len(queue) > 1 else queue[0]
        content = recorded["body"]["string"] or b""
        headers = [(name, value) for name, values in recorded["headers"].items() for value in values]
        return build_response(
            request,
            recorded["status"]["code"],
            recorded["status"]["message"],
            headers,
            content.encode() if isinstance(content, str) else content,
        )

    def close(self) -> None:
        pass


def build_response(
    request: requests.PreparedRequest, status: int, reason: str, headers: list[tuple[str, str]], content: bytes
) -> requests.Response:
    """A requests response with a real urllib3 body behind it, as schemathesis' checks expect."""
    headers = [
        (name, value)
        for name, value in headers
        # The body is stored decoded and redacted: its recorded length and encoding no longer describe it.
        if name.lower() not in ("content-encoding", "transfer-encoding", "content-length")
    ]
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(content),
        headers=urllib3.HTTPHeaderDict(headers),
        status=status,
        reason=reason,
        preload_content=False,
        decode_content=False,
    )
    return requests.adapters.HTTPAdapter().build_response(request, raw)
