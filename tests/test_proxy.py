"""`imgconf proxy`: what passes through it is unchanged, and what the vendor or the application got wrong is found.

The emulators are served over real HTTP on loopback (proxy_support.emulators), the relay runs on its own
event loop, and the traffic is an application's: each vendor's documented sample requests, then the calls
an application makes day to day (uploads, URLs, parameters, the odd missing key). Huawei's traffic goes
through the proxy as an HTTP forward proxy, so its AK/SK signatures cover the upstream's Host.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests

from imgconf import emulator
from imgconf.proxy.relay import Upstream
from proxy_support import (
    TRAFFIC,
    Client,
    Relays,
    config,
    documented_samples,
    emulators,
    outcome_of,
    send,
    settled,
)

VENDORS = ["altum", "identifai", "imagerecognize", "huawei"]
FORWARD = {"huawei"}  # signed for the upstream's Host: sent through the proxy as an HTTP proxy
VOLATILE = {"date", "x-request-id"}  # differ between any two answers, proxied or not

# Drifts no single exchange shows, with why: the proxy judges each exchange alone, as it passes.
EXCLUDED = {
    "altum.latency": "one answer in 25 over a second is a tail statistic over many exchanges",
    "identifai.latency": "one answer in 25 over a second is a tail statistic over many exchanges",
    "imagerecognize.latency": "one answer in 25 over a second is a tail statistic over many exchanges",
    "huawei.latency": "one answer in 25 over a second is a tail statistic over many exchanges",
    "altum.nondeterministic": "needs the same photo answered twice, compared",
    "identifai.webhook-for-cached": "the webhook call goes from the vendor to the application, not through the proxy",
    "identifai.never-done": "'never' is a lifecycle over many polls: each single answer 'new' is valid",
    "imagerecognize.quota-frozen": "needs two consecutive answers' quotas, compared",
    "imagerecognize.cache-stale": "needs the key's latest result, from an earlier exchange",
    "huawei.signature-not-verified": "whether a signature is valid needs the secret key, which the proxy never has",
    "huawei.expired-token-accepted": "a token's age is known only from the exchange that issued it, 24 hours before",
    "huawei.lockout-never": "a lockout is a count of failed signatures over many exchanges",
}
# The application mistakes the traffic makes on purpose (a request with no key, an empty body, too many ids).
DELIBERATE = {
    "altum": {"application.request.missing-parameter"},
    "identifai": {"application.request.missing-parameter", "application.request.invalid-parameter"},
    "imagerecognize": {"application.request.missing-parameter"},
    "huawei": set(),
}


def catalogue() -> list[tuple[str, str, tuple[str, ...]]]:
    return [(vendor, drift.name, drift.breaks) for vendor in VENDORS for drift in emulator.get(vendor).drifts]


CAUGHT = [item for item in catalogue() if item[1] not in EXCLUDED]


@pytest.fixture(scope="module")
def relays():
    running = Relays()
    yield running
    running.close()


@pytest.fixture(scope="module")
def swept(relays):
    """Every vendor's traffic through the proxy, against the faithful emulator and against each drift."""
    cases = [(vendor, None) for vendor in VENDORS] + [(vendor, name) for vendor, name, _ in CAUGHT]
    outcomes = {}
    with emulators([(vendor, config(frozenset({name}) if name else frozenset())) for vendor, name in cases]) as urls:
        for (vendor, name), url in zip(cases, urls, strict=True):
            proxy, seen = relays.start(url)
            client = Client(vendor, url, proxy=proxy) if vendor in FORWARD else Client(vendor, proxy)
            TRAFFIC[vendor](client)
            outcomes[name or vendor] = outcome_of(vendor, url, settled(seen, client.sent))
    return outcomes


def vendor_rules(outcome) -> set[str]:
    return {finding.rule["id"] for finding in outcome.findings if finding.kind != "application"}


def test_every_drift_is_swept_or_excluded_with_a_reason():
    names = {name for _, name, _ in catalogue()}
    assert set(EXCLUDED) <= names, set(EXCLUDED) - names
    assert len(CAUGHT) + len(EXCLUDED) == len(names)
    assert all(reason for reason in EXCLUDED.values())


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_faithful_emulator_gives_no_vendor_finding(swept, vendor):
    outcome = swept[vendor]
    assert vendor_rules(outcome) == set(), [f.message for f in outcome.findings]
    assert str(outcome.vendors[0].state) == "conformant"
    mistakes = {finding.rule["id"] for finding in outcome.findings if finding.kind == "application"}
    assert mistakes == DELIBERATE[vendor]
    assert outcome.exit_code == 0  # the application's own mistakes never fail the vendor


@pytest.mark.parametrize(("vendor", "drift", "breaks"), CAUGHT, ids=[name for _, name, _ in CAUGHT])
def test_each_drift_seen_through_the_proxy_names_a_rule_it_breaks(swept, vendor, drift, breaks):
    outcome = swept[drift]
    found = vendor_rules(outcome)
    assert found & set(breaks), f"{drift} breaks {breaks}; the proxy found {sorted(found)}"
    assert str(outcome.vendors[0].state) == "non-conformant"


@pytest.mark.parametrize("vendor", VENDORS)
def test_documented_samples_get_the_same_answers_through_the_proxy(relays, vendor):
    """Two identical emulators: one called directly, one through the proxy; every answer is the same bytes."""
    with emulators([(vendor, config()), (vendor, config())]) as (direct, behind):
        proxy, seen = relays.start(behind)
        plain, proxied = requests.Session(), requests.Session()
        base = proxy
        if vendor in FORWARD:
            proxied.proxies, base = {"http": proxy}, behind
        samples = documented_samples(vendor)
        assert samples
        for request in samples:
            one, other = send(plain, direct, request, vendor), send(proxied, base, request, vendor)
            assert one.status_code == other.status_code
            assert one.content == other.content
            assert _stable(one.headers) == _stable(other.headers)
        outcome = outcome_of(vendor, behind, settled(seen, len(samples)))
    assert len(seen) == len(samples)
    assert vendor_rules(outcome) == set()


def _stable(headers) -> list[tuple[str, str]]:
    return sorted((name.lower(), value) for name, value in headers.items() if name.lower() not in VOLATILE)


# -- byte for byte, both ways -----------------------------------------------------------------------------


class Echo:
    """An upstream that keeps the raw bytes of each request it gets and answers one fixed, chunked reply."""

    REPLY = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Odd:  two  spaces\r\n"
        b'\r\n5;ext=1\r\n{"a":\r\n3\r\n 1}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )

    def __init__(self) -> None:
        self.received: list[bytes] = []  # each request's bytes, as they arrived
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            connection, _ = self.sock.accept()
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection:
            data = b""
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                if not _:
                    continue
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    None,
                )
                done = len(body) >= length if length is not None else body.endswith(b"0\r\n\r\n")
                if done:
                    self.received.append(data)
                    data = b""
                    connection.sendall(self.REPLY)


def _raw(url: str, data: bytes) -> bytes:
    parts = Upstream.parse(url)
    with socket.create_connection((parts.host, parts.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while not received.endswith(b"\r\n\r\n") or b"0\r\nX-Trailer" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_requests_and_answers_pass_byte_for_byte(relays):
    """A multipart upload (odd header spacing kept) then a chunked one on the same connection; the upstream gets
    the very bytes sent (the Host line aside, rewritten to it), the client the very bytes answered."""
    echo = Echo()
    proxy, seen = relays.start(echo.url)
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png'
        b"\r\n\r\n" + bytes(range(256)) * 40 + b"\r\n--XyZ--\r\n"
    )
    first = (
        b"POST /labelling/img?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key:   spaced \r\n"
        b"Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    second = (
        b"POST /labelling/url HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n4\r\n{"ur\r\n9\r\nl": "x"}\n\r\n0\r\n\r\n'
    )
    upstream_host = echo.url.removeprefix("http://").encode()
    answer = _raw(proxy, first + body)
    assert answer == Echo.REPLY
    assert echo.received[0] == first.replace(b"Host: 127.0.0.1", b"Host: " + upstream_host) + body
    assert _raw(proxy, second) == Echo.REPLY
    assert echo.received[1] == second.replace(b"Host: 127.0.0.1", b"Host: " + upstream_host)
    assert seen[0].request.size == len(body) and seen[0].status == 200
    assert b"<10240 bytes, sha256" in seen[0].request.close()  # the image part is kept as its digest only


# -- when things go wrong ----------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_upstream_that_is_down_gets_a_502_and_the_report_says_unreachable(relays):
    upstream = f"http://127.0.0.1:{_closed_port()}"
    proxy, seen = relays.start(upstream)
    response = requests.post(proxy + "/labelling/url", json={"url": "http://127.0.0.1/x.jpg"}, timeout=10)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream unreachable"
    assert len(response.content) < 200
    again = requests.post(proxy + "/labelling/url", json={}, timeout=10)  # the proxy is still there
    assert again.status_code == 502
    outcome = outcome_of("altum", upstream, settled(seen, 2))
    assert str(outcome.vendors[0].state) == "unreachable"
    assert outcome.findings == []
    assert outcome.exit_code == 3


def test_the_forward_proxy_serves_only_its_upstream_and_refuses_tunnels(relays):
    echo = Echo()
    proxy, seen = relays.start(echo.url)
    other = requests.get("http://127.0.0.2:9/api", proxies={"http": proxy}, timeout=10)
    assert other.status_code == 403 and "forwards only to" in other.json()["error"]
    port = Upstream.parse(proxy).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"CONNECT api.altum.ai:443 HTTP/1.1\r\nHost: api.altum.ai:443\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 501 ")
    assert seen == [] and echo.received == []


def test_forward_requests_go_to_the_upstream_they_name_and_reverse_ones_to_the_first(relays):
    service, iam = Echo(), Echo()
    proxy, seen = relays.start(service.url, also=[iam.url])
    chunked = "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    for target, host in ((f"{iam.url}/v3/projects", iam.url), (f"{service.url}/v1.0/image/tagging", service.url)):
        host = host.removeprefix("http://")
        assert _raw(proxy, f"POST {target} HTTP/1.1\r\nHost: {host}\r\n{chunked}".encode()) == Echo.REPLY
    assert _raw(proxy, f"POST /v1.0/image/tagging HTTP/1.1\r\nHost: x\r\n{chunked}".encode()) == Echo.REPLY
    assert len(iam.received) == 1 and iam.received[0].startswith(b"POST /v3/projects HTTP/1.1")
    assert len(service.received) == 2
    assert [proxied.url for proxied in settled(seen, 3)] == [
        f"{iam.url}/v3/projects",
        f"{service.url}/v1.0/image/tagging",
        f"{service.url}/v1.0/image/tagging",
    ]


def test_a_malformed_request_gets_a_400_and_the_proxy_carries_on(relays):
    echo = Echo()
    proxy, _ = relays.start(echo.url)
    port = Upstream.parse(proxy).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: many\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ") and json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]
    assert _raw(proxy, b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == Echo.REPLY


def test_a_capture_keeps_json_fields_but_not_the_image():
    from imgconf.proxy.capture import BodyCapture

    capture = BodyCapture("application/json")
    body = json.dumps({"image": "A" * 3_000_000, "threshold": 10, "limit": 5, "escaped": 'say "hi"\\'}).encode()
    for start in range(0, len(body), 7919):  # chunks that split strings and escapes anywhere
        capture.feed(body[start : start + 7919])
    kept = json.loads(capture.close())
    assert kept["threshold"] == 10 and kept["limit"] == 5 and kept["escaped"] == 'say "hi"\\'
    assert len(kept["image"]) <= 512 and capture.size == len(body) and not capture.whole


def test_a_capture_of_a_multipart_upload_keeps_fields_and_digests_files():
    from imgconf.proxy.capture import BodyCapture
    from imgconf.wire.multipart import parts

    image = bytes(range(256)) * 20_000
    body = (
        b'--b0\r\nContent-Disposition: form-data; name="type"\r\n\r\nobjects\r\n'
        b'--b0\r\nContent-Disposition: form-data; name="file"; filename="i.jpg"\r\n\r\n' + image + b"\r\n--b0--\r\n"
    )
    capture = BodyCapture("multipart/form-data; boundary=b0")
    for start in range(0, len(body), 4093):
        capture.feed(body[start : start + 4093])
    kept = capture.close()
    found = {part["name"]: part["bytes"] for part in parts("multipart/form-data; boundary=b0", kept)}
    assert found["type"] == b"objects"
    assert found["file"].startswith(f"<{len(image)} bytes, sha256 ".encode())
    assert len(kept) < 1000


def test_the_relay_runs_without_blocking_on_a_slow_checker():
    """The relay hands exchanges to a queue that never blocks: a full queue drops the check, not the request."""
    from imgconf.proxy.checking import QUEUE, Checker

    class Finished:
        def snapshot(self) -> str:
            return "exchange"

    checker = Checker(check=lambda proxied: None, flush=lambda final: None, flush_every=3600)
    for _ in range(QUEUE + 5):  # no checking process started: nothing is taken off the queue
        checker.submit(Finished())  # type: ignore[arg-type]
    assert checker.counters.relayed == QUEUE + 5 and checker.counters.dropped == 5
