"""Every documented example: response examples match their schemas, request examples get documented answers."""

import pytest

from imgconf.testing import NOT_CHECKED_MUTATIONS, examples, not_checked
from imgconf.vendors import identifai

REQUESTS = examples.request_examples(identifai.VENDOR)


test_response_example_matches_schema = examples.response_example_test(identifai.VENDOR)


@pytest.mark.parametrize("item", REQUESTS, ids=examples.example_id)
def test_request_example_gets_a_documented_answer(item, api, record_property):
    _, example = item
    record_property("operation", example.operation)
    if example.operation in identifai.VENDOR.mutating_operations and not api.target.allow_mutations:
        not_checked(NOT_CHECKED_MUTATIONS, "the example changes the account (an override or a partner user)")
    method, path = example.operation.split(" ", 1)
    path = path.replace("{hash}", "0" * 64)
    if example.media_type == "multipart/form-data":
        fields = {
            name: (None, str(value).lower() if isinstance(value, bool) else str(value))
            for name, value in example.value.items()
        }
        response = api.request(method, path, files=fields)
    else:
        response = api.request(method, path, json=example.value)
    api.validate(response)
