"""Altum AI Photo Labelling: the vendor's facts and the checks no schema can express."""

from __future__ import annotations

from typing import Any

from imgconf.checks import check, violated
from imgconf.vendors.base import ApiKeyHeader, CallbackProbe, CredentialField, Preflight, Vendor

VENDOR = Vendor(
    id="altum",
    title="Altum AI Photo Labelling",
    spec_files=("altum-labelling.yaml",),
    credentials=(CredentialField("api_key", "ALTUM_API_KEY", "API key from https://mopsus.altum.ai"),),
    auth=ApiKeyHeader("x-api-key"),
    image_urls=("https://cloud.funda.nl/valentina_media/149/998/977_1440x960.jpg",),
    preflight=Preflight("POST", "/labelling/url", frozenset({401, 403}), json={}),
    # AWS API Gateway's answer to a path no route matches, key or no key. Altum's docs print the 403 and its body
    # without saying when; that it is the gateway's unrouted answer is the research's inference (vendors-a.md).
    unrouted=(403, "Missing Authentication Token"),
    callback_probe=CallbackProbe("POST", "/labelling/url", "url", fetches_before_answering=True),
    # A smoke run on a careful URL target sends about 49 (its URL rules included where the target reaches the
    # callback address); 60 leaves room for a few 429s waited out and retried.
    live_budget=60,
)

SCENE_THRESHOLD = 70.0


def _output(response: Any) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    output = body.get("Output") if isinstance(body, dict) else None
    return output if isinstance(output, dict) else None


def _percent(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


@check("altum")
def altum_confidence_range(ctx: Any, response: Any, case: Any) -> None:
    """Every confidence is a string that parses as a number from 0 to 100."""
    output = _output(response)
    if output is None:
        return
    for key, value in output.items():
        if key.startswith("ConfidencePercent_"):
            number = _percent(value)
            violated("altum.result.confidence", number is not None, f"{key} is {value!r}, not a numeric string")
            assert number is not None
            violated("altum.result.confidence", 0.0 <= number <= 100.0, f"{key} is {value}, outside 0-100")


@check("altum")
def altum_scene_threshold(ctx: Any, response: Any, case: Any) -> None:
    """A second scene class below 70% confidence of the first, none above (the 70% rule, x-errata)."""
    output = _output(response)
    if output is None or "Scene_Class1" not in output:
        return
    first = _percent(output.get("ConfidencePercent_Scene_Class1"))
    if first is None:
        return  # the confidence check reports it
    has_second = "Scene_Class2" in output
    if first < SCENE_THRESHOLD:
        violated(
            "altum.result.scene-threshold",
            has_second,
            f"Scene_Class1 confidence is {first}, below {SCENE_THRESHOLD}, but there is no Scene_Class2",
        )
    elif first > SCENE_THRESHOLD:
        violated(
            "altum.result.scene-threshold",
            not has_second,
            f"Scene_Class1 confidence is {first}, above {SCENE_THRESHOLD}, yet Scene_Class2 is present",
        )
