"""Documented examples as tests: every response example must match its own schema.

The vendors' examples are evidence of the contract, and an example that its
schema refuses means the spec (or the docs) is wrong. A failure names the
`x-rule` of the schema node that refused it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from imgconf import specs
from imgconf.checks import RuleViolation
from imgconf.vendors.base import Vendor


def response_examples(vendor: Vendor) -> list[tuple[specs.Spec, specs.Example]]:
    return [(spec, example) for spec in vendor.specs for example in spec.examples() if example.kind == "response"]


def request_examples(vendor: Vendor) -> list[tuple[specs.Spec, specs.Example]]:
    return [(spec, example) for spec in vendor.specs for example in spec.examples() if example.kind == "request"]


def example_id(item: tuple[specs.Spec, specs.Example]) -> str:
    _, example = item
    status = f" {example.status}" if example.status else ""
    return f"{example.operation}{status} {example.name}"


def _retrieve(uri: str) -> referencing.Resource:
    path = Path(uri.removeprefix("file://"))
    contents = specs.load_json_document(path)
    return referencing.Resource.from_contents(contents, default_specification=referencing.jsonschema.DRAFT202012)


@cache
def _registry() -> referencing.Registry:
    return referencing.Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def validate_response_example(spec: specs.Spec, example: specs.Example) -> None:
    """Raise RuleViolation if the example does not match the schema its response documents."""
    assert example.status is not None
    schema, base = spec.response_schema(example.operation, example.status, example.media_type)
    wrapper = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": base.resolve().as_uri(), **schema}
    validator = jsonschema.Draft202012Validator(
        wrapper, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    error = jsonschema.exceptions.best_match(validator.iter_errors(example.value))
    if error is None:
        return
    rule = _rule_of(error) or "contract.examples"
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    raise RuleViolation(
        rule,
        f"documented example {example.name!r} ({example.operation} {example.status}) "
        f"does not match its schema at {where}: {error.message[:300]}",
    )


def _rule_of(error: jsonschema.ValidationError) -> str | None:
    node: Any = error
    while node is not None:
        schema = node.schema
        if isinstance(schema, dict) and isinstance(schema.get("x-rule"), str):
            return schema["x-rule"]
        node = node.parent
    return None


def response_example_test(vendor: Vendor) -> Any:
    """The test every suite has: each documented response example matches its own schema.

    A suite binds it as `test_response_example_matches_schema = examples.response_example_test(VENDOR)`.
    """
    import pytest

    @pytest.mark.parametrize("item", response_examples(vendor), ids=example_id)
    def test_response_example_matches_schema(item: tuple[specs.Spec, specs.Example], record_property: Any) -> None:
        spec, example = item
        record_property("operation", example.operation)
        validate_response_example(spec, example)

    return test_response_example_matches_schema
