"""imagerecognize.com: the vendor's facts, how its key travels, and the checks no schema can express.

The key is not an HTTP auth scheme but an ordinary parameter: the form field `apikey` of a multipart POST
and the query parameter `apikey` of a GET. The spec therefore declares it as a parameter, and schemathesis
generates random strings for it; `FormOrQueryKey` puts the real key on the wire at send time. It does so
after the request is prepared, never on the schemathesis case: rewriting a case's body would make
schemathesis re-validate it, and a body holding a file cannot be re-validated, so every positive case would
turn "negative" and lose its acceptance check.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jsonschema_rs
import requests
from schemathesis.transport.serialization import Binary

from imgconf.checks import check, violated
from imgconf.vendors.base import AccountRefusal, AuthScheme, CredentialField, Credentials, Preflight, Vendor
from imgconf.wire.multipart import StreamedForm

if TYPE_CHECKING:
    from schemathesis import Case

KEY = "apikey"
TYPES = ("objects", "celebrities", "detect_faces", "detect_text", "nsfw", "cache")
INTEGER_FIELDS = frozenset({"max_labels", "min_confidence", "nsfw_min_confidence"})
# Two-decimal rounding can push x + width of a box ending at the image's edge to 1.01 (spec rule text).
EDGE_TOLERANCE = 0.01

# The parameters of the generated case being sent, while `sending_generated` is active; None otherwise.
_generated: ContextVar[Mapping[str, Any] | None] = ContextVar("imagerecognize_generated", default=None)


def well_formed_key(value: Any) -> bool:
    """What the spec accepts as an apikey: a non-empty string."""
    return isinstance(value, str) and value != ""


@contextmanager
def sending_generated(case: Case) -> Iterator[None]:
    """While a schemathesis case is sent, the key is swapped in only where the case holds a well-formed one.

    A case that leaves the key out, or holds an empty or non-string one, is a negative case about the key
    itself: it must reach the vendor as generated and be refused (400 or 401), not be repaired.
    """
    container = case.query if (case.method or "").upper() == "GET" else case.body
    token = _generated.set(container if isinstance(container, Mapping) else {})
    try:
        yield
    finally:
        _generated.reset(token)


@dataclass(frozen=True)
class FormOrQueryKey(AuthScheme):
    """The key as the form field `apikey` of a POST body (multipart or urlencoded) or the query parameter of a GET."""

    credential: str = "apikey"
    at_send_time: bool = True

    def apply(self, request: requests.PreparedRequest, credentials: Credentials) -> None:
        generated = _generated.get()
        if generated is not None and not well_formed_key(generated.get(KEY)):
            return
        key = credentials[self.credential]
        content_type = request.headers.get("Content-Type", "")
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, StreamedForm):
            request.body = body.with_field(KEY, key)
            request.headers["Content-Length"] = str(len(request.body))
            return
        if (request.method or "GET").upper() != "GET" and isinstance(body, bytes) and body:
            if content_type.lower().startswith("multipart/form-data"):
                request.body = set_multipart_field(body, _boundary(content_type), KEY, key)
                return
            if content_type.lower().startswith("application/x-www-form-urlencoded"):
                pairs = [
                    (name, value) for name, value in parse_qsl(body.decode(), keep_blank_values=True) if name != KEY
                ]
                request.body = urlencode([(KEY, key), *pairs])
                return
        request.url = set_query_parameter(request.url or "", KEY, key)


def _boundary(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError(f"multipart Content-Type without a boundary: {content_type!r}")
    return match.group(1).encode("latin-1")


def _parts(body: bytes, boundary: bytes) -> list[bytes]:
    """A multipart body split at its delimiter: preamble, one segment per part, then the closing "--".

    Splitting on the boundary finds the parts without reading the file parts line by line as the email
    parser would, which matters for a 50 MB upload.
    """
    return body.split(b"--" + boundary)


def _field(segment: bytes) -> tuple[str | None, bool, int]:
    """One part's name, whether it is a file part, and where its content starts (-1 if it has no head)."""
    end = segment.find(b"\r\n\r\n")
    if end < 0:
        return None, False, -1
    name, is_file = _part_head(segment[:end].strip(b"\r\n"))
    return name, is_file, end + 4


@lru_cache(maxsize=512)
def _part_head(head: bytes) -> tuple[str | None, bool]:
    """A part head's field name and whether it names a file, parsed as the email package parses it.

    Remembered by the head's bytes (a pure function of them): every case's auth and checks read the same few
    heads, and the stdlib email parser is slow (1.6 ms a head on the loaded 2-core machine, 2.7 µs remembered).
    """
    message = BytesParser(policy=HTTP).parsebytes(head + b"\r\n\r\n")
    name = message.get_param("name", header="content-disposition")
    is_file = message.get_param("filename", header="content-disposition") is not None
    return (str(name) if name is not None else None), is_file


def set_multipart_field(body: bytes, boundary: bytes, name: str, value: str) -> bytes:
    """The body with every plain field `name` set to `value`, or the field added in front when there is none."""
    segments = _parts(body, boundary)
    found = False
    for index in range(1, len(segments) - 1):
        part_name, is_file, start = _field(segments[index])
        if part_name == name and not is_file:
            segments[index] = segments[index][:start] + value.encode("utf-8") + b"\r\n"
            found = True
    if not found:  # in front, which is also right for an empty form ("--b--")
        segments.insert(1, f'\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    return (b"--" + boundary).join(segments)


def set_query_parameter(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    pairs = [(key, item) for key, item in parse_qsl(parts.query, keep_blank_values=True) if key != name]
    return urlunsplit(parts._replace(query=urlencode([(name, value), *pairs])))


VENDOR = Vendor(
    id="imagerecognize",
    title="imagerecognize.com API",
    spec_files=("imagerecognize.yaml",),
    credentials=(
        CredentialField("apikey", "IMAGERECOGNIZE_API_KEY", "API key from https://imagerecognize.com"),
        CredentialField(
            "exhausted_apikey",
            "IMAGERECOGNIZE_EXHAUSTED_API_KEY",
            "a second key whose quota is used up: enables the 402 and cross-key cache tests (optional)",
            optional=True,
            spare=True,
        ),
    ),
    auth=FormOrQueryKey(),
    # The key's refusal is a 401 whether the service mirrors its envelope's status in HTTP or answers 200 with
    # it (the spec's `http_status` note; the emulator's option http_status=always-200).
    preflight=Preflight("GET", "/api/v2/", frozenset({401}), params={"type": "cache"}, status_field="status"),
    # §2's 402 "Quota limit reached", whichever HTTP status carries it (the spec's `http_status` note).
    refusals=(AccountRefusal(None, "Quota limit reached", "top up its quota"),),
)


# -- reading a request back ---------------------------------------------------------------------------------


# A response's request is read back by several checks; its fields are parsed once per body it carried.
_fields_read: weakref.WeakKeyDictionary[requests.PreparedRequest, tuple[object, str | None, dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def request_fields(request: requests.PreparedRequest | None) -> dict[str, str]:
    """The plain text fields a request carried: query parameters of a GET, form fields of a POST."""
    if request is None:
        return {}
    known = _fields_read.get(request)
    if known is not None and known[0] is request.body and known[1] == request.url:
        return dict(known[2])
    fields = _request_fields(request)
    _fields_read[request] = (request.body, request.url, fields)
    return dict(fields)


def _request_fields(request: requests.PreparedRequest) -> dict[str, str]:
    if (request.method or "GET").upper() == "GET":
        return dict(parse_qsl(urlsplit(request.url or "").query, keep_blank_values=True))
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes):
        return {}
    content_type = request.headers.get("Content-Type", "")
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not content_type.lower().startswith("multipart/"):
        return {}
    fields: dict[str, str] = {}
    for segment in _parts(body, _boundary(content_type))[1:-1]:
        name, is_file, start = _field(segment)
        if name is not None and not is_file:
            fields.setdefault(name, segment[start:].removesuffix(b"\r\n").decode("utf-8", "replace"))
    return fields


def whole_number(text: str | None) -> int | None:
    """A form field read as the API reads integers: plain decimal digits, nothing else."""
    return int(text) if text is not None and re.fullmatch(r"[0-9]+", text) else None


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _data(response: Any) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    body = _body(response)
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None


def _entries(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    objects = data.get("objects")
    return [entry for entry in objects if isinstance(entry, dict)] if isinstance(objects, list) else []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# -- checks -------------------------------------------------------------------------------------------------


@check("imagerecognize")
def imagerecognize_status_mirrors_body(ctx: Any, response: Any, case: Any) -> None:
    """The HTTP status is the body's status (x-assumption imagerecognize-status-mirror)."""
    body = _body(response)
    if not isinstance(body, dict) or not isinstance(body.get("status"), int):
        return
    violated(
        "imagerecognize.status.mirrors-body",
        response.status_code == body["status"],
        f"HTTP status {response.status_code}, but the body says status {body['status']}",
    )


@check("imagerecognize")
def imagerecognize_type_echoed(ctx: Any, response: Any, case: Any) -> None:
    """data.type repeats the analysis type that was asked for."""
    data = _data(response)
    asked = request_fields(response.request).get("type") if data is not None else None
    if data is None or asked not in TYPES or asked == "cache":
        return
    violated(
        "imagerecognize.result.type",
        data.get("type") == asked,
        f"asked for type {asked!r}, the answer says data.type {data.get('type')!r}",
    )


@check("imagerecognize")
def imagerecognize_limits_honoured(ctx: Any, response: Any, case: Any) -> None:
    """max_labels and min_confidence (objects) and nsfw_min_confidence (nsfw) bound what comes back."""
    data = _data(response)
    if data is None:
        return
    fields = request_fields(response.request)
    if fields.get("type") != data.get("type"):
        return
    entries = _entries(data)
    confidences = [number for number in (_number(entry.get("confidence")) for entry in entries) if number is not None]
    if fields.get("type") == "objects":
        limit = whole_number(fields.get("max_labels"))
        if limit is not None:
            violated(
                "imagerecognize.objects.max-labels",
                len(entries) <= limit,
                f"max_labels was {limit}, the answer holds {len(entries)} objects",
            )
        threshold = whole_number(fields.get("min_confidence"))
        if threshold is not None and confidences:
            violated(
                "imagerecognize.objects.min-confidence",
                min(confidences) >= threshold,
                f"min_confidence was {threshold}, yet an object has confidence {min(confidences)}",
            )
    elif fields.get("type") == "nsfw":
        threshold = whole_number(fields.get("nsfw_min_confidence"))
        if threshold is not None and confidences:
            violated(
                "imagerecognize.nsfw.min-confidence",
                min(confidences) >= threshold,
                f"nsfw_min_confidence was {threshold}, yet a label has confidence {min(confidences)}",
            )


@check("imagerecognize")
def imagerecognize_boxes_inside_the_image(ctx: Any, response: Any, case: Any) -> None:
    """Every box starts and ends inside the image, in the unit square (x-assumption imagerecognize-coordinates)."""
    data = _data(response)
    if data is None:
        return
    for entry in _entries(data):
        boxes = entry.get("coordinates")
        for box in boxes if isinstance(boxes, list) else []:
            if not isinstance(box, dict):
                continue
            values = {key: _number(box.get(key)) for key in ("x", "y", "width", "height")}
            if any(value is None for value in values.values()):
                continue  # the schema reports a missing or non-numeric coordinate
            x, y, width, height = (float(values[key] or 0.0) for key in ("x", "y", "width", "height"))
            violated(
                "imagerecognize.result.coordinates",
                all(0.0 <= value <= 1.0 for value in (x, y, width, height))
                and x + width <= 1.0 + EDGE_TOLERANCE
                and y + height <= 1.0 + EDGE_TOLERANCE,
                f"{entry.get('name')!r} has a box {box} that leaves the unit square",
            )


# -- what the contract tests need to know about generated cases ---------------------------------------------


@cache
def _form_schema() -> dict[str, Any]:
    """The POST form schema with its local references inlined, for judging a body as it goes on the wire."""
    spec = VENDOR.specs[0]

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                resolved, _ = spec.resolve(node)
                return inline(resolved)
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    body, _ = spec.resolve(spec.raw["components"]["requestBodies"]["Recognize"])
    return inline(body["content"]["multipart/form-data"]["schema"])


@cache
def _form_validator() -> jsonschema_rs.Draft202012Validator:
    """jsonschema-rs (schemathesis' own engine): judged on every generated POST case, 0.5 µs against pure
    Python's 137-219 µs. Formats are annotations here, as they were under jsonschema without a format checker."""
    return jsonschema_rs.Draft202012Validator(_form_schema(), validate_formats=False)


def _wire_text(value: Any) -> str | None:
    """A generated form value as the vendor receives it (None for a file part)."""
    if isinstance(value, bytes | bytearray | Binary):
        return None
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def valid_as_sent(case: Case) -> bool:
    """Whether a generated POST body, once its fields are text on the wire, is one the spec accepts.

    schemathesis marks `{"min_confidence": "0"}` negative (a string, not an integer), yet on the wire it is
    the very same field as the integer 0, and a faithful server accepts it. schemathesis' own check makes
    that allowance for query parameters and for form bodies without files, but gives up on a body holding
    one, as every analysis here does. This is that judgement for this API's form: each field as the text
    it becomes, the integer fields read as the API reads them (plain digits), a file part standing for any file.
    """
    body = case.body
    if not isinstance(body, Mapping):
        return False
    sent: dict[str, Any] = {}
    for name, value in body.items():
        text = _wire_text(value)
        if text is None:
            sent[name] = "<file>"
        elif name in INTEGER_FIELDS and whole_number(text) is not None:
            sent[name] = whole_number(text)
        else:
            sent[name] = text
    return _form_validator().is_valid(sent)


def mislabelled(case: Case) -> bool:
    """A generated POST case whose label (positive or negative) is not what the request is on the wire.

    Both happen: a negative `min_confidence: "0"` is the valid integer 0 once sent, and schemathesis'
    coverage phase labels a multipart body `{"apikey": "", "type": ""}` positive. Neither can be judged.
    """
    meta = case.meta
    if meta is None or (case.method or "").upper() != "POST" or not isinstance(case.body, Mapping):
        return False
    valid = well_formed_key(case.body.get(KEY)) and valid_as_sent(case)
    return valid == meta.generation.mode.is_negative
