"""The reference as one Markdown page per spec: what a repository viewer shows, as complete as the HTML site."""

from __future__ import annotations

from imgconf.docs.page import Body, Operation, Reference

FIELD_HEADER = ["field", "type", "required", "limits", "rule", "description"]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", "<br>")


def _code(value: str) -> str:
    return f"`{value}`" if value else ""


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def fence(text: str, lang: str = "") -> list[str]:
    ticks = "````" if "```" in text else "```"
    return [f"{ticks}{lang}", text, ticks, ""]


def _body(body: Body, heading: str) -> list[str]:
    lines = [f"{heading} `{body.media_type}`", ""]
    if body.description:
        lines += [body.description, ""]
    for name, content_type in body.encoding:
        lines += [f"Part `{name}`: Content-Type {content_type}.", ""]
    lines += [f"- {note}" for note in body.shape.notes]
    if body.shape.notes:
        lines.append("")
    rows = [
        [
            _code(row.path) + (f" *({row.variant})*" if row.variant else ""),
            row.type,
            "yes" if row.required else "",
            row.limits,
            _code(row.rule),
            row.description,
        ]
        for row in body.shape.rows
    ]
    lines += table(FIELD_HEADER, rows)
    for example in body.examples:
        title = f"Example `{example.name}`" + (f" — {example.summary}" if example.summary else "")
        if example.assumption:
            title += f" (x-assumption {example.assumption})"
        lines += [title + ":", ""]
        if example.description:
            lines += [example.description, ""]
        lines += fence(example.text, "json" if example.text.startswith(("{", "[")) else "")
    return lines


def _operation(reference: Reference, operation: Operation) -> list[str]:
    flag = " *(deprecated)*" if operation.deprecated else ""
    lines = [f'<a id="{operation.anchor}"></a>', "", f"### `{operation.label}`{flag}", ""]
    if operation.summary:
        lines += [f"**{operation.summary}**" + (f" (`{operation.operation_id}`)" if operation.operation_id else ""), ""]
    if operation.description:
        lines += [operation.description, ""]
    if operation.security:
        lines += ["Authentication: " + " or ".join(f"`{name}`" for name in operation.security), ""]
    elif not operation.webhook:
        lines += ["Authentication: none.", ""]
    for verdict in reference.verdicts.get(operation.label, []):
        lines.append(f"- Latest verdict on `{verdict.target}`: **{verdict.verdict}** ({verdict.at})")
    if reference.verdicts.get(operation.label):
        lines.append("")
    if operation.parameters:
        lines += ["Parameters:", ""]
        lines += table(
            ["name", "in", "type", "required", "limits", "description"],
            [
                [
                    _code(parameter.name) + (" *(deprecated)*" if parameter.deprecated else ""),
                    parameter.where,
                    parameter.type,
                    "yes" if parameter.required else "",
                    parameter.limits,
                    parameter.description
                    + (
                        " Example: " + ", ".join(f"`{value}`" for value in parameter.examples)
                        if parameter.examples
                        else ""
                    ),
                ]
                for parameter in operation.parameters
            ],
        )
    for body in operation.request:
        lines += _body(body, "Request body" + (" (required)" if operation.request_required else ""))
    for sample in operation.samples:
        lines += [f"Vendor sample, {sample.lang} — {sample.label}:", "", *fence(sample.source, sample.lang.lower())]
    if operation.curl:
        lines += [
            "curl:",
            "",
            *fence(operation.curl, "sh"),
            "Python (`requests`):",
            "",
            *fence(operation.python, "python"),
        ]
    lines += ["Responses:", ""]
    for response in operation.responses:
        extra = []
        if response.rule:
            extra.append(f"rule `{response.rule}`")
        if response.assumption:
            extra.append(f"x-assumption {response.assumption}")
        if response.codes:
            extra.append("codes " + ", ".join(f"`{code}`" for code in response.codes))
        lines += [f"#### {response.status}" + (f" ({'; '.join(extra)})" if extra else ""), "", response.description, ""]
        if response.headers:
            lines += table(
                ["header", "type", "required", "limits", "rule", "description"],
                [
                    [_code(h.name), h.type, "yes" if h.required else "", h.limits, _code(h.rule), h.description]
                    for h in response.headers
                ],
            )
        for body in response.bodies:
            lines += _body(body, "Body")
        for link in response.links:
            target = reference.by_operation_id(link.operation_id)
            where = f"[`{target.label}`](#{target.anchor})" if target else f"`{link.operation_id}`"
            with_ = f" with {link.parameters}" if link.parameters else ""
            about = f" — {link.description}" if link.description else ""
            lines.append(f"- Link **{link.name}**: {where}{with_}{about}")
        if response.links:
            lines.append("")
    return lines


def render(reference: Reference) -> str:
    lines = [f"# {reference.title}", "", f"Rendered from `specs/{reference.spec.path.name}` by `imgconf docs`.", ""]
    for banner in reference.banners:
        lines += [f"> **{banner.title}.** {banner.text}", ""]
    if reference.summary:
        lines += [reference.summary, ""]
    if reference.description:
        lines += [reference.description, ""]
    lines += [f"Version {reference.version}. Servers:", ""]
    lines += [f"- `{url}`" + (f" — {description}" if description else "") for url, description in reference.servers]
    lines.append("")
    if reference.sources:
        lines += ["Vendor documentation:", ""]
        lines += [f"- [{title}]({url})" for title, url in reference.sources]
        lines.append("")
    if reference.schemes:
        lines += ["## Authentication", ""]
        for scheme in reference.schemes:
            where = f", {scheme.where}" if scheme.where else ""
            lines += [f"### `{scheme.name}` ({scheme.kind}{where})", "", scheme.description, ""]
            lines += [f"{index}. {step}" for index, step in enumerate(scheme.steps, start=1)]
            if scheme.steps:
                lines.append("")
    lines += ["## Operations", ""]
    lines += [f"- [`{op.label}`](#{op.anchor}) — {op.summary}" for op in reference.operations]
    lines.append("")
    for operation in reference.operations:
        lines += _operation(reference, operation)
    if reference.webhooks:
        lines += ["## Webhooks", ""]
        for operation in reference.webhooks:
            lines += _operation(reference, operation)
    lines += ["## Error codes", ""]
    if reference.errors_documented:
        lines += table(
            ["code", "status", "table prints", "layer", "message", "the gateway sends", "handling", "answered by"],
            [
                [
                    _code(error.code),
                    error.status,
                    error.table_status,
                    error.layer,
                    error.message,
                    error.wire_message,
                    error.handling,
                    ", ".join(error.operations),
                ]
                for error in reference.errors
            ],
        )
    else:
        lines += table(
            ["status", "meaning", "documented bodies", "answered by"],
            [
                [error.status, error.message, error.wire_message, ", ".join(error.operations)]
                for error in reference.errors
            ],
        )
    if reference.rules:
        lines += [
            "## Rules the suites check",
            "",
            "basis: *documented* — the vendor says so; *assumption* — the docs are silent and this spec "
            "chooses; *errata* — the docs contradict themselves and this spec picks a reading.",
            "",
        ]
        lines += table(
            ["rule", "category", "basis", "statement", "source"],
            [[_code(rule.id), rule.category, rule.basis, rule.text, rule.source or ""] for rule in reference.rules],
        )
    if reference.errata:
        lines += ["## Errata in the vendor's documentation", ""]
        lines += table(
            ["id", "where", "the docs say", "problem", "this spec follows"],
            [
                [
                    _code(item.get("id", "")),
                    item.get("where", ""),
                    item.get("docs-say", ""),
                    item.get("problem", ""),
                    item.get("spec-follows", ""),
                ]
                for item in reference.errata
            ],
        )
    if reference.assumptions:
        lines += ["## Assumptions", ""]
        lines += [f"- **{name}**: {text}" for name, text in reference.assumptions]
        lines.append("")
    return "\n".join(lines)
