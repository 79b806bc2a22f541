"""Rules only real traffic can put to the vendor: what it answered to a request without a credential, or to one
the spec says it must refuse.

The suites provoke these answers on purpose (their auth and validation tests); a proxy sees them when the
application sends such requests by mistake. Each is a check with schemathesis' signature, run beside the
response checks and the vendor's checks on the same exchange, and raises the spec's own rule: the rule the
spec maps `ignored_auth` to (`<vendor>.auth.enforced`), or `negative_data_rejection`
(`<vendor>.request.validation`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imgconf.checks import CheckFn, RuleViolation
from imgconf.specs import Operation, Spec
from imgconf.wire.multipart import parts


def _schemes(spec: Spec, operation: Operation) -> list[dict[str, Any]] | None:
    """The security schemes the operation takes (any one suffices); None when it needs none."""
    definition = spec.raw["paths"][operation.path][operation.method.lower()]
    requirements = definition.get("security", spec.raw.get("security"))
    if not requirements or any(not requirement for requirement in requirements):
        return None
    declared = (spec.raw.get("components") or {}).get("securitySchemes") or {}
    return [spec.resolve(declared[name])[0] for requirement in requirements for name in requirement if name in declared]


def _carries(request: Any, scheme: dict[str, Any]) -> bool:
    """The request carries the scheme's credential, wherever the vendor accepts it (a form field included)."""
    headers = {name.lower() for name in request.headers}
    kind, name = scheme.get("type"), str(scheme.get("name", "")).lower()
    if kind in ("http", "oauth2", "openIdConnect"):
        return "authorization" in headers
    if kind != "apiKey":
        return True  # a scheme this check cannot read: assume the credential is there
    if scheme.get("in") == "header":
        return name in headers
    query = {key.lower() for key, _ in _query(request.url)}
    if name in query:
        return True
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    content_type = request.headers.get("Content-Type", "")
    if content_type.lower().startswith("multipart/"):
        return any(str(part.get("name", "")).lower() == name for part in parts(content_type, body))
    return name.encode() in body


def _query(url: str) -> Iterable[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _documented_body_rule(spec: Spec, operation: Operation, status: int) -> str | None:
    """The rule a missing body breaks when `status` documents one: its schema's x-rule, else the schema check's."""
    responses = spec.raw["paths"][operation.path][operation.method.lower()].get("responses") or {}
    answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if answer is None:
        return None
    answer, base = spec.resolve(answer)
    content = answer.get("content") if isinstance(answer, dict) else None
    if not content:
        return None
    media: Any = next(iter(content.values()), None) or {}
    schema = media.get("schema")
    if schema is None:
        return None
    node, _ = spec.resolve(schema, base)
    rule = node.get("x-rule") if isinstance(node, dict) else None
    return rule if isinstance(rule, str) else spec.rule_for_check("response_schema_conformance").id


def for_operation(spec: Spec, operation: Operation, refused: list[str]) -> list[CheckFn]:
    """The checks for one exchange on `operation`; `refused` are its request's mistakes a vendor must refuse."""
    schemes = _schemes(spec, operation)
    auth_rule = spec.rule_for_check("ignored_auth").id
    validation_rule = spec.rule_for_check("negative_data_rejection").id

    def proxy_auth_enforced(ctx: Any, response: Any, case: Any) -> None:
        if schemes is None or not 200 <= response.status_code < 300:
            return
        if not any(_carries(response.request, scheme) for scheme in schemes):
            raise RuleViolation(
                auth_rule,
                f"a request with no credential was answered {response.status_code}; {operation.label} requires one",
            )

    def proxy_invalid_request_refused(ctx: Any, response: Any, case: Any) -> None:
        if refused and 200 <= response.status_code < 300:
            raise RuleViolation(
                validation_rule,
                f"a request the spec says must be refused was answered {response.status_code}: {refused[0]}",
            )

    def proxy_documented_body_present(ctx: Any, response: Any, case: Any) -> None:
        if response.content or response.request.method == "HEAD":
            return
        rule = _documented_body_rule(spec, operation, response.status_code)
        if rule is not None:
            raise RuleViolation(rule, f"the {response.status_code} answer has no body; the spec documents one")

    return [proxy_auth_enforced, proxy_invalid_request_refused, proxy_documented_body_present]
