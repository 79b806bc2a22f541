"""What keeps a run's memory bounded: large bodies are never copied, compacted or read whole only to be refused.

A full run's peak RSS was set by a handful of size-limit tests, each holding its body several times over for
a moment (issue 12). These tests pin each fix by behaviour, not by measuring memory: the body that came in
one chunk is the very object returned, an oversized base64 text is refused before any copy of it is made,
and an upload over its limit is only ever read in chunks.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import subprocess
import sys
from functools import partial
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
import requests
from schemathesis.python import asgi
from starlette.datastructures import UploadFile
from starlette.requests import Request

from imgconf import images
from imgconf.emulator import bodies
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.huawei import answers, tagging
from imgconf.emulator.identifai import DEFAULT_CREDENTIALS, create_app, media
from imgconf.runner import run
from imgconf.testing import deferred, plugin
from imgconf.vendors.huawei import probes
from imgconf.wire import signing, streamed
from imgconf.wire.multipart import StreamedForm
from imgconf.wire.streamed import StreamedBody


def request_of(*chunks: bytes) -> Request:
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return Request({"type": "http", "method": "POST", "headers": []}, receive)


def test_a_body_that_came_in_one_chunk_is_returned_as_it_is_not_copied() -> None:
    body = b"x" * 100_000
    assert asyncio.run(bodies.read_limited(request_of(body), 200_000)) is body


def test_a_body_in_chunks_is_joined_and_the_limit_still_holds() -> None:
    assert asyncio.run(bodies.read_limited(request_of(b"ab", b"", b"cd"), 4)) == b"abcd"
    with pytest.raises(bodies.BodyTooLarge):
        asyncio.run(bodies.read_limited(request_of(b"ab", b"cd", b"e"), 4))


class Uncopyable(str):
    """A text whose compacting copy fails the test: refusing it on its length must not make one."""

    def split(self, *args: Any, **kwargs: Any) -> list[str]:
        raise AssertionError("the oversized text was compacted (copied) before its size was checked")


def test_an_oversized_base64_text_is_refused_before_it_is_compacted() -> None:
    text = Uncopyable("A" * (tagging.MAX_IMAGE_TEXT + 4))
    assert tagging.decode_base64(text) == answers.BAD_SIZE


def test_an_identifai_upload_over_its_limit_is_read_in_chunks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 64 * 1024
    real_limit = media.limit_for
    monkeypatch.setattr(media, "limit_for", lambda kind: limit if kind == "image" else real_limit(kind))
    reads: list[int] = []
    real_read = UploadFile.read

    async def read(self: UploadFile, size: int = -1) -> bytes:
        reads.append(size)
        return await real_read(self, size)

    monkeypatch.setattr(UploadFile, "read", read)
    session = asgi.get_client(create_app(EmulatorConfig(options={"rate_limits": False})))
    form = StreamedForm((), "image", "big.png", "image/png", b"\x89PNG\r\n\x1a\n", 3 * limit)
    response = session.post(
        "http://identifai.test/api/classification",
        data=(chunk for chunk in form),  # a generator: the ASGI adapter streams only those
        headers={
            "X-Api-Key": DEFAULT_CREDENTIALS[0]["api_key"],
            "Accept": "application/json",
            "Content-Type": form.content_type,
        },
    )
    assert response.status_code == 400, response.text
    assert "exceeds the maximum allowed size" in response.json()["error"]
    assert reads and all(0 < size <= bodies.SPOOL_CHUNK for size in reads), reads


def test_an_identifai_upload_within_its_limit_is_still_read_and_analysed() -> None:
    session: requests.Session = asgi.get_client(create_app(EmulatorConfig(options={"rate_limits": False})))
    data = images.render(48, 32, seed=1, fmt="jpeg")
    response = session.post(
        "http://identifai.test/api/classification",
        files={"image": ("a.jpg", data, "image/jpeg")},
        headers={"X-Api-Key": DEFAULT_CREDENTIALS[0]["api_key"], "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_a_run_fixes_the_allocator_threshold_where_the_c_library_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

    monkeypatch.setattr(run.ctypes, "CDLL", lambda name: Libc())
    assert run.return_large_blocks() is True
    assert calls == [(-3, run.MMAP_THRESHOLD)]

    def missing(name: Any) -> Any:
        raise OSError("no C library")

    monkeypatch.setattr(run.ctypes, "CDLL", missing)
    assert run.return_large_blocks() is False


@pytest.mark.parametrize("head", [b"", b"\xff", b"\xff\xd8", b"\xff\xd8\xff", b"\xff\xd8\xff\xe0"])
@pytest.mark.parametrize("zeros", [0, 1, 2, 3, 4, 5, 100, 1001])
def test_image_of_zeros_is_the_json_of_the_head_and_its_zeros_in_base64(head: bytes, zeros: int) -> None:
    body = probes.image_of_zeros(head, zeros)
    sent = b"".join(body)
    assert sent == b"".join(body), "a retried request sends the same bytes"
    assert len(body) == len(sent)
    assert json.loads(sent) == {"image": base64.b64encode(head + bytes(zeros)).decode()}


def test_a_streamed_body_is_made_in_chunks_none_larger_than_a_mib() -> None:
    body = StreamedBody(b"[", b"ab", 3 * streamed.CHUNK // 2 + 1, b"]")
    chunks = list(body)
    assert b"".join(chunks) == b"[" + b"ab" * (3 * streamed.CHUNK // 2 + 1) + b"]"
    assert len(chunks) > 3 and max(len(chunk) for chunk in chunks) <= streamed.CHUNK


def test_a_streamed_body_is_signed_as_its_bytes_would_be() -> None:
    body = probes.image_of_zeros(b"\xff\xd8", 5000)
    headers = {"Host": "ais.test", signing.DATE_HEADER: "20261203T000000Z", "Content-Type": "application/json"}
    streamed_request = signing.Message("POST", "/v2/p/image/tagging", "", headers, body)
    whole = signing.Message("POST", "/v2/p/image/tagging", "", headers, b"".join(body))
    names = ["content-type", "host", "x-sdk-date"]
    assert signing.sign(streamed_request, "AK", "SK", names) == signing.sign(whole, "AK", "SK", names)
    assert signing.payload_hash(StreamedBody(b"", b"", 0, b""), {}) == signing.EMPTY_HASH


def test_a_streamed_body_over_the_gateway_limit_is_refused_by_its_length_without_a_read() -> None:
    """Huawei's 12 MB probe: the Content-Length the streamed body declares is enough for the 413."""
    body = StreamedBody(b'{"image": "', b"A", 12 * 1024 * 1024, b'"}')
    prepared = requests.Request("POST", "http://ais.test/v1.0/image/tagging", data=body).prepare()
    assert prepared.headers["Content-Length"] == str(len(body))
    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", str(len(body)).encode())]}

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    with pytest.raises(bodies.BodyTooLarge):
        asyncio.run(bodies.read_limited(Request(scope, receive), 12 * 1024 * 1024))


# -- what a run lets go while it runs (testing/plugin.py) ------------------------------------------------


def _item(function: Any, config: Any) -> Any:
    return SimpleNamespace(obj=function, config=config)


def test_explicit_examples_are_let_go_after_the_last_item_that_runs_them() -> None:
    """A parametrized test shares one function, and so one list of examples, between its items: the list is
    emptied only after the last of them, what a test left undrawn is dropped with it, and a test without
    examples is left alone."""

    @hypothesis.example(n=1)
    @hypothesis.given(n=hypothesis.strategies.integers())
    def shared(n: int) -> None:
        pass

    @hypothesis.example(n=2)
    @hypothesis.given(n=hypothesis.strategies.integers())
    def alone(n: int) -> None:
        pass

    @hypothesis.given(n=hypothesis.strategies.integers())
    def undrawn(n: int) -> None:  # examples collection left to draw, for a test never called (passed over)
        pass

    undrawn.__dict__[deferred.PENDING] = [lambda: hypothesis.example(n=3)(undrawn)]

    config = SimpleNamespace(stash={})  # a dict has what the plugin uses of pytest's Stash: `get`, item access
    items = [_item(shared, config), _item(alone, config), _item(shared, config), _item(lambda: None, config)]
    items.append(_item(undrawn, config))
    plugin.pytest_collection_finish(SimpleNamespace(items=items, config=config))
    try:
        examples = plugin.explicit_examples(items[0])
        assert examples and len(examples) == 1 and examples is plugin.explicit_examples(items[2])
        plugin.pytest_runtest_teardown(items[0])
        assert len(examples) == 1, "let go while a second item still had to run them"
        plugin.pytest_runtest_teardown(items[1])
        assert plugin.explicit_examples(items[1]) == []
        assert len(examples) == 1
        plugin.pytest_runtest_teardown(items[2])
        assert examples == []
        plugin.pytest_runtest_teardown(items[3])  # nothing to let go, nothing raised
        assert deferred.pending(undrawn)
        plugin.pytest_runtest_teardown(items[4])
        assert not deferred.pending(undrawn) and plugin.explicit_examples(items[4]) is None, "never drawn, let go"
    finally:
        gc.unfreeze()


def test_a_tests_examples_are_drawn_when_it_is_called_in_the_order_collection_left_them() -> None:
    """The plugin draws what `deferred` left on a test function as the test is called, once, in order."""

    @hypothesis.given(n=hypothesis.strategies.integers())
    def test(n: int) -> None:
        pass

    test.__dict__[deferred.PENDING] = [partial(hypothesis.example(n=value), test) for value in (1, 2)]
    item = SimpleNamespace(obj=test)
    plugin.pytest_runtest_call(item)
    assert [example.kwargs for example in test.hypothesis_explicit_examples] == [{"n": 1}, {"n": 2}]
    plugin.pytest_runtest_call(item)  # a second item of the same function: nothing drawn again
    assert len(test.hypothesis_explicit_examples) == 2 and not deferred.pending(test)


def test_hypothesis_still_keeps_a_tests_examples_where_the_plugin_looks() -> None:
    """Guard: if Hypothesis moves them, the plugin would silently stop letting them go."""

    @hypothesis.example(n=1)
    @hypothesis.given(n=hypothesis.strategies.integers())
    def test(n: int) -> None:
        pass

    examples = plugin.explicit_examples(_item(test, None))
    assert examples is not None and len(examples) == 1


def test_what_collection_froze_is_unfrozen_when_the_run_ends() -> None:
    """Frozen objects are never collected: a process that runs the suites and goes on (a test, a warm
    process forking runs) must get them back."""
    gc.unfreeze()
    config = SimpleNamespace(stash={})
    plugin.pytest_collection_finish(SimpleNamespace(items=[], config=config))
    assert gc.get_freeze_count() > 0
    plugin.pytest_unconfigure(config)
    assert gc.get_freeze_count() == 0


def test_a_run_that_neither_records_nor_replays_never_imports_vcrpy() -> None:
    """vcrpy's package imports ~100 modules (4 MB of a run's peak); only writing or reading a cassette needs it."""
    script = (
        "import sys\n"
        "from imgconf.cli import main\n"
        "from imgconf.testing import plugin, state\n"
        "from imgconf.runner import run, validate\n"
        "from imgconf.wire import cassette\n"
        "before = 'vcr' in sys.modules\n"
        "cassette.CassetteRecorder()\n"
        "print(before, 'vcr' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["False", "True"], done.stdout + done.stderr
