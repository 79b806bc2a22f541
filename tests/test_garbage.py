"""The garbage corpus: the five causes of the 500s the hardening probe found, and malformed multipart, sent to
every operation of every vendor's spec, in-process. None may be answered 500, and every answer is in the
vendor's own style: a JSON body (identifAI's plain-text identifier aside, which no garbage earns).

On main this answered 500 to deeply nested JSON, to integers of more than 4,300 digits (Python's int limit)
in JSON and in form fields, to Huawei's `limit` of 10^400, and to `http://[` as a URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from schemathesis.python import asgi

from imgconf import images, vendors
from imgconf.emulator import get as emulator_for
from imgconf.emulator.config import EmulatorConfig
from imgconf.vendors.huawei import probes
from imgconf.vendors.huawei.auth import sign_prepared

LONG = "1" + "0" * 5000  # past Python's 4,300-digit limit for int <-> str
DEEP = 100_000
JPEG = images.render(32, 24, seed=3, fmt="jpeg")
IMAGE_B64 = probes.encode(images.render(120, 90, seed=4, fmt="jpeg"))


@dataclass(frozen=True)
class Garbage:
    name: str
    content_type: str
    body: bytes


def _json(text: str) -> Garbage:
    return Garbage("json", "application/json", text.encode())


def corpus(fields: tuple[str, ...]) -> Iterator[Garbage]:
    """Every cause, shaped for an operation whose body has `fields` (all are tried in every one of them)."""
    yield Garbage("deep-array", "application/json", b"[" * DEEP + b"]" * DEEP)
    yield Garbage("deep-object", "application/json", b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    yield Garbage("deep-ok-depth-900", "application/json", b"[" * 900 + b"]" * 900)
    yield Garbage("long-integer", "application/json", f'{{"x": {LONG}}}'.encode())
    yield Garbage("long-float", "application/json", f'{{"x": {LONG}.5e99999}}'.encode())
    for name in fields:
        for value in (LONG, f"-{LONG}", "1e400", f'"{LONG}"', '"http://["', "[" * 5000 + "]" * 5000):
            yield Garbage(f"json {name}={value[:12]}", "application/json", f'{{"{name}": {value}}}'.encode())
        yield Garbage(
            f"json {name} beside an image",
            "application/json",
            json.dumps({"image": IMAGE_B64}).encode()[:-1] + f', "{name}": {LONG}}}'.encode(),
        )
        for value in (
            LONG,
            f"-{LONG}",
            "http://[",
            "http://[::1",
            "%ff%fe",
            "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
        ):
            encoded = f"{name}={requests.utils.quote(value)}&apikey=imagerecognize-emulator-key&type=objects"
            yield Garbage(f"form {name}={value[:12]}", "application/x-www-form-urlencoded", encoded.encode())
    yield from malformed_multipart(fields)


def malformed_multipart(fields: tuple[str, ...]) -> Iterator[Garbage]:
    def mp(body: bytes, boundary: str = "b0undary") -> Garbage:
        return Garbage("multipart", f"multipart/form-data; boundary={boundary}", body)

    part = b'--b0undary\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n' + JPEG
    yield Garbage("multipart without boundary", "multipart/form-data", part + b"\r\n--b0undary--\r\n")
    yield mp(part + b"\r\n--b0undary--\r\n", boundary="")
    yield mp(part + b"\r\n--b0undary--\r\n", boundary="x" * 300)
    yield mp(part)  # never closed
    yield mp(part[: len(part) // 2])  # cut in the middle of the file
    yield mp(b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--b0undary--\r\n")  # no name
    yield mp(b"--b0undary\r\nno colon in this header\r\n\r\nvalue\r\n--b0undary--\r\n")
    yield mp(b"--b0undary\r\n" + b"X-A: " + b"a" * 100_000 + b"\r\n\r\nvalue\r\n--b0undary--\r\n")
    yield mp(b'--b0undary\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\n\xff\r\n--b0undary--\r\n')
    yield mp(b"garbage before any boundary" * 100)
    yield mp(
        b"".join(b'--b0undary\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i for i in range(1500))
        + b"--b0undary--\r\n"
    )
    yield mp(
        b"".join(
            b'--b0undary\r\nContent-Disposition: form-data; name="f"; filename="%d"\r\n\r\nv\r\n' % i
            for i in range(1200)
        )
        + b"--b0undary--\r\n"
    )
    for name in fields:
        yield mp(
            b'--b0undary\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n--b0undary--\r\n'
            % (name.encode(), LONG.encode())
        )
    yield mp(b"--b0undary--\r\n")  # only the end
    yield Garbage("multipart with a body of zeros", "multipart/form-data; boundary=b0undary", b"\0" * 4096)


# The fields of each vendor's bodies and queries, as its spec names them (and `limit` everywhere).
FIELDS = {
    "altum": ("url", "image"),
    "huawei": ("url", "image", "limit", "threshold", "language", "auth"),
    "identifai": (
        "file_url",
        "webhook_url",
        "frames",
        "classification",
        "id",
        "pricing_id",
        "per_page",
        "page",
        "email",
    ),
    "imagerecognize": ("max_labels", "min_confidence", "nsfw_min_confidence", "apikey", "type"),
}
HUAWEI = vendors.get("huawei")


def session(vendor: str) -> requests.Session:
    options = {"rate_limits": False} if vendor == "identifai" else {}
    return asgi.get_client(emulator_for(vendor).create_app(EmulatorConfig(options=options)))


def authorise(vendor: str) -> Callable[[requests.PreparedRequest], None]:
    credentials = emulator_for(vendor).default_credentials[0]

    def apply(request: requests.PreparedRequest) -> None:
        if vendor == "altum":
            request.headers["x-api-key"] = credentials["api_key"]
        elif vendor == "identifai":
            request.headers["X-Api-Key"] = credentials["api_key"]
            request.headers["Accept"] = "application/json"
        elif vendor == "huawei":
            now = datetime.now(UTC)
            sign_prepared(request, credentials["ak"], credentials["sk"], credentials["project_id"], now=lambda: now)

    return apply


def concrete(vendor: str, path: str) -> str:
    project = emulator_for("huawei").default_credentials[0]["project_id"]
    return re.sub(r"\{[^}]+\}", lambda match: project if match.group(0) == "{project_id}" else "0" * 64, path)


OPERATIONS = [
    (vendor.id, operation.method, operation.path)
    for vendor in vendors.all_vendors().values()
    for spec in vendor.specs
    for operation in spec.operations
]


@pytest.mark.parametrize(("vendor", "method", "path"), OPERATIONS, ids=[f"{v} {m} {p}" for v, m, p in OPERATIONS])
def test_no_garbage_gets_a_500_and_every_answer_is_in_the_vendors_style(vendor, method, path):
    client, sign = session(vendor), authorise(vendor)
    url = f"http://{vendor}.test{concrete(vendor, path)}"
    failures = []
    for garbage in corpus(FIELDS[vendor]):
        if method == "GET":
            query = {name: LONG for name in FIELDS[vendor]} | {"identifiers[]": LONG}
            request = requests.Request("GET", url, params=query).prepare()
        else:
            request = requests.Request(method, url, data=garbage.body, headers={"Content-Type": garbage.content_type})
            request = request.prepare()
        sign(request)
        response = client.send(request)
        if response.status_code >= 500:
            failures.append(f"{garbage.name}: {response.status_code} {response.text[:120]!r}")
            continue
        if vendor != "imagerecognize" or response.status_code != 301:
            try:
                json.loads(response.content or b"null")
            except ValueError:
                failures.append(f"{garbage.name}: {response.status_code} is not JSON: {response.text[:80]!r}")
        if method == "GET":
            break  # one query of long integers is the whole corpus of a GET
    assert not failures, "\n".join(failures)


def test_huawei_limit_of_ten_to_the_400_is_the_documented_parameter_error():
    """A number no double holds is out of range like any other: AIS.0501, on both versions."""
    client, sign = session("huawei"), authorise("huawei")
    for path in ("/v1.0/image/tagging", concrete("huawei", "/v2/{project_id}/image/tagging")):
        body = f'{{"image": "{IMAGE_B64}", "limit": 1{"0" * 400}}}'
        headers = {"Content-Type": "application/json"}
        request = requests.Request("POST", f"http://huawei.test{path}", data=body, headers=headers).prepare()
        sign(request)
        response = client.send(request)
        assert (response.status_code, response.json()["error_code"]) == (400, "AIS.0501"), response.text


@pytest.mark.parametrize(
    ("vendor", "path", "body", "expected"),
    [
        ("altum", "/labelling/url", {"url": "http://["}, (400, {"detail": "The URL is not valid"})),
        ("huawei", "/v1.0/image/tagging", {"url": "http://["}, (400, "ModelArts.4601")),
        (
            "identifai",
            "/api/image_fromurl",
            {"file_url": "http://["},
            (400, {"error": "The file_url field must be a valid URL."}),
        ),
    ],
)
def test_an_unclosed_ipv6_url_is_the_documented_bad_url(vendor, path, body, expected):
    client, sign = session(vendor), authorise(vendor)
    request = requests.Request("POST", f"http://{vendor}.test{path}", json=body).prepare()
    sign(request)
    response = client.send(request)
    shown = response.json()["error_code"] if vendor == "huawei" else response.json()
    assert (response.status_code, shown) == expected
