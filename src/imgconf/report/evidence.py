"""Turning a recorded exchange into report evidence: redacted, readable, reproducible.

Every finding carries the request and response that showed it, with secrets
removed, and a curl command that sends the same request again. Binary parts
(the images) are written beside the report so the command works as printed;
credentials appear in it as `$ENV_VAR` references, never as values.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imgconf.redact import REDACTED, REDACTOR, is_sensitive_name, is_signature
from imgconf.report.outcome import Evidence
from imgconf.wire.exchange import Exchange
from imgconf.wire.multipart import parts

TEXT_LIMIT = 4000
_SKIP_IN_CURL = {"content-length", "accept-encoding", "connection", "user-agent", "accept", "host"}


def _content_type(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return ""


def _summary(data: bytes, size: int) -> dict[str, Any]:
    return {"size": size, "sha256": hashlib.sha256(data).hexdigest() if size == len(data) else None}


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() or all(ch.isprintable() or ch in "\r\n\t" for ch in text) else None


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + f"… ({len(text)} characters)"


def _parts_of(headers: dict[str, str], data: bytes) -> list[dict[str, Any]] | None:
    """A multipart body's parts (None for any other body), read once for both its view and its reproducer:
    the stdlib parser is most of what evidence costs a short run that found something."""
    content_type = _content_type(headers)
    return parts(content_type, data) if content_type.lower().startswith("multipart/") else None


def body_view(headers: dict[str, str], data: bytes, size: int, found: list[dict[str, Any]] | None = None) -> Any:
    """A JSON-friendly, redacted rendering of a body (`found`: its multipart parts, if already read)."""
    if not size:
        return None
    kind = _content_type(headers).lower()
    if "json" in kind:
        try:
            return REDACTOR.data(json.loads(data))
        except (ValueError, UnicodeDecodeError):
            pass
    if kind.startswith("multipart/"):
        rendered = []
        for part in parts(_content_type(headers), data) if found is None else found:
            payload = part["bytes"]
            view = {key: value for key, value in part.items() if key != "bytes"}
            text = _text(payload) if not part["filename"] else None
            if part["name"] and is_sensitive_name(part["name"]):
                view["value"] = REDACTED
            elif text is not None:
                view["value"] = _clip(REDACTOR.text(text))
            else:
                view["sha256"] = hashlib.sha256(payload).hexdigest()
            rendered.append(view)
        return {"multipart": rendered}
    if "x-www-form-urlencoded" in kind:
        text = _text(data) or ""
        return {"form": REDACTOR.data({key: value for key, value in parse_qsl(text, keep_blank_values=True)})}
    text = _text(data)
    if text is not None:
        return _clip(REDACTOR.text(text))
    return {"binary": _summary(data, size)}


def from_exchange(exchange: Exchange, finding_id: str) -> Evidence:
    found = _parts_of(exchange.request_headers, exchange.request_body) if exchange.request_size else None
    request = {
        "method": exchange.method,
        "url": REDACTOR.url(exchange.url),
        "headers": REDACTOR.headers(exchange.request_headers),
        "body": body_view(exchange.request_headers, exchange.request_body, exchange.request_size, found),
    }
    response: dict[str, Any] | None = None
    if exchange.status is not None:
        response = {
            "status": exchange.status,
            "headers": REDACTOR.headers(exchange.response_headers),
            "body": body_view(exchange.response_headers, exchange.response_body, exchange.response_size),
            "elapsed_ms": round(exchange.elapsed_ms, 1),
        }
    elif exchange.error:
        response = {"error": exchange.error}
    files: dict[str, bytes] = {}
    curl = curl_command(exchange, finding_id, files, found)
    return Evidence(request=request, response=response, curl=curl, seq=exchange.seq, files=files)


def curl_command(
    exchange: Exchange, finding_id: str, files: dict[str, bytes], found: list[dict[str, Any]] | None = None
) -> str:
    """A curl command that repeats the request; credentials as $ENV references, images as files beside the report.
    (`found`: the request's multipart parts, if already read.)

    A signed request gets a re-signing script instead (`resign_command`): its signature is derived from a
    secret and stays valid for minutes, so it is never written down.
    """
    if any(
        name.lower() == "authorization" and is_signature(str(value)) for name, value in exchange.request_headers.items()
    ):
        return resign_command(exchange, finding_id, files)
    words = ["curl", "-sS", "-i", "-X", exchange.method]
    content_type = _content_type(exchange.request_headers)
    multipart = content_type.lower().startswith("multipart/") and exchange.request_size == len(exchange.request_body)
    for name, value in exchange.request_headers.items():
        lowered = name.lower()
        if lowered in _SKIP_IN_CURL or (multipart and lowered == "content-type"):
            continue
        words += ["-H", f"{name}: {_header_reference(name, str(value), exchange.vendor)}"]
    if multipart:
        for index, part in enumerate(parts(content_type, exchange.request_body) if found is None else found):
            payload: bytes = part["bytes"]
            text = _text(payload) if not part["filename"] else None
            if text is not None:
                words += ["-F", f"{part['name']}={REDACTOR.placeholder(text)}"]
            else:
                filename = f"{finding_id}-{index}-{part['filename'] or part['name']}"
                files[filename] = payload
                kind = f";type={part['content_type']}" if part["content_type"] else ""
                words += ["-F", f"{part['name']}=@evidence/{filename}{kind}"]
    elif exchange.request_size:
        text = _text(exchange.request_body) if exchange.request_size == len(exchange.request_body) else None
        if text is not None:
            words += ["--data-raw", REDACTOR.placeholder(text)]
        else:
            filename = f"{finding_id}-body.bin"
            files[filename] = exchange.request_body
            words += ["--data-binary", f"@evidence/{filename}"]
    words.append(REDACTOR.placeholder(reproducible_url(exchange.url)))
    return " ".join(_quote(word) for word in words)


def _header_reference(name: str, value: str, vendor: str) -> str:
    """A header's value as a reproducer shows it: known secrets as their $ENV placeholder, and a sensitive
    header holding an unregistered value (a token a test obtained itself) as `$VENDOR_HEADER_NAME`."""
    shown = REDACTOR.placeholder(value)
    if is_sensitive_name(name) and shown == value:
        return "$" + "".join(char if char.isalnum() else "_" for char in f"{vendor}_{name}").upper()
    return shown


# Headers the signer sets anew; the rest of a signed request's headers are replayed as recorded.
_SET_BY_SIGNER = {"authorization", "x-sdk-date", "host", "content-length"}

_RESIGN_SCRIPT = """\
# Reproduces {finding}: the recorded request, signed anew by imgconf's signer for {vendor} with the
# credentials in the environment ({env}). The recorded signature is not kept: it was derived from the
# secret key and would still authenticate for minutes.
import os
import pathlib

import requests

from imgconf import vendors

vendor = vendors.get({vendor!r})
credentials = {{field.name: os.environ[field.env] for field in vendor.credentials if os.environ.get(field.env)}}
headers = {{name: os.path.expandvars(value) for name, value in {headers!r}.items()}}
body = {body}
request = requests.Request({method!r}, os.path.expandvars({url!r}), headers=headers, data=body).prepare()
vendor.auth.apply(request, credentials)
response = requests.Session().send(request, timeout=30, allow_redirects=False)
print(response.status_code, response.reason)
print(*(f"{{name}}: {{value}}" for name, value in response.headers.items()), sep="\\n")
print()
print(response.text)
"""


def resign_command(exchange: Exchange, finding_id: str, files: dict[str, bytes]) -> str:
    """A small Python script beside the report that signs the request again from the environment's AK/SK."""
    headers = {
        name: _header_reference(name, str(value), exchange.vendor)
        for name, value in exchange.request_headers.items()
        if name.lower() not in _SET_BY_SIGNER | _SKIP_IN_CURL
    }
    body = 'b""'
    if exchange.request_size:
        filename = f"{finding_id}-body.bin"
        files[filename] = REDACTOR.bytes(exchange.request_body)
        body = f"pathlib.Path(__file__).with_name({filename!r}).read_bytes()"
    names = _signing_names(exchange)
    script = _RESIGN_SCRIPT.format(
        finding=finding_id,
        vendor=exchange.vendor,
        env=" and ".join(names),
        headers=headers,
        body=body,
        method=exchange.method,
        url=REDACTOR.placeholder(reproducible_url(exchange.url)),
    )
    script_name = f"{finding_id}-resign.py"
    files[script_name] = script.encode()
    return (
        f"python3 evidence/{script_name}  # signs anew from {' and '.join(names)}; the recorded signature is not kept"
    )


def _signing_names(exchange: Exchange) -> list[str]:
    """The variables a signature is made from: the key id's placeholder (in `Access=`) and its secret's beside it."""
    authorization = next(value for name, value in exchange.request_headers.items() if name.lower() == "authorization")
    registered = REDACTOR.placeholders
    names = sorted(name for name in registered if name in REDACTOR.placeholder(str(authorization)))
    names += [name[:-2] + "SK" for name in names if name.endswith("AK") and name[:-2] + "SK" in registered]
    return names or [f"the {exchange.vendor} credentials"]


IN_PROCESS_SUFFIX = ".emulator"
REPRODUCE_PORT = 8700


def reproducible_url(url: str) -> str:
    """In-process runs have no port to send to; their commands target `imgconf emulator serve --vendor V`."""
    parts = urlsplit(url)
    if parts.hostname and parts.hostname.endswith(IN_PROCESS_SUFFIX):
        return parts._replace(netloc=f"127.0.0.1:{REPRODUCE_PORT}").geturl()
    return url


def _quote(word: str) -> str:
    # Keep $VARS expandable: double quotes for words that reference one and need quoting.
    if "$" in word and all(ch not in word for ch in '"`\\'):
        quoted = shlex.quote(word)
        return f'"{word}"' if quoted != word else word
    return shlex.quote(word)
