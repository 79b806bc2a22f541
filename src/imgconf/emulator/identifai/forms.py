"""Reading submitted fields the way Laravel reads its input, and the first validation error as the API reports it.

Laravel trims every field and turns empty strings into null (its TrimStrings and ConvertEmptyStringsToNull
middleware), so an empty field is a missing one; booleans are exactly true, false, 1 or 0 (x-assumption
identifai-boolean-fields); messages keep field names as the documented "The file_url field is required." does.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile

from imgconf.emulator.bodies import parse_json
from imgconf.emulator.identifai.analysis import Options

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
FRAMES = (5, 10, 30)
KEY_FRAME_METHODS = ("iframes", "iframe", "flow", "color")


class Invalid(Exception):
    """A validation failure: the message is the first error, as the API reports it."""


def text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def field(form: FormData, name: str, keep_null_word: bool = True) -> str | None:
    """A text field as Laravel sees it: trimmed, and empty means absent (ConvertEmptyStringsToNull)."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    value = value.strip()
    if not value or (not keep_null_word and value.lower() == "null"):
        return None
    return value


def boolean(form: FormData, name: str) -> bool | None:
    """true, false, 1 or 0 exactly (x-assumption identifai-boolean-fields); empty is absent."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile) or value == "":
        return None
    parsed = BOOLEANS.get(value)
    if parsed is None:
        raise Invalid(f"The {name} field must be true or false.")
    return parsed


def integer(value: str | None, name: str, minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    text = value.strip()
    # PHP's filter_var refuses what overflows int64; a length check first keeps int() off 4,300-digit input.
    if not re.fullmatch(r"[+-]?\d+", text) or len(text.lstrip("+-").lstrip("0")) > 19:
        raise Invalid(f"The {name} field must be an integer.")
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise Invalid(f"The {name} field must be an integer.")
    if minimum is not None and number < minimum:
        raise Invalid(f"The {name} field must be at least {minimum}.")
    return number


def is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def options(form: FormData, kind: str) -> tuple[Options, dict[str, Any]]:
    """The documented options, in the order the pages list them; the first invalid one is reported."""
    values: dict[str, Any] = {}
    ref_id = field(form, "ref_id")
    flags = {
        "image": ("with_morphing", "with_tampering", "with_heatmap"),
        "video": ("key_frames", "with_morphing", "with_tampering"),
        "audio": (),
    }[kind]
    if kind == "video":
        frames = field(form, "frames")
        if frames is not None:
            if frames not in {str(count) for count in FRAMES}:
                raise Invalid("The selected frames is invalid.")
            values["frames"] = int(frames)
    for flag in flags:
        value = boolean(form, flag)
        if value is not None:
            values[flag] = value
    if kind == "video":
        method = field(form, "key_frames_method")
        if method is not None:
            if method not in KEY_FRAME_METHODS:
                raise Invalid("The selected key_frames_method is invalid.")
            values["key_frames_method"] = method
    webhook_url = field(form, "webhook_url")
    no_cache = bool(boolean(form, "no_cache"))
    value = boolean(form, "prevent_c2pa_forces")
    if value is not None:
        values["prevent_c2pa_forces"] = value
    if kind == "image":
        value = boolean(form, "with_nsfw")
        if value is not None:
            values["with_nsfw"] = value
        # The older guide's legacy flag: validated like the others, its value ignored (x-assumption identifai-with-llm).
        boolean(form, "with_llm")
    return Options(**values), {"ref_id": ref_id, "webhook_url": webhook_url, "no_cache": no_cache}


def json_form(body: bytes) -> FormData:
    """A JSON object body as form fields (text values, nulls left out); anything else is an empty form."""
    try:
        document = parse_json(body or b"null")
    except ValueError:  # bad syntax or encoding, too deep, too long a number
        return FormData()
    if not isinstance(document, dict):
        return FormData()
    return FormData([(key, text_value(value)) for key, value in document.items() if value is not None])
