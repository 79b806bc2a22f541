"""identifAI, emulated: asynchronous human-vs-AI classification of images, video and speech.

A Laravel API (its 429 body gives that away): submissions answer an identifier
at once, results are polled until their status turns from `new` to `done`,
repeats are answered from a cache, webhooks are called for fresh results,
overrides force a classification for every submission of a file, keys have
credits and rate limits. Verdicts are drawn from the file's SHA-256, so the
same bytes always get the same answer.

Options (`EmulatorConfig.option`): `rate_limits` (default True; the test
targets switch it off, except for the always-throttled key), `polls_until_done`
(reads answered `new`, default 1), `seconds_until_done` (default 2.0),
`credits` (per key, default 1,000,000) and `request_log` (a JSONL file of
arrivals, for tests of clients' pacing).
"""

from __future__ import annotations

from starlette.types import ASGIApp

from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.identifai.app import build
from imgconf.emulator.identifai.drifts import DRIFTS
from imgconf.emulator.identifai.middleware import SlowLookups
from imgconf.emulator.middleware.disturbances import Disturbances

VENDOR = "identifai"

# The first mapping is what the test targets use. `api_key` is a partner's key; the others exist so the suites
# can see what one key cannot show: a user who is not a partner (403 on partner routes), a user without credits
# (the documented 400), and a key the emulator always throttles (429 even when rate limits are off for speed).
DEFAULT_CREDENTIALS: tuple[dict[str, str], ...] = (
    {
        "api_key": "identifai-emulator-partner-key",
        "user_api_key": "identifai-emulator-user-key",
        "spent_api_key": "identifai-emulator-spent-key",
        "throttled_api_key": "identifai-emulator-throttled-key",
    },
)

__all__ = ["DEFAULT_CREDENTIALS", "DRIFTS", "VENDOR", "create_app"]


def create_app(config: EmulatorConfig | None = None) -> ASGIApp:
    config = config or EmulatorConfig()
    app, _ = build(config, DEFAULT_CREDENTIALS)
    disturbed = Disturbances(
        app, config, throttled={"message": "Too Many Attempts."}, failing={"message": "Server Error"}
    )
    return SlowLookups(disturbed, config)
