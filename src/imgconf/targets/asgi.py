"""requests -> an ASGI app in the calling thread: the in-process emulator's transport.

schemathesis' ASGI adapter runs every app on one shared event loop in a thread of its own and hands each
request over to it (and the answer back) through an anyio portal, twice per request. For the emulator that
hop was most of what sending a contract case cost (py-spy: 5.4% of a full contract run, 40% of a case's
send-and-check; the app's own work was 1%). Here each request runs the app to completion on an event loop
owned by the calling thread: same scope, same messages, the same `requests.Response`, no thread hop.

What the emulator needs of a loop it has between requests: nothing. It keeps no task running past its
answer (timers and webhook deliveries are threads of their own) and has no lifespan; work it hands to a
thread (`run_in_threadpool`) is awaited within the request.

A loop's requests all run in one long-lived task, as a server's do under uvicorn: anyio keeps the worker
threads of `run_in_threadpool` for as long as the task it takes for the root, so a task per request started
and stopped a thread for every image the emulator decoded or fetched (py-spy: 6% of an Altum full run).
Those threads are not daemons: the adapter stops them when it is closed or collected, and before the
interpreter joins its threads at exit (as `concurrent.futures` does for its own), so nothing that forgets to
close an adapter hangs on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import io
import threading
import types
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import requests.adapters
import urllib3
from urllib3.exceptions import ReadTimeoutError

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


class _Headers:
    """What requests' cookie extraction reads of an `http.client` message: `get_all`."""

    __slots__ = ("headers",)

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered] or default


class _OriginalResponse:
    """urllib3's `original_response`: requests reads cookies through it, urllib3 closes it."""

    __slots__ = ("closed", "msg")

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.msg = _Headers(headers)
        self.closed = False

    def isclosed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def _stop_worker_threads(loops: list[asyncio.AbstractEventLoop]) -> None:
    """anyio's worker threads bound to `loops`, told to stop (anyio's `WorkerThread`: its `loop`, `stop()`).

    A thread is stopped by its root task's done-callback; when a signal cut the request off where `_settle`
    could not run that callback, the thread would wait for work for ever and, being non-daemon, keep the
    process from exiting (seen: a run given SIGTERM in its second second, stuck in shutdown).
    """
    for thread in threading.enumerate():
        stop = getattr(thread, "stop", None)
        if callable(stop) and any(getattr(thread, "loop", None) is loop for loop in loops):
            with contextlib.suppress(Exception):  # its queue full: it is busy, and will see the stop next
                stop()


def _settle(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None]) -> None:
    """An interrupted task, cancelled and its loop run until its done-callbacks have run.

    anyio stops the worker threads an app's `run_in_threadpool` started when their root task is done, in a
    done-callback; a signal that stops the loop mid-request leaves the callback unrun and the (non-daemon)
    thread waiting forever, so the process never exits (seen: a `--workers` worker stuck in shutdown).
    """
    if not task.done():
        task.cancel()
    with contextlib.suppress(BaseException):
        loop.run_until_complete(asyncio.gather(task, return_exceptions=True))


Call = Callable[[], Awaitable[None]]
Inbox = asyncio.Queue[tuple[Call, "asyncio.Future[None]"]]


async def _serve(inbox: Inbox) -> None:
    while True:
        call, answered = await inbox.get()
        try:
            await call()
        except Exception as exc:  # the app's, or the read timeout's: the caller's to raise
            if not answered.done():
                answered.set_exception(exc)
        else:
            if not answered.done():
                answered.set_result(None)


class _Server:
    """One loop, and the task that runs its requests in turn (anyio's root task for its worker threads)."""

    __slots__ = ("inbox", "loop", "task")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.inbox: Inbox = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def answer(self, call: Call) -> None:
        """`call` run on this loop, in the serving task, to its end; what it raised is raised here."""
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(_serve(self.inbox))
        answered: asyncio.Future[None] = self.loop.create_future()
        self.inbox.put_nowait((call, answered))
        try:
            self.loop.run_until_complete(answered)
        except BaseException:  # Ctrl-C or SIGTERM (the runner's Interrupted) mid-request, or what `call` raised
            if not answered.done():
                self.settle()
            raise

    def settle(self) -> None:
        """The serving task cancelled and settled (see `_settle`); the next request starts a new one."""
        task, self.task = self.task, None
        while not self.inbox.empty():
            self.inbox.get_nowait()
        if task is not None:
            _settle(self.loop, task)

    def close(self) -> None:
        if self.loop.is_running() or self.loop.is_closed():
            return
        self.settle()
        self.loop.close()


def _close_servers(servers: dict[int, _Server]) -> None:
    _stop_worker_threads([server.loop for server in servers.values()])
    for server in list(servers.values()):
        server.close()
    servers.clear()


class InThreadASGIAdapter(requests.adapters.HTTPAdapter):
    """A transport adapter that answers from `app`, run on the calling thread's own event loop."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self.app = app
        # One loop per calling thread (a loop runs one request at a time); closed with the adapter.
        self._servers: dict[int, _Server] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_servers, self._servers)
        _OPEN.add(self)

    def close(self) -> None:
        with self._lock:
            _close_servers(self._servers)

    def _server(self) -> _Server:
        ident = threading.get_ident()
        server = self._servers.get(ident)
        if server is None or server.loop.is_closed():
            with self._lock:
                server = self._servers[ident] = _Server()
        return server

    def send(
        self, request: requests.PreparedRequest, *args: Any, timeout: Any = None, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(str(request.url))
        scheme, path, query = parts.scheme, parts.path, parts.query
        default_port = {"http": 80, "https": 443}[scheme]
        host = parts.hostname or ""
        port = parts.port or default_port
        header_host = f"[{host}]" if ":" in host else host
        if "host" in request.headers:
            headers: list[tuple[bytes, bytes]] = []
        elif port == default_port:
            headers = [(b"host", header_host.encode())]
        else:
            headers = [(b"host", f"{header_host}:{port}".encode())]
        # Headers travel over the wire as latin-1: the app gets the octets a real server would give it.
        headers += [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in request.headers.items()]
        scope: dict[str, Any] = {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            "path": unquote(path),
            "raw_path": path.encode(),
            "root_path": "",
            "scheme": scheme,
            "query_string": query.encode(),
            "headers": headers,
            "client": ["testclient", 50000],
            "server": [host, port],
            "state": {},
        }
        request_complete = False
        response_started = False
        raw: dict[str, Any] = {"body": io.BytesIO(), "request_method": request.method}
        complete: asyncio.Event | None = None

        async def receive() -> Message:
            nonlocal request_complete
            if request_complete:
                assert complete is not None
                await complete.wait()
                return {"type": "http.disconnect"}
            body: Any = request.body
            if isinstance(body, types.GeneratorType):
                try:
                    chunk = body.send(None)
                    return {
                        "type": "http.request",
                        "body": chunk.encode() if isinstance(chunk, str) else chunk,
                        "more_body": True,
                    }
                except StopIteration:
                    request_complete = True
                    return {"type": "http.request", "body": b""}
            request_complete = True
            if isinstance(body, str):
                body = body.encode("utf-8")
            return {"type": "http.request", "body": body or b""}

        async def send(message: Message) -> None:
            nonlocal response_started
            assert complete is not None
            if message["type"] == "http.response.start":
                assert not response_started, 'Received multiple "http.response.start" messages.'
                response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
                raw.update(
                    version=11,
                    status=message["status"],
                    reason=_reason(message["status"]),
                    headers=response_headers,
                    preload_content=False,
                    original_response=_OriginalResponse(response_headers),
                )
                response_started = True
            elif message["type"] == "http.response.body":
                assert response_started, 'Received "http.response.body" without "http.response.start".'
                assert not complete.is_set(), 'Received "http.response.body" after response completed.'
                raw["body"].write(message.get("body", b"") if request.method != "HEAD" else b"")
                if not message.get("more_body", False):
                    raw["body"].seek(0)
                    complete.set()

        # requests uses a (connect, read) pair; only the read half means anything without a socket.
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout

        async def run() -> None:
            nonlocal complete
            complete = asyncio.Event()
            # asyncio's own deadline: anyio's fail_after (a cancel scope) cost a case 0.9% of a contract run.
            async with asyncio.timeout(read_timeout):
                await self.app(scope, receive, send)

        try:
            self._server().answer(run)
        except TimeoutError:
            error = ReadTimeoutError(
                f"{scheme}://{host}:{port}",  # type: ignore[arg-type]
                request.url,
                f"Read timed out. (read timeout={read_timeout})",
            )
            raise requests.exceptions.ReadTimeout(error, request=request) from None
        assert response_started, "The application did not return a response."
        return self.build_response(request, urllib3.HTTPResponse(**raw))


# Adapters not yet closed, closed before the interpreter joins its non-daemon threads at exit (the hook
# `concurrent.futures` uses for its pools): anyio's idle worker threads would otherwise be waited for forever.
_OPEN: weakref.WeakSet[InThreadASGIAdapter] = weakref.WeakSet()


def _close_open_adapters() -> None:
    for adapter in list(_OPEN):
        with contextlib.suppress(Exception):  # one adapter's trouble must not keep the others' threads
            adapter.close()


threading._register_atexit(_close_open_adapters)  # type: ignore[attr-defined]
