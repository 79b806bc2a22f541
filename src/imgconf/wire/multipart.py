"""Multipart bodies read back into their parts, for evidence, replay keys and validation."""

from __future__ import annotations

import email.parser
import email.policy
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
