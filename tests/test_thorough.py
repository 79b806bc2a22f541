"""Pre-release verification: `--thorough` and `--callback-url` on URL targets, and coverage in every report.

A URL target is careful by default (a live vendor's treatment); `--thorough` makes it the emulator's equal,
so a staging deployment gets every rule. Coverage says, per vendor and operation, how many of the catalogue's
rules a run checked, and why the rest were not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from conftest import clean_env, served
from imgconf import targets
from imgconf.errors import UsageError
from imgconf.report import wording
from imgconf.runner.selftest import emulator_env
from imgconf.targets.base import WEBHOOK_GRACE_S
from imgconf.testing.options import SuiteOptions
from imgconf.testing.state import RunState
from imgconf.vendors import altum, identifai
from imgconf.vendors.base import Vendor


def test_a_url_target_is_careful_unless_thorough_and_reaches_the_callback_on_loopback():
    careful = targets.parse("http://127.0.0.1:9")
    assert careful.metered and careful.paced and not careful.thorough
    assert careful.reaches_loopback and careful.callback == "http://127.0.0.1:0"
    thorough = targets.parse("altum=http://127.0.0.1:9", thorough=True)
    assert not thorough.metered and not thorough.paced and thorough.thorough
    remote = targets.parse("https://staging.example.com", thorough=True)
    assert not remote.reaches_loopback and remote.callback is None
    given = targets.parse("https://staging.example.com", callback="http://10.1.2.3:8800")
    assert given.reaches_loopback and given.callback == "http://10.1.2.3:8800"


def test_only_the_emulator_is_trusted_to_deliver_its_webhooks_before_it_answers():
    # identifAI's "no webhook for a cached repeat" waits as long as the target says one may take to come.
    for value in ("emulator", "emulator-http"):
        assert targets.parse(value).webhook_grace_s == 0
    # A thorough URL target on loopback may be a deployment, not the emulator: it gets the assumed grace.
    for value, kwargs in (("http://127.0.0.1:9", {}), ("http://127.0.0.1:9", {"thorough": True}), ("live", {})):
        assert targets.parse(value, **kwargs).webhook_grace_s == WEBHOOK_GRACE_S > 0


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("live", {"thorough": True}, "--thorough is for URL targets"),
        ("emulator", {"callback": "http://127.0.0.1:0"}, "--callback-url is for URL targets"),
        ("http://127.0.0.1:9", {"callback": "ftp://host:1"}, "is not http://HOST:PORT"),
        ("http://127.0.0.1:9", {"callback": "http://host"}, "is not http://HOST:PORT"),
    ],
)
def test_thorough_and_callback_mistakes_are_one_line_usage_errors(value, kwargs, message):
    with pytest.raises(UsageError, match=message):
        targets.parse(value, **kwargs)


def test_imgconf_toml_makes_a_target_thorough_per_base_url(tmp_path: Path):
    config = tmp_path / "imgconf.toml"
    config.write_text('[targets."http://127.0.0.1:9"]\nthorough = true\ncallback_url = "http://127.0.0.1:0"\n')
    chosen = SuiteOptions.from_values(
        target="altum=http://127.0.0.1:9", vendors=["altum"], profile=None, seed=None, drifts=None, config_path=config
    ).target
    assert chosen.thorough and not chosen.metered
    other = SuiteOptions.from_values(
        target="altum=http://127.0.0.1:10", vendors=["altum"], profile=None, seed=None, drifts=None, config_path=config
    ).target
    assert not other.thorough
    config.write_text('[targets."http://127.0.0.1:9"]\nthorow = true\n')
    with pytest.raises(UsageError, match="unknown key 'thorow'"):
        SuiteOptions.from_values(
            target="http://127.0.0.1:9", vendors=["altum"], profile=None, seed=None, drifts=None, config_path=config
        )


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        (f"{wording.NOT_CHECKED_THOROUGH}: saved on a metered target", "needs --thorough"),
        (f"{wording.NOT_CHECKED_CALLBACK}: the webhook receiver", "target cannot reach the callback address"),
        ("no AK/SK for this target (HUAWEI_AK, HUAWEI_SK)", "needs a credential you did not provide"),
        ("unreachable: altum: refused", "unreachable"),
    ],
)
def test_skip_reasons_name_their_cause(reason, why):
    assert wording.why_not_checked(reason) == why


class _Silent:
    """A session whose target answers, with `status` and `body`, and never downloads what it is sent."""

    def __init__(self, status: int = 200, body: bytes = b'{"status": "ok"}') -> None:
        self.sent: list[Any] = []
        self.status, self.body = status, body

    def prepare_request(self, request: Any) -> Any:
        return request.prepare()

    def send(self, prepared: Any, **_: Any) -> requests.Response:
        self.sent.append(prepared)
        response = requests.Response()
        response.status_code, response._content = self.status, self.body
        return response


def _url_target(vendor: Vendor) -> SuiteOptions:
    """A run of `vendor` alone at a URL target on a closed port (the session below answers instead)."""
    target = f"{vendor.id}=http://127.0.0.1:9"
    return SuiteOptions.from_values(target=target, vendors=[vendor.id], profile=None, seed=None, drifts=None)


def _connection(vendor: Vendor, options: SuiteOptions, session: _Silent) -> targets.Connection:
    return targets.Connection(
        vendor,
        options.target,
        {vendor.spec_files[0]: "http://127.0.0.1:9"},
        {"api_key": "k"},
        session,  # type: ignore[arg-type]
        None,
        (),
    )


def test_a_target_that_never_fetches_the_probe_image_does_not_reach_the_callback(monkeypatch):
    monkeypatch.setattr("imgconf.testing.state.CALLBACK_WAIT", 0.1)
    options = _url_target(altum.VENDOR)
    state = RunState(options)
    try:
        session = _Silent()
        connection = _connection(altum.VENDOR, options, session)
        assert connection.reaches_callback
        assert not state.reaches_callback(connection)
        assert not state.reaches_callback(connection) and len(session.sent) == 1, "probed once, not per test"
        assert session.sent[0].url.endswith("/labelling/url") and b"/images/" in session.sent[0].body
    finally:
        state.close()


def test_an_asynchronous_apis_accepted_probe_waits_for_the_download(monkeypatch):
    """identifAI answers a submission at once and fetches the URL in its own time: the probe waits for that,
    where Altum's answer (labels of the downloaded image) is final."""
    options = _url_target(identifai.VENDOR)
    state = RunState(options)
    session = _Silent(200, b'{"identifier": "0f8fad5b-d9cb-469f-a165-70867728950e"}')

    def downloaded_meanwhile(_: float) -> None:
        (published,) = re.findall(rb"http://[^\r\n]+/images/[^\r\n]+", session.sent[0].body)
        state.image_server.fetched.add(urlsplit(published.decode()).path)

    monkeypatch.setattr("imgconf.testing.state.time.sleep", downloaded_meanwhile)
    try:
        assert state.reaches_callback(_connection(identifai.VENDOR, options, session)) and len(session.sent) == 1
    finally:
        state.close()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, b'{"detail": "Invalid API key"}'),
        (503, b""),
        (200, b"<!DOCTYPE html><html>Welcome</html>"),
        (200, b'{"labels": []}'),
    ],
    ids=["refused", "outage", "web-page", "answered-without-downloading"],
)
def test_a_probe_that_cannot_download_later_is_not_waited_for(monkeypatch, status, body):
    """Only an accepted request to an asynchronous API can start a job that downloads the image later: a
    refusal, an outage, a web page, or Altum's answer (given once it has downloaded) is final, where every
    wrong URL and every outage had waited out CALLBACK_WAIT (5 s)."""

    def waited(_: float) -> None:
        raise AssertionError("the probe waited for a download nothing had started")

    monkeypatch.setattr("imgconf.testing.state.time.sleep", waited)
    options = _url_target(altum.VENDOR)
    state = RunState(options)
    try:
        session = _Silent(status, body)
        assert not state.reaches_callback(_connection(altum.VENDOR, options, session)) and len(session.sent) == 1
    finally:
        state.close()


def _run(cli, vendor: str, *args: str, env: dict[str, str] | None = None) -> dict:
    result = cli("run", "--vendor", vendor, *args, "-q", "--no-history", env=env)
    assert result.code == 0, result.output
    return result.report()


def test_thorough_runs_over_http_what_the_emulator_runs_and_careful_says_what_it_left(cli):
    inproc = _run(cli, "altum")
    env = clean_env(**emulator_env(altum.VENDOR))
    with served("--vendor", "altum", "--fast") as urls:
        thorough = _run(cli, "altum", "--target", f"altum={urls['altum']}", "--thorough", env=env)
    with served("--vendor", "altum", "--fast") as urls:
        careful = _run(cli, "altum", "--target", f"altum={urls['altum']}", env=env)
    assert len(thorough["tests"]) >= len(inproc["tests"])
    assert not [test for test in thorough["tests"] if test["outcome"] not in ("passed", "failed")]
    full, run_thorough = inproc["vendors"][0]["coverage"], thorough["vendors"][0]["coverage"]
    assert run_thorough["checked"] == full["checked"] and run_thorough["total"] == full["total"] > 0
    partial = careful["vendors"][0]["coverage"]
    assert partial["total"] == full["total"] and partial["checked"] <= full["checked"]
    operations = {op["operation"]: op for op in thorough["vendors"][0]["operations"]}
    assert operations["POST /labelling/url"]["rules_total"] > 0
    assert operations["POST /labelling/url"]["rules_checked"] == operations["POST /labelling/url"]["rules_total"]


def test_a_conformant_verdict_with_low_coverage_says_so_in_every_output():
    from conftest import make_outcome
    from imgconf.report import html, junit, markdown
    from imgconf.report.outcome import Coverage, NotChecked, State, VendorOutcome

    missing = [NotChecked(f"altum.rule-{index}", "needs --thorough") for index in range(7)]
    vendor = VendorOutcome("altum", "Altum", State.CONFORMANT, 1.0, [], 0, 3, {"passed": 3}, [])
    vendor.coverage = Coverage(3, 10, missing)
    line = wording.vendor_line(vendor)
    assert "rules checked 3 of 10" in line and "low coverage" in line and "needs --thorough (7)" in line
    run = make_outcome(vendor)
    assert run.exit_code == 0, "coverage says how much was checked; it does not change the verdict"
    summary = markdown.render(run)
    assert "| 3/10 |" in summary and "`altum.rule-0`: needs --thorough" in summary
    xml = junit.render(run)
    assert 'name="rules_checked" value="3"' in xml and 'name="rules_total" value="10"' in xml
    assert "rules checked 3 of 10" in html.render(run) and "altum.rule-6" in html.render(run)
    full = VendorOutcome("altum", "Altum", State.CONFORMANT, 1.0, [], 0, 3, {"passed": 3}, [])
    full.coverage = Coverage(10, 10, [])
    assert "low coverage" not in wording.vendor_line(full)


def test_the_report_schema_takes_coverage():
    import json

    import jsonschema

    from conftest import ROOT, make_outcome
    from imgconf.report.outcome import Coverage, NotChecked, State, VendorOutcome

    vendor = VendorOutcome("altum", "Altum", State.CONFORMANT, 1.0, [], 0, 3, {"passed": 3}, [])
    vendor.coverage = Coverage(1, 2, [NotChecked("altum.x", "needs --thorough")])
    schema = json.loads((ROOT / "schemas" / "report" / "report.schema.json").read_text())
    jsonschema.validate(make_outcome(vendor).to_json(), schema)
