"""What the Huawei suites send on purpose: image bodies, images the service must take, and signatures
broken in exactly one way each.

Each broken signature starts from a correct one (`auth.sign_prepared`, the SDK's algorithm) and
changes one thing, so a refusal can only mean the gateway checked that thing.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from hypothesis import strategies as st

from imgconf import images
from imgconf.report import wording
from imgconf.testing.context import active
from imgconf.vendors.huawei.auth import sign_prepared
from imgconf.wire import signing
from imgconf.wire.streamed import StreamedBody

FORMATS = ("jpeg", "png", "bmp")
MIN_SIDE, MAX_SIDE = 16, 4096


def local() -> bool:
    """The run may drive its target as hard as the emulator (call from suites, where a run is active)."""
    return not active().options.target.metered


def on_live(cases: list[Any], keep: int) -> list[Any]:
    """Every case on the emulator; the first `keep` on a metered target, where a run has 50 requests."""
    return cases if local() else cases[:keep]


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_of_zeros(head: bytes, zeros: int) -> StreamedBody:
    """`{"image": encode(head + bytes(zeros))}` as JSON bytes, made as it is sent: every three zeros are "AAAA".

    For the size-limit probes: a 10 MB text held whole, with the JSON around it, was a run's peak memory.
    """
    lead = min(-len(head) % 3, zeros)  # the zeros that complete head's last group of three
    rest = zeros - lead
    return StreamedBody(
        b'{"image": "' + base64.b64encode(head + bytes(lead)),
        b"AAAA",
        rest // 3,
        base64.b64encode(bytes(rest % 3)) + b'"}',
    )


def image_body(data: bytes, **fields: Any) -> dict[str, Any]:
    return {"image": encode(data), **fields}


def accepted_images(max_side: int = 320) -> st.SearchStrategy[tuple[bytes, str]]:
    """(bytes, format) of images the service takes: JPG, PNG or BMP, each side from 16 pixels, edges included."""
    sides = st.one_of(st.sampled_from([MIN_SIDE, MIN_SIDE + 1, max_side]), st.integers(MIN_SIDE, max_side))
    return st.builds(
        lambda width, height, seed, fmt: (images.render(width, height, seed, fmt), fmt),
        sides,
        sides,
        st.integers(0, 2**32 - 1),
        st.sampled_from(FORMATS),
    )


@lru_cache(maxsize=4)
def corpus(size: int) -> tuple[tuple[str, bytes, str], ...]:
    """A fixed set of accepted images (name, bytes, format): the same every run, made once per process for each
    size (the results tests sweep it eight times: ~23 ms a call at 64 images), as a tuple no caller can change."""
    items = []
    for index in range(size):
        fmt = FORMATS[index % len(FORMATS)]
        width = MIN_SIDE + (index * 37) % 200
        height = MIN_SIDE + (index * 53) % 150
        items.append((f"{fmt}-{width}x{height}-{index}", images.render(width, height, 7000 + index, fmt), fmt))
    return tuple(items)


Mutation = Callable[[requests.PreparedRequest], None]


class Signed(requests.auth.AuthBase):
    """Sign as the SDK does, with a hook before signing (`before`) and one after (`after`)."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        before: Mutation | None = None,
        after: Mutation | None = None,
        sdk_date: datetime | None = None,
        signed_headers: Callable[[list[str]], list[str]] | None = None,
        trailing_slash: bool = True,
    ) -> None:
        self.credentials = credentials
        self.before = before
        self.after = after
        self.sdk_date = sdk_date
        self.signed_headers = signed_headers
        self.trailing_slash = trailing_slash

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.sdk_date is not None:
            request.headers[signing.DATE_HEADER] = signing.format_date(self.sdk_date)
        if self.before is not None:
            self.before(request)
        sign_prepared(request, self.credentials["ak"], self.credentials["sk"], self.credentials.get("project_id"))
        if self.signed_headers is not None or not self.trailing_slash:
            self._resign(request)
        if self.after is not None:
            self.after(request)
        return request

    def _resign(self, request: requests.PreparedRequest) -> None:
        """Sign again over a chosen header list, or over a canonical URI without its trailing slash."""
        parsed = signing.parse_authorization(request.headers["Authorization"])
        assert parsed is not None
        names = list(parsed.signed_headers)
        if self.signed_headers is not None:
            names = sorted(self.signed_headers(names))
        parts = urlsplit(request.url or "")
        raw = signing.raw_body(request.body)
        message = signing.Message(request.method or "GET", parts.path, parts.query, dict(request.headers), raw)
        canonical = message.canonical(names)
        if not self.trailing_slash:
            lines = canonical.split("\n")
            lines[1] = lines[1].rstrip("/") or "/"
            canonical = "\n".join(lines)
        sdk_date = request.headers[signing.DATE_HEADER]
        value = signing.signature(self.credentials["sk"], signing.string_to_sign(canonical, sdk_date))
        request.headers["Authorization"] = signing.authorization(self.credentials["ak"], names, value)


def replace_body(data: bytes) -> Mutation:
    """After signing: another body of the same length, as a proxy that rewrote it would send."""

    def mutate(request: requests.PreparedRequest) -> None:
        request.body = data
        request.headers["Content-Length"] = str(len(data))

    return mutate


def set_header(name: str, value: str) -> Mutation:
    def mutate(request: requests.PreparedRequest) -> None:
        request.headers[name] = value

    return mutate


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


V1_PATH = "/v1.0/image/tagging"


def local_only(reason: str) -> Any:
    """Skip on a metered target, saying which other test covers the rule there."""
    import pytest

    reason = f"{wording.NOT_CHECKED_THOROUGH}: saved on a metered target: {reason}"
    return pytest.mark.skipif(not local(), reason=reason)


def error_code(response: requests.Response) -> str | None:
    """The `error_code` of a Huawei error body, or None when there is none to read."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error_code") if isinstance(body, dict) else None


def tagging_paths(project_path: str) -> dict[str, str]:
    """Both tagging versions by name: v1.0's fixed path and v2's path for the run's project."""
    return {"v1": V1_PATH, "v2": project_path}
