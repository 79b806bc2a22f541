"""The credentials an application's traffic carries, learnt as they pass, so that nothing the proxy writes has them.

`imgconf run` registers the operator's credentials with the redactor before it sends anything; a proxy is
never told them. So every value the traffic carries under a sensitive name (redact.SENSITIVE_NAMES: an
API key header, an `apikey` query parameter or form field, an IAM password in a JSON body, a token in
X-Auth-Token or X-Subject-Token) is registered with the redactor when its exchange is checked, before the
exchange reaches a finding, a cassette or the console: every output is then scrubbed of it, wherever
else it appears (a token echoed in a body, a key in a URL).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imgconf.redact import REDACTOR, is_sensitive_name
from imgconf.wire.multipart import parts


def _walk(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if is_sensitive_name(str(key)) and isinstance(inner, str):
                yield inner
            else:
                yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def carried(url: str, request_headers: dict[str, str], body: bytes, response_headers: dict[str, str]) -> list[str]:
    """Every value under a sensitive name in the request (headers, query, form, JSON) and the response headers."""
    found = [value for name, value in (*request_headers.items(), *response_headers.items()) if is_sensitive_name(name)]
    found += [
        value for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True) if is_sensitive_name(name)
    ]
    content_type = next((value for name, value in request_headers.items() if name.lower() == "content-type"), "")
    kind = content_type.lower()
    if kind.startswith("multipart/"):
        for part in parts(content_type, body):
            if part.get("name") and is_sensitive_name(part["name"]) and not part.get("filename"):
                found.append(part["bytes"].decode("utf-8", "replace"))
    elif "x-www-form-urlencoded" in kind:
        found += [value for name, value in parse_qsl(body.decode("utf-8", "replace")) if is_sensitive_name(name)]
    elif "json" in kind:
        with contextlib.suppress(ValueError):
            found += list(_walk(json.loads(body)))
    for value in list(found):
        # An AK/SK Authorization names its access key: the key alone is a secret too.
        if value.startswith("SDK-HMAC-SHA256") and "Access=" in value:
            found.append(value.split("Access=", 1)[1].split(",", 1)[0].strip())
    return [value.strip() for value in found if value and value.strip()]


def learn(url: str, request_headers: dict[str, str], body: bytes, response_headers: dict[str, str]) -> None:
    for value in carried(url, request_headers, body, response_headers):
        REDACTOR.add_secret(value)
