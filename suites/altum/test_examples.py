"""Every documented example: response examples match their schemas, request examples get documented answers."""

import pytest

from imgconf.testing import examples
from imgconf.vendors import altum

REQUESTS = examples.request_examples(altum.VENDOR)


test_response_example_matches_schema = examples.response_example_test(altum.VENDOR)


@pytest.mark.parametrize("item", REQUESTS, ids=examples.example_id)
def test_request_example_gets_a_documented_answer(item, api):
    _, example = item
    method, path = example.operation.split(" ", 1)
    response = api.request(method, path, json=example.value)
    api.validate(response)
