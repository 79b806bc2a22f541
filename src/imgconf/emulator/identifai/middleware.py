"""ASGI wrappers around the identifAI app: the arrival log tests read, and the latency drift's scope."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.identifai import drifts
from imgconf.emulator.identifai.store import Store
from imgconf.emulator.middleware.latency import SlowEveryNth


class RequestLog:
    """An ASGI wrapper that appends one JSON line per request (arrival time, method, path, status, key role).

    For tests that prove a client kept to the rate limits; the key itself is never written, only its role.
    """

    def __init__(self, app: ASGIApp, path: str, clock: Callable[[], float], store: Store) -> None:
        self.app = app
        self.path = path
        self.clock = clock
        self.store = store  # whose accounts give a key its role
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = self.clock()
        status: dict[str, int] = {}

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)  # type: ignore[arg-type]
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        account = self.store.account(headers.get("x-api-key"))
        line = {
            "t": arrived,
            "method": scope["method"],
            "path": scope["path"],
            "status": status.get("code"),
            "role": account.role if account else None,
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(line) + "\n")


LIST_PATHS = frozenset(
    {"/api/classifications", "/api/classifications_image", "/api/classifications_video", "/api/classifications_audio"}
)


class SlowLookups:
    """The latency drift, scoped to the result lists: `SlowEveryNth` counts and slows only those requests.

    A lost index slows lookups, not uploads; and a run sends far fewer list requests than requests in all,
    so the drifted run stays short while any 25 consecutive lookups still meet one slow answer.
    """

    def __init__(self, app: ASGIApp, config: EmulatorConfig) -> None:
        self.app = app
        self.slow = SlowEveryNth(app, config, drifts.LATENCY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in LIST_PATHS:
            await self.slow(scope, receive, send)
        else:
            await self.app(scope, receive, send)
