"""Multipart bodies read back into their parts, for evidence, replay keys and validation."""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any


def parts(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The parts of a multipart body: name, filename, content type, and text or size and hash."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    found = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        name = part.get_param("name", header="content-disposition")
        entry: dict[str, Any] = {
            "name": name,
            "filename": part.get_filename(),
            "content_type": part.get_content_type() if part.get("content-type") else None,
            "size": len(payload),
            "bytes": payload,
        }
        found.append(entry)
    return found


@dataclass(frozen=True)
class StreamedForm:
    """A multipart/form-data body made chunk by chunk as it is sent, never held whole on the client.

    For the uploads that test a size limit (50 MB and more): the file part is `head` followed by zero bytes
    up to `size`. It has a length, so requests sends it with a Content-Length (the framing a browser uses),
    and it is iterable afresh, so a retried request sends the same bytes again. The boundary is fixed, so a
    recorded body and its replay key are the same every run.
    """

    fields: tuple[tuple[str, str], ...]
    name: str
    filename: str
    media_type: str
    head: bytes
    size: int
    boundary: str = "imgconf-streamed-form-7f3a"
    chunk: int = 1024 * 1024

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def with_field(self, name: str, value: str) -> StreamedForm:
        """The same form with the field `name` set to `value` (first, as a signing client puts its key)."""
        kept = tuple((key, text) for key, text in self.fields if key != name)
        return replace(self, fields=((name, value), *kept))

    def _preamble(self) -> bytes:
        lines = [
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{text}\r\n'
            for key, text in self.fields
        ]
        lines.append(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{self.name}"; '
            f'filename="{self.filename}"\r\nContent-Type: {self.media_type}\r\n\r\n'
        )
        return "".join(lines).encode("utf-8")

    def _trailer(self) -> bytes:
        return f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._preamble()) + self.size + len(self._trailer())

    def __iter__(self) -> Iterator[bytes]:
        yield self._preamble() + self.head[: self.size]
        left = self.size - min(len(self.head), self.size)
        filler = bytes(min(self.chunk, left))
        while left > 0:
            piece = filler if left >= len(filler) else filler[:left]
            left -= len(piece)
            yield piece
        yield self._trailer()
