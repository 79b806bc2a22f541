"""What the service refuses, with which code: bodies, fields, images, URLs, sizes and routes."""

import json

import pytest
from hypothesis import given, settings

from imgconf import images
from imgconf.testing import strategies, violated
from imgconf.vendors.huawei import probes
from imgconf.wire.streamed import StreamedBody

V1 = probes.V1_PATH
SAMPLE = images.render(64, 48, seed=21, fmt="png")
MB = 1024 * 1024


def refused(api, response, status, expected, what):
    violated("huawei.request.validation", response.status_code != 200, f"{what} was accepted")
    api.validate(response)
    assert response.status_code == status, (
        f"{what}: expected {status}, got {response.status_code} {response.text[:200]}"
    )
    assert probes.error_code(response) == expected, (
        f"{what}: error_code {probes.error_code(response)!r}, expected {expected}"
    )


# -- the body -----------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.request.json")
@pytest.mark.parametrize(
    ("version", "body"),
    probes.on_live(
        [
            (version, body)
            for body in (b"image=abc", b'{"image": "abc"', b"[1, 2]", b'"just a string"')
            for version in ("v2", "v1")
        ],
        1,
    ),
)
def test_a_body_that_is_not_a_json_object_is_refused(api, clients, version, body):
    response = api.post(
        probes.tagging_paths(clients.v2())[version], data=body, headers={"Content-Type": "application/json"}
    )
    refused(api, response, 400, "AIS.0014", f"{version} body {body!r}")


@pytest.mark.rule("huawei.request.content-type")
@pytest.mark.parametrize(
    ("version", "content_type"),
    probes.on_live(
        [(version, content_type) for content_type in ("text/plain", None) for version in ("v2", "v1")],
        1,
    ),
)
def test_content_type_application_json_is_mandatory(api, clients, version, content_type):
    """Table 3-3: Content-Type application/json is mandatory; a well-formed body without it is not tagged."""
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(probes.image_body(SAMPLE)).encode()
    response = api.post(probes.tagging_paths(clients.v2())[version], data=body, headers=headers)
    violated("huawei.request.content-type", response.status_code != 200, f"{version} sent as {content_type} was tagged")
    refused(api, response, 400, "AIS.0014", f"{version} body sent as {content_type}")


@pytest.mark.rule("huawei.request.image-or-url")
@pytest.mark.parametrize(
    ("version", "case"),
    probes.on_live([(version, case) for case in ("neither", "both-empty", "both") for version in ("v2", "v1")], 1),
)
def test_exactly_one_of_image_and_url(api, clients, version, case):
    body = {
        "neither": {"language": "en"},
        "both-empty": {"image": "", "url": ""},
        "both": {"image": probes.encode(SAMPLE), "url": "https://example.com/photo.jpg"},
    }[case]
    refused(
        api, api.post(probes.tagging_paths(clients.v2())[version], json=body), 400, "AIS.0501", f"{version} with {case}"
    )


@pytest.mark.rule("huawei.request.parameters")
@pytest.mark.parametrize(
    ("version", "field", "value"),
    probes.on_live(
        [
            ("v2", "language", "fr"),
            ("v1", "language", "ZH"),
            ("v2", "language", None),
            ("v2", "limit", 0),
            ("v2", "limit", 151),
            ("v2", "limit", 2.5),
            ("v2", "limit", "5"),
            ("v2", "limit", True),
            ("v1", "limit", 0),
            ("v1", "limit", -2),
            ("v2", "threshold", 100.5),
            ("v2", "threshold", -1),
            ("v2", "threshold", "60"),
            ("v1", "threshold", "60"),
            ("v2", "image", 12345),
        ],
        1,
    ),
)
def test_fields_out_of_their_type_or_range_are_refused(api, clients, version, field, value):
    body = probes.image_body(SAMPLE, **{field: value}) if field != "image" else {"image": value}
    refused(
        api,
        api.post(probes.tagging_paths(clients.v2())[version], json=body),
        400,
        "AIS.0501",
        f"{version} {field}={value!r}",
    )


@pytest.mark.rule("huawei.v1.threshold-default")
@probes.local_only("v1.0 is deprecated; two requests for one of its details")
@pytest.mark.parametrize("threshold", [150, -5])
def test_v1_uses_its_default_threshold_when_out_of_range(api, threshold):
    baseline = api.post(V1, json=probes.image_body(SAMPLE, threshold=0, limit=-1))
    response = api.post(V1, json=probes.image_body(SAMPLE, threshold=threshold, limit=-1))
    assert response.status_code == 200, f"threshold {threshold}: {response.status_code} {response.text[:200]}"
    api.validate(response)
    assert response.json() == baseline.json(), f"threshold {threshold} did not fall back to the default 0"


@pytest.mark.rule("huawei.request.parameters")
@probes.local_only("v1.0 is deprecated; two requests for one of its details")
def test_v1_limit_minus_one_returns_every_tag(api):
    everything = api.post(V1, json=probes.image_body(SAMPLE, threshold=0, limit=-1))
    assert everything.status_code == 200, f"{everything.status_code} {everything.text[:200]}"
    api.validate(everything)
    capped = api.post(V1, json=probes.image_body(SAMPLE, threshold=0, limit=150))
    assert len(everything.json()["result"]["tags"]) == len(capped.json()["result"]["tags"])


# -- the image ----------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.request.image-base64")
@probes.local_only("two requests; the samples' bodies are sent by the example tests")
def test_base64_with_line_breaks_is_accepted(api, clients):
    """The PHP sample chunk_splits its base64 (76 characters and \\r\\n): the same image, the same tags."""
    text = probes.encode(SAMPLE)
    wrapped = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + "\r\n"
    compact = api.post(clients.v2(), json={"image": text, "threshold": 0})
    split = api.post(clients.v2(), json={"image": wrapped, "threshold": 0})
    assert split.status_code == 200, f"{split.status_code} {split.text[:200]}"
    api.validate(split)
    assert split.json() == compact.json()


@pytest.mark.rule("huawei.request.image-base64")
@probes.local_only("the parameter test covers AIS.0501")
@pytest.mark.parametrize("text", ["not base64!", "data:image/png;base64,iVBORw0KGgo", "%%%%"])
def test_an_image_that_is_not_base64_is_refused(api, clients, text):
    refused(api, api.post(clients.v2(), json={"image": text}), 400, "AIS.0501", f"image {text!r}")


@pytest.mark.rule("huawei.request.image-format")
@probes.local_only("every other test sends accepted images")
@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("fmt", ["jpeg", "png", "bmp"])
def test_jpg_png_and_bmp_are_accepted(api, clients, version, fmt):
    response = api.post(
        probes.tagging_paths(clients.v2())[version], json=probes.image_body(images.render(40, 30, 3, fmt))
    )
    violated("huawei.request.accepted", response.status_code == 200, f"a {fmt} got {response.status_code}")
    api.validate(response)


@pytest.mark.rule("huawei.request.image-format")
@pytest.mark.parametrize("fmt", probes.on_live(["gif", "webp", "tiff", "text"], 1))
def test_other_formats_are_refused(api, clients, fmt):
    data = b"a plain text file, not a photo" if fmt == "text" else images.render(40, 30, 3, fmt)
    refused(api, api.post(clients.v2(), json=probes.image_body(data)), 400, "AIS.0502", f"a {fmt}")


@pytest.mark.rule("huawei.request.image-damaged")
@pytest.mark.parametrize("fmt", probes.on_live(["jpeg", "png", "bmp"], 1))
def test_a_damaged_image_is_refused(api, clients, fmt):
    data = images.corrupt(images.render(80, 60, 5, fmt), 1)
    refused(api, api.post(clients.v2(), json=probes.image_body(data)), 400, "AIS.0503", f"a truncated {fmt}")


@pytest.mark.rule("huawei.request.image-size")
@pytest.mark.parametrize(
    ("width", "height", "accepted"),
    probes.on_live(
        [(14, 100, False), (100, 14, False), (16, 16, True), (4096, 16, True), (16, 4096, True), (4097, 16, False)], 1
    ),
)
def test_image_sides_are_bounded(api, clients, width, height, accepted):
    response = api.post(clients.v2(), json=probes.image_body(images.render(width, height, 9, "png")))
    if accepted:
        violated("huawei.request.accepted", response.status_code == 200, f"{width}x{height}: {response.status_code}")
        api.validate(response)
    else:
        refused(api, response, 400, "AIS.0504", f"a {width}x{height} image")


@pytest.mark.rule("huawei.request.image-size")
@probes.local_only("either answer passes")
def test_a_narrow_side_of_exactly_15_is_either_answer(api, clients):
    """The seed says 'greater than 15', the SDK text '>= 15' (x-errata huawei-min-side)."""
    response = api.post(clients.v2(), json=probes.image_body(images.render(15, 100, 9, "png")))
    api.validate(response)
    assert response.status_code == 200 or probes.error_code(response) == "AIS.0504", (
        f"{response.status_code} {response.text[:200]}"
    )


@pytest.mark.rule("huawei.request.image-size")
@probes.local_only("a 10 MB upload; the sides test covers AIS.0504")
def test_base64_over_10_mb_is_refused(api, clients):
    # A JPEG's magic, then zeros: over 10 MB as base64, under 12 MB. The JSON body (what `json=` would send,
    # byte for byte) is made as it is sent, so the client never holds it.
    body = probes.image_of_zeros(b"\xff\xd8\xff\xe0", 10 * MB * 3 // 4)
    assert 10 * MB < len(body) - len('{"image": ""}') < 12 * MB - 100
    response = api.post(clients.v2(), data=body, headers={"Content-Type": "application/json"})
    refused(api, response, 400, "AIS.0504", "an image over 10 MB")


@pytest.mark.rule("huawei.request.image-format")
@probes.local_only("the other-formats test covers the rule")
@settings(max_examples=6, database=None, deadline=None)
@given(data=strategies.invalid_uploads(("png", "jpeg", "bmp")))
def test_generated_non_images_are_refused(api, clients, data):
    response = api.post(clients.v2(), json=probes.image_body(data)) if data else None
    if response is None:
        return  # an empty image string is "neither image nor url", tested above
    violated("huawei.request.validation", response.status_code == 400, f"{data[:8]!r}... got {response.status_code}")
    api.validate(response)
    assert probes.error_code(response) in ("AIS.0502", "AIS.0503", "AIS.0504"), (
        f"{data[:8]!r}...: {probes.error_code(response)!r}"
    )


# -- URLs -----------------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.request.url")
@pytest.mark.parametrize(
    "url", probes.on_live(["ftp://files.example.com/photo.jpg", "just some words", "https:///photo.jpg"], 1)
)
def test_a_url_that_is_not_http_is_refused(api, clients, url):
    refused(api, api.post(clients.v2(), json={"url": url}), 400, "ModelArts.4601", f"url {url!r}")


@pytest.mark.rule("huawei.request.url")
def test_a_url_that_does_not_download_is_refused(api, clients):
    response = api.post(clients.v2(), json={"url": api.missing_image_url()})
    refused(api, response, 400, "ModelArts.4603", "a URL answering 404")


@pytest.mark.rule("huawei.request.url")
@pytest.mark.parametrize("version", probes.on_live(["v2", "v1"], 1))
def test_a_url_serving_an_image_is_accepted(api, clients, version):
    if api.reaches_callback:
        url = api.publish(images.render(90, 60, 4, "jpeg"), "jpeg")
    elif api.target.image_urls:
        url = api.target.image_urls[0]
    else:
        pytest.skip("no public image URL configured (IMGCONF_HUAWEI_IMAGE_URLS)")
    response = api.post(probes.tagging_paths(clients.v2())[version], json={"url": url, "image": ""})
    violated("huawei.request.accepted", response.status_code == 200, f"{url} got {response.status_code}")
    api.validate(response)


@pytest.mark.rule("huawei.request.url")
def test_a_url_serving_no_image_gets_the_image_error(api, clients):
    api.needs_callback("needs a URL serving a non-image; only the suite's image server can provide one")
    response = api.post(clients.v2(), json={"url": api.publish(b"plain text, not a photo", "bin")})
    refused(api, response, 400, "AIS.0502", "a URL serving text")


# -- size and routes ----------------------------------------------------------------------------------


@pytest.mark.rule("huawei.request.body-limit")
@pytest.mark.parametrize("mode", probes.on_live(["signed", "token"], 1))
def test_a_body_over_12_mb_is_refused_by_the_gateway(request, clients, mode):
    api = request.getfixturevalue("signed" if mode == "signed" else "token_api")
    body = StreamedBody(b'{"image": "', b"A", 12 * MB, b'"}')  # made as it is sent, never held
    response = api.post(clients.v2(), data=body, headers={"Content-Type": "application/json"})
    refused(api, response, 413, "APIG.0201", f"a 12 MB + body ({mode})")


@pytest.mark.rule("huawei.request.unknown-route")
@pytest.mark.parametrize(
    ("method", "path"),
    probes.on_live([("POST", "/v2/image/tagging"), ("GET", V1), ("PUT", V1), ("POST", "/v1.0/image/taggin")], 1),
)
def test_what_is_not_an_api_gets_apig_0101(api, method, path):
    response = api.request(method, path, json=probes.image_body(SAMPLE))
    assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text[:200]}"
    assert probes.error_code(response) == "APIG.0101", probes.error_code(response)
    violated("huawei.transport.request-id", bool(response.headers.get("X-Request-Id")), "404 without X-Request-Id")
