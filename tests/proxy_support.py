"""What the proxy tests share: emulators served over real HTTP on loopback, relays in front of them, traffic.

One uvicorn server (in a thread) serves any number of emulator apps, one loopback port each, through the
emulator's own `PortDispatcher`, exactly as `imgconf emulator serve` does; one asyncio loop (in another
thread) runs the proxy's relays. Starting both once per module keeps the proxy tests fast: a drift sweep
needs one emulator and one relay per drift, not one process each.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import uvicorn

from conftest import Forked, clean_env, started
from imgconf import emulator, images
from imgconf import vendors as registry
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.server import PortDispatcher, bind
from imgconf.proxy.checking import Counters
from imgconf.proxy.relay import Proxied, Relay, Upstream
from imgconf.proxy.session import ProxyRun, Window
from imgconf.testing import examples
from imgconf.vendors.huawei.auth import DEFAULT_PROJECT_NAME, token_request


@contextmanager
def emulators(configs: list[tuple[str, EmulatorConfig]]) -> Iterator[list[str]]:
    """Each (vendor, config) served on its own loopback port by one uvicorn server; yields their URLs."""
    sockets = bind("127.0.0.1", [0] * len(configs))
    apps = {}
    urls = []
    for (vendor, config), sock in zip(configs, sockets, strict=True):
        port = sock.getsockname()[1]
        apps[port] = emulator.get(vendor).create_app(config)
        urls.append(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(PortDispatcher(apps), log_level="error", lifespan="off", access_log=False))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=sockets)), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the emulators did not start"
        time.sleep(0.02)
    try:
        yield urls
    finally:
        server.should_exit = True
        thread.join(10)


def config(drifts: frozenset[str] = frozenset()) -> EmulatorConfig:
    return EmulatorConfig(drifts=drifts, options={"rate_limits": False})


@dataclass
class Relays:
    """An event loop in a thread, running relays; each relay's exchanges collect in its own list."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    servers: list[asyncio.Server] = field(default_factory=list)
    relays: list[Relay] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def start(
        self, upstream: str, *, also: tuple[str, ...] | list[str] = (), keep_host: bool = False, sink: Any = None
    ) -> tuple[str, list[Proxied]]:
        seen: list[Proxied] = []
        extra = [Upstream.parse(url) for url in also]
        relay = Relay(Upstream.parse(upstream), sink or seen.append, also=extra, keep_host=keep_host)
        self.relays.append(relay)

        async def listen() -> asyncio.Server:
            return await asyncio.start_server(relay, "127.0.0.1", 0, limit=64 * 1024, backlog=1024)

        server = asyncio.run_coroutine_threadsafe(listen(), self.loop).result(10)
        self.servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            for relay in self.relays:
                relay.close_all()
            await asyncio.sleep(0.05)
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def outcome_of(vendor: str, upstream: str, seen: list[Proxied]):
    """The run outcome the proxy would publish for these exchanges (its checking path, without a server)."""
    run = ProxyRun(registry.get(vendor), upstream, out=None, flush_every=3600)  # type: ignore[arg-type]
    window: Window = run._new_window()
    for proxied in seen:
        window.hold(proxied.snapshot())
    return window.build(Counters(len(seen), len(seen)), upstream)


def credentials(vendor: str) -> dict[str, str]:
    return dict(emulator.get(vendor).default_credentials[0])


IMAGE_JPEG = images.render(160, 120, seed=8, fmt="jpeg")
IMAGE_PNG = images.render(96, 64, seed=3, fmt="png")


def documented_samples(vendor_id: str) -> list[requests.Request]:
    """Each documented request example of the vendor, built as the suites' example tests send it."""
    vendor = registry.get(vendor_id)
    keys = credentials(vendor_id)
    built: list[requests.Request] = []
    for _, example in examples.request_examples(vendor):
        method, path = example.operation.split(" ", 1)
        if vendor_id == "identifai":
            path = path.replace("{hash}", "0" * 64)
            if example.media_type == "multipart/form-data":
                fields = {
                    name: (None, str(value).lower() if isinstance(value, bool) else str(value))
                    for name, value in example.value.items()
                }
                built.append(requests.Request(method, path, files=fields))
            else:
                built.append(requests.Request(method, path, json=example.value))
        elif vendor_id == "imagerecognize":
            if example.name == "pythonSample":
                built.append(
                    requests.Request(
                        method, path, data={**example.value, "apikey": keys["apikey"]}, files={"file": IMAGE_JPEG}
                    )
                )
            else:
                parts: list[Any] = [
                    (name, (None, keys["apikey"] if name == "apikey" else str(value)))
                    for name, value in example.value.items()
                ]
                parts.insert(1, ("file", ("image.jpg", IMAGE_JPEG, "image/jpeg")))
                built.append(requests.Request(method, path, files=parts))
        elif vendor_id == "huawei":
            built.append(requests.Request(method, path.replace("{project_id}", keys["project_id"]), json=example.value))
        else:
            built.append(requests.Request(method, path, json=example.value))
    return built


def send(session: requests.Session, base: str, request: requests.Request, vendor_id: str, **kwargs: Any):
    """Send `request` to `base` (a copy: the same request can go direct and through the proxy)."""
    copy = requests.Request(
        request.method,
        base + request.url,
        headers=dict(request.headers),
        files=request.files,
        data=request.data,
        json=request.json,
        params=request.params,
    )
    prepared = session.prepare_request(copy)
    if vendor_id != "imagerecognize" or "apikey" not in str(request.data) + str(request.files):
        registry.get(vendor_id).auth.apply(prepared, credentials(vendor_id))
    return session.send(prepared, timeout=20, **kwargs)


@dataclass
class Client:
    """An application's calls to one vendor at `base` (the proxy, or the vendor itself when `proxy` is set)."""

    vendor: str
    base: str
    session: requests.Session = field(default_factory=requests.Session)
    proxy: str | None = None  # forward-proxy mode: the base is the upstream, the proxy is the HTTP proxy
    sent: int = 0  # requests sent through `send`: how many exchanges the relay will hand its sink

    def __post_init__(self) -> None:
        if self.proxy:
            self.session.proxies = {"http": self.proxy}

    def send(self, method: str, path: str, auth: str = "valid", **kwargs: Any) -> requests.Response:
        prepared = self.session.prepare_request(requests.Request(method, self.base + path, **kwargs))
        keys = credentials(self.vendor)
        if auth == "invalid":
            keys = registry.get(self.vendor).auth.invalid(keys)
        if auth != "none":
            registry.get(self.vendor).auth.apply(prepared, keys)
        self.sent += 1
        return self.session.send(prepared, timeout=20)


def settled(seen: list[Proxied], count: int, timeout: float = 10.0) -> list[Proxied]:
    """`seen` once it holds `count` exchanges: the relay hands one to its sink just after the client has its
    answer, so a loaded machine can run the test's next line first."""
    deadline = time.monotonic() + timeout
    while len(seen) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return seen


def altum_traffic(client: Client) -> None:
    for image, name, kind in ((IMAGE_PNG, "a.png", "image/png"), (IMAGE_JPEG, "b.jpg", "image/jpeg")):
        client.send("POST", "/labelling/img", files={"image": (name, image, kind)})
    client.send("POST", "/labelling/img", files={"image": ("c.gif", b"GIF89a not an image", "image/gif")})
    client.send("POST", "/labelling/img", auth="none", files={"image": ("a.png", IMAGE_PNG, "image/png")})
    client.send("POST", "/labelling/img", auth="invalid", files={"image": ("a.png", IMAGE_PNG, "image/png")})
    client.send("POST", "/labelling/url", json={})
    for seed in range(16):  # enough outdoor and indoor answers for the vocabulary and 70% rules
        image = images.render(80 + seed * 8, 60, seed=100 + seed, fmt="jpeg")
        client.send("POST", "/labelling/img", files={"image": (f"{seed}.jpg", image, "image/jpeg")})


def imagerecognize_traffic(client: Client) -> None:
    key = credentials("imagerecognize")["apikey"]
    jpeg = ("image.jpg", IMAGE_JPEG, "image/jpeg")
    form = {"apikey": key, "type": "objects", "max_labels": "2", "min_confidence": "90"}
    client.send("POST", "/api/v2/", auth="none", data=form, files={"file": jpeg})
    client.send(
        "POST", "/api/v3/", auth="none", data={**form, "max_labels": "1", "min_confidence": "50"}, files={"file": jpeg}
    )
    client.send(
        "POST",
        "/api/v2/",
        auth="none",
        data={"type": "objects", "max_labels": "10", "min_confidence": "50"},
        files={"file": jpeg},
    )
    client.send("POST", "/api/v2/", auth="none", data={**form, "apikey": "0" * len(key)}, files={"file": jpeg})
    client.send("POST", "/api/v2/", auth="none", data={**form, "type": "faces"}, files={"file": jpeg})
    client.send("POST", "/api/v2/", auth="none", data={**form, "max_labels": "10"}, files={"file": jpeg})
    client.send("GET", "/api/v2/", auth="none", params={"apikey": key, "type": "cache"})


def identifai_traffic(client: Client) -> None:
    keys = credentials("identifai")
    image = ("sample.jpg", images.render(64, 48, seed=7, fmt="jpeg"), "image/jpeg")
    accept = {"Accept": "application/json"}
    submitted = client.send("POST", "/api/classification", files={"image": image}, headers=accept)
    identifier = (
        submitted.json().get("identifier", "0" * 64)
        if submitted.headers.get("content-type", "").startswith("application/json")
        else "0" * 64
    )
    for _ in range(3):  # new, then done
        client.send("GET", f"/api/classification/{identifier}")
    client.send("GET", "/api/classifications", params={"identifiers[]": identifier})
    client.send("GET", "/api/classifications", params={"identifiers[]": [f"{n:064x}" for n in range(101)]})
    client.send("POST", "/api/classification", files={"ref_id": (None, "no-file")}, headers=accept)
    other = ("other.jpg", images.render(64, 48, seed=8, fmt="jpeg"), "image/jpeg")
    client.send("POST", "/api/classification", files={"image": other}, headers={"Accept": "text/plain"})
    client.send("POST", "/api/classification", auth="none", files={"image": image}, headers=accept)
    client.send("GET", "/api/classifications", auth="none", params={"identifiers[]": identifier})
    for _ in range(3):  # the always-throttled key is refused from its third request in a window
        throttled = client.session.prepare_request(
            requests.Request("GET", client.base + "/api/classifications", params={"identifiers[]": identifier})
        )
        throttled.headers["X-Api-Key"] = keys["throttled_api_key"]
        client.sent += 1
        client.session.send(throttled, timeout=20)


def huawei_traffic(client: Client) -> None:
    keys = credentials("huawei")
    image = base64.b64encode(IMAGE_JPEG).decode()
    v2 = f"/v2/{keys['project_id']}/image/tagging"
    client.send("POST", v2, json={"image": image, "threshold": 90, "limit": 2, "language": "en"})
    client.send("POST", v2, json={"image": image})
    client.send("POST", "/v1.0/image/tagging", json={"image": image, "threshold": 10, "limit": 3})
    client.send("POST", v2, json={"image": base64.b64encode(b"GIF89a no").decode()})
    client.send("POST", v2, auth="invalid", json={"image": image})
    client.send("POST", v2, auth="none", json={"image": image})
    token_body = token_request(keys["iam_user"], keys["iam_password"], keys["iam_domain"], DEFAULT_PROJECT_NAME)
    client.send("POST", "/v3/auth/tokens", auth="none", json=token_body)


TRAFFIC = {
    "altum": altum_traffic,
    "identifai": identifai_traffic,
    "imagerecognize": imagerecognize_traffic,
    "huawei": huawei_traffic,
}


@dataclass
class ProxyProcess:
    url: str
    process: Forked | subprocess.Popen[str]
    out: Path
    stdout: str = ""
    stderr: str = ""

    @property
    def port(self) -> int:
        return Upstream.parse(self.url).port

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        self.stdout, self.stderr = self.process.communicate(timeout=60)
        return self.process.returncode


@contextmanager
def proxy_cli(vendor: str, upstream: str, out: Path, *args: str) -> Iterator[ProxyProcess]:
    """`imgconf proxy` in a child process, exactly as a user starts it; stopped with SIGTERM if still running."""
    ready = out / f".ready-{vendor}.json"
    out.mkdir(parents=True, exist_ok=True)
    command = ["proxy", "--vendor", vendor, "--upstream", upstream]
    command += ["--listen", "127.0.0.1:0", "--out", str(out / "reports"), "--ready-file", str(ready), *args]
    process = started(command, clean_env(), out)
    deadline = time.monotonic() + 30
    while not ready.exists():
        if process.poll() is not None:
            raise AssertionError(f"imgconf proxy exited: {process.communicate()}")
        assert time.monotonic() < deadline, "imgconf proxy did not start"
        time.sleep(0.05)
    running = ProxyProcess(json.loads(ready.read_text())["url"], process, out / "reports")
    try:
        yield running
    finally:
        if process.poll() is None:
            running.stop()
