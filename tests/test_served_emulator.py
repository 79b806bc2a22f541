"""The emulator served from a child process (`--target emulator-http`): started before pytest starts, used by
`connect`, gone after the run (or with the process that forked it); and the suite's own loopback servers,
stopped when the run ends."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from imgconf import vendors as registry
from imgconf.emulator import child, forking, server
from imgconf.errors import TargetUnreachable
from imgconf.targets import RunSettings, ServedEmulator
from imgconf.testing import threaded
from imgconf.wire.recorder import Recorder

ALTUM = registry.select(["altum"])


@pytest.fixture
def spawned(monkeypatch):
    """Every child the test starts, in order."""
    started: list[child.Child] = []
    original = child.Child.__init__

    def counting(self, *args, **kwargs):
        original(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(child.Child, "__init__", counting)
    return started


def test_connect_uses_the_emulator_the_run_started_early(spawned):
    target, settings = ServedEmulator(), RunSettings()
    with target.starting(ALTUM, settings):
        assert len(spawned) == 1  # started at once, before anything connects
        with target.connect(ALTUM, settings, Recorder()) as connections:
            altum = connections["altum"]
            assert altum.base_url == spawned[0].urls()["altum"]
            answer = altum.session.post(altum.base_url + "/labelling/url", json={}, timeout=10)
            assert answer.status_code == 403  # the emulator itself answered: API Gateway refuses a missing key
        assert len(spawned) == 1
    assert spawned[0]._process.poll() is not None  # stopped with the block


def test_connect_for_something_else_starts_its_own(spawned):
    target = ServedEmulator()
    with target.starting(ALTUM, RunSettings()):
        drifted = RunSettings(drifts={"altum": frozenset({"altum.auth-not-enforced"})})
        with target.connect(ALTUM, drifted, Recorder()) as connections:
            assert len(spawned) == 2
            assert connections["altum"].base_url == spawned[1].urls()["altum"] != spawned[0].urls()["altum"]
        assert spawned[1]._process.poll() is not None


def test_an_emulator_that_cannot_start_is_one_line_of_unreachable():
    with (
        child.started(["altum"], {"altum": frozenset({"altum.no-such-drift"})}) as early,
        pytest.raises(TargetUnreachable, match="the emulator exited with code 2") as raised,
    ):
        early.urls()
    assert "\n" not in str(raised.value)


def test_a_forked_emulator_that_cannot_start_is_one_line_of_unreachable(monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no socket for you")

    monkeypatch.setattr(server, "serve", broken)  # the fork runs this module's serve as it is at the fork
    with (
        server.forked_child(["altum"], {}) as early,
        pytest.raises(TargetUnreachable, match=r"the emulator exited with code 1: .*no socket for you") as raised,
    ):
        early.urls()
    assert "\n" not in str(raised.value)


def test_a_forked_emulator_goes_with_the_process_that_forked_it(tmp_path):
    """A run's worker killed outright (a second Ctrl-C) must leave nothing holding its pipe to the run: the
    emulator it forked inherited the pipe's write end, and the run reads that pipe to its end."""
    read, write = os.pipe()
    announced = tmp_path / "emulator.pid"

    def worker() -> None:
        os.close(read)
        with server.forked_child(["altum"], {}) as served:
            served.urls()
            announced.write_text(str(served._process.pid))
            time.sleep(60)

    pid = forking.start(worker, tmp_path / "worker.log")
    os.close(write)
    emulator = None
    try:
        deadline = time.monotonic() + 30
        while not announced.exists() or not announced.read_text():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.01)
        emulator = int(announced.read_text())
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        readable, _, _ = select.select([read], [], [], 10)
        assert readable, "the emulator outlived the worker that forked it, holding the worker's pipe open"
        assert os.read(read, 1) == b""
    finally:
        os.close(read)
        for leftover in (pid, emulator):
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(leftover, signal.SIGKILL)  # type: ignore[arg-type]


def test_a_threaded_server_stops_and_lets_its_port_go():
    class Quiet(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    port = server.server_address[1]
    thread = threaded.serve(server, "test-server")
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
    threaded.stop(server)
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
