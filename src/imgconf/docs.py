"""`imgconf docs`: the specs rendered as readable pages, errata and assumptions included.

The specs are the most precise description of these APIs that exists; this turns each into a Markdown page
(operations, every documented status with its body's fields, the rules and their basis, what the vendor's
own docs get wrong, and what the spec had to assume), so the documentation cannot drift from the contract
the suites enforce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imgconf import specs
from imgconf import vendors as registry

MAX_DEPTH = 4


def _type(schema: dict[str, Any]) -> str:
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " | ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type")
    text = " or ".join(kind) if isinstance(kind, list) else (kind or "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    if schema.get("pattern"):
        text += f", pattern `{schema['pattern']}`"
    for key, label in (
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minItems", "items ≥"),
        ("maxItems", "items ≤"),
    ):
        if key in schema:
            text += f", {label} {schema[key]}"
    return text


def _fields(spec: specs.Spec, schema: Any, base: Path, prefix: str = "", depth: int = 0) -> list[list[str]]:
    """Rows of (field, type, required, rule, description) for a schema, following $refs."""
    schema, base = spec.resolve(schema, base)
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return []
    # Branches come after the fields they share (a body's properties with a oneOf of its required sets,
    # say), or alone when the schema is nothing but its branches.
    branches = [
        row
        for combinator in ("oneOf", "anyOf")
        for index, option in enumerate(schema.get(combinator, []), start=1)
        for row in _fields(spec, option, base, f"{prefix}({combinator} {index})", depth + 1)
    ]
    rows: list[list[str]] = []
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _fields(spec, schema["items"], base, f"{prefix}[]", depth + 1)
    required = set(schema.get("required", []))
    for name, child in (schema.get("properties") or {}).items():
        resolved, child_base = spec.resolve(child, base)
        path = f"{prefix}.{name}" if prefix else name
        description = " ".join(str(resolved.get("description", "")).split())
        rule = resolved.get("x-rule", "")
        rows.append(
            [
                f"`{path}`",
                _type(resolved),
                "yes" if name in required else "",
                f"`{rule}`" if rule else "",
                description[:240],
            ]
        )
        if isinstance(resolved, dict) and (resolved.get("properties") or resolved.get("items")):
            rows += _fields(spec, resolved, child_base, path, depth + 1)
    return rows + branches


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return lines


def render(spec: specs.Spec) -> str:
    raw = spec.raw
    info = raw.get("info", {})
    lines = [f"# {spec.title}", "", f"Rendered from `specs/{spec.path.name}` by `imgconf docs`.", ""]
    for key, label in (("x-status", "Status"), ("x-retirement", "Retirement")):
        if key in info:
            lines += [f"**{label}:** `{json.dumps(info[key])}`", ""]
    if info.get("description"):
        lines += [str(info["description"]).strip(), ""]
    lines += ["Servers: " + ", ".join(f"`{url}`" for url in spec.servers), ""]
    schemes = raw.get("components", {}).get("securitySchemes", {})
    if schemes:
        lines += ["## Authentication", ""]
        for name, scheme in schemes.items():
            where = f"{scheme.get('in', '')} `{scheme.get('name', '')}`" if scheme.get("type") == "apiKey" else ""
            lines.append(
                f"- **{name}** ({scheme.get('type')}{', ' + where if where else ''}): "
                f"{' '.join(str(scheme.get('description', '')).split())}"
            )
        lines.append("")
    lines += ["## Operations", ""]
    for template, item in (raw.get("paths") or {}).items():
        for method, definition in item.items():
            if method not in specs.HTTP_METHODS:
                continue
            flag = " *(deprecated)*" if definition.get("deprecated") else ""
            lines += [f"### `{method.upper()} {template}`{flag}", ""]
            if definition.get("summary"):
                lines += [definition["summary"], ""]
            body, body_base = spec.resolve(definition.get("requestBody", {}))
            for media_type, content in (body.get("content") or {}).items():
                lines += [f"Request body `{media_type}`:", ""]
                lines += _table(
                    ["field", "type", "required", "rule", "description"],
                    _fields(spec, content.get("schema", {}), body_base),
                )
                lines.append("")
            for status, response in (definition.get("responses") or {}).items():
                resolved, base = spec.resolve(response)
                text = " ".join(str(resolved.get("description", "")).split())
                lines += [f"**{status}** — {text}", ""]
                for media_type, content in (resolved.get("content") or {}).items():
                    rows = _fields(spec, content.get("schema", {}), base)
                    if rows:
                        header = ["field", "type", "required", "rule", "description"]
                        lines += [f"`{media_type}`:", "", *_table(header, rows), ""]
    if spec.rules:
        lines += [
            "## Rules the suites check",
            "",
            "basis: *documented* — the vendor says so; *assumption* — the docs are silent and this spec "
            "chooses; *errata* — the docs contradict themselves and this spec picks a reading.",
            "",
        ]
        lines += _table(
            ["rule", "category", "basis", "statement", "source"],
            [[f"`{rule.id}`", rule.category, rule.basis, rule.text, rule.source or ""] for rule in spec.rules.values()],
        )
        lines.append("")
    if spec.errata:
        lines += ["## Errata in the vendor's documentation", ""]
        lines += _table(
            ["id", "where", "the docs say", "problem", "this spec follows"],
            [
                [
                    f"`{item.get('id', '')}`",
                    str(item.get("where", "")),
                    str(item.get("docs-say", "")),
                    str(item.get("problem", "")),
                    str(item.get("spec-follows", "")),
                ]
                for item in spec.errata
            ],
        )
        lines.append("")
    if spec.assumptions:
        lines += ["## Assumptions", ""]
        lines += [f"- **{name}**: {' '.join(str(text).split())}" for name, text in spec.assumptions.items()]
        lines.append("")
    return "\n".join(lines)


def write(out: Path, vendor_ids: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index = ["# API documentation", "", "Rendered from the hand-written specs by `imgconf docs`.", ""]
    for vendor in registry.select(vendor_ids):
        for spec in vendor.specs:
            target = out / f"{spec.path.stem}.md"
            target.write_text(render(spec), encoding="utf-8")
            written.append(target)
            index.append(
                f"- [{spec.title}]({target.name}) — {vendor.id}, {len(spec.operations)} operations, "
                f"{len(spec.rules)} rules, {len(spec.errata)} errata"
            )
    (out / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return written
