"""Every documented example: response examples match their schemas; the two documented code samples are sent
exactly as they would send them, and get the documented 200.

The request examples are the Python and JavaScript samples of §3. An example cannot hold the image, so the
spec leaves the file part out and these tests add a real JPEG the way each sample attaches it: Python's
`requests.post(url, data=d, files={'file': f1.read()})` sends bytes under the part name and filename "file"
with no Content-Type, after the four text fields; the JavaScript FormData sends the File (name and type of
the chosen file) second, between `type` and `apikey`. The key is written into the form by the test, as the
samples do, so nothing else touches the request.
"""

import pytest

from imgconf import images
from imgconf.testing import NOT_CHECKED_THOROUGH, examples, not_checked, violated
from imgconf.vendors import imagerecognize

REQUESTS = examples.request_examples(imagerecognize.VENDOR)
IMAGE = images.render(120, 90, seed=31, fmt="jpeg")  # image.jpg


test_response_example_matches_schema = examples.response_example_test(imagerecognize.VENDOR)


def python_sample(fields, key):
    """`d = {'apikey': API_KEY, ...}; f = {'file': f1.read()}; requests.post(url=..., data=d, files=f)`."""
    return {"data": {**fields, "apikey": key}, "files": {"file": IMAGE}}


def javascript_sample(fields, key):
    """`new FormData()`, appended in the documented order, the file from `<input type="file">` second."""
    parts = [(name, (None, key if name == "apikey" else str(value))) for name, value in fields.items()]
    parts.insert(1, ("file", ("image.jpg", IMAGE, "image/jpeg")))
    return {"files": parts}


SAMPLES = {"pythonSample": python_sample, "javascriptSample": javascript_sample}


@pytest.mark.rule("imagerecognize.examples.samples")
@pytest.mark.parametrize("item", REQUESTS, ids=examples.example_id)
def test_documented_sample_request_is_analysed(item, api, record_property):
    _, example = item
    record_property("operation", example.operation)
    method, path = example.operation.split(" ", 1)
    if path != "/api/v2/" and not api.local:
        not_checked(NOT_CHECKED_THOROUGH, "v3 is v2: a metered target gets each documented sample once, on /api/v2/")
    build = SAMPLES.get(example.name)
    assert build is not None, f"no way to send the request example {example.name!r}"
    response = api.request(method, path, auth="none", **build(example.value, api.credentials["apikey"]))
    violated(
        "imagerecognize.examples.samples",
        response.status_code == 200,
        f"the {example.name} request got {response.status_code}: {response.text[:200]}",
    )
    api.validate(response)
    data = response.json()["data"]
    assert data["type"] == "objects" and len(data["objects"]) <= 10, data
