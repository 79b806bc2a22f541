"""What makes two requests "the same request" for replay: never secrets, dates, signatures or boundaries."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imgconf.redact import REDACTED, REDACTOR, is_sensitive_name
from imgconf.wire import multipart
from imgconf.wire.exchange import BODY_KEEP


def keyed_body(body: Any) -> bytes:
    """The bytes a request body was keyed on when it was recorded: all of it, or, for a body streamed as an
    iterable of chunks (wire/multipart.StreamedForm), its first BODY_KEEP bytes, as the guard keeps them.

    A streamed body is read to its end, as a transport would send it, but never held whole.
    """
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    kept = bytearray()
    for chunk in body:
        if len(kept) < BODY_KEEP:
            kept += chunk[: BODY_KEEP - len(kept)]
    return bytes(kept)


def match_key(method: str, url: str, headers: dict[str, str], body: bytes) -> str:
    """What makes two requests 'the same request' for replay: never secrets, dates, signatures or boundaries."""
    parts = urlsplit(url)
    query = sorted(
        (key, _label(value) if is_sensitive_name(key) else value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    shape: Any
    if kind.startswith("multipart/") and body:
        shape = [
            [part["name"], part["filename"], part["content_type"], _part_digest(part)]
            for part in multipart.parts(content_type, body)
        ]
    elif "json" in kind and body:
        try:
            shape = REDACTOR.data(_blank_sensitive(json.loads(body)))
        except (ValueError, UnicodeDecodeError):
            shape = hashlib.sha256(body).hexdigest()
    elif kind == "application/x-www-form-urlencoded":
        shape = sorted(
            (key, _label(value) if is_sensitive_name(key) else value)
            for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        )
    else:
        shape = hashlib.sha256(body).hexdigest()
    accept = lowered.get("accept", "*/*")
    # Which credential a request carried is part of what it is (a partner's key and a user's key get different
    # answers); never its value: a credential counts by the name of the variable it came from.
    credentials = sorted((name, _label(value)) for name, value in lowered.items() if is_sensitive_name(name))
    key = json.dumps([method.upper(), parts.path, query, kind, accept, credentials, shape], sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _label(value: str) -> str:
    """A credential as the redactor names it (`$IDENTIFAI_USER_API_KEY`), or just "redacted" when unknown."""
    named = sorted(set(re.findall(r"\$[A-Z][A-Z0-9_]*", REDACTOR.placeholder(value))))
    # Only the names: a signature beside a key (Huawei's Authorization) changes with every request.
    return ",".join(named) or REDACTED


def _part_digest(part: dict[str, Any]) -> str:
    if part["name"] and is_sensitive_name(part["name"]):
        return _label(part["bytes"].decode("utf-8", "replace"))
    return hashlib.sha256(part["bytes"]).hexdigest()


def _blank_sensitive(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _label(str(item)) if is_sensitive_name(str(key)) else _blank_sensitive(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_blank_sensitive(item) for item in value]
    return value
