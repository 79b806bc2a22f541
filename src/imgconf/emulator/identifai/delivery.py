"""Webhook calls: one POST of the finished result, to loopback URLs only.

identifAI ignores webhook_url for accounts without "a specific enablement";
the emulator treats every URL that is not on loopback that way, so it never
contacts the network. Deliveries run in threads and never fail a request.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import requests

from imgconf.emulator.common import is_loopback_host

TIMEOUT = 5.0


def deliverable(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback_host(parts.hostname)


def post(url: str, payload: dict[str, Any]) -> None:
    """Deliver now (in the calling thread); errors are the receiver's problem, as for any webhook."""
    if not deliverable(url):
        return
    try:
        requests.post(
            url,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json", "User-Agent": "identifai-emulator"},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except (requests.RequestException, ValueError):
        return


def post_later(url: str, payload: dict[str, Any]) -> None:
    """Deliver from a daemon thread (for completions noticed outside a request)."""
    if deliverable(url):
        threading.Thread(target=post, args=(url, payload), name="identifai-webhook", daemon=True).start()
