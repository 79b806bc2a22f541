"""Webhook calls: one POST of the finished result, to loopback URLs only.

identifAI ignores webhook_url for accounts without "a specific enablement";
the emulator treats every URL that is not on loopback that way, so it never
contacts the network. A URL is deliverable when the emulator's one strict
parser (imgconf.emulator.fetch) reads it as a loopback address, and the POST
goes through the same guarded connection as every fetch. Deliveries run in
threads and never fail a request.
"""

from __future__ import annotations

import threading
from typing import Any

from imgconf.emulator import fetch


def deliverable(url: str | None) -> bool:
    if not url:
        return False
    try:
        fetch.parse(url)
    except fetch.DownloadFailed:
        return False
    return True


def post(url: str, payload: dict[str, Any]) -> None:
    """Deliver now (in the calling thread); errors are the receiver's problem, as for any webhook."""
    if not deliverable(url):
        return
    try:
        fetch.post_json(url, payload, headers={"User-Agent": "identifai-emulator"})
    except fetch.DownloadFailed:
        return


def post_later(url: str, payload: dict[str, Any]) -> None:
    """Deliver from a daemon thread (for completions noticed outside a request)."""
    if deliverable(url):
        threading.Thread(target=post, args=(url, payload), name="identifai-webhook", daemon=True).start()
