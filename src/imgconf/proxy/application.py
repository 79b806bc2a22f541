"""What the application sent wrong: its request held to the operation's documented parameters and body.

These are the user's own bugs, worth knowing and never the vendor's non-conformance: they become findings
of kind `application`, which the report shows apart and the gate never counts. Only what one request
shows for certain is judged: a parameter or form/JSON field the spec does not document, a required one
missing, a body in a media type the operation does not take, an operation the spec does not document.
A body the capture had to cut (see capture.py) is judged only on what is certain in its copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import referencing.exceptions

from imgconf.specs import Operation, Spec
from imgconf.wire.multipart import parts

RULES: dict[str, dict[str, Any]] = {
    "application.operation.undocumented": {
        "id": "application.operation.undocumented",
        "text": "The application calls only operations the vendor documents.",
        "category": "application",
        "basis": "documented",
    },
    "application.request.undocumented-parameter": {
        "id": "application.request.undocumented-parameter",
        "text": "The application sends only parameters and body fields the operation documents.",
        "category": "application",
        "basis": "documented",
    },
    "application.request.missing-parameter": {
        "id": "application.request.missing-parameter",
        "text": "The application sends every parameter and body field the operation requires.",
        "category": "application",
        "basis": "documented",
    },
    "application.request.invalid-parameter": {
        "id": "application.request.invalid-parameter",
        "text": "The application sends parameter values within their documented schema (type, range, length).",
        "category": "application",
        "basis": "documented",
    },
    "application.request.media-type": {
        "id": "application.request.media-type",
        "text": "The application sends its body in a media type the operation documents.",
        "category": "application",
        "basis": "documented",
    },
}


# The mistakes a vendor must refuse: answering them 2xx is the vendor's fault too (rules.py).
MUST_BE_REFUSED = frozenset({"application.request.invalid-parameter", "application.request.missing-parameter"})


@dataclass(frozen=True)
class Mistake:
    rule: str
    message: str


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query string's value as the type its schema names, where it reads as one (else left a string)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _invalid_values(spec: Spec, parameters: list[dict[str, Any]], query: list[tuple[str, str]]) -> list[Mistake]:
    mistakes = []
    for parameter in parameters:
        if parameter.get("in") != "query" or "schema" not in parameter:
            continue
        schema = spec.resolve(parameter["schema"])[0]
        if not isinstance(schema, dict):
            continue
        values = [value for name, value in query if name == parameter["name"]]
        if not values:
            continue
        if schema.get("type") == "array":
            items: dict[str, Any] = schema["items"] if isinstance(schema.get("items"), dict) else {}
            sent: Any = [_coerce(value, items) for value in values]
        else:
            sent = _coerce(values[-1], schema)
        try:
            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(sent))
        except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable):
            continue
        if error is not None:
            mistakes.append(
                Mistake(
                    "application.request.invalid-parameter",
                    f"query parameter {parameter['name']!r}: {error.message[:200]}",
                )
            )
    return mistakes


def _definition(spec: Spec, operation: Operation) -> dict[str, Any]:
    item = spec.raw["paths"][operation.path]
    return {"item": item, "op": item[operation.method.lower()]}


def _parameters(spec: Spec, operation: Operation) -> list[dict[str, Any]]:
    found = _definition(spec, operation)
    declared = [*(found["item"].get("parameters") or []), *(found["op"].get("parameters") or [])]
    return [spec.resolve(parameter)[0] for parameter in declared]


def _fields(spec: Spec, schema: Any, base: Any = None) -> tuple[set[str] | None, set[str]]:
    """(documented top-level field names, or None when the schema does not list them; required names)."""
    node, where = spec.resolve(schema, base)
    if not isinstance(node, dict):
        return None, set()
    names: set[str] | None = set(node["properties"]) if isinstance(node.get("properties"), dict) else None
    required = set(node.get("required") or [])
    for key in ("allOf",):
        for inner in node.get(key) or []:
            more, needed = _fields(spec, inner, where)
            if more is None:
                names = None if not isinstance(node.get("properties"), dict) else names
            elif names is not None:
                names |= more
            required |= needed
    for key in ("oneOf", "anyOf"):  # a field named by any branch is documented; none is surely required
        branches = [_fields(spec, inner, where)[0] for inner in node.get(key) or []]
        if branches and all(branch is not None for branch in branches):
            names = (names or set()).union(*(branch for branch in branches if branch is not None))
        elif branches:
            names = None
    if node.get("additionalProperties") not in (None, False) or node.get("patternProperties"):
        names = None
    return names, required


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _sent_fields(media: str, content_type: str, body: bytes) -> dict[str, Any] | None:
    if media == "application/json" or media.endswith("+json"):
        try:
            document = json.loads(body)
        except ValueError:
            return None
        return document if isinstance(document, dict) else None
    if media.startswith("multipart/"):
        return {part["name"]: True for part in parts(content_type, body) if part.get("name")}
    if media == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return None
    return None


def judge(
    spec: Spec, operation: Operation, url: str, headers: dict[str, str], body: bytes, whole: bool
) -> list[Mistake]:
    """The application's mistakes in one request to `operation`; `whole` when `body` is the body as sent."""
    mistakes: list[Mistake] = []
    parameters = _parameters(spec, operation)
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    query = {name for name, _ in pairs}
    documented = {p["name"] for p in parameters if p.get("in") == "query"}
    for name in sorted(query - documented):
        mistakes.append(
            Mistake("application.request.undocumented-parameter", f"query parameter {name!r} is not documented")
        )
    mistakes += _invalid_values(spec, parameters, pairs)
    lowered = {name.lower() for name in headers}
    for parameter in parameters:
        if not parameter.get("required"):
            continue
        where, name = parameter.get("in"), parameter["name"]
        missing = (where == "query" and name not in query) or (where == "header" and name.lower() not in lowered)
        if missing:
            mistakes.append(
                Mistake("application.request.missing-parameter", f"required {where} parameter {name!r} is missing")
            )
    request_body = _definition(spec, operation)["op"].get("requestBody")
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    if request_body is None or not body:
        return mistakes
    request_body = spec.resolve(request_body)[0]
    content = request_body.get("content") or {}
    media = _media_type(content_type)
    declared = {_media_type(name): schema for name, schema in content.items()}
    if media not in declared:
        if declared and media:
            mistakes.append(
                Mistake(
                    "application.request.media-type",
                    f"body sent as {media!r}; the operation takes {', '.join(sorted(declared))}",
                )
            )
        return mistakes
    sent = _sent_fields(media, content_type, body)
    schema = (declared[media] or {}).get("schema")
    if sent is None or schema is None:
        return mistakes
    names, required = _fields(spec, schema)
    if names is not None:
        for name in sorted(set(sent) - names):
            mistakes.append(
                Mistake("application.request.undocumented-parameter", f"body field {name!r} is not documented")
            )
    if whole or not media.startswith("multipart/"):
        for name in sorted(required - set(sent)):
            mistakes.append(
                Mistake("application.request.missing-parameter", f"required body field {name!r} is missing")
            )
    return mistakes
