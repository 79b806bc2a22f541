"""Operational trouble that is not a contract drift: a throttling storm, an outage."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from imgconf.emulator.config import EmulatorConfig


class Disturbances:
    """ASGI wrapper for operational trouble that is not a contract drift, switched on by emulator options.

    `storm_429: N` answers the first N requests 429 with `Retry-After: 1` (a throttling storm a careful
    client waits out); `outage: true` answers everything 500 (a service that is down). Both use the
    vendor's documented bodies, so a monitor can be tested on telling an outage from a regression.
    """

    def __init__(
        self, app: ASGIApp, config: EmulatorConfig, throttled: dict[str, object], failing: dict[str, object]
    ) -> None:
        self.app = app
        self.storm = int(config.option("storm_429", 0))
        self.outage = bool(config.option("outage", False))
        self.throttled = JSONResponse(throttled, 429, headers={"Retry-After": "1"})
        self.failing = JSONResponse(failing, 500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.outage:
                await self.failing(scope, receive, send)
                return
            if self.storm > 0:
                self.storm -= 1
                await self.throttled(scope, receive, send)
                return
        await self.app(scope, receive, send)
