"""Every documented example: response examples match their schemas, request examples get documented answers."""

import pytest

from imgconf.testing import examples
from imgconf.vendors import altum

RESPONSES = examples.response_examples(altum.VENDOR)
REQUESTS = examples.request_examples(altum.VENDOR)


@pytest.mark.parametrize("item", RESPONSES, ids=examples.example_id)
def test_response_example_matches_schema(item, record_property):
    spec, example = item
    record_property("operation", example.operation)
    examples.validate_response_example(spec, example)


@pytest.mark.parametrize("item", REQUESTS, ids=examples.example_id)
def test_request_example_gets_a_documented_answer(item, api):
    _, example = item
    method, path = example.operation.split(" ", 1)
    response = api.request(method, path, json=example.value)
    api.validate(response)
