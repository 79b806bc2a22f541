"""The Altum emulator over real HTTP: auth, refusals, deterministic labels, and no network beyond loopback."""

from __future__ import annotations

import json

import pytest
import requests
from schemathesis.python.asgi import get_client

from conftest import served
from imgconf import images
from imgconf.emulator import altum
from imgconf.emulator.config import EmulatorConfig

KEY = "altum-emulator-key"
JPEG = images.render(40, 30, seed=11, fmt="jpeg")


@pytest.fixture(scope="module")
def base():
    with served("--vendor", "altum") as urls:
        yield urls["altum"]


def upload(base, data, key=KEY, **extra):
    headers = {"x-api-key": key} if key is not None else {}
    return requests.post(
        f"{base}/labelling/img", files={"image": ("p.jpg", data, "image/jpeg")}, headers=headers, timeout=10, **extra
    )


def test_missing_key_is_the_gateways_403(base):
    response = upload(base, JPEG, key=None)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_unknown_key_is_a_401_with_a_json_body(base):
    response = upload(base, JPEG, key="not-a-key")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.text) == altum.UNAUTHORIZED  # real JSON, not the docs' Python quotes


def test_missing_field_is_a_pydantic_v1_422(base):
    response = requests.post(f"{base}/labelling/url", json={}, headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"loc": ["body", "url"], "msg": "field required", "type": "value_error.missing"}]
    }


@pytest.mark.parametrize("fmt", ["bmp", "gif", "webp"])
def test_other_formats_are_refused_by_content_not_name(base, fmt):
    response = upload(base, images.render(20, 20, 1, fmt))  # sent as p.jpg, image/jpeg
    assert response.status_code == 400
    assert response.json() == altum.BAD_FORMAT


def test_a_truncated_jpeg_does_not_decode(base):
    assert upload(base, images.corrupt(JPEG, 3)).status_code == 400


def test_labels_are_deterministic_and_follow_the_documented_rules(base):
    seen = set()
    for seed in range(40):
        data = images.render(24, 24, seed, "png")
        first, second = upload(base, data).json(), upload(base, data).json()
        assert first == second
        output = first["Output"]
        seen.add(output["Image_Class"])
        if output["Image_Class"] == "indoor":
            assert ("Room_Subclass" in output) == (output["Room_Class"] == "other_room")
        if output["Image_Class"] == "outdoor":
            assert ("Scene_Class2" in output) == (float(output["ConfidencePercent_Scene_Class1"]) <= 70.0)
        assert all(isinstance(value, str) for value in output.values())
    assert seen == {"indoor", "outdoor", "other"}


def test_the_documented_example_url_is_a_fixture(base):
    response = requests.post(
        f"{base}/labelling/url", headers={"x-api-key": KEY}, timeout=10, json={"url": altum.DOCUMENTED_EXAMPLE_URL}
    )
    assert response.status_code == 200
    assert response.json() == upload(base, altum.documented_fixtures()[altum.DOCUMENTED_EXAMPLE_URL]).json()


def test_bodies_over_10_mb_are_refused_before_they_are_read(base):
    response = upload(base, b"\0" * (10 * 1024 * 1024 + 10))
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}


def test_undocumented_routes_get_the_gateways_403(base):
    assert requests.get(f"{base}/labelling/img", timeout=10).status_code == 403
    assert requests.delete(f"{base}/anything", headers={"x-api-key": KEY}, timeout=10).json() == altum.MISSING_TOKEN


def test_url_inputs_never_leave_loopback(monkeypatch):
    fetched: list[str] = []
    monkeypatch.setattr(
        "imgconf.emulator.fetch.get",
        lambda url, max_bytes: fetched.append(url) or pytest.fail(f"fetched {url}"),
    )
    client = get_client(altum.create_app(EmulatorConfig()))
    for url in (
        "https://example.com/a.jpg",
        "http://10.0.0.1/a.jpg",
        "http://169.254.169.254/",
        "http://localhost.example.com/a.jpg",
        "file:///etc/passwd",
    ):
        response = client.post("/labelling/url", json={"url": url}, headers={"x-api-key": KEY})
        assert response.status_code == 400 and response.json() == altum.BAD_URL, url
    assert fetched == []


def test_valid_keys_are_configurable():
    client = get_client(altum.create_app(EmulatorConfig(credentials=({"api_key": "another-key-1234"},))))
    ok = client.post(
        "/labelling/img", files={"image": ("p.jpg", JPEG, "image/jpeg")}, headers={"x-api-key": "another-key-1234"}
    )
    assert ok.status_code == 200


def test_throttling_is_off_by_default_and_answers_429_when_configured():
    clock = [0.0]
    client = get_client(altum.create_app(EmulatorConfig(options={"rate_per_minute": 2}, clock=lambda: clock[0])))
    statuses = [
        client.post(
            "/labelling/img", files={"image": ("p.jpg", JPEG, "image/jpeg")}, headers={"x-api-key": KEY}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    clock[0] = 61.0
    assert (
        client.post(
            "/labelling/img", files={"image": ("p.jpg", JPEG, "image/jpeg")}, headers={"x-api-key": KEY}
        ).status_code
        == 200
    )
