"""APIG's SDK-HMAC-SHA256 request signing: the one implementation, for signing and for verifying.

Live runs sign with it (`HuaweiAuth`), the emulator verifies with it, and the
project's tests hold it to Huawei's published test vector and to what the
official SDK puts on the wire. Keeping both sides in one module means the
emulator cannot drift into accepting what a client would never send, nor the
client into sending what only our own emulator accepts.

The algorithm (huaweicloudsdkcore/signer/signer.py; Huawei's "API signing
guide", api-sign-algorithm-002..005):

    CanonicalRequest = METHOD \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n SignedHeaders \\n PayloadHash
    StringToSign     = "SDK-HMAC-SHA256" \\n X-Sdk-Date \\n hex(sha256(CanonicalRequest))
    Signature        = hex(HMAC-SHA256(key = SK, StringToSign))           # the raw SK: no key derivation
    Authorization    = SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b;c, Signature=...

CanonicalURI always ends in "/" (only for signing: the request is sent without it);
CanonicalHeaders ends in "\\n", so the canonical request holds an empty line before
SignedHeaders; PayloadHash is the hex SHA-256 of the exact body bytes, or the value
of X-Sdk-Content-Sha256 when that header is sent (UNSIGNED-PAYLOAD).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias
from urllib.parse import quote, unquote, unquote_plus

# A body as signed: its bytes, or the chunks of one streamed as it is sent (wire/streamed.py).
Body: TypeAlias = bytes | Iterable[bytes]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# The headers a client signs when they are present (the SDK signs every header it set itself;
# these are the ones that survive proxies and HTTP libraries unchanged).
SIGNABLE = ("content-type", "host", "x-project-id", "x-sdk-content-sha256", "x-sdk-date", "x-security-token")

_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Access=(?P<access>[^,\s]+), SignedHeaders=(?P<signed>[^,\s]+), "
    r"Signature=(?P<signature>[0-9a-fA-F]+)$"
)


def encode(text: str) -> str:
    """RFC 3986 percent-encoding, `~` kept and space as %20: the SDK's `quote(s, safe='~')`."""
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Percent-decode, split on `/`, encode each segment, re-join, and end with `/` (the trailing-slash rule)."""
    uri = "/".join(encode(segment) for segment in unquote(path or "/").split("/"))
    return uri if uri.endswith("/") else uri + "/"


def parse_query(query: str) -> list[tuple[str, str]]:
    """A raw query string as (key, value) pairs, as a server receives them; blank values keep their `=`."""
    pairs = []
    for item in query.split("&") if query else ():
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs sorted by key, then value; each `enc(key)=enc(value)`, joined by `&`; empty when there are none."""
    return "&".join(f"{encode(key)}={encode(value)}" for key, value in sorted(pairs))


def payload_hash(body: Body, headers: Mapping[str, str]) -> str:
    """The body's hash as signed: X-Sdk-Content-Sha256 verbatim when sent, else sha256 of the raw bytes.

    A streamed body (wire/streamed.py) is read chunk by chunk, never joined; an empty body is EMPTY_HASH.
    """
    declared = header(headers, CONTENT_HASH_HEADER)
    total, size = hashlib.sha256(), 0
    for chunk in (body,) if isinstance(body, bytes | bytearray | memoryview) else body:
        size += len(chunk)
        if not declared:
            total.update(chunk)
    if not size:
        return EMPTY_HASH
    return declared or total.hexdigest()


def raw_body(body: str | Body | None) -> Body:
    """A prepared request's body as the signature covers it: its bytes, or its chunks when it is streamed."""
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else body


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, looked up without regard to case (requests and Starlette both preserve case)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    body: Body,
) -> str:
    """The canonical request; a signed header the request lacks makes a canonical request no one else can match."""
    lines = []
    for name in signed_headers:
        value = header(headers, name)
        lines.append(f"{name}:{'' if value is None else value.strip()}")
    canonical_headers = "\n".join(lines) + "\n"
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers,
            ";".join(signed_headers),
            payload_hash(body, headers),
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    return f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key: str, signed_headers: Sequence[str], value: str) -> str:
    """One space between algorithm and Access (no comma), `, ` between the three parts, as APIG requires."""
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed_headers)}, Signature={value}"


def format_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(DATE_FORMAT)


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value.strip(), DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Authorization:
    """A parsed Authorization header."""

    algorithm: str
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str | None) -> Authorization | None:
    """The three parts of an SDK-HMAC-SHA256 Authorization header, or None when it is not one."""
    match = _AUTHORIZATION.match((value or "").strip())
    if match is None or match["algorithm"] != ALGORITHM:
        return None
    signed = tuple(match["signed"].split(";"))
    if any(not name or name != name.lower() for name in signed):
        return None
    return Authorization(match["algorithm"], match["access"], signed, match["signature"].lower())


@dataclass(frozen=True)
class Message:
    """What a signature covers: the request as it travels (path and query as sent, raw body bytes)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Body

    def canonical(self, signed_headers: Sequence[str]) -> str:
        return canonical_request(
            self.method, self.path, parse_query(self.query), self.headers, signed_headers, self.body
        )


def sign(message: Message, access_key: str, secret_key: str, signed_headers: Sequence[str]) -> str:
    """The Authorization header for `message`, which must already carry X-Sdk-Date (and Host, if signed)."""
    sdk_date = header(message.headers, DATE_HEADER)
    if not access_key or not secret_key:
        raise ValueError("both AK and SK are required to sign")
    if sdk_date is None:
        raise ValueError("X-Sdk-Date must be set before signing")
    names = sorted({name.lower() for name in signed_headers})
    value = signature(secret_key, string_to_sign(message.canonical(names), sdk_date.strip()))
    return authorization(access_key, names, value)


def verify(message: Message, parsed: Authorization, secret_key: str) -> bool:
    """Whether `parsed.signature` is what `secret_key` gives over `message` (compared in constant time)."""
    sdk_date = header(message.headers, DATE_HEADER)
    if sdk_date is None or "x-sdk-date" not in parsed.signed_headers:
        return False
    expected = signature(secret_key, string_to_sign(message.canonical(parsed.signed_headers), sdk_date.strip()))
    return hmac.compare_digest(expected, parsed.signature)
