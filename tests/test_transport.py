"""The guarded transport: budget, pacing, 429 back-off and the host guard, with fake clocks and adapters."""

from __future__ import annotations

import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from imgconf.errors import BudgetExhausted, TargetThrottled
from imgconf.wire.budget import Budget
from imgconf.wire.guard import Guard, HostNotAllowed, guarded_session, observe_429, retry_after
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


@pytest.mark.parametrize(("value", "expected"), [("12", 12.0), (None, None), ("soon", None), ("0", 0.0)])
def test_retry_after_seconds(value, expected):
    assert retry_after(value) == expected


def test_retry_after_http_date_is_in_the_future():
    assert retry_after("Wed, 21 Oct 2099 07:28:00 GMT") > 1e6
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
