"""The imagerecognize emulator over real HTTP: the key, the refusals, quota arithmetic and the cache, the
limits, and the 50 MB limit enforced while the body streams in."""

from __future__ import annotations

import asyncio

import pytest
import requests
from schemathesis.python.asgi import get_client

from conftest import served
from imgconf import images
from imgconf.emulator import imagerecognize as emulator
from imgconf.emulator.config import EmulatorConfig

KEY = "imagerecognize-emulator-key"
SPENT = "imagerecognize-emulator-spent-key"
JPEG = images.render(64, 48, seed=11, fmt="jpeg")
PNG = images.render(50, 70, seed=12, fmt="png")
LIMITS = {"objects": {"max_labels": "10", "min_confidence": "50"}, "nsfw": {"nsfw_min_confidence": "0"}}


def error(status: int, text: str) -> dict:
    return {"status": status, "status_message": text, "data": None}


@pytest.fixture(scope="module")
def base():
    """One emulator for the module, with a second key of three units for the quota arithmetic."""
    with served("--vendor", "imagerecognize", "--credential", "imagerecognize:apikey=three-units-key,quota=3") as urls:
        yield urls["imagerecognize"]


def analyse(base, kind="objects", data=JPEG, key=KEY, path="/api/v2/", **fields):
    form = {"type": kind, **LIMITS.get(kind, {}), **fields}
    if key is not None:
        form["apikey"] = key
    return requests.post(base + path, data=form, files={"file": ("image.jpg", data)}, timeout=30)


def cache(base, key=KEY, path="/api/v2/"):
    return requests.get(base + path, params={"apikey": key, "type": "cache"}, timeout=10)


# -- the key ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_missing_and_unknown_keys_get_the_documented_bodies_and_http_statuses(base, method):
    send = (lambda key: analyse(base, key=key)) if method == "POST" else (lambda key: cache(base, key=key))
    missing, unknown, empty = send(None), send("not-a-key"), send("")
    assert (missing.status_code, missing.json()) == (400, error(400, "APIkey missing"))
    assert (unknown.status_code, unknown.json()) == (401, error(401, "APIkey invalid"))
    assert (empty.status_code, empty.json()) == (400, error(400, "APIkey missing"))
    assert missing.headers["content-type"] == "application/json"


def test_the_documented_python_sample_is_analysed(base):
    """Exactly what `requests.post(url=API_ENDPOINT, data=d, files=f)` sends: a part named and filed "file"."""
    d = {"apikey": KEY, "type": "objects", "max_labels": 10, "min_confidence": 80}
    f = {"file": JPEG}
    response = requests.post(base + "/api/v2/", data=d, files=f, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200 and body["message"] == "Success" and set(body) == {"status", "message", "data"}
    assert body["data"]["type"] == "objects" and body["data"]["error"] == 0
    assert len(body["data"]["objects"]) <= 10
    assert all(entry["confidence"] >= 80 for entry in body["data"]["objects"])


# -- refusals -----------------------------------------------------------------------------------------------


PERCENT = "an integer from 0 to 100 is required"


@pytest.mark.parametrize(
    ("kind", "fields", "status", "text"),
    [
        ("objects", {"max_labels": "0"}, 430, "Invalid parameter max_labels: an integer greater than 0 is required"),
        ("objects", {"min_confidence": "101"}, 430, f"Invalid parameter min_confidence: {PERCENT}"),
        ("objects", {"min_confidence": "8.5"}, 430, f"Invalid parameter min_confidence: {PERCENT}"),
        ("nsfw", {"nsfw_min_confidence": "-1"}, 430, f"Invalid parameter nsfw_min_confidence: {PERCENT}"),
        ("faces", {}, 420, "Invalid type"),
    ],
)
def test_refusals_name_what_is_wrong(base, kind, fields, status, text):
    response = analyse(base, kind, **fields)
    assert (response.status_code, response.json()) == (status, error(status, text))


def test_missing_parameters_and_files_are_430(base):
    form = {"apikey": KEY, "type": "objects", "min_confidence": "5"}
    no_max = requests.post(base + "/api/v2/", data=form, files={"file": JPEG}, timeout=10)
    assert no_max.json() == error(430, "Missing parameter max_labels for type objects")
    no_file = requests.post(base + "/api/v2/", files={"apikey": (None, KEY), "type": (None, "celebrities")}, timeout=10)
    assert no_file.json() == error(430, "Missing parameter file for type celebrities")
    # Parameters of another type are ignored, whatever they hold (x-assumption imagerecognize-foreign-parameters).
    assert analyse(base, "celebrities", max_labels="garbage", nsfw_min_confidence="-9").status_code == 200


@pytest.mark.parametrize("fmt", ["gif", "bmp", "webp", "tiff"])
def test_other_formats_are_415_whatever_their_name(base, fmt):
    response = analyse(base, "celebrities", images.render(20, 20, 1, fmt))  # sent as image.jpg
    assert (response.status_code, response.json()) == (415, error(415, "Invalid file format"))


@pytest.mark.parametrize("data", [b"", b"not an image", images.corrupt(JPEG, 2), images.corrupt(PNG, 3)])
def test_files_that_do_not_decode_are_412(base, data):
    response = analyse(base, "detect_text", data)
    assert (response.status_code, response.json()) == (412, error(412, "Invalid file"))


def test_get_is_for_the_cache_only_and_an_empty_request_has_no_data(base):
    assert requests.get(base + "/api/v2/", params={"apikey": KEY, "type": "objects"}, timeout=10).status_code == 420
    assert requests.get(base + "/api/v2/", timeout=10).json() == error(300, "Invalid request, no data received")
    empty = requests.post(base + "/api/v3/", timeout=10)
    assert (empty.status_code, empty.json()) == (300, error(300, "Invalid request, no data received"))
    as_json = requests.post(base + "/api/v2/", json={"apiKey": KEY, "type": "objects"}, timeout=10)  # the Node client
    assert as_json.status_code == 300


def test_the_url_without_its_trailing_slash_redirects_and_the_post_arrives_empty(base):
    direct = analyse(base, "celebrities", path="/api/v2")
    assert direct.status_code == 300 and [hop.status_code for hop in direct.history] == [301]
    assert direct.json() == error(300, "Invalid request, no data received")
    redirect = requests.get(base + "/api/v3?apikey=x&type=cache", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["location"].endswith("/api/v3/?apikey=x&type=cache")


def test_over_50_mb_is_413_before_the_key_is_read(base):
    response = analyse(base, "celebrities", b"\xff\xd8\xff" + b"\0" * (51 * 1024 * 1024), key=None)
    assert (response.status_code, response.json()) == (413, error(413, "Image size too large"))


def test_a_file_just_over_50_mib_in_a_body_under_the_streaming_limit_is_413_too():
    """50 MiB + 1 byte: the form around it stays under the streaming limit, so the parsed file size decides."""
    client = get_client(emulator.create_app(EmulatorConfig()))
    form = {"apikey": KEY, "type": "celebrities"}
    response = client.post("/api/v2/", data=form, files={"file": ("a.jpg", b"\xff" * (emulator.MAX_IMAGE + 1))})
    assert response.json() == error(413, "Image size too large")
    at_limit = client.post("/api/v2/", data=form, files={"file": ("a.jpg", b"\xff" * emulator.MAX_IMAGE)})
    assert at_limit.json() == error(412, "Invalid file")  # exactly 50 MiB is allowed (and here not an image)


def test_the_limit_is_enforced_while_the_body_streams_in():
    """A chunked body with no Content-Length: refused after the limit's worth of chunks, the rest never read."""
    app = emulator.create_app(EmulatorConfig())
    chunk = b"\0" * (1024 * 1024)
    sent = 0

    async def receive():
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": chunk, "more_body": sent < 200}

    messages: list[dict] = []

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v2/",
        "raw_path": b"/api/v2/",
        "query_string": b"",
        "headers": [(b"content-type", b"multipart/form-data; boundary=x"), (b"transfer-encoding", b"chunked")],
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "root_path": "",
        "http_version": "1.1",
    }
    asyncio.run(app(scope, receive, send))
    assert messages[0]["status"] == 413
    assert sent == 51, f"read {sent} MiB of a 200 MiB body"


# -- quota ----------------------------------------------------------------------------------------------------


def test_quota_drops_by_one_per_analysed_image_until_402(base):
    key = "three-units-key"
    quotas = [analyse(base, kind, key=key).json()["data"]["quota"] for kind in ("objects", "nsfw")]
    assert quotas == [2, 1]
    # Refusals and cache reads are free.
    assert analyse(base, "celebrities", images.render(9, 9, 1, "gif"), key=key).status_code == 415
    assert analyse(base, "objects", key=key, max_labels="0").status_code == 430
    assert cache(base, key=key).json()["data"]["quota"] == 1
    assert analyse(base, "detect_faces", key=key).json()["data"]["quota"] == 0
    refused = analyse(base, "objects", key=key)
    assert (refused.status_code, refused.json()) == (402, error(402, "Quota limit reached"))
    # An exhausted key still reads its cache: the last analysis it paid for.
    assert cache(base, key=key).json()["data"]["type"] == "detect_faces"


def test_the_spent_key_gets_402_and_has_no_cache(base):
    assert analyse(base, "celebrities", key=SPENT).json() == error(402, "Quota limit reached")
    assert cache(base, key=SPENT).json() == error(300, "Invalid request, no data received")


def test_the_starting_quota_is_an_option():
    client = get_client(emulator.create_app(EmulatorConfig(options={"quota": 1})))
    form = {"apikey": KEY, "type": "celebrities"}
    first = client.post("/api/v2/", data=form, files={"file": ("a.png", PNG)})
    second = client.post("/api/v2/", data=form, files={"file": ("a.png", PNG)})
    assert (first.json()["data"]["quota"], second.status_code) == (0, 402)


# -- cache ------------------------------------------------------------------------------------------------------


def test_the_cache_returns_the_latest_result_of_the_key_on_either_version_and_method(base):
    key = "cache-key-0123"
    with served("--vendor", "imagerecognize", "--credential", f"imagerecognize:apikey={key}") as urls:
        url = urls["imagerecognize"]
        assert cache(url, key=key).json() == error(300, "Invalid request, no data received")
        analyse(url, "objects", JPEG, key=key)
        latest = analyse(url, "detect_text", PNG, key=key).json()
        assert analyse(url, "objects", b"junk", key=key).status_code == 412  # a refusal does not replace it
        post = requests.post(url + "/api/v3/", files={"apikey": (None, key), "type": (None, "cache")}, timeout=10)
        for response in (cache(url, key=key), cache(url, key=key, path="/api/v3/"), post):
            assert response.status_code == 200 and response.json() == latest
        assert cache(url, key=KEY).json() == error(300, "Invalid request, no data received")  # per key


# -- results ----------------------------------------------------------------------------------------------------


def test_answers_are_deterministic_per_image_and_type(base):
    first, second = (analyse(base, "objects", JPEG).json()["data"] for _ in range(2))
    assert {**first, "quota": 0} == {**second, "quota": 0}
    assert analyse(base, "objects", PNG).json()["data"]["objects"] != first["objects"]


def test_limits_hold_and_boxes_stay_in_the_unit_square_over_many_images():
    client = get_client(emulator.create_app(EmulatorConfig()))
    counts = set()
    for seed in range(30):
        data = images.render(16 + seed, 20, seed, "png" if seed % 2 else "jpeg")
        for kind, fields in (
            ("objects", {"max_labels": str(1 + seed % 4), "min_confidence": str(seed * 3)}),
            ("nsfw", {"nsfw_min_confidence": str(seed * 3)}),
            ("celebrities", {}),
            ("detect_faces", {}),
            ("detect_text", {}),
        ):
            form = {"apikey": KEY, "type": kind, **fields}
            data_ = client.post("/api/v2/", data=form, files={"file": ("i", data)}).json()["data"]
            assert data_["type"] == kind
            threshold = int(fields.get("min_confidence", fields.get("nsfw_min_confidence", "0")))
            assert all(entry["confidence"] >= threshold for entry in data_["objects"])
            if kind == "objects":
                assert len(data_["objects"]) <= int(fields["max_labels"])
                counts.add(len(data_["objects"]))
            for entry in data_["objects"]:
                for box in entry.get("coordinates", []):
                    assert min(box["x"], box["y"]) >= 0 and min(box["width"], box["height"]) > 0
                    assert box["x"] + box["width"] <= 1 + 1e-9 and box["y"] + box["height"] <= 1 + 1e-9
    assert len(counts) > 2  # the limits bite on some images and not on others


# -- options and drifts ---------------------------------------------------------------------------------------


def test_the_status_mirror_is_switchable():
    client = get_client(emulator.create_app(EmulatorConfig(options={"http_status": "always-200"})))
    response = client.post("/api/v2/", data={"type": "objects"}, files={"file": ("a.jpg", JPEG)})
    assert (response.status_code, response.json()) == (200, error(400, "APIkey missing"))


@pytest.mark.parametrize(
    ("drift", "expect"),
    [
        ("imagerecognize.status-message-renamed", lambda r: set(r.json()) == {"status", "message", "data"}),
        ("imagerecognize.error-data-array", lambda r: r.json()["data"] == []),
        ("imagerecognize.errors-http-200", lambda r: r.status_code == 200 and r.json()["status"] == 401),
        ("imagerecognize.json-as-html", lambda r: r.headers["content-type"].startswith("text/html")),
        ("imagerecognize.auth-not-enforced", lambda r: r.status_code == 200),
    ],
)
def test_error_drifts_change_what_an_unknown_key_gets(drift, expect):
    client = get_client(emulator.create_app(EmulatorConfig(drifts=frozenset({drift}))))
    form = {"apikey": "unknown-key", "type": "objects", **LIMITS["objects"]}
    response = client.post("/api/v2/", data=form, files={"file": ("a", JPEG)})
    assert expect(response), response.text
