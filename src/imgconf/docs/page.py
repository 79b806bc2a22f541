"""The reference page's model: what both renderers (Markdown, HTML) and the code snippets draw.

Its own module so that the parts that read a page (`markdown`, `site`, `snippets`) need not import the part
that builds one (`reference`), which itself asks `snippets` for each operation's curl and Python lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgconf import specs
from imgconf.docs import schemas


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str
    type: str
    required: bool
    limits: str
    description: str
    examples: tuple[str, ...] = ()
    deprecated: bool = False


@dataclass(frozen=True)
class Example:
    name: str
    summary: str
    description: str
    text: str
    assumption: str = ""


@dataclass(frozen=True)
class Body:
    media_type: str
    description: str
    shape: schemas.Shape
    examples: tuple[Example, ...] = ()
    encoding: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Header:
    name: str
    type: str
    required: bool
    limits: str
    rule: str
    description: str


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: which operation to call next with what this answer holds."""

    name: str
    operation_id: str
    parameters: str
    description: str


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    rule: str
    assumption: str
    headers: tuple[Header, ...]
    bodies: tuple[Body, ...]
    codes: tuple[str, ...]
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class CodeSample:
    lang: str
    label: str
    source: str


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    anchor: str
    summary: str
    description: str
    deprecated: bool
    security: list[str]
    parameters: list[Parameter]
    request: list[Body]
    request_required: bool
    responses: list[Response]
    samples: list[CodeSample]
    curl: str = ""
    python: str = ""
    webhook: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: str
    message: str
    wire_message: str = ""
    handling: str = ""
    layer: str = ""
    table_status: str = ""
    operations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scheme:
    name: str
    kind: str
    where: str
    description: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Banner:
    kind: str  # "deprecated" or "retiring"
    title: str
    text: str
    short: str = ""


@dataclass
class Reference:
    """A whole page: what an integrator needs, and what only imgconf knows (rules, errata, assumptions)."""

    spec: specs.Spec
    slug: str
    title: str
    vendor: str
    version: str
    summary: str
    description: str
    banners: list[Banner]
    servers: list[tuple[str, str]]
    sources: list[tuple[str, str]]
    schemes: list[Scheme]
    operations: list[Operation]
    webhooks: list[Operation]
    errors: list[ErrorCode]
    errors_documented: bool
    rules: list[specs.Rule]
    errata: list[dict[str, str]]
    assumptions: list[tuple[str, str]]
    verdicts: dict[str, list[Any]] = field(default_factory=dict)

    def by_operation_id(self, operation_id: str) -> Operation | None:
        return next((op for op in self.operations if op.operation_id == operation_id), None)
