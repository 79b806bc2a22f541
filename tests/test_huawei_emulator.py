"""The Huawei emulator in-process, with its clock in the test's hands: token lifetimes, the signature
window, the lockout and its end, the body limit while streaming, request ids, and the layers' codes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from schemathesis.python import asgi

from imgconf import images
from imgconf.emulator import fetch
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.huawei import DEFAULT_CREDENTIALS, DRIFTS, create_app
from imgconf.vendors.huawei import DOCUMENTED_TOKEN, probes
from imgconf.vendors.huawei.auth import HuaweiAuth, sign_prepared, token_request

BASE = "http://huawei.emulator"
ACCOUNT = DEFAULT_CREDENTIALS[0]
PROJECT = ACCOUNT["project_id"]
V1, V2 = "/v1.0/image/tagging", f"/v2/{PROJECT}/image/tagging"
IMAGE = probes.encode(images.render(120, 90, seed=4, fmt="jpeg"))
START = 1_790_000_000.0  # 2026-09-21, an arbitrary fixed moment


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Emulator:
    """The app behind a requests session, signing or sending tokens as the suites do."""

    def __init__(self, drifts: tuple[str, ...] = (), clock: Clock | None = None, **options: object) -> None:
        self.clock = clock or Clock()
        config = EmulatorConfig(drifts=frozenset(drifts), clock=self.clock, options=options)
        self.session = requests.Session()
        self.session.mount("http://", asgi.get_client(create_app(config)).adapter)

    def post(self, path: str, auth: dict[str, str] | None = None, **kwargs: object) -> requests.Response:
        return self.session.post(BASE + path, auth=_auth(auth, self.clock), **kwargs)

    def get(self, path: str, auth: dict[str, str] | None = None, **kwargs: object) -> requests.Response:
        return self.session.get(BASE + path, auth=_auth(auth, self.clock), **kwargs)

    def token(self, scope: dict | None = None) -> requests.Response:
        body = token_request(ACCOUNT["iam_user"], ACCOUNT["iam_password"], ACCOUNT["iam_domain"], "cn-north-4")
        if scope is not None:
            body["auth"]["scope"] = scope
        return self.post("/v3/auth/tokens", json=body)


def _auth(credentials: dict[str, str] | None, clock: Clock) -> requests.auth.AuthBase | None:
    """The suites' scheme, with X-Sdk-Date from the emulator's clock (signing by the wall clock would be skewed)."""
    if credentials is None:
        return None

    class Scheme(requests.auth.AuthBase):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            if "token" in credentials:
                HuaweiAuth().apply(request, credentials)
            else:
                now = datetime.fromtimestamp(clock.now, UTC)
                sign_prepared(
                    request, credentials["ak"], credentials["sk"], credentials.get("project_id"), now=lambda: now
                )
            return request

    return Scheme()


KEYS = {"ak": ACCOUNT["ak"], "sk": ACCOUNT["sk"], "project_id": PROJECT}
WRONG = {**KEYS, "sk": ACCOUNT["sk"] + "x"}


def error(response: requests.Response) -> tuple[int, str | None]:
    return response.status_code, response.json().get("error_code")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield Emulator()


# -- tokens -------------------------------------------------------------------------------------------


def test_a_token_is_issued_for_24_hours_and_then_refused():
    emulator = Emulator()
    issued = emulator.token()
    assert issued.status_code == 201
    token = issued.headers["X-Subject-Token"]
    body = issued.json()["token"]
    assert body["issued_at"] == "2026-09-21T14:13:20.000000Z"
    assert body["expires_at"] == "2026-09-22T14:13:20.000000Z"
    assert body["project"]["id"] == PROJECT and body["catalog"]
    emulator.clock.now = START + 24 * 3600 - 1
    assert emulator.post(V2, json={"image": IMAGE}, auth={"token": token}).status_code == 200
    emulator.clock.now = START + 24 * 3600
    refused = emulator.post(V2, json={"image": IMAGE}, auth={"token": token})
    assert error(refused) == (401, "APIG.0301")
    assert refused.json()["error_msg"].endswith("token expires")


def test_the_expired_token_drift_accepts_old_tokens():
    emulator = Emulator(drifts=("huawei.expired-token-accepted",))
    token = emulator.token().headers["X-Subject-Token"]
    emulator.clock.now = START + 30 * 24 * 3600
    assert emulator.post(V1, json={"image": IMAGE}, auth={"token": token}).status_code == 200
    assert emulator.post(V1, json={"image": IMAGE}, auth={"token": DOCUMENTED_TOKEN}).status_code == 200


def test_the_docs_token_is_known_as_expired(emulator):
    refused = emulator.post(V1, json={"image": IMAGE}, auth={"token": DOCUMENTED_TOKEN})
    assert error(refused) == (401, "APIG.0301") and "token expires" in refused.json()["error_msg"]
    unknown = emulator.post(V1, json={"image": IMAGE}, auth={"token": DOCUMENTED_TOKEN + "x"})
    assert "decrypt token fail" in unknown.json()["error_msg"]


def test_iam_refuses_wrong_passwords_bad_bodies_and_foreign_projects(emulator):
    wrong = token_request(ACCOUNT["iam_user"], "nope-nope", ACCOUNT["iam_domain"], "cn-north-4")
    answer = emulator.post("/v3/auth/tokens", json=wrong)
    assert answer.status_code == 401 and "X-Subject-Token" not in answer.headers
    assert answer.json()["error"] == {
        "code": 401,
        "message": "The username or password is wrong.",
        "title": "Unauthorized",
    }
    assert emulator.post("/v3/auth/tokens", data=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert emulator.post("/v3/auth/tokens", json={"auth": {"identity": {}}}).status_code == 400
    assert emulator.token({"project": {"name": "ap-southeast-1"}}).status_code == 401
    assert emulator.token({"project": {"id": PROJECT}}).status_code == 201


def test_a_domain_scoped_token_is_refused_by_tagging(emulator):
    issued = emulator.token({"domain": {"name": ACCOUNT["iam_domain"]}})
    assert issued.status_code == 201 and "project" not in issued.json()["token"]
    answer = emulator.post(V2, json={"image": IMAGE}, auth={"token": issued.headers["X-Subject-Token"]})
    assert error(answer) == (400, "ModelArts.0212")
    assert emulator.get("/v3/projects", auth={"token": issued.headers["X-Subject-Token"]}).status_code == 200


def test_nocatalog_empties_the_catalog(emulator):
    body = token_request(ACCOUNT["iam_user"], ACCOUNT["iam_password"], ACCOUNT["iam_domain"], "cn-north-4")
    answer = emulator.post("/v3/auth/tokens", params={"nocatalog": "true"}, json=body)
    assert answer.json()["token"]["catalog"] == []


# -- signatures ---------------------------------------------------------------------------------------


def _signed_at(emulator: Emulator, offset_s: float, credentials: dict[str, str] = KEYS) -> requests.Response:
    moment = datetime.fromtimestamp(emulator.clock.now + offset_s, UTC)
    return emulator.session.post(BASE + V2, json={"image": IMAGE}, auth=probes.Signed(credentials, sdk_date=moment))


def test_the_signature_window_is_15_minutes_either_way(emulator):
    for offset in (-900, 900, 0):
        assert _signed_at(emulator, offset).status_code == 200, offset
    for offset in (-901, 901):
        answer = _signed_at(emulator, offset)
        assert error(answer) == (401, "APIG.0301") and "15 minutes" in answer.json()["error_msg"]


def test_five_bad_signatures_lock_the_key_for_five_minutes(emulator):
    for _ in range(4):
        assert emulator.post(V2, json={"image": IMAGE}, auth=WRONG).status_code == 401
    assert emulator.post(V2, json={"image": IMAGE}, auth=KEYS).status_code == 200  # resets the streak
    for _ in range(5):
        assert "verify aksk signature fail" in emulator.post(V2, json={"image": IMAGE}, auth=WRONG).text
    locked = emulator.post(V2, json={"image": IMAGE}, auth=KEYS)
    assert error(locked) == (401, "APIG.0301") and "reach the limit" in locked.json()["error_msg"]
    emulator.clock.now += 299
    assert emulator.post(V2, json={"image": IMAGE}, auth=KEYS).status_code == 401
    emulator.clock.now += 1
    assert emulator.post(V2, json={"image": IMAGE}, auth=KEYS).status_code == 200
    # The lockout is per AK: the account's other key was never locked.
    other = {"ak": ACCOUNT["lockout_ak"], "sk": ACCOUNT["lockout_sk"], "project_id": PROJECT}
    assert emulator.post(V2, json={"image": IMAGE}, auth=other).status_code == 200


def test_the_lockout_drift_never_locks():
    emulator = Emulator(drifts=("huawei.lockout-never",))
    for _ in range(20):
        emulator.post(V2, json={"image": IMAGE}, auth=WRONG)
    assert emulator.post(V2, json={"image": IMAGE}, auth=KEYS).status_code == 200


def test_a_declared_payload_hash_must_match_the_body(emulator):
    now = datetime.fromtimestamp(emulator.clock.now, UTC)
    honest = probes.Signed(KEYS, sdk_date=now, before=probes.set_header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"))
    assert emulator.session.post(BASE + V2, json={"image": IMAGE}, auth=honest).status_code == 200
    lying = probes.Signed(KEYS, sdk_date=now, before=probes.set_header("X-Sdk-Content-Sha256", "0" * 64))
    assert emulator.session.post(BASE + V2, json={"image": IMAGE}, auth=lying).status_code == 401


def test_the_signature_drift_lets_any_signature_in():
    emulator = Emulator(drifts=("huawei.signature-not-verified",))
    assert emulator.post(V2, json={"image": IMAGE}, auth=WRONG).status_code == 200
    unknown = {**KEYS, "ak": "NOSUCHACCESSKEY00000"}
    assert error(emulator.post(V2, json={"image": IMAGE}, auth=unknown)) == (401, "APIG.0301")


def test_extra_credentials_are_another_account():
    clock = Clock()
    config = EmulatorConfig(
        credentials=({"ak": "SECONDACCOUNTAK00001", "sk": "second-account-secret-key", "project_id": "b" * 32},),
        clock=clock,
    )
    session = requests.Session()
    session.mount("http://", asgi.get_client(create_app(config)).adapter)
    second = {"ak": "SECONDACCOUNTAK00001", "sk": "second-account-secret-key", "project_id": "b" * 32}
    ok = session.post(f"{BASE}/v2/{'b' * 32}/image/tagging", json={"image": IMAGE}, auth=_auth(second, clock))
    assert ok.status_code == 200
    foreign = session.post(BASE + V2, json={"image": IMAGE}, auth=_auth({**second, "project_id": PROJECT}, clock))
    assert error(foreign) == (400, "ModelArts.4203")


# -- projects, limits, routes -------------------------------------------------------------------------


def test_project_ids_must_be_the_callers(emulator):
    assert error(emulator.post(f"/v2/{'c' * 32}/image/tagging", json={"image": IMAGE}, auth=KEYS)) == (
        400,
        "ModelArts.4203",
    )
    keys_only = {"ak": KEYS["ak"], "sk": KEYS["sk"]}
    header = emulator.post(V1, json={"image": IMAGE}, auth=keys_only, headers={"X-Project-Id": "d" * 32})
    assert error(header) == (400, "ModelArts.4203")
    sdk_without_project = emulator.post("/v2/%7Bproject_id%7D/image/tagging", json={"image": IMAGE}, auth=KEYS)
    assert error(sdk_without_project) == (400, "ModelArts.4203")


def test_bodies_over_12_mb_are_refused_while_streaming(emulator):
    def chunks() -> Iterator[bytes]:
        yield b'{"image": "'
        for _ in range(13):
            yield b"A" * (1024 * 1024)
        yield b'"}'

    streamed = emulator.post(V2, data=chunks(), headers={"Content-Type": "application/json", "X-Auth-Token": "x"})
    assert error(streamed) == (413, "APIG.0201")
    just_under = b'{"image": "' + b"A" * (12 * 1024 * 1024 - 20) + b'"}'
    assert emulator.post(V2, data=just_under, auth=KEYS).status_code == 400  # read, authenticated, then AIS


def test_every_answer_has_a_request_id_and_gateway_bodies_repeat_it(emulator):
    answers = [
        emulator.post(V2, json={"image": IMAGE}, auth=KEYS),
        emulator.post(V2, json={"image": IMAGE}),
        emulator.post(V2, json={"language": "en"}, auth=KEYS),
        emulator.get("/nowhere"),
        emulator.get("/v3/projects"),
        emulator.token(),
    ]
    ids = [answer.headers.get("X-Request-Id") for answer in answers]
    assert all(ids) and len(set(ids)) == len(ids)
    assert answers[1].json()["request_id"] == ids[1]
    assert answers[3].json() == {
        "error_code": "APIG.0101",
        "error_msg": "The API does not exist or has not been published in the environment",
        "request_id": ids[3],
    }
    stripped = Emulator(drifts=("huawei.request-id-missing",)).post(V2, json={"image": IMAGE}, auth=KEYS)
    assert "X-Request-Id" not in stripped.headers


def test_urls_never_leave_loopback(emulator, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the emulator tried to fetch over the network")

    monkeypatch.setattr(fetch, "get", refuse)
    for url in ("https://example.com/a.jpg", "http://10.0.0.1/a.jpg", "http://169.254.169.254/latest"):
        assert error(emulator.post(V2, json={"url": url}, auth=KEYS)) == (400, "ModelArts.4603"), url
    documented = emulator.post(V2, json={"url": "https://BucketName.obs.myhuaweicloud.com/ObjectName"}, auth=KEYS)
    assert documented.status_code == 200


# -- tags ---------------------------------------------------------------------------------------------


def _tags(emulator: Emulator, path: str, **fields: object) -> list[dict]:
    answer = emulator.post(path, json={"image": IMAGE, **fields}, auth=KEYS)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]["tags"]


def test_tags_are_deterministic_and_language_only_renames_them(emulator):
    zh = _tags(emulator, V2, threshold=0)
    assert zh == _tags(Emulator(), V2, threshold=0)
    en = _tags(emulator, V2, threshold=0, language="en")
    assert [(t["i18n_tag"], t["confidence"]) for t in zh] == [(t["i18n_tag"], t["confidence"]) for t in en]
    assert all(t["tag"] == t["i18n_tag"]["zh"] and t["type"] == t["i18n_type"]["zh"] for t in zh)
    assert all(t["tag"] == t["i18n_tag"]["en"] and t["type"] == t["i18n_type"]["en"] for t in en)


def test_v1_and_v2_answer_differently(emulator):
    v1, v2 = _tags(emulator, V1), _tags(emulator, V2)
    assert len(v1) == min(30, len(_tags(emulator, V1, limit=-1)))  # v1: threshold 0, limit 30
    assert all(isinstance(t["confidence"], float) and t["type"] in ("object", "scene", "concept") for t in v1)
    assert set(v1[0]) == {"confidence", "tag", "type", "i18n_tag"}
    assert all(isinstance(t["confidence"], str) and float(t["confidence"]) >= 60 for t in v2)  # v2: threshold 60
    assert all(set(t) == {"confidence", "tag", "type", "i18n_tag", "i18n_type", "instances"} for t in v2)


def test_threshold_and_limit_select_from_the_same_candidates(emulator):
    every = _tags(emulator, V2, threshold=0, limit=150)
    confidences = [float(t["confidence"]) for t in every]
    assert confidences == sorted(confidences, reverse=True)
    assert _tags(emulator, V2, threshold=50, limit=150) == [t for t in every if float(t["confidence"]) >= 50]
    assert _tags(emulator, V2, threshold=0, limit=4) == every[:4]
    assert (
        Emulator(drifts=("huawei.limit-ignored",))
        .post(V2, json={"image": IMAGE, "threshold": 0, "limit": 4}, auth=KEYS)
        .json()["result"]["tags"]
        == every
    )


def test_boxes_lie_inside_the_image():
    for seed in range(12):
        data = images.render(50 + seed * 20, 40 + seed * 9, seed, "png")
        answer = Emulator().post(V2, json={"image": base64.b64encode(data).decode(), "threshold": 0}, auth=KEYS)
        decoded = images.decode(data)
        for tag in answer.json()["result"]["tags"]:
            for instance in tag["instances"]:
                box = instance["bounding_box"]
                assert box["top_left_x"] >= 0 and box["top_left_x"] + box["width"] <= decoded.width
                assert box["top_left_y"] >= 0 and box["top_left_y"] + box["height"] <= decoded.height


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", "AIS.0014"),
        (b"[]", "AIS.0014"),
        (json.dumps({"image": IMAGE, "url": "http://127.0.0.1/x.jpg"}).encode(), "AIS.0501"),
        (json.dumps({"image": "@@@"}).encode(), "AIS.0501"),
        (json.dumps({"image": probes.encode(images.render(20, 20, 1, "gif"))}).encode(), "AIS.0502"),
        (json.dumps({"image": probes.encode(images.corrupt(images.render(60, 60, 1, "png"), 1))}).encode(), "AIS.0503"),
        (json.dumps({"image": probes.encode(images.render(15, 60, 1, "png"))}).encode(), "AIS.0504"),
        (json.dumps({"url": "ftp://x/y.jpg"}).encode(), "ModelArts.4601"),
    ],
)
def test_the_service_codes(emulator, body, expected):
    assert error(emulator.post(V2, data=body, auth=KEYS, headers={"Content-Type": "application/json"})) == (
        400,
        expected,
    )


def test_every_drift_is_known_to_the_catalogue():
    assert len(DRIFTS) >= 9
    assert len({drift.category for drift in DRIFTS}) == 10


def test_a_429_says_when_to_come_back():
    """§6.1: "the client should repeat requests after the time specified in the Retry-After header"."""
    emulator = Emulator(clock=Clock(START - START % 60 + 30), rate_per_minute=1)  # half-way through a minute
    assert emulator.post(V2, json={"image": IMAGE}, auth=KEYS).status_code == 200
    throttled = emulator.post(V2, json={"image": IMAGE}, auth=KEYS)
    assert throttled.status_code == 429 and throttled.json()["error_code"] == "APIG.0308"
    assert throttled.headers["Retry-After"] == "30"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_content_type_application_json_is_mandatory(content_type):
    """Table 3-3 makes it mandatory; without it the body is not read as JSON (x-assumption huawei-content-type)."""
    emulator = Emulator()
    headers = {"Content-Type": content_type} if content_type else {}
    answer = emulator.post(V1, data=json.dumps({"image": IMAGE}).encode(), headers=headers, auth=KEYS)
    assert answer.status_code == 400 and answer.json()["error_code"] == "AIS.0014"
    charset = emulator.post(
        V1, data=json.dumps({"image": IMAGE}), headers={"Content-Type": "application/json;charset=utf-8"}, auth=KEYS
    )
    assert charset.status_code == 200
