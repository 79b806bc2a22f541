"""The imagerecognize key on the wire: put where the API reads it, left alone where a generated case is
about the key itself; and the spec's promises that v3 is v2 and every documented status is there."""

from __future__ import annotations

import requests

from imgconf import specs
from imgconf.vendors import imagerecognize
from imgconf.vendors.imagerecognize import FormOrQueryKey, request_fields

CREDENTIALS = {"apikey": "real-key/with+chars="}
SCHEME = FormOrQueryKey()


def prepared(method: str, **kwargs) -> requests.PreparedRequest:
    request = requests.Request(method, "http://imagerecognize.test/api/v2/", **kwargs).prepare()
    SCHEME.apply(request, CREDENTIALS)
    request.prepare_content_length(request.body)
    return request


def test_the_key_replaces_or_joins_the_multipart_form():
    replaced = prepared("POST", data={"apikey": "generated", "type": "objects"}, files={"file": b"\xff\xd8\xff"})
    added = prepared("POST", data={"type": "objects"}, files={"file": b"\xff\xd8\xff"})
    only_text = prepared("POST", files={"type": (None, "cache")})
    for request in (replaced, added, only_text):
        assert request_fields(request)["apikey"] == CREDENTIALS["apikey"]
        assert int(request.headers["Content-Length"]) == len(request.body)
    assert b"generated" not in replaced.body
    assert replaced.body.count(b'name="apikey"') == 1
    assert b"\xff\xd8\xff" in added.body  # the file part is untouched


def test_the_key_goes_into_a_urlencoded_form_or_the_query():
    form = prepared("POST", data={"type": "cache"})
    assert request_fields(form) == {"apikey": CREDENTIALS["apikey"], "type": "cache"}
    query = prepared("GET", params={"type": "cache", "apikey": "generated"})
    assert request_fields(query) == {"apikey": CREDENTIALS["apikey"], "type": "cache"}
    assert "generated" not in (query.url or "")


class _Case:
    def __init__(self, method: str, body=None, query=None) -> None:
        self.method, self.body, self.query = method, body, query or {}


def test_generated_cases_about_the_key_reach_the_vendor_as_generated():
    for body in ({"type": "cache"}, {"apikey": "", "type": "cache"}, {"apikey": 5, "type": "cache"}):
        with imagerecognize.sending_generated(_Case("POST", body)):
            request = requests.Request("POST", "http://x/api/v2/", files={"type": (None, "cache")}).prepare()
            before = request.body
            SCHEME.apply(request, CREDENTIALS)
        assert request.body == before, body
    with imagerecognize.sending_generated(_Case("GET", query={"apikey": "x1", "type": "cache"})):
        request = requests.Request("GET", "http://x/api/v2/", params={"apikey": "x1", "type": "cache"}).prepare()
        SCHEME.apply(request, CREDENTIALS)
    assert request_fields(request)["apikey"] == CREDENTIALS["apikey"]


def test_a_form_is_judged_as_it_is_sent():
    class Meta:
        class generation:  # the shape of schemathesis' metadata
            class mode:
                is_negative = True

    case = _Case("POST", {"apikey": "k", "type": "objects", "file": b"\xff", "max_labels": "5", "min_confidence": "0"})
    case.meta = Meta()
    assert imagerecognize.valid_as_sent(case)
    assert imagerecognize.mislabelled(case)  # "negative", yet the very request a valid one is on the wire
    case.body = {**case.body, "min_confidence": "0.0"}
    assert not imagerecognize.valid_as_sent(case) and not imagerecognize.mislabelled(case)
    case.body = {"apikey": "k", "type": "celebrities", "file": b"\xff", "max_labels": {"any": "thing"}}
    assert imagerecognize.valid_as_sent(case)  # another type's parameter is ignored, whatever it holds


def test_v3_is_v2_and_every_documented_status_has_its_text():
    spec = imagerecognize.VENDOR.specs[0]
    v2, v3 = spec.raw["paths"]["/api/v2/"], spec.raw["paths"]["/api/v3/"]
    for method in ("get", "post"):
        assert {**v2[method], "operationId": None} == {**v3[method], "operationId": None}
    documented = {
        "300": "Invalid request, no data received",
        "400": "APIkey missing",
        "401": "APIkey invalid",
        "402": "Quota limit reached",
        "412": "Invalid file",
        "413": "Image size too large",
        "415": "Invalid file format",
        "420": "Invalid type",
    }
    post = v2["post"]["responses"]
    assert set(post) == {"200", *documented, "430"}
    for status, text in documented.items():
        schema, _ = spec.response_schema("POST /api/v2/", status, "application/json")
        resolved, _ = spec.resolve(schema)
        assert resolved["properties"]["status_message"]["const"] == text
        assert resolved["properties"]["status"]["const"] == int(status)
    assert {item["id"] for item in spec.errata} >= {"imagerecognize-message-key", "imagerecognize-200-example"}
    assert isinstance(specs.load(spec.path), specs.Spec)
