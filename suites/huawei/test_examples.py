"""Every documented example: response examples match their schemas, request examples get documented answers.

Request examples are sent as the docs send them, authenticated as this run authenticates, with v2's
{project_id} filled in with the credentials' project. The docs' example image is cut short ("...") and
their OBS paths are placeholders, so a 400 is a documented answer to them; what is checked is that the
answer, whatever it is, is one the spec documents.
"""

import pytest

from imgconf.testing import examples
from imgconf.vendors import huawei
from imgconf.vendors.huawei import probes

# On a metered target, one documented request per operation (the first the docs print).
REQUESTS = [
    item
    for index, item in enumerate(examples.request_examples(huawei.VENDOR))
    if probes.local()
    or index
    == next(
        i for i, other in enumerate(examples.request_examples(huawei.VENDOR)) if other[1].operation == item[1].operation
    )
]


test_response_example_matches_schema = examples.response_example_test(huawei.VENDOR)


@pytest.mark.parametrize("item", REQUESTS, ids=examples.example_id)
def test_request_example_gets_a_documented_answer(item, api, clients):
    _, example = item
    method, path = example.operation.split(" ", 1)
    response = api.request(method, path.replace("{project_id}", clients.project_id), json=example.value)
    api.validate(response)
