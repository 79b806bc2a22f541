"""The latency drifts' middleware: one request in `nth` answered late."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from imgconf.emulator.config import EmulatorConfig


class SlowEveryNth:
    """ASGI wrapper for a latency drift: every `nth` request waits `delay` seconds before it is answered.

    A tail-latency regression: most answers stay fast and one in `nth` is slow, so a monitor that times
    `nth` consecutive requests sees it, and the rest of the run is not slowed to a crawl.
    """

    # One in 25: imgconf.testing.latency times 25 consecutive requests against the emulator, so it meets one.
    def __init__(self, app: ASGIApp, config: EmulatorConfig, drift: str, nth: int = 25, delay: float = 1.2) -> None:
        self.app = app
        self.active = config.drifting(drift)
        self.nth = int(config.option("latency_nth", nth))
        self.delay = float(config.option("latency_delay", delay))
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.active and scope["type"] == "http":
            self.count += 1
            if self.count % self.nth == 0:
                await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)
