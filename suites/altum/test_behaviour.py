"""What a schema cannot say about Altum: auth bodies, refusals, coherence, determinism.

Every test names the spec rule it checks; every answer is also held to the
spec (documented status, schema, vendor checks) through `api.validate`.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconf import images
from imgconf.testing import active, judging, latency, sized, strategies, violated
from imgconf.wire.multipart import StreamedForm

IMG, URL = "/labelling/img", "/labelling/url"
UNAUTHORIZED = {"Output": "Please use https://api.altum.ai or visit https://mopsus.altum.ai to make your request."}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
BAD_FORMAT = {"detail": "Please upload an image with one of the following formats: .jpg, .jpeg or .png"}
BAD_URL = {"detail": "The URL is not valid"}
SAMPLE = images.render(64, 48, seed=7, fmt="jpeg")


def upload(api, data, *, auth="valid", filename="photo.jpg", content_type="image/jpeg"):
    return api.post(IMG, files={"image": (filename, data, content_type)}, auth=auth)


def by_url(api, url, *, auth="valid"):
    return api.post(URL, json={"url": url}, auth=auth)


def sample_url(api):
    return api.publish(SAMPLE, "jpeg") if api.reaches_callback else api.target.image_urls[0]


def corpus(api):
    """The fixed images of the sweeps; small on live targets, where every request counts."""
    size = active().options.profile.corpus if api.local else 4
    return strategies.corpus(size)


def send(api, operation, *, auth="valid"):
    return upload(api, SAMPLE, auth=auth) if operation == IMG else by_url(api, sample_url(api), auth=auth)


def body(response):
    try:
        return response.json()
    except ValueError:
        return None


# -- auth ---------------------------------------------------------------------------------------------


@pytest.mark.rule("altum.auth.missing-key")
@pytest.mark.parametrize("operation", [IMG, URL])
def test_missing_key_is_refused_by_the_gateway(api, operation):
    response = send(api, operation, auth="none")
    violated(
        "altum.auth.enforced",
        response.status_code not in range(200, 300),
        f"{operation} answered {response.status_code} without x-api-key",
    )
    assert response.status_code == 403, f"expected 403, got {response.status_code}"
    assert body(response) == MISSING_TOKEN, f"body is {response.text[:200]!r}"
    api.validate(response)


@pytest.mark.rule("altum.auth.invalid-key")
@pytest.mark.parametrize("operation", [IMG, URL])
def test_unknown_key_gets_the_documented_401_as_json(api, operation):
    response = send(api, operation, auth="invalid")
    violated(
        "altum.auth.enforced",
        response.status_code not in range(200, 300),
        f"{operation} answered {response.status_code} to an unknown key",
    )
    assert response.status_code == 401, f"expected 401, got {response.status_code}"
    assert body(response) == UNAUTHORIZED, f"not the documented JSON body: {response.text[:200]!r}"
    api.validate(response)


# -- refusals -----------------------------------------------------------------------------------------


@pytest.mark.rule("altum.request.missing-field")
@pytest.mark.parametrize(("operation", "field"), [(IMG, "image"), (URL, "url")])
def test_missing_field_is_named_in_a_pydantic_v1_422(api, operation, field):
    if operation == IMG:
        response = api.post(IMG, files={"photo": ("photo.jpg", SAMPLE, "image/jpeg")})
    else:
        response = api.post(URL, json={"link": "https://example.com/a.jpg"})
    assert response.status_code == 422, f"expected 422, got {response.status_code}"
    api.validate(response)
    detail = body(response)["detail"]
    assert {"loc": ["body", field], "msg": "field required", "type": "value_error.missing"} in detail, detail


@pytest.mark.rule("altum.request.image-format")
@pytest.mark.parametrize("fmt", ["bmp", "gif", "webp", "tiff"])
def test_other_image_formats_are_refused(api, fmt):
    data = images.render(32, 24, seed=3, fmt=fmt)
    response = upload(api, data, filename=f"photo.{images.EXTENSIONS[fmt]}", content_type=images.MEDIA_TYPES[fmt])
    assert response.status_code == 400, f"a {fmt} upload got {response.status_code}"
    assert body(response) == BAD_FORMAT, response.text[:200]
    api.validate(response)


@pytest.mark.rule("altum.request.image-format")
@pytest.mark.parametrize("case", ["truncated-jpeg", "truncated-png", "text", "empty", "jpeg-named-png"])
def test_files_that_do_not_decode_are_refused(api, case):
    data = {
        "truncated-jpeg": images.corrupt(images.render(80, 60, 1, "jpeg"), 1),
        "truncated-png": images.corrupt(images.render(80, 60, 1, "png"), 1),
        "text": b"this is not a photo",
        "empty": b"",
        "jpeg-named-png": images.corrupt(SAMPLE, 2),
    }[case]
    response = upload(api, data, filename="photo.png" if case.endswith("png") else "photo.jpg")
    assert response.status_code == 400, f"{case} got {response.status_code}"
    assert body(response) == BAD_FORMAT, response.text[:200]
    api.validate(response)


@pytest.mark.rule("altum.request.image-format")
@settings(max_examples=sized(8, 2), database=None, deadline=None)
@given(data=strategies.invalid_uploads())
def test_generated_non_images_are_refused(api, data):
    response = upload(api, data)
    assert response.status_code == 400, f"{len(data)} bytes starting {data[:8]!r} got {response.status_code}"
    api.validate(response)


@pytest.mark.rule("altum.request.url-invalid")
@pytest.mark.parametrize("case", ["not-a-url", "ftp", "no-host", "missing-image", "not-an-image"])
def test_unusable_urls_are_refused(api, case):
    if case == "not-an-image":
        api.needs_callback("needs a URL serving a non-image; only the suite's image server can provide one")
        url = api.publish(b"plain text, not a photo", "bin")
    else:
        url = {
            "not-a-url": "just some words",
            "ftp": "ftp://files.example.com/photo.jpg",
            "no-host": "https:///photo.jpg",
            "missing-image": api.missing_image_url(),
        }[case]
    response = by_url(api, url)
    assert response.status_code == 400, f"{case} got {response.status_code}"
    assert body(response) == BAD_URL, response.text[:200]
    api.validate(response)


@pytest.mark.rule("altum.request.body-parse")
def test_a_body_that_is_not_json_gets_a_422(api):
    response = api.post(URL, data=b"url=https://example.com/a.jpg", headers={"Content-Type": "application/json"})
    assert response.status_code == 422, f"got {response.status_code}"
    api.validate(response)


@pytest.mark.rule("altum.request.payload-limit")
def test_bodies_over_10_mb_are_refused_with_413(api):
    """A JPEG's magic, then zeros past 10 MB, made as it is sent: the client never holds the 10 MB whole."""
    form = StreamedForm((), "image", "photo.jpg", "image/jpeg", b"\xff\xd8\xff", 10 * 1024 * 1024 + 4)
    response = api.post(IMG, data=form, headers={"Content-Type": form.content_type}, auth="valid")
    assert response.status_code == 413, f"got {response.status_code}"
    api.validate(response)


# -- results ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uploaded(api):
    """The corpus, uploaded once: several rules are read off the same answers, so live runs pay once."""
    return [
        (
            name,
            data,
            upload(api, data, filename=f"{name}.{images.EXTENSIONS[fmt]}", content_type=images.MEDIA_TYPES[fmt]),
        )
        for name, data, fmt in corpus(api)
    ]


@pytest.mark.rule("altum.result.wrapper")
def test_uploaded_corpus_gets_coherent_outputs(api, uploaded, record_property):
    """Each image of a fixed corpus: 200, the documented shape, coherent classes, the 70% rule."""
    record_property("operation", "POST /labelling/img")  # the uploads belong to the fixture
    for name, _, response in uploaded:
        with judging(response):
            violated("altum.request.accepted", response.status_code == 200, f"{name} got {response.status_code}")
        api.validate(response)


@pytest.mark.rule("altum.result.wrapper")
def test_url_corpus_gets_coherent_outputs(api):
    if api.reaches_callback:  # a metered target gets one, as it would one configured public URL
        urls = [api.publish(data, fmt) for _, data, fmt in corpus(api)[: sized(len(corpus(api)), 1)]]
    else:
        urls = list(api.target.image_urls)
    for url in urls:
        response = by_url(api, url)
        violated("altum.request.accepted", response.status_code == 200, f"{url} got {response.status_code}")
        api.validate(response)


@pytest.mark.rule("altum.result.confidence")
def test_confidences_parse_as_percentages(uploaded, record_property):
    record_property("operation", "POST /labelling/img")
    for name, _, response in uploaded:
        output = (body(response) or {}).get("Output", {})
        with judging(response):
            for key, value in output.items():
                if key.startswith("ConfidencePercent_"):
                    assert isinstance(value, str), f"{name}: {key} is {type(value).__name__} {value!r}, not a string"
                    assert 0.0 <= float(value) <= 100.0, f"{name}: {key} = {value}"


@pytest.mark.rule("altum.result.deterministic")
def test_the_same_bytes_get_the_same_answer(api, uploaded):
    for name, data, first in uploaded[: sized(4, 2)]:
        again = body(upload(api, data))
        assert body(first) == again, f"{name}: {body(first)} then {again}"


@pytest.mark.rule("altum.result.url-matches-upload")
def test_a_url_gets_the_answer_its_bytes_get(api):
    api.needs_callback("needs the same bytes by upload and by URL, served from the suite's image server")
    for name, data, fmt in corpus(api)[: sized(4, 1)]:
        uploaded = body(upload(api, data))
        fetched = body(by_url(api, api.publish(data, fmt)))
        assert uploaded == fetched, f"{name}: upload gave {uploaded}, URL gave {fetched}"


@pytest.mark.rule("altum.result.fields")
@settings(max_examples=sized(6, 2), database=None, deadline=None)
@given(data=strategies.image_bytes(max_side=300))
def test_generated_photos_of_any_size_are_labelled(api, data):
    response = upload(api, data)
    violated(
        "altum.request.accepted",
        response.status_code == 200,
        f"a {images.decode(data).width}x{images.decode(data).height} image got {response.status_code}",
    )
    api.validate(response)


@pytest.mark.rule("altum.request.accepted")
@settings(max_examples=sized(4, 1), database=None, deadline=None)
@given(st.data())
def test_generated_urls_are_labelled(api, data):
    url = data.draw(api.image_urls())
    response = by_url(api, url)
    violated("altum.request.accepted", response.status_code == 200, f"{url} got {response.status_code}")
    api.validate(response)


@pytest.mark.rule("altum.transport.latency")
def test_answers_arrive_within_the_latency_budget(api):
    latency.assert_within_budget(api, lambda: upload(api, SAMPLE), "altum.transport.latency")
