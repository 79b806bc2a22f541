"""Serving the emulators over real HTTP on loopback.

Each vendor gets its own port, as each real vendor has its own host (the
Huawei SDK, for one, drops any path from its endpoint). One uvicorn server
listens on all the sockets and hands each request to the vendor whose port
it arrived on.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from imgconf import emulator as registry
from imgconf.emulator import child, forking
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.fetch import is_loopback_host
from imgconf.errors import UsageError


class PortDispatcher:
    """One ASGI app that routes by the local port a request came in on."""

    def __init__(self, apps: Mapping[int, ASGIApp]) -> None:
        self.apps = dict(apps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        server = scope.get("server") or ("", 0)
        app = self.apps.get(server[1])
        if app is None:  # pragma: no cover - uvicorn only accepts on our sockets
            raise RuntimeError(f"no emulator on port {server[1]}")
        await app(scope, receive, send)


@dataclass(frozen=True)
class Listener:
    vendor: str
    url: str


def build_apps(vendors: list[str], configs: Mapping[str, EmulatorConfig]) -> dict[str, ASGIApp]:
    return {vendor: registry.get(vendor).create_app(configs[vendor]) for vendor in vendors}


def bind(host: str, ports: list[int]) -> list[socket.socket]:
    if not is_loopback_host(host):
        raise UsageError(f"the emulator serves on loopback only; {host!r} is not a loopback address")
    sockets: list[socket.socket] = []
    for port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this on Linux: without it, h11 writes the head and the body of an
        # answer separately and Nagle holds the body for the client's delayed ACK (about 40 ms a request).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            for opened in sockets:
                opened.close()
            sock.close()
            hint = "; --port 0 picks free ports" if exc.errno == errno.EADDRINUSE else ""
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
        sock.listen(128)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def serve(
    vendors: list[str],
    configs: Mapping[str, EmulatorConfig],
    *,
    host: str = "127.0.0.1",
    port: int = 8700,
    ready_file: Path | None = None,
    log_level: str = "warning",
    announce: Any = print,
) -> None:
    """Serve until interrupted. Port 0 gives every vendor an ephemeral port; otherwise port, port+1, ..."""
    # Imported here, by the process that serves: a run forks its served emulator (`forked_child`) and never
    # needs uvicorn itself, and every run imports this module through its targets (~20 ms it would pay).
    import uvicorn

    ports = [0] * len(vendors) if port == 0 else [port + index for index in range(len(vendors))]
    sockets = bind(host, ports)
    apps = build_apps(vendors, configs)
    listeners = []
    by_port: dict[int, ASGIApp] = {}
    for vendor, sock in zip(vendors, sockets, strict=True):
        bound = sock.getsockname()[1]
        by_port[bound] = apps[vendor]
        shown = f"[{host}]" if ":" in host else host
        listeners.append(Listener(vendor, f"http://{shown}:{bound}"))
    config = uvicorn.Config(PortDispatcher(by_port), log_level=log_level, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    for listener in listeners:
        drifts = ", ".join(sorted(configs[listener.vendor].drifts)) or "faithful"
        announce(f"{listener.vendor:<16} {listener.url}   ({drifts})")
    if ready_file is not None:
        temporary = ready_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({item.vendor: item.url for item in listeners}))
        os.replace(temporary, ready_file)
    # Through uvicorn's own runner, which sets up its event loop (uvloop where installed, as uvicorn[standard]
    # installs it): `asyncio.run(server.serve())` ran the emulator on the pure-Python loop instead.
    server.run(sockets=sockets)


def _fast_configs(
    vendors: list[str], drifts: Mapping[str, frozenset[str]], options: Mapping[str, Any] | None
) -> dict[str, EmulatorConfig]:
    """The configs `imgconf emulator serve --fast --drift ... --option VENDOR.KEY=VALUE` builds."""
    extra: dict[str, dict[str, Any]] = {}
    for key, value in (options or {}).items():
        vendor, _, name = key.partition(".")
        extra.setdefault(vendor, {})[name] = value
    by_vendor = registry.resolve_drifts(name for names in drifts.values() for name in names)
    return {
        vendor: EmulatorConfig(
            drifts=by_vendor.get(vendor, frozenset()),
            options={"rate_limits": False, **extra.get(vendor, {})},
        )
        for vendor in vendors
    }


@contextmanager
def forked_child(
    vendors: list[str],
    drifts: Mapping[str, frozenset[str]],
    options: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
) -> Iterator[child.Child]:
    """What `child.started` starts, from a fork of this process (see `forking`) rather than a fresh interpreter.

    A caller that has already imported the emulators (a run; the selftest, which serves one per drift, dozens
    of them) saves the child's interpreter start and imports: a run's served emulator answers ~0.04 s after
    the fork, where a fresh interpreter took ~0.3 s (the wait a run's first test had left of it, 0.2 s, once
    pytest had started), and costs the other core none of that CPU. What is served is the same `serve` with
    the same configs as `imgconf emulator serve --fast`. Tied to this process, it ends when this one does.
    """
    for vendor in vendors:
        registry.get(vendor)
    configs = _fast_configs(vendors, drifts, options)
    with tempfile.TemporaryDirectory(prefix="imgconf-emulator-") as tmp:
        ready, log = Path(tmp) / "ready.json", Path(tmp) / "emulator.log"
        pid = forking.start(
            lambda: serve(vendors, configs, port=0, ready_file=ready, announce=lambda line: None), log, tied=True
        )
        served = child.Child(forking.Forked(pid), ready, log, timeout)
        try:
            yield served
        finally:
            served.stop()


@contextmanager
def forked(
    vendors: list[str],
    drifts: Mapping[str, frozenset[str]],
    options: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
) -> Iterator[dict[str, str]]:
    """What `child.spawned` serves, from a fork of this process: vendor -> URL once it serves."""
    with forked_child(vendors, drifts, options, timeout) as served:
        yield served.urls()
