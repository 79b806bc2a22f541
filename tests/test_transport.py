"""The guarded transport: budget, pacing, 429 back-off and the host guard, with fake clocks and adapters."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from imgconf import paths
from imgconf.errors import BudgetExhausted, TargetThrottled
from imgconf.vendors import identifai
from imgconf.wire.budget import Budget
from imgconf.wire.cassette import CassetteRecorder, ReplayAdapter
from imgconf.wire.exchange import BODY_KEEP
from imgconf.wire.guard import Guard, HostNotAllowed, guarded_session, observe_429, retry_after
from imgconf.wire.multipart import StreamedForm, parts
from imgconf.wire.pacer import Pacer, RateLimit
from imgconf.wire.recorder import Recorder


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Scripted(requests.adapters.BaseAdapter):
    """Answers with a scripted list of (status, headers) and records what it was sent."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[str] = []

    def send(self, request, **kwargs):
        self.sent.append(request.url)
        status, headers = self.script.pop(0) if self.script else (200, {})
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        response._content = b"{}"
        response.request = request
        response.url = request.url
        return response

    def close(self) -> None:
        pass


def session_with(script, *, budget=None, retries=0, allowed=frozenset({"api.test"}), pacer=None):
    clock = FakeClock()
    recorder = Recorder()
    guard = Guard(
        "v", recorder, Budget({"v": budget}), pacer=pacer, allowed_hosts=allowed, retry_429=retries, sleep=clock.sleep
    )
    inner = Scripted(script)
    return guarded_session(inner, guard), inner, recorder, guard, clock


def test_the_budget_stops_the_request_that_would_exceed_it():
    session, inner, recorder, _, _ = session_with([], budget=3)
    for _ in range(3):
        session.get("http://api.test/x")
    with pytest.raises(BudgetExhausted, match="budget of 3"):
        session.get("http://api.test/x")
    assert len(inner.sent) == 3
    assert recorder.per_vendor["v"] == 3


def test_a_429_storm_is_waited_out_with_retry_after_and_backoff():
    script = [(429, {"Retry-After": "7"}), (429, {}), (429, {}), (200, {})]
    session, inner, recorder, guard, _ = session_with(script, retries=5)
    response = session.get("http://api.test/x")
    assert response.status_code == 200
    assert guard.waited == [7.0, 2.0, 4.0]  # Retry-After first, then exponential back-off
    assert len(inner.sent) == 4 and recorder.total == 4


def test_retries_are_bounded_and_each_one_costs_budget():
    session, inner, _, _, _ = session_with([(429, {"Retry-After": "7"})] * 10, retries=2, budget=100)
    with pytest.raises(TargetThrottled) as throttled:
        session.get("http://api.test/x")
    assert len(inner.sent) == 3
    assert throttled.value.retry_after == "7" and "throttled" in throttled.value.message
    session, inner, _, _, _ = session_with([(429, {})] * 10, retries=5, budget=2)
    with pytest.raises(BudgetExhausted):
        session.get("http://api.test/x")


def test_observe_429_returns_the_429_to_the_caller():
    session, inner, _, guard, _ = session_with([(429, {"Retry-After": "1"})], retries=5)
    with observe_429():
        assert session.get("http://api.test/x").status_code == 429
    assert guard.waited == [] and len(inner.sent) == 1


def test_requests_to_other_hosts_are_never_sent():
    session, inner, _, _, _ = session_with([])
    with pytest.raises(HostNotAllowed):
        session.get("http://169.254.169.254/latest/meta-data")
    assert inner.sent == []


def test_the_pacer_keeps_every_window():
    clock = FakeClock()
    pacer = Pacer((RateLimit(2, 1.0, ("GET",)), RateLimit(5, 60.0, ("GET",))), clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(7):
        pacer.wait("GET")
        sent.append(clock.now)
    for index in range(len(sent)):
        in_second = [t for t in sent if sent[index] <= t < sent[index] + 1.0]
        in_minute = [t for t in sent if sent[index] <= t < sent[index] + 60.0]
        assert len(in_second) <= 2 and len(in_minute) <= 5
    assert sent[5] - sent[0] >= 60.0
    pacer.wait("POST")  # other methods are not limited by GET windows
    assert clock.now == sent[-1]


def test_a_request_counts_in_the_window_until_its_answer_is_back():
    """One that left early but arrived late counts until its answer: later ones may not crowd it at the vendor."""
    clock = FakeClock()
    start = clock.now
    pacer = Pacer((RateLimit(2, 1.0, ("GET",)),), clock=clock, sleep=clock.sleep)
    slow = pacer.wait("GET")  # leaves at 0; the vendor counts it at 0.4, say, and it is answered then
    pacer.answered(pacer.wait("GET"))  # leaves and is answered at 0
    clock.now += 0.4
    pacer.answered(slow)
    pacer.answered(pacer.wait("GET"))  # room once the quick one has left the window: 1.05
    assert clock.now - start == pytest.approx(1.0 + pacer.margin)
    pacer.wait("GET")
    # Counted from when they left, both first requests were gone at 1.05, and this one would have gone with the
    # third, two requests in the vendor's second beside `slow`.
    assert clock.now - start == pytest.approx(0.4 + 1.0 + pacer.margin)


@pytest.mark.parametrize(("value", "expected"), [("12", 12.0), (None, None), ("soon", None), ("0", 0.0)])
def test_retry_after_seconds(value, expected):
    assert retry_after(value) == expected


def test_retry_after_http_date_is_in_the_future():
    assert retry_after("Wed, 21 Oct 2099 07:28:00 GMT") > 1e6
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


class Draining(Scripted):
    """Reads a streamed body chunk by chunk, as urllib3 and the ASGI adapter do, keeping only its size."""

    def __init__(self, script) -> None:
        super().__init__(script)
        self.chunk_sizes: list[list[int]] = []
        self.kinds: list[str] = []

    def send(self, request, **kwargs):
        self.kinds.append(type(request.body).__name__)
        self.chunk_sizes.append([len(chunk) for chunk in request.body])
        return super().send(request, **kwargs)


def test_a_streamed_form_is_sent_as_chunks_and_recorded_as_its_prefix_and_size():
    form = StreamedForm((("type", "objects"),), "file", "a.jpg", "image/jpeg", b"\xff\xd8\xff", 3 * 1024 * 1024 + 5)
    clock = FakeClock()
    recorder = Recorder()
    guard = Guard("v", recorder, Budget({"v": None}), allowed_hosts=frozenset({"api.test"}), retry_429=1)
    guard.sleep = clock.sleep
    inner = Draining([(429, {"Retry-After": "1"}), (200, {})])
    session = guarded_session(inner, guard)
    response = session.post("http://api.test/x", data=form, headers={"Content-Type": form.content_type})
    assert response.status_code == 200
    assert inner.kinds == ["generator", "generator"]  # what schemathesis' ASGI adapter streams
    # No chunk is larger than the form's chunk (plus the part headers): the body is never joined; the retry
    # after the 429 sends it whole again.
    assert all(max(sizes) <= form.chunk + 512 for sizes in inner.chunk_sizes)
    assert [sum(sizes) for sizes in inner.chunk_sizes] == [len(form), len(form)]
    assert response.request.headers["Content-Length"] == str(len(form))
    exchange = recorder.test_exchanges[-1]
    assert exchange.request_size == len(form)
    assert len(exchange.request_body) == BODY_KEEP
    assert exchange.request_body.startswith(b"--" + form.boundary.encode())


def test_a_streamed_form_reads_back_as_the_parts_it_was_made_of():
    form = StreamedForm((("type", "objects"), ("apikey", "old")), "file", "a.png", "image/png", b"\x89PNG", 10_000)
    keyed = form.with_field("apikey", "new")
    body = b"".join(keyed)
    assert len(body) == len(keyed)
    found = parts(keyed.content_type, body)
    assert [(part["name"], part["filename"]) for part in found] == [("apikey", None), ("type", None), ("file", "a.png")]
    assert found[0]["bytes"] == b"new"
    assert found[2]["size"] == 10_000
    assert found[2]["bytes"].startswith(b"\x89PNG")
    assert found[2]["content_type"] == "image/png"


def test_a_streamed_form_replays_to_the_answer_recorded_for_it():
    """The replay keys a streamed body on what the recording kept of it (its first BODY_KEEP bytes)."""
    form = StreamedForm((("type", "objects"),), "file", "a.jpg", "image/jpeg", b"\xff\xd8\xff", 3 * 1024 * 1024 + 5)
    recording = Recorder()
    cassette = CassetteRecorder()
    recording.listeners.append(cassette)
    guard = Guard("v", recording, Budget({"v": None}), allowed_hosts=frozenset({"api.test"}))
    recorded = guarded_session(Draining([(413, {})]), guard).post(
        "http://api.test/x", data=form, headers={"Content-Type": form.content_type}
    )
    replaying = Recorder()
    guard = Guard("v", replaying, Budget({"v": None}), allowed_hosts=frozenset({"api.test"}))
    adapter = ReplayAdapter(list(zip(cassette.requests, cassette.responses, strict=True)))
    replayed = guarded_session(adapter, guard).post(
        "http://api.test/x", data=form, headers={"Content-Type": form.content_type}
    )
    assert recorded.status_code == replayed.status_code == 413
    assert replaying.test_exchanges[-1].request_size == len(form)  # read to its end, as a transport sends it


def _identifai_suite_check() -> tuple[Any, Any]:
    """identifAI's suite check of its own pacing, from its module (imported as the runs import it)."""
    path = paths.suites_dir() / "identifai" / "test_behaviour.py"
    spec = importlib.util.spec_from_file_location("identifai_behaviour", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.test_live_traffic_keeps_the_documented_rates


class _PacedApi:
    """What the check needs of `api`: a paced target, and GETs through the given pacer on a fake clock."""

    def __init__(self, pacer: Pacer, clock: FakeClock) -> None:
        self.target = SimpleNamespace(paced=True)
        self.pacer, self.clock = pacer, clock

    def get(self, path: str, params: object = None) -> Any:
        with self.pacer.sending("GET"):
            self.clock.now += 0.004  # a loopback round trip
        return SimpleNamespace(status_code=200)


@pytest.mark.parametrize(
    ("limits", "kept"),
    [(identifai.VENDOR.rate_limits, True), ((RateLimit(3, 1.0, ("GET",)),), False)],
    ids=["identifais-pacer-from-an-empty-window", "a-pacer-allowing-3-a-second"],
)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the suites' marks: their ini registers them
def test_identifais_check_of_its_own_pacing_fails_only_a_pacer_that_breaks_the_rate(monkeypatch, limits, kept):
    """`identifai.rate-limit.kept` had timed each GET from its start: two GETs into an empty window leave at once
    and the third starts right after them (then waits inside the pacer), so it failed a faithful run (a live run
    of the faithful emulator, non-conformant with 1 finding) whenever no GET had just been sent."""
    module, check = _identifai_suite_check()
    clock = FakeClock()
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=clock))
    api = _PacedApi(Pacer(limits, clock=clock, sleep=clock.sleep), clock)
    if kept:
        check(api)
    else:
        with pytest.raises(AssertionError, match="more than 2 per second"):
            check(api)
