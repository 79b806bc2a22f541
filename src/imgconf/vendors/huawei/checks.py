"""What no schema can say about Huawei's answers, checked on every response the suites see.

Each check reads the answer together with the request that caused it (the threshold, limit and
language asked for, the image sent) and names the spec rule it holds the answer to. They run inside
schemathesis (contract tests) and through `ApiClient.validate` (behaviour and example tests).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from imgconf import images
from imgconf.checks import check, violated

V1_PATH = "/v1.0/image/tagging"
V2_PATH = re.compile(r"^/v2/[^/]+/image/tagging$")
# The gateway's codes and the statuses of APIG's own error table (x-errata huawei-error-table-status).
GATEWAY_STATUS = {"APIG.0101": 404, "APIG.0201": 413, "APIG.0301": 401, "APIG.0308": 429}
SERVICE_CODE = re.compile(r"^(AIS|ModelArts)\.[0-9]{4}$")
# Rounding slack: the service prints two decimals of a float it compared unrounded.
SLACK = 0.01


@dataclass(frozen=True)
class Version:
    name: str
    default_limit: int
    default_threshold: float

    def threshold(self, value: Any) -> float:
        """The threshold a request asked for, as the service applies it (v1.0 falls back to its default)."""
        if not _is_number(value):
            return self.default_threshold
        if self.name == "v1" and not 0 <= value <= 100:
            return self.default_threshold
        return float(value)

    def limit(self, value: Any) -> int | None:
        """The most tags allowed; None for v1.0's -1 (all)."""
        if not _is_number(value) or value != int(value):
            return self.default_limit
        return None if int(value) == -1 else int(value)


V1 = Version("v1", default_limit=30, default_threshold=0.0)
V2 = Version("v2", default_limit=50, default_threshold=60.0)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def version_of(path: str) -> Version | None:
    if path == V1_PATH:
        return V1
    return V2 if V2_PATH.match(path) else None


def header(response: Any, name: str) -> str | None:
    """A response header from a requests or a schemathesis response (the latter: lower-case keys, list values)."""
    value = response.headers.get(name.lower()) if hasattr(response.headers, "get") else None
    if value is None:
        value = response.headers.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def body_of(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def request_json(response: Any) -> dict[str, Any]:
    """The JSON object the request sent, or {} when it sent none."""
    raw = getattr(response.request, "body", None)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {}
    if not isinstance(raw, str):
        return {}
    try:
        document = json.loads(raw)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def tagging_result(response: Any) -> tuple[Version, dict[str, Any], list[dict[str, Any]]] | None:
    """(version, request body, tags) of a 200 tagging answer whose shape is right; None otherwise."""
    if response.status_code != 200 or response.request is None:
        return None
    version = version_of(urlsplit(response.request.url or "").path)
    body = body_of(response)
    if version is None or not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        return None
    tags = body["result"].get("tags")
    if not isinstance(tags, list) or not all(isinstance(tag, dict) for tag in tags):
        return None
    return version, request_json(response), tags


def confidence(value: Any) -> float | None:
    """A confidence as a number, whichever type the answer used (the type is the schema's business)."""
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


@check("huawei")
def huawei_request_id(ctx: Any, response: Any, case: Any) -> None:
    """Every answer carries X-Request-Id; a gateway error body repeats it as request_id."""
    request_id = header(response, "X-Request-Id")
    violated("huawei.transport.request-id", bool(request_id), f"a {response.status_code} answer has no X-Request-Id")
    body = body_of(response)
    if isinstance(body, dict) and "request_id" in body:
        violated(
            "huawei.transport.request-id",
            body["request_id"] == request_id,
            f"the body's request_id {body['request_id']!r} is not the X-Request-Id {request_id!r}",
        )


@check("huawei")
def huawei_error_status(ctx: Any, response: Any, case: Any) -> None:
    """An error code comes with its status: the gateway's own for APIG.*, 400 for AIS.* and ModelArts.*."""
    body = body_of(response)
    code = body.get("error_code") if isinstance(body, dict) else None
    if not isinstance(code, str):
        return
    expected = GATEWAY_STATUS.get(code, 400 if SERVICE_CODE.match(code) else None)
    if expected is not None:
        violated(
            "huawei.errors.status",
            response.status_code == expected,
            f"{code} came with status {response.status_code}, not {expected}",
        )


@check("huawei")
def huawei_confidence_range(ctx: Any, response: Any, case: Any) -> None:
    """v2 confidences, strings by type, hold numbers from 0 to 100 (tags and instances alike)."""
    found = tagging_result(response)
    if found is None or found[0] is not V2:
        return
    for tag in found[2]:
        values = [tag.get("confidence")] + [
            item.get("confidence") for item in tag.get("instances") or [] if isinstance(item, dict)
        ]
        for value in values:
            if not isinstance(value, str):
                continue  # the schema reports the type
            number = confidence(value)
            violated(
                "huawei.v2.confidence-string",
                number is not None and 0.0 <= number <= 100.0,
                f"tag {tag.get('tag')!r}: confidence {value!r} is not a number from 0 to 100",
            )


@check("huawei")
def huawei_language(ctx: Any, response: Any, case: Any) -> None:
    """tag (and v2's type) is the requested language's name, zh by default."""
    found = tagging_result(response)
    if found is None:
        return
    version, sent, tags = found
    language = str(sent.get("language")) if sent.get("language") in ("zh", "en") else "zh"
    for tag in tags:
        names: dict[str, Any] = tag["i18n_tag"] if isinstance(tag.get("i18n_tag"), dict) else {}
        violated(
            "huawei.result.language",
            tag.get("tag") == names.get(language),
            f"language {language}: tag is {tag.get('tag')!r} but i18n_tag.{language} is {names.get(language)!r}",
        )
        if version is V2:
            kinds: dict[str, Any] = tag["i18n_type"] if isinstance(tag.get("i18n_type"), dict) else {}
            violated(
                "huawei.result.language",
                tag.get("type") == kinds.get(language),
                f"language {language}: type is {tag.get('type')!r} but i18n_type.{language} is {kinds.get(language)!r}",
            )


@check("huawei")
def huawei_threshold_and_limit(ctx: Any, response: Any, case: Any) -> None:
    """No tag below the threshold asked for (or the default); no more tags than the limit."""
    found = tagging_result(response)
    if found is None:
        return
    version, sent, tags = found
    threshold = version.threshold(sent.get("threshold"))
    for tag in tags:
        number = confidence(tag.get("confidence"))
        if number is None:
            continue
        violated(
            "huawei.result.threshold",
            number >= threshold - SLACK,
            f"tag {tag.get('tag')!r} has confidence {number}, below the threshold {threshold}",
        )
    limit = version.limit(sent.get("limit"))
    if limit is not None:
        violated("huawei.result.limit", len(tags) <= limit, f"{len(tags)} tags returned, over the limit of {limit}")


@check("huawei")
def huawei_boxes_inside(ctx: Any, response: Any, case: Any) -> None:
    """Bounding boxes lie inside the image that was sent (checked when it was sent as base64)."""
    found = tagging_result(response)
    if found is None or found[0] is not V2:
        return
    boxes = [
        (tag.get("tag"), item["bounding_box"])
        for tag in found[2]
        for item in tag.get("instances") or []
        if isinstance(item, dict) and isinstance(item.get("bounding_box"), dict)
    ]
    image = found[1].get("image")
    if not boxes or not isinstance(image, str) or not image:
        return
    try:
        decoded = images.decode(base64.b64decode("".join(image.split()), validate=True))
    except (binascii.Error, ValueError):
        return
    for name, box in boxes:
        values = [confidence(box.get(key)) for key in ("top_left_x", "top_left_y", "width", "height")]
        if any(value is None for value in values):
            continue  # the schema reports it
        x, y, width, height = (float(value or 0) for value in values)
        violated(
            "huawei.v2.bounding-box-inside",
            x >= 0 and y >= 0 and x + width <= decoded.width + SLACK and y + height <= decoded.height + SLACK,
            f"tag {name!r}: box x={x} y={y} w={width} h={height} leaves the {decoded.width}x{decoded.height} image",
        )
