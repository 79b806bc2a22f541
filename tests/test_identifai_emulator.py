"""The identifAI emulator on its own: lifecycle and clock, cache and webhooks, overrides, credits, rate limits,
bounded bodies and the no-network guarantee of URL inputs and webhooks.

Most tests drive the ASGI app in-process with a fake clock (deterministic time); the `served` ones go over real
HTTP to `imgconf emulator serve`, as a user would.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from schemathesis.python import asgi

from conftest import served
from imgconf import images
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.identifai import DEFAULT_CREDENTIALS, create_app
from imgconf.emulator.identifai.drifts import WEBHOOK_CACHED
from imgconf.emulator.identifai.limits import RateLimiter
from imgconf.testing.webhooks import WebhookReceiver
from imgconf.vendors import identifai

BASE = "http://identifai.test"
KEYS = DEFAULT_CREDENTIALS[0]
PARTNER = {"X-Api-Key": KEYS["api_key"], "Accept": "application/json"}


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def client(clock: Any = None, **options: Any) -> requests.Session:
    config = EmulatorConfig(clock=clock or Clock(), options={"rate_limits": False, **options})
    return asgi.get_client(create_app(config))


def jpeg(seed: int, width: int = 48, height: int = 32) -> bytes:
    return images.render(width, height, seed=seed, fmt="jpeg")


def submit(session: requests.Session, data: bytes, kind: str = "image", headers: dict | None = None, **fields: Any):
    path = {"image": "/api/classification", "video": "/api/classification_video", "audio": "/api/classification_audio"}
    files = {kind: (f"sample.{kind}", data, "application/octet-stream")}
    files.update({name: (None, str(value).lower()) for name, value in fields.items()})
    return session.post(BASE + path[kind], files=files, headers=headers or PARTNER)


def identifier(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["identifier"]


def get(session: requests.Session, ident: str, kind: str = "image") -> dict[str, Any]:
    path = {"image": "classification", "video": "classification_video", "audio": "classification_audio"}[kind]
    response = session.get(f"{BASE}/api/{path}/{ident}", headers=PARTNER)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hooks = WebhookReceiver()
    yield hooks
    hooks.close()


# -- the lifecycle and its clock -----------------------------------------------------------------------


def test_a_job_stays_new_for_the_configured_polls_then_is_done() -> None:
    session = client(polls_until_done=3, seconds_until_done=3600)
    ident = identifier(submit(session, jpeg(1)))
    statuses = [get(session, ident)["status"] for _ in range(5)]
    assert statuses == ["new", "new", "new", "done", "done"]
    done = get(session, ident)
    assert done["api_version"] and done["verdict"] in done["verdicts"] and done["results"]


def test_a_job_is_done_after_the_configured_time_without_polls() -> None:
    clock = Clock()
    session = client(clock, polls_until_done=1000, seconds_until_done=5)
    ident = identifier(submit(session, jpeg(2)))
    assert get(session, ident)["status"] == "new"
    clock.now += 4.9
    assert get(session, ident)["status"] == "new"
    clock.now += 0.2
    assert get(session, ident)["status"] == "done"


def test_a_pending_result_has_no_verdict_and_a_file_that_does_not_decode_ends_errored() -> None:
    session = client(polls_until_done=1)
    pending = get(session, identifier(submit(session, jpeg(3))))
    assert pending["verdict"] is None and pending["verdicts"] == [] and pending["api_version"] is None
    broken = identifier(submit(session, images.corrupt(jpeg(4, 200, 150), 1)))
    get(session, broken)
    final = get(session, broken)
    assert final["status"] == "errored" and final["errors"] and final["verdict"] is None


def test_verdicts_are_a_function_of_the_bytes() -> None:
    first, second = client(polls_until_done=0), client(polls_until_done=0)
    a = get(first, identifier(submit(first, jpeg(5))))
    b = get(second, identifier(submit(second, jpeg(5))))
    assert a["identifier"] == b["identifier"] and a["verdicts"] == b["verdicts"] and a["results"] == b["results"]
    assert a["hash"] == hashlib.sha256(jpeg(5)).hexdigest()
    assert get(first, identifier(submit(first, jpeg(6))))["hash"] != a["hash"]


# -- the cache and webhooks -------------------------------------------------------------------------


def test_a_repeat_is_cached_and_no_cache_reprocesses(receiver: WebhookReceiver) -> None:
    session = client(polls_until_done=0)
    first = identifier(submit(session, jpeg(7), with_heatmap=True))
    assert identifier(submit(session, jpeg(7), with_heatmap=True, ref_id="other")) == first
    assert identifier(submit(session, jpeg(7))) != first, "other options share the cache"
    fresh = identifier(submit(session, jpeg(7), with_heatmap=True, no_cache=True))
    assert fresh != first
    assert identifier(submit(session, jpeg(7), with_heatmap=True)) == fresh, "the cache keeps the newest"


def test_webhooks_fire_once_for_fresh_results_and_never_for_cached_ones(receiver: WebhookReceiver) -> None:
    session = client(polls_until_done=1, seconds_until_done=3600)
    url = receiver.url()
    ident = identifier(submit(session, jpeg(8), webhook_url=url))
    assert get(session, ident)["status"] == "new"
    assert receiver.calls(url) == [], "the webhook fired before the result was done"
    done = get(session, ident)
    calls = receiver.wait(url, 1, timeout=5)
    assert len(calls) == 1 and calls[0].method == "POST"
    assert calls[0].json() == done and calls[0].headers["Content-Type"] == "application/json"
    cached_url = receiver.url()
    assert identifier(submit(session, jpeg(8), webhook_url=cached_url)) == ident
    get(session, ident)
    assert receiver.wait(cached_url, 1, timeout=0.5) == [], "a cached repeat called its webhook"
    again = identifier(submit(session, jpeg(8), webhook_url=cached_url, no_cache=True))
    get(session, again)
    get(session, again)
    assert len(receiver.wait(cached_url, 1, timeout=5)) == 1, "no_cache did not call the webhook"
    get(session, ident)
    assert len(receiver.calls(url)) == 1, "the webhook fired twice"


@pytest.mark.parametrize("active", [frozenset(), frozenset({WEBHOOK_CACHED})], ids=["faithful", "drift"])
def test_a_webhook_sent_in_answer_to_a_request_has_arrived_before_the_answer(
    receiver: WebhookReceiver, active: frozenset[str]
) -> None:
    """What the emulator targets' `webhook_grace_s` of 0 rests on: the suite looks for a cached repeat's webhook
    the moment the repeat is answered, without waiting, and the drift that sends one is seen every time."""
    session = asgi.get_client(
        create_app(EmulatorConfig(clock=Clock(), drifts=active, options={"rate_limits": False, "polls_until_done": 0}))
    )
    url = receiver.url()
    ident = identifier(submit(session, jpeg(19), webhook_url=url))
    get(session, ident)
    assert len(receiver.calls(url)) == 1, "a read that finished the job answered before its webhook arrived"
    cached_url = receiver.url()
    assert identifier(submit(session, jpeg(19), webhook_url=cached_url)) == ident
    assert len(receiver.calls(cached_url)) == (1 if active else 0)


def test_a_webhook_is_delivered_when_the_time_is_up_without_polls(receiver: WebhookReceiver) -> None:
    session = client(time.time, polls_until_done=1000, seconds_until_done=0.2)  # real time: a timer delivers
    url = receiver.url()
    ident = identifier(submit(session, jpeg(9), webhook_url=url))
    calls = receiver.wait(url, 1, timeout=5)
    assert len(calls) == 1 and calls[0].json()["identifier"] == ident and calls[0].json()["status"] == "done"


# -- overrides, credits, lists --------------------------------------------------------------------------


def test_an_override_applies_to_every_submission_of_the_hash_for_that_key() -> None:
    session = client(polls_until_done=0)
    earlier = identifier(submit(session, jpeg(10)))
    digest = hashlib.sha256(jpeg(10)).hexdigest()
    response = session.post(
        f"{BASE}/api/classification/{digest}/override", json={"classification": "human"}, headers=PARTNER
    )
    assert response.json() == {"classification": "human", "type": "image", "hash": digest}
    later = identifier(submit(session, jpeg(10), with_morphing=True))
    assert get(session, earlier)["force_classification"] == "human"
    assert get(session, later)["force_classification"] == "human"
    other_key = {"X-Api-Key": KEYS["user_api_key"], "Accept": "application/json"}
    theirs = identifier(submit(session, jpeg(10), headers=other_key))
    response = session.get(f"{BASE}/api/classification/{theirs}", headers=other_key)
    assert response.json()["force_classification"] is None, "an override leaked to another key"
    unknown = session.post(
        f"{BASE}/api/classification/{'0' * 64}/override", json={"classification": "human"}, headers=PARTNER
    )
    assert unknown.status_code == 404


def test_credits_run_out_with_the_documented_400_and_cached_repeats_are_free() -> None:
    session = client(credits=6, polls_until_done=0)
    identifier(submit(session, jpeg(11)))
    identifier(submit(session, jpeg(11)))  # cached: free
    identifier(submit(session, identifai.sample_avi(1), kind="video", frames=5))  # 5 frames: 5 credits
    refused = submit(session, jpeg(12))
    assert refused.status_code == 400 and refused.json() == {"error": "Not enough credits to perform the operation."}
    spent = submit(session, jpeg(13), headers={"X-Api-Key": KEYS["spent_api_key"]})
    assert spent.status_code == 400


def test_lists_answer_known_identifiers_and_refuse_more_than_100() -> None:
    session = client(polls_until_done=0)
    known = [identifier(submit(session, jpeg(seed))) for seed in (14, 15)]
    response = session.get(BASE + "/api/classifications", params={"identifiers[]": [*known, "x" * 64]}, headers=PARTNER)
    assert sorted(item["identifier"] for item in response.json()) == sorted(known)
    too_many = session.get(BASE + "/api/classifications", params={"identifiers[]": ["a"] * 101}, headers=PARTNER)
    assert too_many.status_code == 400 and "100" in too_many.json()["error"]
    assert session.get(BASE + "/api/classifications", headers=PARTNER).status_code == 400


def test_speech_segments_are_chunk_details_alone_and_details_clips_in_lists() -> None:
    session = client(polls_until_done=0)
    ident = identifier(submit(session, identifai.sample_wav(3, 25.0), kind="audio"))
    single = get(session, ident, "audio")
    listed = session.get(BASE + "/api/classifications_audio", params={"identifiers[]": ident}, headers=PARTNER).json()
    assert [chunk["end"] for chunk in single["chunk_details"]] == [10.0, 20.0, 25.0]
    assert listed[0]["details"]["clips"] == single["chunk_details"] and "chunk_details" not in listed[0]


@pytest.mark.parametrize(
    ("seed", "seconds", "digest"),
    [(0, 1.0, "da1e2b03b47be92d"), (65536, 1.0, "7c234ae0191ad417"), (3, 0.5, "97c19bed1675dd78")],
)
def test_a_sample_clip_is_the_same_bytes_for_its_seed_in_every_release(seed: int, seconds: float, digest: str) -> None:
    """A cassette recorded with an audio case replays only if the clip drawn for its seed is byte for byte the
    same: these are the clips sample_wav made before it was rewritten for speed (2026-12-07)."""
    clip = identifai.sample_wav.__wrapped__(seed, seconds)
    assert hashlib.sha256(clip).hexdigest()[:16] == digest
    assert clip[:4] == b"RIFF" and clip[8:12] == b"WAVE" and len(clip) == 44 + int(seconds * 8000) * 2


def test_partner_routes_are_for_partners_and_paginate() -> None:
    session = client()
    user = {"X-Api-Key": KEYS["user_api_key"]}
    assert session.get(BASE + "/api/partner/users", headers=user).status_code == 403
    page = session.get(BASE + "/api/partner/users", params={"per_page": 1}, headers=PARTNER).json()
    assert page["total"] == 1 and page["per_page"] == 1 and page["next_page_url"] is None
    form = {
        "name": (None, "New"),
        "email": (None, "new@example.com"),
        "heuristic": (None, "Average"),
        "pricing_id": (None, "2"),
        "id": (None, ""),
    }
    created = session.post(BASE + "/api/partner/user", files=form, headers=PARTNER)
    assert created.status_code == 200 and created.json()["data"]["pricing"]["id"] == 2
    page = session.get(BASE + "/api/partner/users", params={"per_page": 1}, headers=PARTNER).json()
    assert page["total"] == 2 and page["last_page"] == 2 and page["next_page_url"].endswith("page=2&per_page=1")
    taken = session.post(BASE + "/api/partner/user", files=form, headers=PARTNER)
    assert taken.status_code == 400 and taken.json() == {"error": "The email has already been taken."}
    mail = session.post(BASE + "/api/partner/send_creation_email", files={"id": (None, "999")}, headers=PARTNER)
    assert mail.status_code == 404


# -- rate limits ---------------------------------------------------------------------------------------


def test_the_rate_limiter_keeps_the_documented_windows() -> None:
    clock = Clock(0.0)
    limiter = RateLimiter(clock)
    assert limiter.admit("k", "GET") is None and limiter.admit("k", "GET") is None
    assert limiter.admit("k", "GET") == 1, "a third GET within a second"
    assert limiter.admit("other", "GET") is None, "limits are per key"
    clock.now = 1.0
    assert limiter.admit("k", "GET") is None
    assert limiter.admit("k", "POST") is None and limiter.admit("k", "POST") == 1
    for step in range(2, 120):  # 2 GETs a second: 60 reach the minute's limit
        clock.now = step * 0.5
        if limiter.admit("k", "GET") is not None:
            break
    assert clock.now < 60.0 and limiter.admit("k", "GET") is not None
    clock.now = 100.0
    for index in range(30):
        clock.now = 100.0 + index * 1.0
        assert limiter.admit("p", "POST") is None
    clock.now = 130.5
    retry = limiter.admit("p", "POST")
    assert retry is not None and 29 <= retry <= 30, f"Retry-After {retry} for the 31st POST of a minute"


def test_the_throttled_key_is_limited_even_when_rate_limits_are_off() -> None:
    session = client()
    throttled = {"X-Api-Key": KEYS["throttled_api_key"]}
    answers = [
        session.get(BASE + "/api/classifications", params={"identifiers[]": "x"}, headers=throttled) for _ in range(3)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json() == {"message": "Too Many Attempts."} and answers[2].headers["Retry-After"] == "1"
    for _ in range(5):
        assert session.get(BASE + "/api/partner/pricings", headers=PARTNER).status_code == 200


def test_served_emulator_throttles_by_default_and_not_with_fast() -> None:
    with served("--vendor", "identifai") as urls:
        answers = [
            requests.get(urls["identifai"] + "/api/partner/pricings", headers=PARTNER, timeout=10) for _ in range(3)
        ]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].json() == {"message": "Too Many Attempts."} and int(answers[2].headers["Retry-After"]) >= 1
    with served("--vendor", "identifai", "--fast") as urls:
        answers = [
            requests.get(urls["identifai"] + "/api/partner/pricings", headers=PARTNER, timeout=10) for _ in range(6)
        ]
        assert {answer.status_code for answer in answers} == {200}


def test_served_emulator_runs_the_lifecycle_over_http(receiver: WebhookReceiver) -> None:
    with served("--vendor", "identifai", "--fast") as urls:
        base = urls["identifai"]
        hook = receiver.url()
        files = {"image": ("a.jpg", jpeg(16), "image/jpeg"), "webhook_url": (None, hook)}
        answer = requests.post(
            base + "/api/classification", files=files, headers={"X-Api-Key": KEYS["api_key"]}, timeout=10
        )
        assert answer.headers["content-type"].startswith("text/plain") and len(answer.text) == 64
        statuses = [
            requests.get(f"{base}/api/classification/{answer.text}", headers=PARTNER, timeout=10).json()["status"]
            for _ in range(2)
        ]
        assert statuses == ["new", "done"]
        assert len(receiver.wait(hook, 1, timeout=5)) == 1


# -- bounded bodies -------------------------------------------------------------------------------------


def _asgi_post(app: Any, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> tuple[int, int]:
    """POST through the raw ASGI interface; returns (status, bytes the app pulled from the body)."""
    pulled = 0
    source = iter(chunks)
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "scheme": "http",
        "server": ("identifai.test", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], pulled


def _endless(size: int = 1024 * 1024) -> Iterator[bytes]:
    yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG\r\n\x1a\n'
    while True:
        yield b"\0" * size


@pytest.mark.parametrize("path", ["/api/classification", "/api/classification_audio", "/api/classification_video"])
def test_a_declared_oversized_body_is_refused_unread(path: str) -> None:
    app = create_app(EmulatorConfig(options={"rate_limits": False}))
    declared = str(6 * 1024**3 if path.endswith("video") else 51 * 1024 * 1024 + 1024 * 1024 + 1)
    headers = {
        "x-api-key": KEYS["api_key"],
        "content-type": "multipart/form-data; boundary=b",
        "content-length": declared,
    }
    status, pulled = _asgi_post(app, path, headers, _endless())
    assert status == 400 and pulled == 0


@pytest.mark.parametrize("path", ["/api/classification", "/api/classification_video"])
def test_an_undeclared_oversized_body_is_cut_off_while_it_streams(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if path.endswith("video"):  # the video limit is 5 GB: shrink it for the test, the code path is the same
        from imgconf.emulator.identifai import media

        monkeypatch.setattr(media, "VIDEO_LIMIT", 8 * 1024 * 1024)
    app = create_app(EmulatorConfig(options={"rate_limits": False}))
    headers = {"x-api-key": KEYS["api_key"], "content-type": "multipart/form-data; boundary=b"}
    status, pulled = _asgi_post(app, path, headers, _endless())
    limit = (8 if path.endswith("video") else 50) * 1024 * 1024 + 1024 * 1024
    assert status == 400 and pulled <= limit + 1024 * 1024 + 200


# -- no network -------------------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every connection or name lookup that is not on loopback."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if not str(host).startswith("127.") and host not in ("::1", "localhost"):
            attempts.append(address)
            raise OSError("network access refused by the test")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("localhost", "127.0.0.1", "::1", None) and not str(host).startswith("127."):
            attempts.append(host)
            raise socket.gaierror("name lookups refused by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_url_inputs_and_webhooks_never_leave_loopback(no_network: list[Any], receiver: WebhookReceiver) -> None:
    session = client(polls_until_done=0)
    for url in (
        "https://example.com/photo.jpg",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/a.png",
        "http://[::ffff:8.8.8.8]/a.jpg",
        "file:///etc/passwd",
    ):
        response = session.post(BASE + "/api/image_fromurl", files={"file_url": (None, url)}, headers=PARTNER)
        assert response.status_code == 400, f"{url}: {response.status_code}"
    fixture = session.post(
        BASE + "/api/image_fromurl", files={"file_url": (None, identifai.VENDOR.image_urls[0])}, headers=PARTNER
    )
    assert fixture.status_code == 200, "the documented sample URL is served from the emulator's fixtures"
    ident = identifier(submit(session, jpeg(17), webhook_url="https://hooks.example.com/identifai", no_cache=True))
    assert get(session, ident)["status"] == "done"
    assert no_network == [], f"the emulator tried to reach {no_network}"
    local = receiver.url()
    ident = identifier(submit(session, jpeg(18), webhook_url=local))
    get(session, ident)
    assert len(receiver.wait(local, 1, timeout=5)) == 1, "loopback webhooks are delivered"
    assert no_network == []


def test_the_request_log_names_roles_never_keys(tmp_path: Any) -> None:
    log = tmp_path / "requests.jsonl"
    session = client(request_log=str(log))
    session.get(BASE + "/api/partner/pricings", headers=PARTNER)
    session.get(BASE + "/api/partner/pricings", headers={"X-Api-Key": "nope"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["status"], line["role"]) for line in lines] == [(200, "api_key"), (401, None)]
    assert KEYS["api_key"] not in log.read_text()
