"""schemathesis' judgement of a negative form body "as sent", extended to a body that carries a file.

`negative_data_rejection` forgives an accepted negative case whose form body, read field by field as the
server reads it off the wire, satisfies the schema after all: a mutation lost in serialization. An empty list
or object sends no part at all, so `with_heatmap: []` (not a FormBoolean) leaves identifAI's upload without a
`with_heatmap` field, which is valid, and the emulator rightly accepts it. schemathesis' judge
(`_form_body_is_valid_as_sent`) keeps a file part's generated value, its bytes (plain or in a `Binary`),
which jsonschema-rs cannot validate; so for any body holding a file it gives up, and the check reports the
vendor for accepting a valid request: a false finding that depends only on which case the seed draws.

Here a file part is judged as the text of its bytes (latin-1: one character per byte, so a length limit
means what it says), which is what a `format: binary` string describes; every other step of the judgement,
and the check itself, is schemathesis' own. tests/test_sent_forms.py sends such a case to the faithful
emulator with and without this, and a truly invalid one beside it.
"""

from __future__ import annotations

from typing import Any

from schemathesis.specs.openapi import checks as openapi_checks
from schemathesis.transport.serialization import Binary

# None where a schemathesis release has renamed it: runs keep schemathesis' own judgement (and
# tests/test_sent_forms.py fails, so that this is looked at again).
_judge: Any = getattr(openapi_checks, "_form_body_is_valid_as_sent", None)


def _is_file(value: Any) -> bool:
    """Bytes as a file part holds them: plain, or in schemathesis' `Binary` (a `format: binary` value)."""
    if isinstance(value, list):
        return any(_is_file(item) for item in value)
    return isinstance(value, bytes | bytearray | Binary)


def _as_text(value: Any) -> Any:
    if isinstance(value, Binary):
        return value.data.decode("latin-1")
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, list):
        return [_as_text(item) for item in value]
    return value


def judge_files_as_text(response: Any, case: Any, media_type: str) -> bool:
    """`_form_body_is_valid_as_sent`, with each file part's bytes standing as their text."""
    body = case.body
    if not isinstance(body, dict) or not any(_is_file(value) for value in body.values()):
        return bool(_judge(response, case, media_type))
    # Judged with the text in place, then given its bytes back: the case goes on to the report unchanged.
    # (A copy is no lighter: `Case` keeps lazily-filled slots that `copy.copy` does not carry over.)
    case.body = {name: _as_text(value) for name, value in body.items()}
    try:
        return bool(_judge(response, case, media_type))
    finally:
        case.body = body


def install() -> None:
    """Route the check's judgement through `judge_files_as_text` (for the process; idempotent)."""
    if _judge is not None:
        openapi_checks._form_body_is_valid_as_sent = judge_files_as_text
