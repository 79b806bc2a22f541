"""SSRF by parser differential: every URL input of every emulator, fed the URLs on which two parsers disagree.

The test owns the socket layer while it runs: `guard` replaces `socket.getaddrinfo` with a recording
resolver (loopback literals and `localhost` only; every other name is recorded and fails without a
lookup) and `socket.socket.connect` with a recording guard (a non-loopback address is recorded and
refused before the kernel sees it). So nothing here can reach beyond loopback, even on a main where the
emulator's check and its HTTP client read `http://10.0.0.1\\@127.0.0.1/` differently; the assertion is
that no such connect, and no lookup of a foreign name, was even attempted. A real HTTP server on
127.0.0.2 (Linux routes all of 127/8 to lo) stands for "another host": it must never be asked anything.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from schemathesis.python import asgi

from imgconf import images
from imgconf.emulator import altum, fetch
from imgconf.emulator import huawei as huawei_emulator
from imgconf.emulator import identifai as identifai_emulator
from imgconf.emulator.config import EmulatorConfig
from imgconf.vendors.huawei.auth import sign_prepared

JPEG = images.render(64, 48, seed=15, fmt="jpeg")
FOREIGN = "10.0.0.1"  # never connected to: the guard refuses it before connect() reaches the kernel


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """What the emulator tried: every name it resolved and every address it connected to."""

    lookups: list[str] = field(default_factory=list)
    connects: list[Any] = field(default_factory=list)

    @property
    def foreign(self) -> list[str]:
        return [f"lookup {host}" for host in self.lookups if not _loopback(host)] + [
            f"connect {address}" for address in self.connects if not _loopback(str(address[0]))
        ]


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    seen = Guard()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        seen.lookups.append(name)
        if not _loopback(name):
            raise socket.gaierror(socket.EAI_NONAME, f"the test's resolver knows no {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        seen.connects.append(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(str(address[0])):
            raise ConnectionRefusedError(f"the test's guard refused a connect to {address!r}")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield seen


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(JPEG)))
        self.end_headers()
        self.wfile.write(JPEG)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class Server:
    host: str
    port: int
    hits: list[str]

    def url(self, path: str = "/image.jpg") -> str:
        return f"http://{self.host}:{self.port}{path}"


def _serve(host: str) -> Iterator[Server]:
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    httpd = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(host, httpd.server_address[1], hits)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def home() -> Iterator[Server]:
    """The loopback server the emulator may fetch from."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def other() -> Iterator[Server]:
    """Another host, as far as a URL can tell (127.0.0.2): the emulator must never ask it anything."""
    yield from _serve("127.0.0.2")


def payloads(home: Server, other: Server) -> list[str]:
    """URLs whose host one parser reads as loopback and another as somewhere else, or that are not loopback."""
    h, o = f"127.0.0.1:{home.port}", f"{other.host}:{other.port}"
    found = []
    for a in (FOREIGN, o, "evil.example"):
        found += [
            f"http://{a}\\@{h}/image.jpg",
            f"http://{a}\\\\@{h}/image.jpg",
            f"http://{h}\\@{a}/image.jpg",
            f"http://{h}@{a}/image.jpg",
            f"http://user:pass@{h}@{a}/image.jpg",
            f"http://{a}#@{h}/image.jpg",
            f"http://{a}?@{h}/image.jpg",
            f"http://{a};@{h}/image.jpg",
            f"http://{a}%23@{h}/image.jpg",
            f"http://{a}%2523@{h}/image.jpg",
            f"http://{h}%2F@{a}/image.jpg",
            f"http://{a}\t@{h}/image.jpg",
            f"http://{a}\n@{h}/image.jpg",
            f"http://{h} @{a}/image.jpg",
            f"http:\\\\{a}/image.jpg",
            f"http:/{a}/image.jpg",
            f"//{a}/image.jpg",
            f"HTTP://{a}/image.jpg",
        ]
    found += [
        f"http://[::1%25eth0]:{home.port}/image.jpg",
        f"http://[fe80::1%25lo]:{home.port}/image.jpg",
        f"http://[::ffff:{FOREIGN}]/image.jpg",
        f"http://[::ffff:127.0.0.2]:{other.port}/image.jpg",
        "http://%31%30.0.0.1/image.jpg",
        f"http://%31%32%37.0.0.2:{other.port}/image.jpg",
        "http://0x0a000001/image.jpg",
        "http://167772161/image.jpg",
        "http://012.0.0.1/image.jpg",
        "http://10.1/image.jpg",
        "http://localhost.evil.example/image.jpg",
        "http://127.0.0.1.nip.io/image.jpg",
        "http://127\u30020\u30020\u30021/image.jpg",
        f"http://{FOREIGN}/image.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[",
        "http://[::1",
        f"http://127.0.0.1:{home.port}:80/image.jpg",
        f"http://127.0.0.1:0x{home.port:x}/image.jpg",
    ]
    return found


KEY = altum.DEFAULT_CREDENTIALS[0]["api_key"]
HUAWEI = huawei_emulator.DEFAULT_CREDENTIALS[0]
IDENTIFAI = {"X-Api-Key": identifai_emulator.DEFAULT_CREDENTIALS[0]["api_key"], "Accept": "application/json"}


def _signed(session: requests.Session, url: str, body: dict[str, Any]) -> requests.Response:
    request = requests.Request("POST", url, json=body).prepare()
    now = datetime.now(UTC)
    sign_prepared(request, HUAWEI["ak"], HUAWEI["sk"], HUAWEI["project_id"], now=lambda: now)
    return session.send(request)


class Inputs:
    """The five URL inputs, each sending one URL and saying whether the emulator accepted it."""

    def __init__(self) -> None:
        options = {"rate_limits": False, "polls_until_done": 1, "seconds_until_done": 3600}
        self.altum = asgi.get_client(altum.create_app(EmulatorConfig()))
        self.huawei = asgi.get_client(huawei_emulator.create_app(EmulatorConfig()))
        self.identifai = asgi.get_client(identifai_emulator.create_app(EmulatorConfig(options=options)))
        self.seed = 0

    def altum_url(self, url: str) -> int:
        return self.altum.post(
            "http://altum.test/labelling/url", json={"url": url}, headers={"x-api-key": KEY}
        ).status_code

    def huawei_url(self, url: str) -> int:
        path = f"http://huawei.test/v2/{HUAWEI['project_id']}/image/tagging"
        return _signed(self.huawei, path, {"url": url}).status_code

    def identifai_file_url(self, url: str) -> int:
        """All three URL submissions; the image one's status (a JPEG is no video or speech: 400 there)."""
        codes = [
            self.identifai.post(
                f"http://identifai.test/api/{kind}_fromurl", data={"file_url": url}, headers=IDENTIFAI
            ).status_code
            for kind in ("image", "video", "audio")
        ]
        assert 500 not in codes, f"identifAI answered {codes} to {url!r}"
        return codes[0]

    def identifai_webhook_url(self, url: str) -> int:
        """Submit with the webhook, then read the result twice: the second read finishes it and delivers."""
        files = {"image": ("photo.jpg", JPEG, "image/jpeg"), "webhook_url": (None, url), "no_cache": (None, "true")}
        answer = self.identifai.post("http://identifai.test/api/classification", files=files, headers=IDENTIFAI)
        assert answer.status_code == 200, answer.text
        identifier = answer.json()["identifier"]
        for _ in range(2):
            read = self.identifai.get(f"http://identifai.test/api/classification/{identifier}", headers=IDENTIFAI)
            assert read.status_code == 200
        return 200


INPUTS = ("altum_url", "huawei_url", "identifai_file_url", "identifai_webhook_url")


def test_the_loopback_server_is_reachable_so_the_refusals_below_mean_something(guard, home, other):
    """The positive control: a plain loopback URL is fetched (and a webhook delivered) through the same guard."""
    inputs = Inputs()
    assert inputs.altum_url(home.url()) == 200
    assert inputs.huawei_url(home.url()) == 200
    assert inputs.identifai_file_url(home.url()) == 200
    inputs.identifai_webhook_url(home.url("/hook"))
    assert home.hits.count("/image.jpg") >= 5 and "/hook" in home.hits
    assert guard.foreign == [] and other.hits == []


def _checked_host(url: str) -> str | None:
    """The host the emulator's check on main read (urlsplit's), which the connection must agree with."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


@pytest.mark.parametrize("name", INPUTS)
def test_no_url_input_connects_beyond_loopback_or_anywhere_but_where_it_checked(guard, home, other, name):
    """Foreign addresses are never even connected to; a loopback server is only asked when the URL's host
    is that server for every parser (a URL that reads as 127.0.0.1 to one and 127.0.0.2 to another is refused)."""
    inputs = Inputs()
    send = getattr(inputs, name)
    for url in payloads(home, other):
        before = {server.host: len(server.hits) for server in (home, other)}
        status = send(url)
        assert status != 500, f"{name} answered 500 to {url!r}"
        assert guard.foreign == [], f"{name} tried {guard.foreign} for {url!r}"
        asked = [server.host for server in (home, other) if len(server.hits) > before[server.host]]
        assert asked in ([], [_checked_host(url)]), (
            f"{name} asked {asked} for {url!r}, whose host reads as {_checked_host(url)}"
        )


def test_the_socket_layer_refuses_what_the_parser_would_let_through():
    """The second net: even a Target built by hand for a foreign address is refused before connect()."""
    forged = fetch.Target("http", FOREIGN, 80, "/", FOREIGN)
    with pytest.raises(fetch.NotLoopback):
        fetch._connection(forged).connect()
    for host in ("10.0.0.1", "evil.example", "::ffff:10.0.0.1", "fe80::1%lo", ""):
        with pytest.raises(fetch.NotLoopback):
            fetch.guard(host)
    fetch.guard("127.0.0.2")
    fetch.guard("::1")
