"""The one SDK-HMAC-SHA256 implementation, held to Huawei's published test vector, to the official SDK's
own signer, and to what the official SDK puts on the wire (captured on loopback)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from imgconf.vendors.huawei.auth import HuaweiAuth, sign_prepared
from imgconf.wire import signing

# Huawei's worked example (api-sign-algorithm-002..004; research/vendors-huawei.md §1.5).
VECTOR_AK = "QTWAOYTTINDUT2QVKYUC"
VECTOR_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
VECTOR_MESSAGE = signing.Message(
    "GET",
    "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
    "marker=13551d6b-755d-4757-b956-536f674975c0&limit=2",
    {"Content-Type": "application/json", "Host": "service.region.example.com", "X-Sdk-Date": "20191115T033655Z"},
    b"",
)
VECTOR_CANONICAL = (
    "GET\n"
    "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
    "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
    "content-type:application/json\n"
    "host:service.region.example.com\n"
    "x-sdk-date:20191115T033655Z\n"
    "\n"
    "content-type;host;x-sdk-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)
VECTOR_HASH = "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
VECTOR_SIGNATURE = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
VECTOR_AUTHORIZATION = (
    "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
    "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
)
SIGNED = ("content-type", "host", "x-sdk-date")


def test_the_published_test_vector():
    canonical = VECTOR_MESSAGE.canonical(SIGNED)
    assert canonical == VECTOR_CANONICAL
    assert hashlib.sha256(canonical.encode()).hexdigest() == VECTOR_HASH
    to_sign = signing.string_to_sign(canonical, "20191115T033655Z")
    assert to_sign == f"SDK-HMAC-SHA256\n20191115T033655Z\n{VECTOR_HASH}"
    assert signing.signature(VECTOR_SK, to_sign) == VECTOR_SIGNATURE
    assert signing.sign(VECTOR_MESSAGE, VECTOR_AK, VECTOR_SK, SIGNED) == VECTOR_AUTHORIZATION


def test_the_test_vector_verifies_and_nothing_else_does():
    parsed = signing.parse_authorization(VECTOR_AUTHORIZATION)
    assert parsed == signing.Authorization("SDK-HMAC-SHA256", VECTOR_AK, SIGNED, VECTOR_SIGNATURE)
    assert signing.verify(VECTOR_MESSAGE, parsed, VECTOR_SK)
    assert not signing.verify(VECTOR_MESSAGE, parsed, VECTOR_SK + "x")
    for changed in (
        signing.Message("GET", VECTOR_MESSAGE.path + "x", VECTOR_MESSAGE.query, VECTOR_MESSAGE.headers, b""),
        signing.Message("GET", VECTOR_MESSAGE.path, "limit=3", VECTOR_MESSAGE.headers, b""),
        signing.Message("POST", VECTOR_MESSAGE.path, VECTOR_MESSAGE.query, VECTOR_MESSAGE.headers, b""),
        signing.Message("GET", VECTOR_MESSAGE.path, VECTOR_MESSAGE.query, VECTOR_MESSAGE.headers, b"{}"),
        signing.Message(
            "GET", VECTOR_MESSAGE.path, VECTOR_MESSAGE.query, {**VECTOR_MESSAGE.headers, "Host": "other.example"}, b""
        ),
    ):
        assert not signing.verify(changed, parsed, VECTOR_SK), changed


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/v2/0123abc/image/tagging", "/v2/0123abc/image/tagging/"),
        ("/v1.0/image/tagging", "/v1.0/image/tagging/"),
        ("/v3/projects", "/v3/projects/"),
        ("/", "/"),
        ("", "/"),
        ("/already/", "/already/"),
        ("/v2/%7Bproject_id%7D/image/tagging", "/v2/%7Bproject_id%7D/image/tagging/"),
        ("/v2/{project_id}/image/tagging", "/v2/%7Bproject_id%7D/image/tagging/"),
        ("/a b/~x", "/a%20b/~x/"),
    ],
)
def test_the_canonical_uri_ends_in_a_slash(path, canonical):
    assert signing.canonical_uri(path) == canonical


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("name=cn-north-4", "name=cn-north-4"),
        ("b=2&a=1&a=0", "a=0&a=1&b=2"),
        ("parm2=&parm1=x", "parm1=x&parm2="),
        ("q=a+b", "q=a%20b"),
        ("q=a%20b~", "q=a%20b~"),
        ("q=%E4%BA%BA", "q=%E4%BA%BA"),
    ],
)
def test_the_canonical_query(query, canonical):
    assert signing.canonical_query(signing.parse_query(query)) == canonical


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256, Access=AK, SignedHeaders=host;x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=AK,SignedHeaders=host;x-sdk-date,Signature=00",
        "SDK-HMAC-SM3 Access=AK, SignedHeaders=host;x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host;x-sdk-date, Signature=00",
        "SDK-HMAC-SHA256 Credential=AK/20150907//ec2/sdk_request, SignedHeaders=host, Signature=00",
    ],
)
def test_malformed_authorization_headers_are_not_parsed(value):
    assert signing.parse_authorization(value) is None


def test_the_payload_hash_is_over_raw_bytes_or_the_declared_value():
    body = b'{"b": 1,  "a":2}'
    assert signing.payload_hash(body, {}) == hashlib.sha256(body).hexdigest()
    assert signing.payload_hash(b"", {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}) == signing.EMPTY_HASH
    assert signing.payload_hash(body, {"x-sdk-content-sha256": "UNSIGNED-PAYLOAD"}) == "UNSIGNED-PAYLOAD"


def test_a_requests_request_signed_by_the_scheme_verifies():
    prepared = requests.Request(
        "POST", "http://127.0.0.1:8700/v2/p1/image/tagging?b=2&a=x+y", json={"image": "aGk=", "language": "en"}
    ).prepare()
    HuaweiAuth().apply(prepared, {"ak": "AKEXAMPLE", "sk": "SKEXAMPLE0", "project_id": "p1"})
    assert prepared.url == "http://127.0.0.1:8700/v2/p1/image/tagging?a=x%20y&b=2"
    assert prepared.headers["Host"] == "127.0.0.1:8700"
    assert prepared.headers["X-Project-Id"] == "p1"
    parsed = signing.parse_authorization(prepared.headers["Authorization"])
    assert parsed is not None and parsed.signed_headers == ("content-type", "host", "x-project-id", "x-sdk-date")
    message = signing.Message(
        "POST", "/v2/p1/image/tagging", "a=x%20y&b=2", dict(prepared.headers), prepared.body or b""
    )
    assert signing.verify(message, parsed, "SKEXAMPLE0")


def test_iam_paths_get_no_project_header_and_tokens_are_not_signed():
    iam = requests.Request("GET", "http://127.0.0.1:1/v3/projects", params={"name": "cn-north-4"}).prepare()
    HuaweiAuth().apply(iam, {"ak": "AKEXAMPLE", "sk": "SKEXAMPLE0", "project_id": "p1"})
    assert "X-Project-Id" not in iam.headers
    token = requests.Request("POST", "http://127.0.0.1:1/v1.0/image/tagging", json={}).prepare()
    HuaweiAuth().apply(token, {"token": "MIItoken", "ak": "AKEXAMPLE", "sk": "SKEXAMPLE0"})
    assert token.headers["X-Auth-Token"] == "MIItoken" and "Authorization" not in token.headers


def test_invalid_credentials_keep_the_project():
    invalid = HuaweiAuth().invalid({"ak": "AKEXAMPLE", "sk": "SKEXAMPLE0", "project_id": "p1", "token": "MIIabc"})
    assert invalid["project_id"] == "p1"
    assert all(
        invalid[name] != value for name, value in (("ak", "AKEXAMPLE"), ("sk", "SKEXAMPLE0"), ("token", "MIIabc"))
    )


# -- against the official SDK ---------------------------------------------------------------------------


def test_the_same_authorization_as_the_sdk_signer():
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer

    body = json.dumps({"image": "aGVsbG8=", "language": "zh", "limit": 5, "threshold": 60.0}).encode()
    headers = {
        "Content-Type": "application/json;charset=utf-8",
        "X-Project-Id": "0123456789abcdef0123456789abcdef",
        "X-Sdk-Date": "20261121T233909Z",
        "User-Agent": "huaweicloud-usdk-python/3.0",
    }
    sdk_request = SdkRequest(
        method="POST",
        schema="http",
        host="127.0.0.1:8700",
        resource_path="/v2/0123456789abcdef0123456789abcdef/image/tagging",
        query_params=[("name", "a b"), ("limit", 2)],
        header_params=dict(headers),
        body=body,
    )
    credentials = BasicCredentials("TESTAK", "TESTSK", "0123456789abcdef0123456789abcdef")
    signed = Signer(credentials).sign(sdk_request)
    sdk_authorization = signed.header_params["Authorization"]
    ours = signing.Message(
        "POST",
        "/v2/0123456789abcdef0123456789abcdef/image/tagging",
        "name=a%20b&limit=2",
        {**headers, "Host": "127.0.0.1:8700"},
        body,
    )
    names = signing.parse_authorization(sdk_authorization).signed_headers
    assert signing.sign(ours, "TESTAK", "TESTSK", names) == sdk_authorization


class _Capture(BaseHTTPRequestHandler):
    captured: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        _Capture.captured.append({"path": path, "query": query, "headers": dict(self.headers.items()), "body": body})
        answer = b'{"result": {"tags": []}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Request-Id", "0" * 32)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_what_the_sdk_sends_verifies_and_is_reproduced(tmp_path, monkeypatch):
    """The real SDK, pointed at a loopback server that records the request as received."""
    monkeypatch.setenv("HOME", str(tmp_path))  # the SDK writes ~/.huaweicloud/application_id
    for name in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_PROJECT_ID", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkimage.v2 import ImageClient, ImageTaggingReq, RunImageTaggingRequest

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Capture.captured.clear()
    try:
        project = "0123456789abcdef0123456789abcdef"
        client = (
            ImageClient.new_builder()
            .with_credentials(BasicCredentials("TESTAK", "TESTSK", project))
            .with_endpoint(f"http://127.0.0.1:{server.server_address[1]}")
            .build()
        )
        body = ImageTaggingReq(url="https://x/y.jpg", language="en", threshold=60.0, limit=5)
        client.run_image_tagging(RunImageTaggingRequest(body=body))
    finally:
        server.shutdown()
        server.server_close()
    (request,) = _Capture.captured
    assert request["path"] == f"/v2/{project}/image/tagging"
    parsed = signing.parse_authorization(request["headers"]["Authorization"])
    assert parsed is not None and parsed.access_key == "TESTAK" and "x-sdk-date" in parsed.signed_headers
    message = signing.Message("POST", request["path"], request["query"], request["headers"], request["body"])
    assert signing.verify(message, parsed, "TESTSK")
    assert not signing.verify(message, parsed, "WRONGSK")
    # Our client-side signer, given the same date, sends the same Authorization.
    prepared = requests.Request(
        "POST",
        f"http://{request['headers']['Host']}{request['path']}",
        data=request["body"],
        headers={name: value for name, value in request["headers"].items() if name.lower() != "authorization"},
    ).prepare()
    sent_at = signing.parse_date(request["headers"]["X-Sdk-Date"])
    sign_prepared(
        prepared, "TESTAK", "TESTSK", project, now=lambda: sent_at or datetime.now(), extra_signed=("user-agent",)
    )
    assert prepared.headers["Authorization"] == request["headers"]["Authorization"]
