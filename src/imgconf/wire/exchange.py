"""One request and its response, as sent and received: the unit every layer above reads."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# Bodies beyond this are kept as a prefix plus their size and hash: a report needs the evidence, not 50 MB.
BODY_KEEP = 256 * 1024


@dataclass
class Exchange:
    """One request and its response, as sent and received (redacted when written anywhere)."""

    seq: int
    vendor: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    request_size: int
    status: int | None
    response_headers: dict[str, str]
    response_body: bytes
    response_size: int
    elapsed_ms: float
    started_at: float
    error: str | None = None
    test: str | None = None
    reason: str | None = None
    match_key: str | None = None  # set when the run is recorded (see wire/replay_keys.py)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"
