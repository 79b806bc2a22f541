"""What a schema cannot say about imagerecognize.com: the key, the refusals, the quota, the cache, the limits.

Every test names the spec rule it checks; every answer is also held to the spec (documented status, schema,
vendor checks) through `api.validate`. The tests are black-box and target-agnostic. On a live or URL target
each analysis spends the account's quota and the run's request budget, so sweeps shrink to one or two
cases there, and what needs a second key (402, cache isolation) runs only when one is configured.
"""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconf import images
from imgconf.testing import (
    NOT_CHECKED_CREDENTIAL,
    NOT_CHECKED_THOROUGH,
    active,
    latency,
    not_checked,
    strategies,
    violated,
)
from imgconf.wire.multipart import StreamedForm

V2, V3 = "/api/v2/", "/api/v3/"
LOCAL = not active().options.target.metered
JPEG = images.render(64, 48, seed=7, fmt="jpeg")
PNG = images.render(40, 56, seed=8, fmt="png")
# The parameters each analysis needs; the tests override what they are about.
PARAMETERS = {"objects": {"max_labels": "10", "min_confidence": "50"}, "nsfw": {"nsfw_min_confidence": "0"}}
ANALYSES = ("objects", "celebrities", "detect_faces", "detect_text", "nsfw")
SPENT_KEY = "exhausted_apikey"


def error(status, text):
    return {"status": status, "status_message": text, "data": None}


NO_DATA = error(300, "Invalid request, no data received")
KEY_MISSING = error(400, "APIkey missing")
KEY_INVALID = error(401, "APIkey invalid")
QUOTA_REACHED = error(402, "Quota limit reached")
INVALID_FILE = error(412, "Invalid file")
TOO_LARGE = error(413, "Image size too large")
INVALID_FORMAT = error(415, "Invalid file format")
INVALID_TYPE = error(420, "Invalid type")


def thorough_only(reason):
    """Run only where the target may be driven as hard as the emulator (else: not checked, needs --thorough)."""
    return pytest.mark.skipif(not LOCAL, reason=f"{NOT_CHECKED_THOROUGH}: {reason}")


def local_only(cases, live):
    """All the cases on the emulator; on a metered target only the first `live` of them."""
    return cases if LOCAL else cases[:live]


def analyse(api, kind="objects", data=JPEG, *, auth="valid", path=V2, filename="image.jpg", drop=(), **fields):
    """POST one image as the documented samples do: form fields plus the file part `file`."""
    form = {"type": kind, **PARAMETERS.get(kind, {}), **fields}
    form = {name: value for name, value in form.items() if name not in drop}
    files = {"file": (filename, data, images.MEDIA_TYPES.get(_format(data), "application/octet-stream"))}
    return api.post(path, data=form, files=files, auth=auth)


def read_cache(api, method="GET", *, auth="valid", path=V2):
    if method == "GET":
        return api.get(path, params={"type": "cache"}, auth=auth)
    return api.post(path, files={"type": (None, "cache")}, auth=auth)  # multipart, no file


MAGIC = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG", "png"), (b"GIF8", "gif"), (b"BM", "bmp"), (b"II*\0", "tiff"))


def _format(data):
    """The format a browser would name the file by: its magic bytes (decoding 50 MB to find out is slow)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((fmt for magic, fmt in MAGIC if data.startswith(magic)), "bin")


def body(response):
    try:
        return response.json()
    except ValueError:
        return None


def data_of(response):
    violated(
        "imagerecognize.request.accepted",
        response.status_code == 200,
        f"got {response.status_code}: {response.text[:200]}",
    )
    api_body = body(response)
    assert isinstance(api_body, dict) and isinstance(api_body.get("data"), dict), response.text[:200]
    return api_body["data"]


def quota_after(api, kind="objects", data=JPEG):
    response = analyse(api, kind, data)
    api.validate(response)
    return data_of(response)["quota"]


def corpus(api, live=1):
    size = active().options.profile.corpus if api.local else live
    return strategies.corpus(size)


def spent_key(api):
    key = api.credentials.get(SPENT_KEY)
    if not key:
        not_checked(NOT_CHECKED_CREDENTIAL, "a second key with no quota left (IMAGERECOGNIZE_EXHAUSTED_API_KEY)")
    return {"apikey": key}


def analysed(response):
    """The request was answered with a result, not refused: HTTP 200 and a success body."""
    answer = body(response)
    return response.status_code == 200 and not (isinstance(answer, dict) and answer.get("status") != 200)


def assert_refused(api, response, status, expected_body=None):
    """The spec's rules first (they name a changed envelope or status precisely), then the exact answer."""
    api.validate(response)
    if expected_body is not None:
        assert body(response) == expected_body, response.text[:200]
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:200]}"


# -- auth ---------------------------------------------------------------------------------------------------


def _by_method(api, method, auth):
    return analyse(api, auth=auth) if method == "POST" else read_cache(api, auth=auth)


@pytest.mark.rule("imagerecognize.auth.missing-key")
@pytest.mark.parametrize("method", local_only(["POST", "GET"], live=1))
def test_a_missing_key_is_refused_with_400(api, method):
    response = _by_method(api, method, "none")
    violated("imagerecognize.auth.enforced", not analysed(response), f"{method} answered 200 without apikey")
    assert_refused(api, response, 400, KEY_MISSING)


@pytest.mark.rule("imagerecognize.auth.missing-key")
@thorough_only("a request saved on a metered target: the missing-key tests cover the rule")
def test_an_empty_key_is_a_missing_key(api):
    response = analyse(api, auth={"apikey": ""})
    violated("imagerecognize.auth.enforced", not analysed(response), "an empty apikey was answered 200")
    assert_refused(api, response, 400, KEY_MISSING)


@pytest.mark.rule("imagerecognize.auth.invalid-key")
@pytest.mark.parametrize("method", local_only(["GET", "POST"], live=1))  # live: the key in the query, then the form
def test_an_unknown_key_is_refused_with_401(api, method):
    response = _by_method(api, method, "invalid")
    violated("imagerecognize.auth.enforced", not analysed(response), f"{method} answered 200 to an unknown key")
    assert_refused(api, response, 401, KEY_INVALID)


# -- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.rule("imagerecognize.request.no-data")
@pytest.mark.parametrize("method", local_only(["GET", "POST"], live=1))
def test_a_request_without_data_gets_300(api, method):
    response = api.request(method, V2, auth="none")
    assert_refused(api, response, 300, NO_DATA)


@pytest.mark.rule("imagerecognize.request.trailing-slash")
def test_a_post_without_the_trailing_slash_ends_in_300(api):
    response = analyse(api, path="/api/v2")
    violated(
        "imagerecognize.request.trailing-slash",
        not analysed(response),
        "POST /api/v2 (no trailing slash) was analysed; the docs say it receives no data",
    )
    assert_refused(api, response, 300, NO_DATA)


@pytest.mark.rule("imagerecognize.request.type")
@pytest.mark.parametrize("kind", local_only(["faces", None, "", "OBJECTS", "cache "], live=1))
def test_a_missing_or_unknown_type_is_420(api, kind):
    form = {"max_labels": "10", "min_confidence": "50"}
    if kind is not None:
        form["type"] = kind
    response = api.post(V2, data=form, files={"file": ("image.jpg", JPEG, "image/jpeg")})
    assert_refused(api, response, 420, INVALID_TYPE)


@pytest.mark.rule("imagerecognize.request.get-cache-only")
@pytest.mark.parametrize("kind", local_only(["objects", None, "nsfw"], live=1))
def test_a_get_allows_only_type_cache(api, kind):
    params = {"type": kind} if kind is not None else {}
    response = api.get(V2, params=params)
    violated("imagerecognize.request.get-cache-only", not analysed(response), f"GET type={kind} was answered 200")
    assert_refused(api, response, 420, INVALID_TYPE)


PARAMETER_CASES = [
    ("objects", {}, ("max_labels",)),
    ("objects", {}, ("min_confidence",)),
    ("objects", {"max_labels": "0"}, ()),
    ("objects", {"min_confidence": "101"}, ()),
    ("nsfw", {}, ("nsfw_min_confidence",)),
    ("objects", {"max_labels": "ten"}, ()),
    ("objects", {"min_confidence": "-1"}, ()),
    ("objects", {"max_labels": "2.5"}, ()),
    ("nsfw", {"nsfw_min_confidence": "101"}, ()),
]


@pytest.mark.rule("imagerecognize.request.parameters")
@pytest.mark.parametrize(("kind", "fields", "drop"), local_only(PARAMETER_CASES, live=1))
def test_a_missing_or_out_of_range_parameter_is_430(api, kind, fields, drop):
    response = analyse(api, kind, drop=drop, **fields)
    violated("imagerecognize.request.parameters", not analysed(response), f"{fields} without {drop} was analysed")
    assert_refused(api, response, 430)
    assert body(response)["status_message"].strip(), "430 without a status_message that says what is wrong"


@pytest.mark.rule("imagerecognize.request.parameters")
@pytest.mark.parametrize("kind", local_only(["celebrities", "objects"], live=0))
def test_an_analysis_without_a_file_is_430(api, kind):
    form = {"type": kind, **PARAMETERS.get(kind, {})}
    response = api.post(V2, files={name: (None, value) for name, value in form.items()})
    assert_refused(api, response, 430)


@pytest.mark.rule("imagerecognize.request.file-invalid")
@pytest.mark.parametrize("case", local_only(["truncated-jpeg", "text", "truncated-png", "empty", "png-header"], live=1))
def test_files_that_do_not_decode_are_412(api, case):
    data = {
        "truncated-jpeg": images.corrupt(images.render(80, 60, 1, "jpeg"), 1),
        "truncated-png": images.corrupt(images.render(80, 60, 1, "png"), 1),
        "text": b"this is not a photo",
        "empty": b"",
        "png-header": b"\x89PNG\r\n\x1a\n",
    }[case]
    response = analyse(api, "celebrities", data)
    assert_refused(api, response, 412, INVALID_FILE)


@pytest.mark.rule("imagerecognize.request.file-format")
@pytest.mark.parametrize("fmt", local_only(["gif", "bmp", "webp", "tiff"], live=1))
def test_images_in_other_formats_are_415(api, fmt):
    data = images.render(32, 24, seed=3, fmt=fmt)
    response = analyse(api, "celebrities", data, filename=f"image.{images.EXTENSIONS[fmt]}")
    assert_refused(api, response, 415, INVALID_FORMAT)


@pytest.mark.rule("imagerecognize.request.file-format")
@thorough_only("two requests saved on a metered target: the 415 test covers the rule")
def test_the_format_is_judged_by_the_bytes_not_the_name(api):
    gif = images.render(32, 24, seed=4, fmt="gif")
    assert_refused(api, analyse(api, "celebrities", gif, filename="photo.jpg"), 415, INVALID_FORMAT)
    response = analyse(api, "celebrities", PNG, filename="photo.gif")
    violated(
        "imagerecognize.request.accepted", response.status_code == 200, f"a PNG named .gif got {response.status_code}"
    )
    api.validate(response)


@pytest.mark.rule("imagerecognize.request.validation")
@thorough_only("a sweep of generated files: for the emulator, not a metered target")
@settings(max_examples=8, database=None, deadline=None)
@given(data=strategies.invalid_uploads())
def test_generated_non_images_are_refused(api, data):
    response = analyse(api, "detect_faces", data)
    violated(
        "imagerecognize.request.validation",
        response.status_code in (412, 415),
        f"{data[:8]!r}... got {response.status_code}",
    )
    api.validate(response)


@pytest.mark.rule("imagerecognize.request.size-limit")
@thorough_only("uploads 50 MB: for the emulator, not a metered target")
def test_an_image_over_50_mb_is_413(api):
    """51 MiB made as it is sent (a JPEG's magic, then zeros): neither side ever holds it whole."""
    upload = StreamedForm(
        (("type", "celebrities"),), "file", "image.jpg", "image/jpeg", b"\xff\xd8\xff", 51 * 1024 * 1024
    )
    response = api.post(V2, data=upload, headers={"Content-Type": upload.content_type})
    assert_refused(api, response, 413, TOO_LARGE)


# -- quota --------------------------------------------------------------------------------------------------


# The quota is the account's, not the run's: another client using the same key (a second run, a colleague)
# spends it between two of our reads. So a drop of less than one unit per analysis is a violation whoever
# else is calling (no one can give quota back), while a larger drop may be someone else's: the arithmetic
# is retried a few times for a quiet moment, and the test is skipped, not failed, when none comes.
QUOTA_ATTEMPTS = 3


def skip_shared_quota(seen: list[list[int]]) -> None:
    pytest.skip(
        f"the key's quota fell by more than this test spent in {QUOTA_ATTEMPTS} attempts ({seen}): "
        "another client is using the key, so the quota arithmetic cannot be checked"
    )


@pytest.mark.rule("imagerecognize.quota.decrement")
def test_each_analysed_image_costs_one_unit_of_quota(api):
    kinds = ("objects", "celebrities", "nsfw") if LOCAL else ("objects", "celebrities")
    seen = []
    for _ in range(QUOTA_ATTEMPTS):
        quotas = [quota_after(api, kind) for kind in kinds]
        drops = [before - after for before, after in itertools.pairwise(quotas)]
        assert all(drop >= 1 for drop in drops), f"quota after each of {kinds}: {quotas}: an analysis cost nothing"
        if all(drop == 1 for drop in drops):
            return
        seen.append(quotas)
    skip_shared_quota(seen)


@pytest.mark.rule("imagerecognize.quota.free-refusals")
def test_refusals_and_cache_reads_cost_nothing(api):
    seen = []
    for _ in range(QUOTA_ATTEMPTS):
        before = quota_after(api, "celebrities")
        assert_refused(api, analyse(api, "celebrities", images.render(16, 16, 5, "gif")), 415)
        if LOCAL:
            assert_refused(api, analyse(api, "objects", drop=("max_labels",)), 430)
        cached = read_cache(api)
        api.validate(cached)
        after = quota_after(api, "celebrities")
        assert after <= before - 1, f"quota went from {before} to {after} across one analysis: it cost nothing"
        if after == before - 1:
            return
        seen.append([before, after])
    skip_shared_quota(seen)


@pytest.mark.rule("imagerecognize.quota.exhausted")
@pytest.mark.parametrize("kind", local_only(["objects", "nsfw"], live=1))
def test_a_key_without_quota_gets_402(api, kind):
    response = analyse(api, kind, auth=spent_key(api))
    violated(
        "imagerecognize.quota.exhausted",
        not analysed(response),
        "IMAGERECOGNIZE_EXHAUSTED_API_KEY, given as a key with no quota left, was analysed (if it has quota left, "
        "it is the configuration to change)",
    )
    assert_refused(api, response, 402, QUOTA_REACHED)


# -- cache --------------------------------------------------------------------------------------------------


@pytest.mark.rule("imagerecognize.cache.latest")
def test_the_cache_returns_the_latest_result(api):
    """A cached result with less quota left than ours is another client's later analysis (the key is shared):
    that attempt proves nothing either way and is repeated; a stale one (more quota left) is a violation."""
    seen = []
    for _ in range(QUOTA_ATTEMPTS):
        api.validate(analyse(api, "objects", JPEG))
        latest = analyse(api, "celebrities", PNG)
        api.validate(latest)
        expected = data_of(latest)
        interfered = False
        for method, path in (("GET", V2), ("POST", V2), ("GET", V3)) if LOCAL else (("GET", V2), ("POST", V2)):
            response = read_cache(api, method, path=path)
            api.validate(response)
            cached = data_of(response)
            if isinstance(cached.get("quota"), int) and cached["quota"] < expected["quota"] and cached != expected:
                interfered = True
                break
            assert cached == expected, f"{method} {path} type=cache: {body(response)}; latest was {expected}"
        if not interfered:
            return
        seen.append([expected["quota"], cached["quota"]])
    skip_shared_quota(seen)


@pytest.mark.rule("imagerecognize.cache.per-key")
def test_a_key_never_reads_another_keys_cache(api):
    other = spent_key(api)
    latest = analyse(api, "detect_faces", PNG)
    api.validate(latest)
    response = read_cache(api, auth=other)
    api.validate(response)
    if response.status_code == 200:
        assert data_of(response) != data_of(latest), "a second key read the first key's latest result"
    elif api.local:
        assert response.status_code == 300 and body(response) == NO_DATA, response.text[:200]


# -- results ------------------------------------------------------------------------------------------------


@pytest.mark.rule("imagerecognize.result.type")
@pytest.mark.parametrize("kind", ANALYSES)
def test_each_type_answers_with_its_own_shape(api, kind):
    response = analyse(api, kind, PNG)
    api.validate(response)
    assert data_of(response)["type"] == kind


@pytest.mark.rule("imagerecognize.objects.max-labels")
def test_max_labels_caps_the_objects(api):
    for name, data, _ in corpus(api):
        for limit in (1, 3) if api.local else (2,):
            response = analyse(api, "objects", data, max_labels=str(limit), min_confidence="0")
            api.validate(response)
            found = len(data_of(response)["objects"])
            assert found <= limit, f"{name}: max_labels {limit}, {found} objects"


@pytest.mark.rule("imagerecognize.objects.min-confidence")
def test_no_object_is_below_min_confidence(api):
    for name, data, _ in corpus(api):
        response = analyse(api, "objects", data, max_labels="50", min_confidence="90")
        api.validate(response)
        low = [entry for entry in data_of(response)["objects"] if entry["confidence"] < 90]
        assert not low, f"{name}: min_confidence 90, yet {low}"


@pytest.mark.rule("imagerecognize.nsfw.min-confidence")
def test_no_nsfw_label_is_below_its_threshold(api):
    for name, data, _ in corpus(api)[:6]:
        response = analyse(api, "nsfw", data, nsfw_min_confidence="60")
        api.validate(response)
        low = [entry for entry in data_of(response)["objects"] if entry["confidence"] < 60]
        assert not low, f"{name}: nsfw_min_confidence 60, yet {low}"


@pytest.mark.rule("imagerecognize.result.coordinates")
@thorough_only("every answer's boxes are checked by api.validate; the sweep is for the emulator")
def test_every_box_lies_inside_the_image(api):
    for name, data, _ in corpus(api)[:8]:
        for kind in ("objects", "celebrities", "detect_faces", "detect_text"):
            response = analyse(api, kind, data, max_labels="50", min_confidence="0")
            api.validate(response)
            for entry in data_of(response)["objects"]:
                for box in entry["coordinates"]:
                    inside = box["x"] + box["width"] <= 1.01 and box["y"] + box["height"] <= 1.01
                    assert inside, f"{name} {kind}: {entry['name']} box {box} leaves the unit square"


@pytest.mark.rule("imagerecognize.result.deterministic")
def test_the_same_image_gets_the_same_objects(api):
    for name, data, _ in corpus(api)[:3]:
        first, second = (data_of(analyse(api, "objects", data)) for _ in range(2))
        assert {**first, "quota": None} == {**second, "quota": None}, f"{name}: {first} then {second}"


@pytest.mark.rule("imagerecognize.request.accepted")
@thorough_only("a generated sweep: for the emulator, not a metered target")
@settings(max_examples=8, database=None, deadline=None)
@given(
    data=strategies.image_bytes(max_side=200),
    max_labels=st.integers(1, 40),
    min_confidence=st.integers(0, 100),
    as_text=st.booleans(),
)
def test_generated_objects_requests_are_answered_within_their_limits(api, data, max_labels, min_confidence, as_text):
    """The documented form, generated: the contract tests rarely draw type=objects from the spec's oneOf."""
    limits = {"max_labels": max_labels, "min_confidence": min_confidence}
    response = analyse(api, "objects", data, **({k: str(v) for k, v in limits.items()} if as_text else limits))
    violated("imagerecognize.request.accepted", response.status_code == 200, f"{limits} got {response.status_code}")
    api.validate(response)


# -- transport ----------------------------------------------------------------------------------------------


@pytest.mark.rule("imagerecognize.transport.latency")
def test_answers_arrive_within_the_latency_budget(api):
    latency.assert_within_budget(api, lambda: read_cache(api), "imagerecognize.transport.latency")
