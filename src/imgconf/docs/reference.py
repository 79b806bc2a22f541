"""One spec as a reference a reader can integrate from: the page model both renderers (Markdown, HTML) draw.

Everything here is read from the spec and the schemas it references, so the pages cannot say what the
contract does not: operations with their parameters, bodies, responses, headers and examples, the error-code
table, the auth steps, rules with their basis, errata, assumptions, and the status of the API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from imgconf import specs
from imgconf.docs import schemas, snippets
from imgconf.docs.page import (
    Banner,
    Body,
    CodeSample,
    ErrorCode,
    Example,
    Header,
    Link,
    Operation,
    Parameter,
    Reference,
    Response,
    Scheme,
)


def text(value: Any) -> str:
    """Spec prose with YAML's folding undone (paragraphs kept), never shortened."""
    paragraphs = re.split(r"\n\s*\n", str(value or "").strip())
    return "\n\n".join(" ".join(part.split()) if not _is_list(part) else part.strip() for part in paragraphs)


def _is_list(paragraph: str) -> bool:
    return all(line.strip().startswith(("- ", "* ")) or not line.strip() for line in paragraph.splitlines()[:1])


def example_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def anchor(method: str, path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")


def _examples(spec: specs.Spec, content: dict[str, Any]) -> tuple[Example, ...]:
    found = []
    for name, example in (content.get("examples") or {}).items():
        resolved, _ = spec.resolve(example)
        found.append(
            Example(
                name,
                text(resolved.get("summary", "")),
                text(resolved.get("description", "")),
                example_text(resolved.get("value")),
                str(resolved.get("x-assumption", "")),
            )
        )
    if "example" in content:
        found.append(Example("example", "", "", example_text(content["example"])))
    return tuple(found)


def _bodies(spec: specs.Spec, holder: dict[str, Any], base: Path) -> list[Body]:
    bodies = []
    for media_type, content in (holder.get("content") or {}).items():
        encoding = tuple(
            (name, str(value.get("contentType", "")))
            for name, value in (content.get("encoding") or {}).items()
            if isinstance(value, dict) and value.get("contentType")
        )
        bodies.append(
            Body(
                media_type,
                "",
                schemas.shape(spec, content.get("schema", {}), base),
                _examples(spec, content),
                encoding,
            )
        )
    return bodies


def _parameters(spec: specs.Spec, item: dict[str, Any], definition: dict[str, Any]) -> list[Parameter]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(item.get("parameters") or []), *(definition.get("parameters") or [])]:
        parameter, base = spec.resolve(raw)
        merged[(parameter["name"], parameter["in"])] = {**parameter, "_base": base}
    found = []
    for parameter in merged.values():
        schema, base = spec.resolve(parameter.get("schema", {}), parameter["_base"])
        values = [parameter["example"]] if "example" in parameter else []
        values += [spec.resolve(value)[0].get("value") for value in (parameter.get("examples") or {}).values()]
        found.append(
            Parameter(
                parameter["name"],
                parameter["in"],
                schemas.type_text(spec, schema, base),
                bool(parameter.get("required", False)),
                schemas.limits_text(schema),
                text(parameter.get("description", "")),
                tuple(schemas.dumps(value) if not isinstance(value, str) else value for value in values),
                bool(parameter.get("deprecated", False)),
            )
        )
    return found


def _codes_in(bodies: list[Body]) -> list[str]:
    codes = []
    for body in bodies:
        for example in body.examples:
            for match in re.finditer(r'"error_code":\s*"([^"]+)"', example.text):
                codes.append(match.group(1))
    return list(dict.fromkeys(codes))


def _operation(
    spec: specs.Spec, method: str, template: str, item: dict[str, Any], definition: dict[str, Any], webhook: bool
) -> Operation:
    request, request_base = spec.resolve(definition.get("requestBody", {}))
    request_bodies = _bodies(spec, request, request_base)
    if request_bodies and request.get("description"):
        first = request_bodies[0]
        request_bodies[0] = Body(
            first.media_type, text(request["description"]), first.shape, first.examples, first.encoding
        )
    responses = []
    for status, raw in (definition.get("responses") or {}).items():
        response, base = spec.resolve(raw)
        headers = []
        for name, header in (response.get("headers") or {}).items():
            header, header_base = spec.resolve(header, base)
            schema, schema_base = spec.resolve(header.get("schema", {}), header_base)
            headers.append(
                Header(
                    name,
                    schemas.type_text(spec, schema, schema_base),
                    bool(header.get("required", False)),
                    schemas.limits_text(schema),
                    str(schema.get("x-rule", "")) if isinstance(schema, dict) else "",
                    text(header.get("description", "")),
                )
            )
        bodies = _bodies(spec, response, base)
        links = []
        for name, raw_link in (response.get("links") or {}).items():
            link, _ = spec.resolve(raw_link, base)
            links.append(
                Link(
                    name,
                    str(link.get("operationId", link.get("operationRef", ""))),
                    ", ".join(f"{key} = {value}" for key, value in (link.get("parameters") or {}).items()),
                    text(link.get("description", "")),
                )
            )
        responses.append(
            Response(
                str(status),
                text(response.get("description", "")),
                str(response.get("x-rule", "")),
                str(response.get("x-assumption", "")),
                tuple(headers),
                tuple(bodies),
                tuple(_codes_in(bodies)),
                tuple(links),
            )
        )
    security = definition.get("security", spec.raw.get("security", []))
    operation = Operation(
        method=method.upper(),
        path=template,
        operation_id=str(definition.get("operationId", "")),
        anchor=("webhook-" if webhook else "") + anchor(method, template),
        summary=text(definition.get("summary", "")),
        description=text(definition.get("description", "")),
        deprecated=bool(definition.get("deprecated", False)),
        security=[name for requirement in security for name in requirement],
        parameters=_parameters(spec, item, definition),
        request=request_bodies,
        request_required=bool(request.get("required", False)),
        responses=responses,
        samples=[
            CodeSample(str(sample.get("lang", "")), str(sample.get("label", "")), str(sample.get("source", "")))
            for sample in definition.get("x-codeSamples", [])
        ],
        webhook=webhook,
    )
    if not webhook:
        operation.curl, operation.python = snippets.for_operation(spec, operation)
    return operation


def _banners(spec: specs.Spec) -> list[Banner]:
    info = spec.raw.get("info", {})
    banners = []
    status = info.get("x-status") or {}
    if status.get("deprecated"):
        banners.append(
            Banner(
                "deprecated",
                "Deprecated by the vendor",
                "The vendor no longer recommends this API for new integrations; every operation is marked "
                f"deprecated. Source: {status.get('source', 'the vendor documentation')}",
                "no longer recommended for new integrations",
            )
        )
    retirement = info.get("x-retirement") or {}
    if retirement:
        parts = []
        if retirement.get("stops-selling"):
            parts.append(f"sales stopped on {retirement['stops-selling']}")
        if retirement.get("offline"):
            parts.append(f"the service is expected offline on {retirement['offline']}")
        banners.append(
            Banner(
                "retiring",
                "Retiring",
                "The vendor is retiring this API: "
                + "; ".join(parts)
                + f". After the offline date imgconf reports an unreachable service as retired, not as "
                f"non-conformant. Source: {retirement.get('source', '')}",
                f"offline {retirement['offline']}" if retirement.get("offline") else "",
            )
        )
    return banners


def _errors(spec: specs.Spec, operations: list[Operation]) -> tuple[list[ErrorCode], bool]:
    """The documented error table when the spec has one (`x-error-codes`), else one row per error answer."""
    where: dict[str, list[str]] = {}
    for operation in operations:
        for response in operation.responses:
            for code in response.codes:
                where.setdefault(code, []).append(operation.label)
            where.setdefault(f"status {response.status}", []).append(operation.label)
    table = spec.raw.get("x-error-codes")
    if table:
        listed = [
            ErrorCode(
                str(row["code"]),
                str(row.get("status", "")),
                text(row.get("message", "")),
                text(row.get("wire-message", "")),
                text(row.get("handling", "")),
                str(row.get("layer", "")),
                str(row.get("table-status", "")),
                tuple(dict.fromkeys(where.get(str(row["code"]), []))),
            )
            for row in table
        ]
        known = {row.code for row in listed}
        extra = [
            ErrorCode(
                code, "", "Answered in an example of this spec; not in the vendor's table.", operations=tuple(ops)
            )
            for code, ops in where.items()
            if not code.startswith("status ") and code not in known
        ]
        return listed + extra, True
    rows = []
    seen: set[str] = set()
    for operation in operations:
        for response in operation.responses:
            if response.status.startswith("2") or response.status in seen:
                continue
            seen.add(response.status)
            messages = []
            for body in response.bodies:
                for example in body.examples:
                    messages.append(example.text.replace("\n", " "))
            rows.append(
                ErrorCode(
                    response.status,
                    response.status,
                    response.description,
                    " · ".join(dict.fromkeys(" ".join(message.split()) for message in messages)),
                    operations=tuple(dict.fromkeys(where.get(f"status {response.status}", []))),
                )
            )
    return rows, False


def build(spec: specs.Spec) -> Reference:
    raw = spec.raw
    info = raw.get("info", {})
    operations = [
        _operation(spec, method, template, item, definition, webhook=False)
        for template, item in (raw.get("paths") or {}).items()
        for method, definition in item.items()
        if method in specs.HTTP_METHODS
    ]
    webhooks = [
        _operation(spec, method, name, item, definition, webhook=True)
        for name, item in (raw.get("webhooks") or {}).items()
        for method, definition in item.items()
        if method in specs.HTTP_METHODS
    ]
    schemes = []
    for name, scheme in (raw.get("components", {}).get("securitySchemes") or {}).items():
        where = f"{scheme.get('in', '')} {scheme.get('name', '')}".strip() if scheme.get("type") == "apiKey" else ""
        schemes.append(
            Scheme(
                name,
                str(scheme.get("type", "")),
                where,
                text(scheme.get("description", "")),
                tuple(text(step) for step in scheme.get("x-how-to", [])),
            )
        )
    errors, documented = _errors(spec, operations)
    return Reference(
        spec=spec,
        slug=spec.path.stem,
        title=spec.title,
        vendor=spec.vendor or "",
        version=str(info.get("version", "")),
        summary=text(info.get("summary", "")),
        description=text(info.get("description", "")),
        banners=_banners(spec),
        servers=[(server["url"], text(server.get("description", ""))) for server in raw.get("servers", [])],
        sources=[(str(source.get("title", "")), str(source.get("url", ""))) for source in info.get("x-sources", [])],
        schemes=schemes,
        operations=operations,
        webhooks=webhooks,
        errors=errors,
        errors_documented=documented,
        rules=list(spec.rules.values()),
        errata=[{key: text(value) for key, value in item.items()} for item in spec.errata],
        assumptions=[(name, text(value)) for name, value in spec.assumptions.items()],
    )
