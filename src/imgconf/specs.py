"""The hand-written specs as data: operations, rules, errata and examples.

A spec is the single source of truth, so everything a report says about a
rule (its text, whether the vendor documents it or the spec assumes it) is
read from the spec's `x-rules`, and a schema violation is traced to the
nearest `x-rule` on the path of the failing keyword.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urldefrag, urlsplit

import yaml

from imgconf import paths
from imgconf.errors import SpecError

Basis = Literal["documented", "assumption", "errata", "generic"]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML read as schemathesis reads it, with libyaml: imgconf hands schemathesis the document it parsed.

    So both must see one document: YAML 1.2's booleans only (`true`/`false`; a parameter named `on` stays a
    string), timestamps left as strings, as in schemathesis.core.deserialization. libyaml parses a spec in
    ~0.06 s where the pure-Python loader takes ~0.5 s, and every run starts by reading its vendors' specs.
    """


_Loader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for key, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_yaml(text: str) -> Any:
    """A YAML document of the specs or schemas folder (see `_Loader`)."""
    return yaml.load(text, Loader=_Loader)


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Rule:
    """One checkable statement about an API, as the spec words it."""

    id: str
    text: str
    category: str
    basis: Basis
    source: str | None = None

    def asdict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "text": self.text, "category": self.category, "basis": self.basis}
        if self.source:
            data["source"] = self.source
        return data


# Rules that hold for every API; a spec's `x-check-rules` names a vendor rule instead where it has one.
GENERIC_RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("contract.status_code_conformance", "Every status is one the spec documents.", "transport", "generic"),
        Rule(
            "contract.content_type_conformance", "Every Content-Type is one the spec documents.", "transport", "generic"
        ),
        Rule(
            "contract.response_headers_conformance",
            "Documented response headers are present and valid.",
            "transport",
            "generic",
        ),
        Rule("contract.response_schema_conformance", "Every body matches its documented schema.", "result", "generic"),
        Rule("contract.not_a_server_error", "Well-formed requests do not cause 5xx.", "transport", "generic"),
        Rule("contract.negative_data_rejection", "Invalid requests are refused with 4xx.", "request", "generic"),
        Rule("contract.positive_data_acceptance", "Valid requests are accepted.", "request", "generic"),
        Rule("contract.ignored_auth", "Authentication is enforced where declared.", "auth", "generic"),
        Rule("contract.missing_required_header", "Required headers are enforced.", "request", "generic"),
        Rule("contract.unsupported_method", "Undocumented methods get 405.", "transport", "generic"),
        Rule("contract.examples", "Documented examples match their schemas.", "examples", "generic"),
        Rule("contract.unknown", "A check failed that names no rule.", "other", "generic"),
    )
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str | None
    deprecated: bool
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and self.pattern.fullmatch(path) is not None


@dataclass(frozen=True)
class Example:
    """A documented example: a request body or a response body, with where it sits in the spec."""

    operation: str
    kind: Literal["request", "response"]
    name: str
    media_type: str
    value: Any
    status: str | None = None
    assumption: str | None = None


def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("([^/]+)" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(regex)


class Spec:
    """One OpenAPI file with its external JSON Schemas reachable through `resolve`."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        info = raw.get("info", {})
        self.title: str = info.get("title", path.stem)
        self.vendor: str | None = info.get("x-imgconf-vendor")
        self.servers: list[str] = [server["url"] for server in raw.get("servers", []) if "url" in server]
        self.rules: dict[str, Rule] = {
            rule_id: Rule(
                id=rule_id,
                text=str(body.get("text", "")).strip(),
                category=str(body.get("category", "other")),
                basis=body.get("basis", "documented"),
                source=body.get("source"),
            )
            for rule_id, body in (raw.get("x-rules") or {}).items()
        }
        self.check_rules: dict[str, str] = dict(raw.get("x-check-rules") or {})
        self.errata: list[dict[str, Any]] = list(raw.get("x-errata") or [])
        self.assumptions: dict[str, str] = dict(raw.get("x-assumption") or {})
        self.operations: list[Operation] = [
            Operation(
                method=method.upper(),
                path=template,
                operation_id=definition.get("operationId"),
                deprecated=bool(definition.get("deprecated", False)),
                pattern=_path_pattern(template),
            )
            for template, item in (raw.get("paths") or {}).items()
            for method, definition in item.items()
            if method in HTTP_METHODS
        ]

    # -- lookups ------------------------------------------------------------------------------

    def operation_for(self, method: str, path: str) -> Operation | None:
        # Literal paths win over templated ones, as in every router.
        candidates = [op for op in self.operations if op.matches(method, path)]
        candidates.sort(key=lambda op: op.path.count("{"))
        return candidates[0] if candidates else None

    def operation_by_label(self, label: str) -> Operation | None:
        return next((op for op in self.operations if op.label == label), None)

    def rule(self, rule_id: str) -> Rule:
        if rule_id in self.rules:
            return self.rules[rule_id]
        if rule_id in GENERIC_RULES:
            return GENERIC_RULES[rule_id]
        return Rule(rule_id, f"(rule {rule_id} is not defined in {self.path.name})", "other", "generic")

    def rule_for_check(self, check: str) -> Rule:
        return self.rule(self.check_rules.get(check, f"contract.{check}"))

    # -- references ---------------------------------------------------------------------------

    def resolve(self, node: Any, base: Path | None = None) -> tuple[Any, Path]:
        """Follow `$ref`s (local and to files beside the spec) until a concrete node."""
        base = base or self.path
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node, base = self.follow(node["$ref"], base)
            seen += 1
            if seen > 32:
                raise SpecError(f"{self.path.name}: $ref cycle at {node!r}")
        return node, base

    def follow(self, ref: str, base: Path) -> tuple[Any, Path]:
        target, fragment = urldefrag(ref)
        document_path = paths.resolved(base.parent / target) if target else base
        document = self.raw if document_path == paths.resolved(self.path) else load_json_document(document_path)
        return pointer(document, fragment), document_path

    # -- examples -----------------------------------------------------------------------------

    def examples(self) -> Iterator[Example]:
        for template, item in (self.raw.get("paths") or {}).items():
            for method, definition in item.items():
                if method not in HTTP_METHODS:
                    continue
                label = f"{method.upper()} {template}"
                body, _ = self.resolve(definition.get("requestBody", {}))
                for media_type, content in (body.get("content") or {}).items():
                    for name, example in _named_examples(content, self):
                        yield Example(
                            label,
                            "request",
                            name,
                            media_type,
                            example.get("value"),
                            assumption=example.get("x-assumption"),
                        )
                for status, response in (definition.get("responses") or {}).items():
                    response, _ = self.resolve(response)
                    for media_type, content in (response.get("content") or {}).items():
                        for name, example in _named_examples(content, self):
                            yield Example(
                                label,
                                "response",
                                name,
                                media_type,
                                example.get("value"),
                                status=str(status),
                                assumption=example.get("x-assumption"),
                            )

    def response_schema(self, operation: str, status: str, media_type: str) -> tuple[Any, Path]:
        method, template = operation.split(" ", 1)
        definition = self.raw["paths"][template][method.lower()]
        response, base = self.resolve(definition["responses"][status])
        return response["content"][media_type]["schema"], base


def _named_examples(content: dict[str, Any], spec: Spec) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, example in (content.get("examples") or {}).items():
        resolved, _ = spec.resolve(example)
        yield name, resolved
    if "example" in content:
        yield "example", {"value": content["example"]}


def pointer(document: Any, fragment: str) -> Any:
    if not fragment:
        return document
    node = document
    for token in fragment.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


@cache
def load_json_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            return parse_yaml(text)
        return json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(
            f"{path.name}: not valid {'YAML' if path.suffix != '.json' else 'JSON'}: {_one_line(exc)}"
        ) from None


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


@cache
def load(path: Path, *, validate: bool = True) -> Spec:
    """Read and validate a spec; every problem becomes one `SpecError` line.

    A spec whose bytes, and those of every document its `$ref`s reach, are the ones imgconf ships
    validated (`specs/validated.json`) is not validated again: openapi-spec-validator costs every
    process of a run ~0.3 s and ~13 MB of peak memory (it imports pydantic) to say what its stamp says.
    Any other spec, an edited copy included, is validated in full.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec {path}: {exc.strerror}") from None
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{path.name}: not valid YAML: {_one_line(exc)}") from None
    if not isinstance(raw, dict) or not str(raw.get("openapi", "")).startswith("3.1"):
        raise SpecError(f"{path.name}: not an OpenAPI 3.1 document (no 'openapi: 3.1.x' at the top)")
    if validate and digest(path, raw) not in _shipped_stamps():
        validate_document(path, raw)
    return Spec(path, raw)


def validate_document(path: Path, raw: dict[str, Any]) -> None:
    """openapi-spec-validator on the parsed spec, its failure as one `SpecError` line."""
    from openapi_spec_validator import validate as validate_spec  # ~13 MB: imported only for an unstamped spec
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate_spec(raw, base_uri=path.resolve().as_uri())
    except OpenAPIValidationError as exc:
        where = "/".join(str(part) for part in getattr(exc, "path", ()) or ())
        raise SpecError(
            f"{path.name}: invalid OpenAPI at {where or 'top level'}: {_one_line(exc).split(' Failed validating')[0]}"
        ) from None
    except Exception as exc:  # the validator also raises on unresolvable $refs
        raise SpecError(f"{path.name}: cannot be validated: {_one_line(exc)[:300]}") from None


# -- validation stamps --------------------------------------------------------------------------------

STAMPS = "validated.json"  # in the shipped specs folder: {spec file name: digest}, written by `stamp`


def digest(path: Path, raw: dict[str, Any]) -> str | None:
    """sha256 over the spec's bytes and those of every document its `$ref`s reach, with the names they go by.

    What the validator reads, and nothing else decides its verdict. None when a reference leaves the
    filesystem or cannot be read: such a spec is always validated (and the validator words the failure).
    """
    folder = path.resolve().parent
    todo = [(path.resolve(), raw)]
    queued = {path.resolve()}
    seen: dict[Path, bytes] = {}
    while todo:
        document_path, document = todo.pop()
        try:
            seen[document_path] = document_path.read_bytes()
        except OSError:
            return None
        for ref in _file_refs(document):
            if urlsplit(ref).scheme:
                return None
            target = (document_path.parent / ref).resolve()
            if target not in queued:
                queued.add(target)
                try:
                    todo.append((target, load_json_document(target)))
                except SpecError:
                    return None
    total = hashlib.sha256()
    for document_path in sorted(seen):
        name = Path(os.path.relpath(document_path, folder)).as_posix()
        total.update(f"{name}\0{hashlib.sha256(seen[document_path]).hexdigest()}\n".encode())
    return total.hexdigest()


def _file_refs(node: Any) -> Iterator[str]:
    """The document part of every `$ref` under `node` that names another document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and urldefrag(ref)[0]:
            yield urldefrag(ref)[0]
        for value in node.values():
            yield from _file_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _file_refs(value)


@cache
def _shipped_stamps() -> frozenset[str]:
    try:
        stamps = json.loads((paths.root() / "specs" / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()  # no stamps: every spec is validated, as before there were any
    return frozenset(value for key, value in stamps.items() if not key.startswith("_") and isinstance(value, str))


def stamps(folder: Path) -> dict[str, str]:
    """Each spec of `folder`, validated in full, by its digest: what `specs/validated.json` holds."""
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        spec = load(path, validate=False)
        validate_document(path, spec.raw)
        stamp = digest(path, spec.raw)
        if stamp is not None:
            found[path.name] = stamp
    return found


def write_stamps(folder: Path) -> Path:
    target = folder / STAMPS
    about = "Digests of the specs as validated by openapi-spec-validator: `python -m imgconf.specs` rewrites this."
    target.write_text(json.dumps({"_about": about, **stamps(folder)}, indent=2) + "\n", encoding="utf-8")
    return target


def spec_path(name: str) -> Path:
    return paths.specs_dir() / name


def rule_for_schema_location(spec: Spec, root_schema: Any, schema_path: Sequence[str | int]) -> str | None:
    """The `x-rule` nearest to the failing keyword, walking from it towards the root."""
    nodes = [root_schema]
    node = root_schema
    for token in schema_path:
        try:
            node = node[token] if not isinstance(node, list) else node[int(token)]
        except (KeyError, IndexError, TypeError, ValueError):
            break
        nodes.append(node)
    for candidate in reversed(nodes):
        if isinstance(candidate, dict) and isinstance(candidate.get("x-rule"), str):
            return candidate["x-rule"]
    return None


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def _document(path: Path, own: Path, raw: dict[str, Any]) -> Any:
    if path == own:
        return raw
    return _load_document(path)


@cache
def _load_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else parse_yaml(text)


def operation_rules(spec: Spec) -> dict[str, dict[str, frozenset[str]]]:
    """Per operation label, the `x-rule`s of what it refers to ($refs followed): under `*` those of its
    parameters and request body, under each documented status (`200`, `4XX`, `default`) those of that answer.

    An answer of that status, held to the spec, has put the status's rules to the test: this is what
    coverage counts as checked for an operation whose answers were validated.
    """
    own = paths.resolved(spec.path)
    found: dict[str, dict[str, frozenset[str]]] = {}
    for operation in spec.operations:
        item = (spec.raw.get("paths") or {}).get(operation.path) or {}
        definition = item.get(operation.method.lower()) or {}
        parts: dict[str, Any] = {"*": {key: value for key, value in definition.items() if key != "responses"}}
        parts.update({str(status): answer for status, answer in (definition.get("responses") or {}).items()})
        found[operation.label] = {key: frozenset(_rules_under(node, own, spec.raw)) for key, node in parts.items()}
    return found


def _rules_under(root: Any, own: Path, raw: dict[str, Any]) -> set[str]:
    rules: set[str] = set()
    seen: set[tuple[Path, str]] = set()
    stack: list[tuple[Any, Path]] = [(root, own)]
    while stack:
        node, base = stack.pop()
        if isinstance(node, list):
            stack.extend((child, base) for child in node)
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("x-rule"), str):
            rules.add(node["x-rule"])
        ref = node.get("$ref")
        if isinstance(ref, str):
            location, fragment = urldefrag(ref)
            target = paths.resolved(base.parent / location) if location else base
            if (target, fragment) not in seen:
                seen.add((target, fragment))
                try:
                    document = _document(target, own, raw)
                except (OSError, ValueError, yaml.YAMLError):
                    document = None
                for part in [p for p in fragment.lstrip("/").split("/") if p] if document is not None else []:
                    part = part.replace("~1", "/").replace("~0", "~")
                    document = document.get(part) if isinstance(document, dict) else None
                if document is not None:
                    stack.append((document, target))
        stack.extend((value, base) for key, value in node.items() if key != "$ref")
    return rules


def status_matches(documented: str, status: int) -> bool:
    """A documented response key (`200`, `4XX`, `default`) covers an answer of `status`."""
    if documented == "default":
        return True
    if documented.upper().endswith("XX"):
        return documented[0] == str(status)[0]
    return documented == str(status)


if __name__ == "__main__":
    print(f"wrote {write_stamps(paths.root() / 'specs')}")
