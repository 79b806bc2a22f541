"""JSON Schemas as rows a reader can scan: one row per field, with its type, limits, rule and description.

The specs' bodies are built from `allOf` (Huawei's per-status error bodies), `oneOf` (imagerecognize's forms,
Huawei's image-or-url), `if`/`then` and `not`, so a renderer that only follows `properties` shows nothing for
half of them. Here every combinator becomes rows: `allOf` parts merge into the fields they constrain, each
`oneOf`/`anyOf` branch is a labelled variant, `if`/`then` a condition, `not` a refusal. Nothing is shortened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imgconf import specs

MAX_DEPTH = 12
LIMITS = (
    ("minimum", "≥"),
    ("exclusiveMinimum", ">"),
    ("maximum", "≤"),
    ("exclusiveMaximum", "<"),
    ("minLength", "length ≥"),
    ("maxLength", "length ≤"),
    ("minItems", "items ≥"),
    ("maxItems", "items ≤"),
    ("minProperties", "fields ≥"),
    ("maxProperties", "fields ≤"),
    ("multipleOf", "multiple of"),
)


@dataclass(frozen=True)
class Row:
    """One field of a body: where it is, what it holds, and under which variant of the body it applies."""

    path: str
    type: str
    required: bool
    limits: str
    rule: str
    description: str
    variant: str = ""


@dataclass
class Shape:
    """A body's fields, plus what its schema says about the body as a whole."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _simple(schema: dict[str, Any]) -> bool:
    """A schema with no fields of its own: a type, a const, an enum (a union member, not a variant)."""
    return not any(key in schema for key in ("properties", "items", "allOf", "oneOf", "anyOf", "required", "if"))


def type_text(spec: specs.Spec, schema: Any, base: Path | None = None) -> str:
    """The type of a value in words: `"a" | "b"`, `integer or null`, `array of string`, `string (binary)`."""
    schema, base = spec.resolve(schema, base)
    if not isinstance(schema, dict):
        return "any"
    if "const" in schema:
        return dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(dumps(value) for value in schema["enum"])
    if schema.get("title") and any(key in schema for key in ("anyOf", "oneOf")) and "properties" not in schema:
        return str(schema["title"])  # a named union (identifAI's FormBoolean) reads better by its name
    for combinator in ("anyOf", "oneOf"):
        options = [spec.resolve(option, base)[0] for option in schema.get(combinator, [])]
        if options and all(isinstance(option, dict) and _simple(option) for option in options):
            parts = [_with_limits(spec, option, base) for option in options]
            union = " or ".join(part for part in parts if part)
            own = schema.get("type")
            return f"{own} ({union})" if isinstance(own, str) else union
    kind = schema.get("type")
    if isinstance(kind, list):
        text = " or ".join(kind)
    elif kind == "array":
        items = schema.get("items")
        text = f"array of {type_text(spec, items, base)}" if isinstance(items, dict) else "array"
    else:
        text = kind or ("object" if "properties" in schema else "any")
    details = [schema[key] for key in ("format", "contentEncoding", "contentMediaType") if schema.get(key)]
    if details:
        text += f" ({', '.join(details)})"
    return text


def _with_limits(spec: specs.Spec, schema: dict[str, Any], base: Path) -> str:
    """A union member: its type (left out when it has none of its own) and its limits."""
    limits = limits_text(schema)
    kind = type_text(spec, schema, base)
    if kind == "any" and limits:
        return limits
    return f"{kind} {limits}".strip()


def limits_text(schema: Any) -> str:
    """Bounds, pattern, default and the like, in words: `≥ 1, ≤ 150; default 50`."""
    if not isinstance(schema, dict):
        return ""
    parts = [f"{label} {schema[key]}" for key, label in LIMITS if key in schema]
    if schema.get("format") and "type" not in schema:
        parts.append(f"format {schema['format']}")
    if schema.get("pattern"):
        parts.append(f"pattern {schema['pattern']}")
    if schema.get("uniqueItems"):
        parts.append("unique items")
    if "default" in schema:
        parts.append(f"default {dumps(schema['default'])}")
    if schema.get("deprecated"):
        parts.append("deprecated")
    if schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False:
        parts.append("no other fields")
    return ", ".join(parts)


def _describe(schema: dict[str, Any]) -> str:
    text = " ".join(str(schema.get("description", "")).split())
    title = str(schema.get("title", "")).strip()
    return f"{title}: {text}" if title and text else title or text


def _condition(spec: specs.Spec, schema: Any, base: Path) -> str:
    """An `if` schema in words: `error_code string, pattern ^APIG\\.`."""
    schema, base = spec.resolve(schema, base)
    if not isinstance(schema, dict):
        return "always"
    parts = [
        f"{name} {_with_limits(spec, spec.resolve(child, base)[0], base)}".strip()
        for name, child in (schema.get("properties") or {}).items()
    ]
    return "; ".join(parts) or _describe(schema) or "the condition holds"


class _Collector:
    """Walks one schema, merging rows that name the same field under the same variant."""

    def __init__(self, spec: specs.Spec) -> None:
        self.spec = spec
        self.rows: dict[tuple[str, str], Row] = {}
        self.notes: list[str] = []

    def add(self, row: Row) -> None:
        key = (row.variant, row.path)
        old = self.rows.get(key)
        if old is None:
            self.rows[key] = row
            return
        descriptions = [text for text in (old.description, row.description) if text]
        limits = [text for text in (old.limits, row.limits) if text]
        self.rows[key] = replace(
            old,
            type=row.type if row.type not in ("any", "object", old.type) and '"' in row.type else old.type,
            required=old.required or row.required,
            limits="; ".join(dict.fromkeys(limits)),
            rule=old.rule or row.rule,
            description=" ".join(dict.fromkeys(descriptions)),
        )

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def walk(self, schema: Any, base: Path, prefix: str, variant: str, depth: int) -> None:
        schema, base = self.spec.resolve(schema, base)
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return
        if depth == 0:
            self.note(_describe(schema))
            if schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False:
                self.note("No fields other than those listed.")
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            self.walk(schema["items"], base, f"{prefix}[]", variant, depth + 1)
        required = set(schema.get("required", []))
        properties = schema.get("properties") or {}
        for name, child in properties.items():
            self.field(name, child, base, prefix, variant, depth, name in required)
        for name in sorted(required - set(properties)):
            path = f"{prefix}.{name}" if prefix else name
            self.add(Row(path, "any", True, "", "", "", variant))
        for part in schema.get("allOf", []):
            resolved, _ = self.spec.resolve(part, base)
            if isinstance(resolved, dict) and prefix == "" and depth <= 1 and not resolved.get("properties"):
                self.note(_describe(resolved))
            self.walk(part, base, prefix, variant, depth + 1)
        for combinator, word in (("oneOf", "one of"), ("anyOf", "any of")):
            options = schema.get(combinator, [])
            resolved_options = [self.spec.resolve(option, base) for option in options]
            if options and all(isinstance(option, dict) and _simple(option) for option, _ in resolved_options):
                continue  # a union of plain types: type_text says it on the field's own row
            for index, (option, option_base) in enumerate(resolved_options, start=1):
                label = f"{word} {index}/{len(options)}"
                if isinstance(option, dict) and option.get("title"):
                    label += f" ({option['title']})"
                if isinstance(option, dict) and option.get("description"):
                    self.note(f"{label}: {' '.join(str(option['description']).split())}")
                self.walk(option, option_base, prefix, _join(variant, label), depth + 1)
        if "if" in schema and "then" in schema:
            condition = _condition(self.spec, schema["if"], base)
            self.walk(schema["then"], base, prefix, _join(variant, f"when {condition}"), depth + 1)
        if isinstance(schema.get("not"), dict):
            refused, refused_base = self.spec.resolve(schema["not"], base)
            self.note(f"Must not hold: {_condition(self.spec, refused, refused_base)}")

    def field(self, name: str, child: Any, base: Path, prefix: str, variant: str, depth: int, required: bool) -> None:
        resolved, child_base = self.spec.resolve(child, base)
        path = f"{prefix}.{name}" if prefix else name
        rule = ""
        if isinstance(child, dict):
            rule = str(child.get("x-rule") or "")
        if isinstance(resolved, dict):
            rule = rule or str(resolved.get("x-rule") or "")
            # A $ref's siblings (OpenAPI 3.1 allows them) describe this use of the shared schema.
            own = {key: child[key] for key in ("description", "deprecated") if isinstance(child, dict) and key in child}
            described = {**resolved, **own}
            kind = type_text(self.spec, resolved, child_base)
            if described.get("title") == kind:
                del described["title"]  # already the type
            self.add(
                Row(
                    path,
                    kind,
                    required,
                    limits_text(described),
                    rule,
                    _describe(described),
                    variant,
                )
            )
            if any(key in resolved for key in ("properties", "items", "allOf", "oneOf", "anyOf", "if")):
                self.walk(resolved, child_base, path, variant, depth + 1)
        else:
            self.add(Row(path, "any", required, "", rule, "", variant))


def _join(variant: str, label: str) -> str:
    return f"{variant} › {label}" if variant else label


def shape(spec: specs.Spec, schema: Any, base: Path | None = None) -> Shape:
    """Every field of a body schema, `allOf`/`oneOf`/`if`/`not` included, in the order the schema gives them."""
    collector = _Collector(spec)
    collector.walk(schema, base or spec.path, "", "", 0)
    rows = [row for row in collector.rows.values() if row.path]
    # A branch that only tightens a shared field (`image: {minLength: 1}`) keeps that field's type.
    shared = {row.path: row.type for row in rows if not row.variant}
    rows = [replace(row, type=shared.get(row.path, row.type)) if row.type.startswith("any") else row for row in rows]
    # Variants come after the fields every variant shares.
    rows.sort(key=lambda row: row.variant != "")
    return Shape(rows, collector.notes)
