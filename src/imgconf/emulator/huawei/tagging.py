"""The Image Recognition service (AIS) behind the gateway: the request body, the image, and the tags.

Checks run in the order the error codes suggest a real service runs them: the body must be a JSON
object (AIS.0014); its fields must have the documented types and ranges (AIS.0501); the image must be
base64 (AIS.0501), at most 10 MB, a JPG, PNG or BMP (AIS.0502) that decodes (AIS.0503), with a narrow
side over 15 pixels and a wide side of at most 4096 (AIS.0504); a URL must be HTTP(S) (ModelArts.4601)
and download (ModelArts.4603). Tags are drawn from the image's SHA-256 alone, then filtered by threshold
and cut to limit, so every parameter's effect is observable and the same bytes always get the same tags.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from imgconf import images
from imgconf.emulator import decoding, digests
from imgconf.emulator.bodies import parse_json
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.huawei import answers
from imgconf.emulator.huawei.vocabulary import VOCABULARY, Tag
from imgconf.emulator.randomness import content_rng

MAX_IMAGE_TEXT = 10 * 1024 * 1024  # "The size cannot exceed 10 MB" (of the base64 text, research §3.1)
MIN_NARROW_SIDE = 16  # "must be greater than 15 pixels" (x-errata huawei-min-side: the seed is followed)
MAX_WIDE_SIDE = 4096
FORMATS = ("jpeg", "png", "bmp")
MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png", b"BM": "bmp"}
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")

Error = tuple[str, str]


@dataclass(frozen=True)
class Version:
    name: str
    default_limit: int
    default_threshold: float
    max_limit: int | None


V1 = Version("v1", default_limit=30, default_threshold=0.0, max_limit=None)
V2 = Version("v2", default_limit=50, default_threshold=60.0, max_limit=150)


@dataclass(frozen=True)
class TaggingRequest:
    image: str
    url: str
    language: str
    limit: int | None  # None: all (v1.0's -1)
    threshold: float


def _number(value: Any) -> bool:
    """A finite JSON number. An integer too large for a float (a limit of 10**400) is not one: APIG's
    parser reads numbers as doubles, so the service sees infinity (x-assumption huawei-huge-numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return value.bit_length() <= 1023
    return math.isfinite(value)


def declares_json(content_type: str | None) -> bool:
    """Content-Type application/json is mandatory (Table 3-3); parameters such as the SDK's charset may follow."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def parse(body: str, version: Version) -> TaggingRequest | Error:
    """The request's fields with their defaults, or the documented error for the first problem (`body` is the
    request's text, `bodies.json_text`)."""
    try:
        document = parse_json(body)
    except ValueError:  # bad syntax or encoding, nested too deep, an integer of over 4,300 digits
        return answers.BAD_JSON
    if not isinstance(document, dict):
        return answers.BAD_JSON
    image, url = document.get("image", ""), document.get("url", "")
    if not isinstance(image, str) or not isinstance(url, str):
        return answers.BAD_PARAMETER
    if bool(image) == bool(url):  # neither, or both (x-assumption huawei-both-inputs)
        return answers.BAD_PARAMETER
    language = document.get("language", "zh")
    if language not in ("zh", "en"):
        return answers.BAD_PARAMETER
    limit = _limit(document.get("limit", version.default_limit), version)
    threshold = _threshold(document.get("threshold", version.default_threshold), version)
    if limit is False or threshold is None:
        return answers.BAD_PARAMETER
    return TaggingRequest(image, url, language, limit, threshold)


def _limit(value: Any, version: Version) -> int | bool | None:
    """The limit, None for all, or False when it is refused."""
    if not _number(value) or value != int(value):
        return False
    limit = int(value)
    if version.max_limit is None:
        return None if limit == -1 else (limit if limit >= 1 else False)
    return limit if 1 <= limit <= version.max_limit else False


def _threshold(value: Any, version: Version) -> float | None:
    if not _number(value):
        return None
    if version is V1 and not 0 <= value <= 100:
        return version.default_threshold  # "If you input a value beyond the value range, the default value is used."
    return float(value) if 0 <= value <= 100 else None


# The last base64 text decoded, with what it decoded to (texts of at most digests.KEPT_MAX_BYTES).
_last_decoded: tuple[str, bytes | Error] = ("", answers.BAD_PARAMETER)


def decode_base64(text: str) -> bytes | Error:
    """Standard base64; whitespace and line breaks (PHP's chunk_split) are ignored.

    The last text decoded is remembered with its result, and an equal text gets that very result: decoding
    (~31 µs for a 320x240 JPEG) was 15% of a v2 tagging request under wrk (py-spy), and the very same bytes
    object back lets digests.sha256 find the image's digest again instead of hashing it once more. The result
    is a function of the text alone (an equal text always decodes to equal bytes or fails the same way).
    """
    global _last_decoded
    seen, result = _last_decoded  # one read of the pair: another thread's update replaces it whole
    if seen == text:
        return result
    result = _decode_base64(text)
    if len(text) <= digests.KEPT_MAX_BYTES:
        _last_decoded = (text, result)
    return result


def _decode_base64(text: str) -> bytes | Error:
    if len(text) > MAX_IMAGE_TEXT:  # before the compacting copy: an oversized text is refused as it is
        return answers.BAD_SIZE
    compact = "".join(text.split())
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return answers.BAD_PARAMETER
    return data if data else answers.BAD_PARAMETER


def url_error(url: str) -> Error | None:
    """ModelArts.4601 for anything that is not an http(s) URL with a plausible host."""
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[": an IPv6 literal that never closes
        return answers.BAD_URL
    if parts.scheme not in ("http", "https") or not _HOST.match(parts.netloc.rsplit("@", 1)[-1]):
        return answers.BAD_URL
    return None


async def check_image(data: bytes) -> images.Decoded | Error:
    """Size, format, decodability and sides, in the service's order; the decode runs off the event loop."""
    if len(data) > MAX_IMAGE_TEXT:
        return answers.BAD_SIZE
    try:
        decoded = await decoding.decode(data)
    except images.NotAnImage:
        sniffed = next((fmt for magic, fmt in MAGIC.items() if data.startswith(magic)), None)
        return answers.DAMAGED if sniffed in FORMATS else answers.BAD_FORMAT
    if decoded.format not in FORMATS:
        return answers.BAD_FORMAT
    if min(decoded.width, decoded.height) < MIN_NARROW_SIDE or max(decoded.width, decoded.height) > MAX_WIDE_SIDE:
        return answers.BAD_SIZE
    return decoded


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    confidence: float


@dataclass(frozen=True)
class Candidate:
    tag: Tag
    confidence: float
    boxes: tuple[Box, ...]
    event: bool  # under the v1-type-widened drift, tagged with a fourth v1 type


_CANDIDATES_KEPT = 256
_CANDIDATES_MAX_BYTES = 2 * 1024 * 1024
_seen: OrderedDict[tuple[bytes, images.Decoded], tuple[Candidate, ...]] = OrderedDict()


def candidates(data: bytes, decoded: images.Decoded) -> list[Candidate]:
    """Every tag the model sees in this image, highest confidence first; a function of the bytes alone.

    Drawing them is 70% of a tagging request's time (about 90 tags with boxes), so the last few hundred
    images' candidates are kept, keyed on the SHA-256 of the bytes (and their decoded size, itself a
    function of the bytes): the same bytes get the very same candidates, which are immutable.
    """
    if len(data) > _CANDIDATES_MAX_BYTES:
        return _draw(data, decoded)
    key = (digests.sha256(data), decoded)
    known = _seen.get(key)
    if known is None:
        known = tuple(_draw(data, decoded))
        _seen[key] = known
        while len(_seen) > _CANDIDATES_KEPT:
            _seen.popitem(last=False)
    else:
        _seen.move_to_end(key)
    return list(known)


def _draw(data: bytes, decoded: images.Decoded) -> list[Candidate]:
    rng = content_rng(data, "huawei.tagging")
    count = rng.randint(20, min(90, len(VOCABULARY)))
    found = []
    for tag in rng.sample(VOCABULARY, count):
        score = round(100 * rng.betavariate(0.7, 1.6), 2)
        boxes = _boxes(rng, decoded, score) if tag.boxable else ()
        found.append(Candidate(tag, score, boxes, event=rng.random() < 0.3))
    found.sort(key=lambda item: (-item.confidence, item.tag.en))
    return found


def _boxes(rng: random.Random, decoded: images.Decoded, score: float) -> tuple[Box, ...]:
    boxes = []
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        x = rng.uniform(0, decoded.width * 0.75)
        y = rng.uniform(0, decoded.height * 0.75)
        width = rng.uniform(1.0, decoded.width - x)
        height = rng.uniform(1.0, decoded.height - y)
        boxes.append(Box(x, y, min(width, decoded.width - x), min(height, decoded.height - y), _near(rng, score)))
    return tuple(boxes)


def _near(rng: random.Random, score: float) -> float:
    return round(min(100.0, max(0.0, score + rng.uniform(-5, 5))), 2)


def select(found: list[Candidate], request: TaggingRequest, config: EmulatorConfig) -> list[Candidate]:
    """Those at or above the threshold, then the first `limit` of them (the highest)."""
    kept = found
    if not config.drifting("huawei.threshold-ignored"):
        kept = [item for item in kept if item.confidence >= request.threshold]
    if request.limit is not None and not config.drifting("huawei.limit-ignored"):
        kept = kept[: request.limit]
    return kept


def render(chosen: list[Candidate], request: TaggingRequest, version: Version, config: EmulatorConfig) -> dict:
    language = request.language
    tags = []
    for item in chosen:
        names = {"zh": item.tag.zh, "en": item.tag.en}
        if version is V1:
            kind = "event" if item.event and config.drifting("huawei.v1-type-widened") else item.tag.v1_type
            tags.append({"confidence": item.confidence, "tag": names[language], "type": kind, "i18n_tag": names})
            continue
        kinds = {"zh": item.tag.category.zh, "en": item.tag.category.en}
        as_number = config.drifting("huawei.v2-confidence-as-number")
        tags.append(
            {
                "confidence": item.confidence if as_number else f"{item.confidence:.2f}",
                "tag": names[language],
                "type": kinds[language],
                "i18n_tag": names,
                "i18n_type": kinds,
                "instances": [
                    {
                        "bounding_box": {
                            "width": box.width,
                            "height": box.height,
                            "top_left_x": box.x,
                            "top_left_y": box.y,
                        },
                        "confidence": box.confidence if as_number else f"{box.confidence:.2f}",
                    }
                    for box in item.boxes
                ],
            }
        )
    return {"result": {"tags": tags}}
