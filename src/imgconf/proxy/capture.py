"""A bounded copy of a body as it streams past, for checking: never the whole of a large upload.

The relay hands every chunk it forwards to a `BodyCapture` and forgets it. What the capture keeps is what
the checks read, and small: a JSON body with its long strings (base64 images) cut short, so it still
parses and every other field is intact; a multipart body with its file parts replaced by their size and
SHA-256, so its form fields still parse; anything else, a prefix. Each copy is capped (`KEEP`), so 200
concurrent 5 MB uploads cost a few megabytes, not a gigabyte.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

KEEP = 256 * 1024  # the most kept of any one body
LONG_STRING = 512  # JSON strings longer than this are cut to it (a base64 image needs no more to be judged)
_QUOTE_OR_ESCAPE = re.compile(rb'["\\]')
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


@dataclass
class BodyCapture:
    """Feed it the body's chunks in order; `kept` is the bounded copy, `size` and `sha256` the whole's."""

    content_type: str = ""
    size: int = 0
    kept: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)
    _shaper: _Shaper | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        kind = self.content_type.lower()
        boundary = _BOUNDARY.search(self.content_type)
        if kind.startswith("multipart/") and boundary:
            self._shaper = _Multipart(boundary.group(1).encode("latin-1"))
        elif "json" in kind:
            self._shaper = _Json()

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        self._digest.update(chunk)
        shaped = self._shaper.feed(chunk) if self._shaper is not None else chunk
        self._keep(shaped)

    def close(self) -> bytes:
        """The bounded copy, once the body has ended (may be called again: the copy does not change)."""
        if self._shaper is not None and not self._closed:
            self._keep(self._shaper.close())
        self._closed = True
        return bytes(self.kept)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def whole(self) -> bool:
        """The copy is the body itself, byte for byte."""
        return not self.truncated and not (self._shaper is not None and self._shaper.changed)

    def _keep(self, data: bytes) -> None:
        room = KEEP - len(self.kept)
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        self.kept += data


class _Shaper:
    changed = False

    def feed(self, chunk: bytes) -> bytes:
        raise NotImplementedError

    def close(self) -> bytes:
        return b""


class _Json(_Shaper):
    """Copies JSON with every string longer than LONG_STRING cut to it; still JSON, fields intact.

    Scans with `re` and slicing (C speed), not byte by byte: a 5 MB base64 string is one search.
    """

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False
        self.length = 0

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        position = 0
        while position < len(chunk):
            if self.escaped:  # the byte after a backslash, which may start this chunk
                self._add(out, chunk[position : position + 1])
                self.escaped = False
                position += 1
                continue
            if not self.in_string:
                quote = chunk.find(b'"', position)
                if quote < 0:
                    out += chunk[position:]
                    break
                out += chunk[position : quote + 1]
                self.in_string, self.length = True, 0
                position = quote + 1
                continue
            found = _QUOTE_OR_ESCAPE.search(chunk, position)
            end = found.start() if found else len(chunk)
            self._add(out, chunk[position:end])
            if found is None:
                break
            if chunk[end : end + 1] == b"\\":
                self._add(out, b"\\")
                self.escaped = True
            else:
                out += b'"'
                self.in_string = False
            position = end + 1
        return bytes(out)

    def _add(self, out: bytearray, data: bytes) -> None:
        room = LONG_STRING - self.length
        self.length += len(data)
        if room <= 0:
            self.changed = True
            return
        if len(data) > room:
            self.changed = True
            data = data[:room]
            if data.endswith(b"\\"):  # never leave a dangling escape in the copy
                data = data[:-1]
        out += data


class _Multipart(_Shaper):
    """Copies a multipart body with each file part's content replaced by `<N bytes, sha256 ...>`."""

    HEAD_LIMIT = 16 * 1024

    def __init__(self, boundary: bytes) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.pending = b"\r\n"  # the first delimiter has no CRLF before it: pretend it has
        self.in_head = False
        self.head = bytearray()
        self.is_file = False
        self.file_size = 0
        self.file_digest = hashlib.sha256()
        self.started = False

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        data = self.pending + chunk
        self.pending = b""
        position = 0
        while position < len(data):
            if self.in_head:
                end = data.find(b"\r\n\r\n", position)
                if end < 0:
                    self.head += data[position:]
                    if len(self.head) > self.HEAD_LIMIT:  # not a form after all: keep what there is
                        self.in_head = False
                    break
                self.head += data[position : end + 4]
                out += self.head
                self.is_file = b"filename=" in bytes(self.head).lower()
                self.file_size, self.file_digest = 0, hashlib.sha256()
                self.head = bytearray()
                self.in_head = False
                position = end + 4
                continue
            found = data.find(self.delimiter, position)
            if found < 0:
                # Hold back what could be the start of a delimiter split across chunks.
                hold = len(self.delimiter) + 2
                cut = max(position, len(data) - hold)
                self._content(out, data[position:cut])
                self.pending = data[cut:]
                break
            self._content(out, data[position:found])
            if self.is_file and self.started:
                self.changed = True
                out += f"<{self.file_size} bytes, sha256 {self.file_digest.hexdigest()}>".encode()
            self.is_file = False
            out += self.delimiter if self.started else self.delimiter[2:]
            self.started = True
            self.in_head = True
            position = found + len(self.delimiter)
        return bytes(out)

    def _content(self, out: bytearray, data: bytes) -> None:
        if self.is_file:
            self.file_size += len(data)
            self.file_digest.update(data)
        else:
            out += data

    def close(self) -> bytes:
        rest, self.pending = self.pending, b""
        out = bytearray()
        if self.in_head:
            out += self.head
            self.head, self.in_head = bytearray(), False
        self._content(out, rest)
        return bytes(out)
