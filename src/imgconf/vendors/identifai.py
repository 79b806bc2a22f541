"""identifAI: the vendor's facts, the sample media the suites send, and the checks no schema can express.

The API classifies images, videos and speech asynchronously: a POST answers an
identifier, GET answers the result until its status is final. Its documented
rate limits (GET 2/s and 60/min, POST 1/s and 30/min, per key) are declared
here, so the transport paces every live and staging run to them.
"""

from __future__ import annotations

import io
import math
import random
import struct
import wave
from collections.abc import Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from imgconf import images
from imgconf.checks import check, violated
from imgconf.vendors.base import (
    AccountRefusal,
    ApiKeyHeader,
    CallbackProbe,
    CredentialField,
    Preflight,
    RateLimit,
    Vendor,
)
from imgconf.wire.negotiation import wants_json as wants_json

SUBMISSIONS = frozenset(
    {
        "/api/classification",
        "/api/image_fromurl",
        "/api/classification_video",
        "/api/video_fromurl",
        "/api/classification_audio",
        "/api/audio_fromurl",
    }
)
LIST_PATHS = frozenset(
    {"/api/classifications", "/api/classifications_image", "/api/classifications_video", "/api/classifications_audio"}
)
RESULT_PREFIXES = (
    "/api/classification/",
    "/api/classification_image/",
    "/api/classification_video/",
    "/api/classification_audio/",
)

VENDOR = Vendor(
    id="identifai",
    title="identifAI",
    spec_files=("identifai.yaml",),
    credentials=(
        CredentialField("api_key", "IDENTIFAI_API_KEY", "API key (platform user menu, 'API Key'); a partner's key"),
        CredentialField(
            "user_api_key",
            "IDENTIFAI_USER_API_KEY",
            "a key of a user who is not a partner (enables the partner-route 403 test)",
            optional=True,
            spare=True,
        ),
        CredentialField(
            "spent_api_key",
            "IDENTIFAI_SPENT_API_KEY",
            "a key whose credits are used up (enables the no-credits 400 test)",
            optional=True,
            spare=True,
        ),
        CredentialField(
            "throttled_api_key",
            "IDENTIFAI_THROTTLED_API_KEY",
            "a key the 429 test may drive past the rate limit (with --thorough; else the main key is used)",
            optional=True,
            spare=True,
        ),
    ),
    auth=ApiKeyHeader("X-Api-Key"),
    # Every submission is polled until done, so each rule costs a POST and a few GETs: a smoke run sends
    # about 75 requests (paced to the documented rates, about 45 s).
    live_budget=100,
    image_urls=("https://www.w3schools.com/html/pic_trulli.jpg",),
    rate_limits=(
        RateLimit(2, 1.0, ("GET",)),
        RateLimit(60, 60.0, ("GET",)),
        RateLimit(1, 1.0, ("POST",)),
        RateLimit(30, 60.0, ("POST",)),
    ),
    mutating_operations=(
        "POST /api/classification/{hash}/override",
        "POST /api/classification_video/{hash}/override",
        "POST /api/partner/user",
        "POST /api/partner/send_creation_email",
    ),
    extra={
        # Public sample media for the video and speech URL endpoints of live runs
        # (IMGCONF_IDENTIFAI_VIDEO_URLS / IMGCONF_IDENTIFAI_AUDIO_URLS override them).
        "video_urls": ("https://www.w3schools.com/html/mov_bbb.mp4",),
        "audio_urls": ("https://www.w3schools.com/html/horse.mp3",),
    },
    preflight=Preflight("GET", "/api/classifications", frozenset({401})),
    # The seed's 400 "The user has no enough credits to perform the operation" and the spec's assumed body text
    # "Not enough credits to perform the operation." (x-assumption identifai-credits) share this phrase.
    refusals=(AccountRefusal(400, "enough credits", "top up its credits"),),
    callback_probe=CallbackProbe("POST", "/api/image_fromurl", "file_url", form=True),
)

# -- sample media ---------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def sample_wav(seed: int, seconds: float = 4.0, rate: int = 8000) -> bytes:
    """A real WAV clip (16-bit mono): a few gliding tones, different for every seed.

    A pure function of its arguments, so clips are kept once made. The contract tests draw one per audio case
    from a seed up to 65,536, so most are new: an identifAI smoke run makes 14 and finds 3 again.
    """
    rng = random.Random(seed)
    (pitch1, amplitude1), (pitch2, amplitude2), (pitch3, amplitude3) = (
        (rng.uniform(120, 400), rng.uniform(0.2, 0.5)) for _ in range(3)
    )
    # The tones summed inline, not through a generator per sample: the same floating-point operations in the
    # same order, so the same bytes for every seed (a recorded cassette's audio still replays), in a third of
    # the time (a 1 s clip: 22 -> 8 ms). Three amplitudes of at most 0.5 peak at 18,000: nothing to clamp.
    sin, turn = math.sin, 2 * math.pi
    samples = [
        int(
            (
                amplitude1 * sin(turn * (pitch1 + 30 * t) * t)
                + amplitude2 * sin(turn * (pitch2 + 30 * t) * t)
                + amplitude3 * sin(turn * (pitch3 + 30 * t) * t)
            )
            * 12000
        )
        for t in (index / rate for index in range(int(seconds * rate)))
    ]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, data: bytes) -> bytes:
    return _chunk(b"LIST", kind + data)


def sample_avi(seed: int, frames: int = 3, width: int = 32, height: int = 24, fps: int = 2) -> bytes:
    """A real, playable Motion-JPEG AVI: `frames` JPEG frames, different for every seed."""
    pictures = [images.render(width, height, seed * 1009 + index, "jpeg") for index in range(frames)]
    biggest = max(len(picture) for picture in pictures)
    avih = struct.pack("<IIIIIIIIII16x", 1_000_000 // fps, biggest * fps, 0, 0x10, frames, 0, 1, biggest, width, height)
    strh = b"vidsMJPG" + struct.pack(
        "<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1, fps, 0, frames, biggest, 0xFFFFFFFF, 0, 0, 0, width, height
    )
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", avih) + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)))
    movi = b""
    index = b""
    for picture in pictures:
        index += b"00dc" + struct.pack("<III", 0x10, 4 + len(movi), len(picture))
        movi += _chunk(b"00dc", picture)
    body = b"AVI " + header + _list(b"movi", movi) + _chunk(b"idx1", index)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- checks ---------------------------------------------------------------------------------------------


def _path(response: Any) -> str:
    request = getattr(response, "request", None)
    return urlsplit(getattr(request, "url", "") or "").path


PARTNER_ROUTES = "/api/partner/"


def not_a_partner(response: Any) -> str | None:
    """What a partner route's documented 403 {"error": "Forbidden"} says (x-assumption identifai-partner-403): the
    key is not a partner's, which the README asks IDENTIFAI_API_KEY to be. None for any other answer."""
    path = _path(response)
    if response.status_code != 403 or not path.startswith(PARTNER_ROUTES):
        return None
    try:
        refused = response.json() == {"error": "Forbidden"}
    except ValueError:
        return None
    if not refused:
        return None
    return (
        f"a partner's key (IDENTIFAI_API_KEY was answered 403 Forbidden on {path}, as a key that is not a "
        "partner's is; if it is a partner's, identifAI refused a partner)"
    )


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and isinstance(headers, dict):
        value = headers.get(name.lower())
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _json(response: Any) -> Any:
    if response.status_code != 200:
        return None
    content_type = (_header(response.headers, "content-type") or "").lower()
    if "json" not in content_type:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def results_in(response: Any) -> Iterator[dict[str, Any]]:
    """The result objects of a 200 answer to a result or list operation (empty for anything else)."""
    path = _path(response)
    if path in LIST_PATHS or path.startswith(RESULT_PREFIXES):
        if "/heatmap/" in path or path.endswith("/override"):
            return
        body = _json(response)
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict):
                yield item


def _numbers(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("score", "confidence"):
                yield f"{where}/{key}", value
            else:
                yield from _numbers(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _numbers(value, f"{where}/{index}")


@check("identifai")
def identifai_accept_honoured(ctx: Any, response: Any, case: Any) -> None:
    """A submission answers JSON when Accept prefers JSON, the bare identifier as text/plain otherwise."""
    if response.status_code != 200 or _path(response) not in SUBMISSIONS:
        return
    accept = _header(getattr(response.request, "headers", None), "accept")
    content_type = (_header(response.headers, "content-type") or "").split(";")[0].strip().lower()
    if wants_json(accept):
        violated(
            "identifai.submit.accept-json",
            content_type == "application/json",
            f"Accept: {accept!r} was answered {content_type or 'without a content type'}, not application/json",
        )
    else:
        violated(
            "identifai.submit.accept-text",
            content_type == "text/plain",
            f"Accept: {accept!r} was answered {content_type or 'without a content type'}, not text/plain",
        )


@check("identifai")
def identifai_scores_are_fractions(ctx: Any, response: Any, case: Any) -> None:
    """Every score and confidence of a result is a number from 0 to 1."""
    for result in results_in(response):
        for where, value in _numbers(result):
            violated("identifai.result.score-range", _is_number(value), f"{where} is {value!r}, not a number")
            violated("identifai.result.score-range", 0 <= value <= 1, f"{where} is {value}, outside 0-1")


@check("identifai")
def identifai_result_coherent(ctx: Any, response: Any, case: Any) -> None:
    """Status present, the asked identifier, the main verdict among verdicts, boxes and segments well formed."""
    path = _path(response)
    single = path.startswith(RESULT_PREFIXES) and path not in LIST_PATHS
    for result in results_in(response):
        violated("identifai.result.status", "status" in result, f"the result of {path} carries no status")
        if single:
            asked = unquote(path.rsplit("/", 1)[-1])
            violated(
                "identifai.result.echo",
                result.get("identifier") == asked,
                f"asked for {asked!r}, answered identifier {result.get('identifier')!r}",
            )
        _verdict_in_verdicts(result)
        _boxes(result)
        _segments(result)


def _verdict_in_verdicts(result: dict[str, Any]) -> None:
    verdict, verdicts = result.get("verdict"), result.get("verdicts")
    if not isinstance(verdict, dict) or not isinstance(verdicts, list):
        return
    same = [item for item in verdicts if isinstance(item, dict) and item.get("heuristic") == verdict.get("heuristic")]
    violated(
        "identifai.result.verdict-in-verdicts",
        bool(same),
        f"the main verdict's heuristic {verdict.get('heuristic')!r} is not among the verdicts",
    )
    match = same[0]
    violated(
        "identifai.result.verdict-in-verdicts",
        match.get("classification") == verdict.get("classification")
        and math.isclose(float(match.get("confidence", -1)), float(verdict.get("confidence", -2)), abs_tol=1e-6),
        f"the main verdict {verdict} differs from the {verdict.get('heuristic')} entry of verdicts {match}",
    )


def _frames(result: dict[str, Any]) -> list[Any]:
    """The result itself and, for a video, its analysed frames."""
    nested = result.get("results")
    frames = nested.get("images") if isinstance(nested, dict) else None
    return [result, *(frames if isinstance(frames, list) else [])]


def _boxes(result: dict[str, Any]) -> None:
    for image in _frames(result):
        details = image.get("details") if isinstance(image, dict) else None
        for detail in details if isinstance(details, list) else []:
            detections = detail.get("detections") if isinstance(detail, dict) else None
            for detection in detections if isinstance(detections, list) else []:
                box = detection.get("box") if isinstance(detection, dict) else None
                if not isinstance(box, dict) or not all(_is_number(box.get(k)) for k in ("x1", "x2", "y1", "y2")):
                    continue
                violated(
                    "identifai.result.details",
                    box["x1"] <= box["x2"] and box["y1"] <= box["y2"],
                    f"detection box {box} is not x1 <= x2, y1 <= y2",
                )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _segments(result: dict[str, Any]) -> None:
    details = result.get("details")
    chunks = result.get("chunk_details") or (details.get("clips") if isinstance(details, dict) else None) or []
    for chunk in chunks:
        if isinstance(chunk, dict) and _is_number(chunk.get("start")) and _is_number(chunk.get("end")):
            violated(
                "identifai.audio.chunks",
                chunk["start"] <= chunk["end"],
                f"segment {chunk.get('index')} starts at {chunk['start']} after it ends at {chunk['end']}",
            )


@check("identifai")
def identifai_list_lookup(ctx: Any, response: Any, case: Any) -> None:
    """A list answer holds only results of the identifiers asked for, each once (x-assumption identifai-list-lookup)."""
    if _path(response) not in LIST_PATHS:
        return
    body = _json(response)
    if not isinstance(body, list):
        return
    asked = set(parse_qs(urlsplit(response.request.url).query, keep_blank_values=True).get("identifiers[]", []))
    answered = [str(item.get("identifier")) for item in body if isinstance(item, dict)]
    violated(
        "identifai.list.lookup",
        all(identifier in asked for identifier in answered),
        f"answered identifiers {sorted(set(answered) - asked)[:3]} that were not asked for",
    )
    violated("identifai.list.lookup", len(answered) == len(set(answered)), "an identifier is answered twice")


@check("identifai")
def identifai_users_page_coherent(ctx: Any, response: Any, case: Any) -> None:
    """The users page's counts agree with each other and with its data, as Laravel's paginator computes them."""
    if _path(response) != "/api/partner/users":
        return
    page = _json(response)
    if not isinstance(page, dict) or not all(
        isinstance(page.get(key), int) for key in ("current_page", "last_page", "per_page", "total")
    ):
        return
    data: list[Any] = page["data"] if isinstance(page.get("data"), list) else []
    total, per_page, current = page["total"], page["per_page"], page["current_page"]
    rule = "identifai.partner.users-page"
    violated(rule, len(data) <= per_page, f"{len(data)} users on a page of {per_page}")
    violated(
        rule,
        page["last_page"] == max(1, math.ceil(total / per_page)),
        f"last_page {page['last_page']} for {total}/{per_page}",
    )
    if data:
        violated(
            rule, page.get("from") == (current - 1) * per_page + 1, f"from is {page.get('from')} on page {current}"
        )
        violated(
            rule, page.get("to") == page.get("from", 0) + len(data) - 1, f"to is {page.get('to')} for {len(data)} users"
        )
    violated(
        rule,
        (page.get("next_page_url") is None) == (current >= page["last_page"]),
        f"next_page_url is {page.get('next_page_url')!r} on page {current} of {page['last_page']}",
    )
