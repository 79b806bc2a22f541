"""Reading request bodies with a bound while they stream in, and parsing them without ever raising a 500.

Memory per request is bounded by what is held, not by what is sent:
- `read_limited` holds at most `limit` bytes, as the chunks that came (joined once, so reading is linear in
  the body's size, and a body that came in one chunk is never copied);
- `stream_form` never holds the body: multipart parts are parsed as the chunks arrive and every file part
  is spooled to a temporary file (on disk past 1 MiB), the limit counted on the bytes that arrived;
- `parse_json` turns every way JSON can fail, including nesting deeper than Python's recursion limit and
  integers of more than 4,300 digits, into one `Malformed`, so each vendor answers its own malformed-body
  error for them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.types import Message

SPOOL_CHUNK = 1024 * 1024
# What a parsed JSON document may nest to: far beyond any documented body, far below Python's recursion limit.
MAX_JSON_DEPTH = 64


class BodyTooLarge(Exception):
    """The body passed its limit while streaming in; the rest was never read."""


class Malformed(ValueError):
    """The body is not the document its content type says it is."""


def declared_too_large(request: Request, limit: int) -> bool:
    declared = request.headers.get("content-length")
    return declared is not None and declared.isdigit() and len(declared) < 20 and int(declared) > limit


async def read_limited(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it passes `limit` bytes (never buffer an unbounded body)."""
    if declared_too_large(request, limit):
        raise BodyTooLarge
    # The chunks are kept as they came and joined once: a body that came in one chunk (every in-process
    # request) is returned as it is, never copied; one growing buffer copied out at the end held each body
    # twice, and a 10 MB one cost 20 MB for a moment.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if not chunk:
            continue
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    if len(chunks) == 1:
        return bytes(chunks[0])  # the same object when it is bytes already
    return b"".join(chunks)


def with_body(request: Request, body: bytes) -> Request:
    """A request whose body is `body`, so Starlette's form and JSON parsers can run on bytes read already."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


async def _bounded(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        yield chunk


async def stream_form(request: Request, limit: int, max_part_size: int = 1024 * 1024) -> FormData:
    """A multipart or urlencoded form parsed as it streams in, files spooled to disk; BodyTooLarge past `limit`.

    A body of another type is an empty form (as Starlette's `Request.form` reads it); one that does not
    parse raises Malformed, which each vendor answers in its own way.
    """
    if declared_too_large(request, limit):
        raise BodyTooLarge
    kind = request.headers.get("content-type", "").lower()
    chunks = _bounded(request, limit)
    try:
        if kind.startswith("multipart/form-data"):
            return await MultiPartParser(request.headers, chunks, max_part_size=max_part_size).parse()
        if kind.startswith("application/x-www-form-urlencoded"):
            return await FormParser(request.headers, chunks).parse()
    except (MultiPartException, HTTPException, UnicodeDecodeError, ValueError, AssertionError, KeyError) as exc:
        problem: Exception | None = exc
    else:
        problem = None
    # What is not a form, or stopped parsing, is still read to its end with the bound: a server reads the
    # whole body before its script runs, so an oversized one is refused as oversized, not as malformed.
    async for _ in chunks:
        pass
    if problem is not None:
        raise Malformed(f"the form does not parse: {type(problem).__name__}")
    return FormData()


@dataclass(frozen=True)
class Spooled:
    """What a file part is to the emulator without being read into memory: its size, digest and first bytes."""

    size: int
    sha256: str
    head: bytes

    @classmethod
    def of(cls, data: bytes, head_size: int = 64) -> Spooled:
        return cls(len(data), hashlib.sha256(data).hexdigest(), data[:head_size])


async def inspect(upload: UploadFile, head_size: int = 64) -> Spooled:
    """Size, SHA-256 and first bytes of a spooled file part, read in chunks (memory: one chunk)."""
    await upload.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    while chunk := await upload.read(SPOOL_CHUNK):
        if len(head) < head_size:
            head += chunk[: head_size - len(head)]
        digest.update(chunk)
        size += len(chunk)
    await upload.seek(0)
    return Spooled(size, digest.hexdigest(), head)


def _depth(node: Any) -> int:
    depth, level = 0, [node]
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            break
        nested: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nested.extend(item.values())
            elif isinstance(item, list):
                nested.extend(item)
        level = nested
    return depth - 1


def json_text(body: bytes) -> str:
    """The text json.loads reads `body` as (UTF-8, or UTF-16/32 by their byte order), so a caller can let go of
    the bytes before the parse: a 10 MB body is then held as text and value, not also as bytes. Raises
    UnicodeDecodeError as json.loads would."""
    return body.decode(json.detect_encoding(body), "surrogatepass")


def parse_json(body: bytes | str) -> Any:
    """json.loads, with the failures a vendor's parser would not meet as ordinary syntax errors (nested too
    deep, too long a number) as Malformed; JSONDecodeError and UnicodeDecodeError pass through (all three are
    ValueErrors, for a caller that answers them alike)."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise Malformed("the document nests deeper than the parser allows") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise  # what a vendor's own parser reports in its own way
    except ValueError as exc:  # "Exceeds the limit (4300 digits)" for long integers
        raise Malformed(str(exc)) from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise Malformed("the document nests too deep")
    return document


def bounded_int(digits: str, ceiling: int = sys.maxsize) -> int:
    """A run of ASCII digits as an int, clamped to `ceiling` without converting more than 19 digits of it."""
    significant = digits.lstrip("0") or "0"
    return ceiling if len(significant) > 19 else min(int(significant), ceiling)
