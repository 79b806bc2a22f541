"""Serving the relay: one asyncio server on the listen address, the checker beside it, an orderly stop.

SIGINT and SIGTERM stop accepting, let the exchanges in flight finish (a few seconds at most), check what
is queued, publish the last window, and return: the command then exits 0, since the operator stopping a
proxy is how a proxy ends, not an interruption of a verdict.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

from imgconf.errors import UsageError
from imgconf.proxy.relay import HEAD_LIMIT, Relay, Upstream
from imgconf.proxy.session import ProxyRun

GRACE = 5.0  # seconds exchanges in flight get to finish at shutdown


def parse_listen(listen: str) -> tuple[str, int]:
    host, colon, port = listen.rpartition(":")
    if not colon or not port.isdigit():
        raise UsageError(f"--listen takes HOST:PORT, not {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


async def _serve(
    run: ProxyRun,
    relay: Relay,
    host: str,
    port: int,
    announce: Callable[[str], None],
    ready_file: Path | None,
) -> None:
    try:
        server = await asyncio.start_server(relay, host, port, limit=HEAD_LIMIT, backlog=1024)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = server.sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    url = f"http://{shown}:{bound[1]}"
    upstreams = ", ".join(item.url for item in relay.upstreams)
    announce(f"imgconf proxy for {run.vendor.id}: {url} -> {upstreams} (reports in {run.out})")
    if ready_file is not None:
        temporary = ready_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"url": url}))
        os.replace(temporary, ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(name, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        deadline = loop.time() + GRACE
        while relay.busy and loop.time() < deadline:
            await asyncio.sleep(0.05)
        relay.close_all()
        await asyncio.sleep(0)


def serve(
    run: ProxyRun,
    listen: str,
    *,
    keep_host: bool = False,
    announce: Callable[[str], None] = print,
    ready_file: Path | None = None,
) -> None:
    """Relay until SIGINT or SIGTERM, then publish the last window."""
    host, port = parse_listen(listen)
    relay = Relay(
        Upstream.parse(run.upstream),
        run.checker.submit,
        also=[Upstream.parse(url) for url in run.also],
        keep_host=keep_host,
    )
    run.checker.start()
    try:
        asyncio.run(_serve(run, relay, host, port, announce, ready_file))
    finally:
        run.checker.stop()
