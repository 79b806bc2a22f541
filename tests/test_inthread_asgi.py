"""The in-process emulator's transport answers as schemathesis' ASGI adapter does; the per-case memos change nothing.

targets/asgi.py runs the app in the calling thread instead of on schemathesis' shared event-loop thread; the
contract module remembers each operation's merged checks configuration; imagerecognize remembers parsed
multipart heads. Each is compared here with what it replaced, on the same inputs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest
import requests
from schemathesis.python import asgi
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from imgconf.emulator import altum as altum_emulator
from imgconf.emulator.config import EmulatorConfig
from imgconf.targets import asgi as asgi_transport
from imgconf.targets.asgi import InThreadASGIAdapter
from imgconf.vendors import imagerecognize


async def echo(request: Request) -> Response:
    body = await request.body()
    # requests draws a random multipart boundary: named B here, so that two sends of one form read alike.
    boundary = request.headers.get("content-type", "").partition("boundary=")[2]
    if boundary:
        body = body.replace(boundary.encode(), b"B")
    seen = {
        "method": request.method,
        "path": request.url.path,
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query": request.url.query,
        "headers": sorted(
            (key, value.replace(boundary, "B") if boundary else value)
            for key, value in request.headers.items()
            if key != "content-length"
        ),
        "length": len(body),
        "head": body[:40].decode("latin-1"),
    }
    answer = JSONResponse(seen, status_code=int(request.query_params.get("status", "200")))
    answer.headers["X-Twice"] = "a"
    answer.raw_headers.append((b"x-twice", b"b"))
    answer.set_cookie("session", "s1")
    return answer


async def streamed(request: Request) -> Response:
    async def chunks():
        for index in range(3):
            yield f"chunk {index};".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


async def threaded(request: Request) -> Response:
    name = await run_in_threadpool(lambda: threading.current_thread().name)
    return PlainTextResponse("worker" if name != threading.current_thread().name else "same thread")


async def slow(request: Request) -> Response:
    await asyncio.sleep(5)
    return PlainTextResponse("late")


APP = Starlette(
    routes=[
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "HEAD", "DELETE"]),
        Route("/stream", streamed),
        Route("/threaded", threaded),
        Route("/slow", slow),
    ]
)


def sessions(app) -> tuple[requests.Session, requests.Session]:
    theirs, ours = requests.Session(), requests.Session()
    theirs.mount("http://", asgi.get_client(app).adapter)
    ours.mount("http://", InThreadASGIAdapter(app))
    return theirs, ours


def answer(response: requests.Response) -> tuple:
    return (
        response.status_code,
        response.reason,
        response.raw.headers.items(),
        response.content,
        response.cookies.get_dict(),
        response.url,
    )


REQUESTS = [
    ("GET", "http://api.test/echo/a%20b/c?x=1&y=%C3%A9", {}),
    ("GET", "http://api.test:8080/echo/port", {}),
    ("POST", "http://api.test/echo/json?status=422", {"json": {"a": [1, 2], "é": "ü"}}),
    ("POST", "http://api.test/echo/form", {"data": {"apikey": "k", "type": "objects"}}),
    ("POST", "http://api.test/echo/files", {"files": {"file": ("photo.jpg", b"\xff\xd8\xff" + bytes(range(256)))}}),
    ("PUT", "http://api.test/echo/text", {"data": "plain text body", "headers": {"Content-Type": "text/plain"}}),
    ("HEAD", "http://api.test/echo/head", {}),
    ("DELETE", "http://api.test/echo/x", {"headers": {"Host": "other.test", "X-Latin": "caf\xe9"}}),
    ("GET", "http://api.test/stream", {}),
    ("GET", "http://api.test/missing", {}),
    ("PATCH", "http://api.test/echo/x", {}),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), REQUESTS, ids=[f"{m} {u[16:]}" for m, u, _ in REQUESTS])
def test_the_in_thread_adapter_answers_as_schemathesis_adapter_does(method, url, kwargs):
    theirs, ours = sessions(APP)
    assert answer(ours.request(method, url, **kwargs)) == answer(theirs.request(method, url, **kwargs))


def test_a_streamed_request_body_arrives_whole():
    theirs, ours = sessions(APP)

    def chunks():
        yield b"\xff\xd8"
        yield "text chunk"
        yield bytes(80_000)

    mine = ours.post("http://api.test/echo/stream", data=chunks())
    reference = theirs.post("http://api.test/echo/stream", data=chunks())
    assert mine.json()["length"] == 80_012
    assert answer(mine) == answer(reference)


def test_work_handed_to_a_thread_is_awaited_within_the_request():
    _, ours = sessions(APP)
    assert [ours.get("http://api.test/threaded").text for _ in range(3)] == ["worker"] * 3


def test_a_slow_app_is_a_read_timeout():
    _, ours = sessions(APP)
    with pytest.raises(requests.exceptions.ReadTimeout):
        ours.get("http://api.test/slow", timeout=0.05)
    assert ours.get("http://api.test/echo/after").status_code == 200  # the loop is usable afterwards


def test_each_thread_gets_its_own_loop_and_closing_closes_them():
    adapter = InThreadASGIAdapter(APP)
    session = requests.Session()
    session.mount("http://", adapter)
    seen: list[int] = []
    together = threading.Barrier(3)  # alive at once, so no thread's ident is reused by another

    def call() -> None:
        seen.append(session.get("http://api.test/echo/t").status_code)

    def worker_call() -> None:
        call()
        together.wait(timeout=10)

    workers = [threading.Thread(target=worker_call) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    call()
    assert seen == [200] * 4
    loops = [server.loop for server in adapter._servers.values()]
    assert len(loops) == 4
    adapter.close()
    assert all(loop.is_closed() for loop in loops)
    assert session.get("http://api.test/echo/again").status_code == 200  # a new loop on demand


def test_a_loops_requests_share_anyios_worker_thread():
    """Every request of a loop runs in one task, anyio's root for its worker threads: a task per request started
    and stopped a thread for every image the emulator decoded (6% of an Altum full run)."""
    workers: list[threading.Thread] = []

    async def offloaded(request: Request) -> Response:
        workers.append(await run_in_threadpool(threading.current_thread))
        return PlainTextResponse("done")

    adapter = InThreadASGIAdapter(Starlette(routes=[Route("/offloaded", offloaded)]))
    session = requests.Session()
    session.mount("http://", adapter)
    assert [session.get("http://api.test/offloaded").status_code for _ in range(5)] == [200] * 5
    assert len(workers) == 5 and len(set(workers)) == 1
    session.close()
    workers[0].join(timeout=5)
    assert not workers[0].is_alive(), "closing the adapter stops the thread it kept"


def test_a_process_that_never_closes_its_adapter_still_exits(tmp_path):
    """anyio's kept worker thread is not a daemon: without the adapter's exit hook the interpreter would wait for it
    for ever at exit."""
    script = tmp_path / "forgets_to_close.py"
    script.write_text(
        "import requests\n"
        "from starlette.applications import Starlette\n"
        "from starlette.concurrency import run_in_threadpool\n"
        "from starlette.responses import PlainTextResponse\n"
        "from starlette.routing import Route\n"
        "from imgconf.targets.asgi import InThreadASGIAdapter\n"
        "async def offloaded(request):\n"
        "    return PlainTextResponse(await run_in_threadpool(lambda: 'done'))\n"
        "SESSION = requests.Session()\n"
        "SESSION.mount('http://', InThreadASGIAdapter(Starlette(routes=[Route('/', offloaded)])))\n"
        "print(SESSION.get('http://api.test/').text)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.strip()) == (0, "done"), done.stderr


def test_the_emulator_answers_the_same_through_either_adapter():
    image = b"\xff\xd8\xff\xe0" + bytes(200)
    key = altum_emulator.DEFAULT_CREDENTIALS[0]["api_key"]
    calls = [
        (
            "POST",
            "/labelling/url",
            {"json": {"url": altum_emulator.DOCUMENTED_EXAMPLE_URL}, "headers": {"x-api-key": key}},
        ),
        ("POST", "/labelling/img", {"files": {"image": ("a.jpg", image, "image/jpeg")}, "headers": {"x-api-key": key}}),
        ("POST", "/labelling/url", {"json": {"url": 3}, "headers": {"x-api-key": key}}),
        ("POST", "/labelling/url", {"json": {"url": "https://x.invalid/a.jpg"}}),
        ("GET", "/labelling/url", {}),
    ]
    theirs, ours = sessions(altum_emulator.create_app(EmulatorConfig()))
    for method, path, kwargs in calls:
        url = "http://altum.emulator" + path
        assert answer(ours.request(method, url, **kwargs)) == answer(theirs.request(method, url, **kwargs)), path


# -- imagerecognize's remembered multipart heads -----------------------------------------------------------------

HEADS = [
    b'Content-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg',
    b'Content-Disposition: form-data; name="apikey"',
    b"Content-Disposition: form-data; name=type",
    b'Content-Disposition: form-data; name="a;b"; filename=""',
    b'content-disposition: FORM-DATA; NAME="Min_Confidence"',
    b"Content-Type: text/plain",
    b'Content-Disposition: form-data; name="\xc3\xa9t\xc3\xa9"',
]


@pytest.mark.parametrize("head", HEADS)
def test_a_remembered_part_head_reads_as_a_freshly_parsed_one(head):
    fresh = imagerecognize._part_head.__wrapped__(head)
    assert imagerecognize._part_head(head) == fresh
    assert imagerecognize._part_head(head) == fresh


def _interrupted_mid_request() -> tuple[requests.Session, list[threading.Thread]]:
    """A request whose app waits in `run_in_threadpool` when a KeyboardInterrupt leaves the loop; the session and
    the non-daemon threads the request started (their wait already released)."""
    release = threading.Event()

    def interrupt() -> None:
        raise KeyboardInterrupt

    async def slow(request: Request) -> Response:
        asyncio.get_running_loop().call_later(0.05, interrupt)
        await run_in_threadpool(release.wait, 5)
        return PlainTextResponse("late")

    before = set(threading.enumerate())
    session = requests.Session()
    session.mount("http://emulator", InThreadASGIAdapter(Starlette(routes=[Route("/slow", slow)])))
    with pytest.raises(KeyboardInterrupt):
        session.get("http://emulator/slow")
    release.set()
    started = [thread for thread in set(threading.enumerate()) - before if not thread.daemon]
    assert started, "the app's threadpool call should have started a worker thread"
    return session, started


def test_an_interrupted_request_leaves_no_worker_thread_behind():
    """Ctrl-C mid-request (a KeyboardInterrupt out of the loop) must not strand anyio's non-daemon worker thread,
    which would keep the process from ever exiting (a `--workers` worker hung in shutdown on exactly this)."""
    _, started = _interrupted_mid_request()
    for thread in started:
        thread.join(timeout=5)
    assert not [thread.name for thread in started if thread.is_alive()]


def test_closing_the_adapter_stops_a_worker_thread_its_interrupted_request_left(monkeypatch):
    """Where a signal lands so that even the settling cannot run anyio's stop callback, closing the adapter (the
    in-process target closes its sessions when the run ends) still releases the thread."""
    monkeypatch.setattr(asgi_transport, "_settle", lambda loop, task: None)
    session, started = _interrupted_mid_request()
    time.sleep(0.2)
    assert all(thread.is_alive() for thread in started), "stranded, as without the close"
    session.close()
    for thread in started:
        thread.join(timeout=5)
    assert not [thread.name for thread in started if thread.is_alive()]
