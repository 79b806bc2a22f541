"""A curl command and a Python `requests` call per operation, built from the spec alone.

The request is the operation's first documented request example (or its required fields when it has none),
sent to the spec's first server with the credential of its first security scheme read from an environment
variable, so a reader can paste it and only set the key. Files are read from a local path named after the
field; no snippet holds a secret.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from imgconf import specs
from imgconf.docs.page import Operation

_PLACEHOLDER = re.compile(r"\.\.\.|\{\{|://\{|<[a-z_ ]+>")
FILE_NAMES = {"image": "photo.jpg", "video": "video.mp4", "audio": "speech.wav", "file": "image.jpg"}


def env_name(vendor: str, scheme: dict[str, Any], name: str) -> str:
    """`IDENTIFAI_X_API_KEY`: the vendor and the credential's wire name, as a shell variable."""
    wire = str(scheme.get("name") or name)
    return re.sub(r"[^A-Z0-9]+", "_", f"{vendor}_{wire}".upper()).strip("_")


def _request_example(spec: specs.Spec, definition: dict[str, Any]) -> tuple[str | None, Any, dict[str, Any]]:
    body, base = spec.resolve(definition.get("requestBody", {}))
    for media_type, content in (body.get("content") or {}).items():
        schema, _ = spec.resolve(content.get("schema", {}), base)
        value: Any = None
        values = [spec.resolve(example)[0].get("value") for example in (content.get("examples") or {}).values()]
        # A request that works when pasted: the first example without the docs' "..." or {placeholders}.
        usable = [item for item in values if not _PLACEHOLDER.search(json.dumps(item, ensure_ascii=False))]
        if usable or values:
            value = (usable or values)[0]
        if value is None and "example" in content:
            value = content["example"]
        if value is None and isinstance(schema, dict):
            value = {name: f"<{name}>" for name in schema.get("required", [])}
        return media_type, value, schema if isinstance(schema, dict) else {}
    return None, None, {}


def _binary_fields(spec: specs.Spec, schema: dict[str, Any]) -> list[str]:
    found = []
    for name, child in (schema.get("properties") or {}).items():
        resolved, _ = spec.resolve(child)
        if isinstance(resolved, dict) and resolved.get("format") == "binary":
            found.append(name)
    return found


def for_operation(spec: specs.Spec, operation: Operation) -> tuple[str, str]:
    definition = spec.raw["paths"][operation.path][operation.method.lower()]
    server = spec.servers[0] if spec.servers else "https://api.example"
    path = operation.path
    query: list[tuple[str, str]] = []
    headers: list[tuple[str, str, bool]] = []  # (name, value, value is an environment variable)
    schemes = spec.raw.get("components", {}).get("securitySchemes", {})
    credential = str(schemes.get(operation.security[0], {}).get("name", "")) if operation.security else ""
    for parameter in operation.parameters:
        if parameter.name == credential:
            continue  # the security scheme puts the credential there
        value = parameter.examples[0] if parameter.examples else ""
        if parameter.where == "path":
            path = path.replace("{" + parameter.name + "}", value or "{" + parameter.name + "}")
        elif parameter.required and parameter.where == "query":
            enum = re.findall(r'^"([^"]*)"', parameter.type)
            query.append((parameter.name, value or (enum[0] if enum else f"<{parameter.name}>")))
        elif parameter.required and parameter.where == "header":
            headers.append((parameter.name, value or f"<{parameter.name}>", False))
    media_type, example, schema = _request_example(spec, definition)
    form_fields = set((schema.get("properties") or {}).keys()) if isinstance(schema, dict) else set()
    if operation.security:
        name = operation.security[0]
        scheme = schemes.get(name, {})
        variable = env_name(spec.vendor or "api", scheme, name)
        if scheme.get("in") == "header":
            headers.insert(0, (str(scheme["name"]), variable, True))
        elif scheme.get("in") == "query" and scheme.get("name") not in form_fields:
            query.insert(0, (str(scheme["name"]), "$" + variable))
        elif scheme.get("in") == "query" and isinstance(example, dict):
            example = {**example, str(scheme["name"]): "$" + variable}
    url = server.rstrip("/") + path
    unfilled = re.findall(r"\{([^}]+)\}", path)
    files = _binary_fields(spec, schema) if media_type == "multipart/form-data" else []
    note = "".join(f"# replace {{{name}}} with the {name}\n" for name in unfilled)
    curl = _curl(operation.method, url, query, headers, media_type, example, files)
    python = _python(operation.method, url, query, headers, media_type, example, files)
    return note + curl, note + python


def _curl(
    method: str,
    url: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str, bool]],
    media_type: str | None,
    example: Any,
    files: list[str],
) -> str:
    target = url + ("?" + "&".join(f"{name}={value}" for name, value in query) if query else "")
    lines = [f"curl -sS -X {method} {_quote(target)}"]
    for name, value, is_env in headers:
        lines.append(f'-H "{name}: ${value}"' if is_env else f"-H {shlex.quote(f'{name}: {value}')}")
    if media_type == "application/json" and example is not None:
        lines.append("-H 'Content-Type: application/json'")
        lines.append(f"--data {shlex.quote(json.dumps(example, ensure_ascii=False))}")
    elif media_type == "multipart/form-data":
        for name in files:
            lines.append(f"-F {shlex.quote(f'{name}=@{FILE_NAMES.get(name, name)}')}")
        for name, value in (example or {}).items():
            if name not in files:
                lines.append(_form_option(name, value))
    elif media_type and example is not None:
        lines.append(f"-H {shlex.quote('Content-Type: ' + media_type)} --data {shlex.quote(str(example))}")
    return " \\\n  ".join(lines)


def _quote(value: str) -> str:
    """Quoted for the shell, leaving `$VARIABLES` to expand."""
    return f'"{value}"' if "$" in value else shlex.quote(value)


def _form_option(name: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if text.startswith("$"):
        return f'-F "{name}={text}"'
    return f"-F {shlex.quote(f'{name}={text}')}"


def _literal(value: Any) -> str:
    """A Python literal in the style a formatter leaves: double quotes, True/False/None."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    return repr(value)


def _pretty(value: Any, indent: int, used: int) -> str:
    """`_literal`, split one item a line wherever it would pass 120 columns, as ruff would lay it out."""
    flat = _literal(value)
    if indent + used + len(flat) <= 119 or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{_literal(key)}: {_pretty(item, indent + 4, len(_literal(key)) + 3)}" for key, item in value.items()]
        opening, closing = "{", "}"
    else:
        items = [_pretty(item, indent + 4, 1) for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + "".join(f"{pad}{item},\n" for item in items) + " " * indent + closing


def _dict(items: list[str]) -> str:
    """A dict literal, on one line when it is short, else one entry a line (as a formatter would)."""
    flat = "{" + ", ".join(items) + "}"
    if len(flat) <= 80:
        return flat
    return "{\n" + "".join(f"        {item},\n" for item in items) + "    }"


def _python(
    method: str,
    url: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str, bool]],
    media_type: str | None,
    example: Any,
    files: list[str],
) -> str:
    def literal(value: Any) -> str:
        if isinstance(value, str) and value.startswith("$"):
            return f'os.environ["{value[1:]}"]'
        return _literal(value)

    arguments = [_literal(url)]
    if query:
        arguments.append("params=" + _dict([f"{_literal(name)}: {literal(value)}" for name, value in query]))
    if headers:
        items = [
            f"{_literal(name)}: " + (f'os.environ["{value}"]' if is_env else _literal(value))
            for name, value, is_env in headers
        ]
        arguments.append("headers=" + _dict(items))
    if media_type == "application/json" and example is not None:
        arguments.append(f"json={_pretty(example, 4, len('json=') + 1)}")
    elif media_type == "multipart/form-data":
        if files:
            opened = [f'{_literal(name)}: open({_literal(FILE_NAMES.get(name, name))}, "rb")' for name in files]
            arguments.append("files=" + _dict(opened))
        data = {name: value for name, value in (example or {}).items() if name not in files}
        if data:
            arguments.append("data=" + _dict([f"{_literal(name)}: {literal(value)}" for name, value in data.items()]))
    elif media_type and example is not None:
        arguments.append(f"data={_literal(str(example))}")
    arguments.append("timeout=30")
    body = ",\n    ".join(arguments)
    return (
        ("import os\n\n" if "os.environ" in body else "")
        + "import requests\n\n"
        + f"response = requests.{method.lower()}(\n    {body},\n)\n"
        + 'print(response.status_code, response.headers.get("Content-Type"))\nprint(response.text)'
    )
