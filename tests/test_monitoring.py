"""Vendor regression monitoring: history and diffs, outages vs regressions, safe live runs, record and replay.

Live mode is exercised against the emulator served on loopback, exactly as it would talk to a vendor.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import clean_env, free_port, served
from imgconf import vendors as registry
from imgconf.vendors.base import is_web_page

KEY = "SENTINEL-live-key-7d1e93"
LIVE = clean_env(ALTUM_API_KEY=KEY)


def every_file(folder):
    return [path for path in folder.rglob("*") if path.is_file()]


def test_history_diff_and_reports_show_what_changed(cli):
    """A monitored target (the emulator served on one port, first faithful, then regressed, then fixed)."""
    port = str(free_port())
    target = ("--target", f"altum=http://127.0.0.1:{port}")
    serve = ("--vendor", "altum", "--port", port, "--credential", f"altum:api_key={KEY}")
    with served(*serve):
        first = cli("run", "--vendor", "altum", *target, "-q", env=LIVE)
    assert first.code == 0, first.output
    first_id = first.report()["run_id"]
    with served(*serve, "--drift", "altum.scene2-always"):
        regressed = cli("run", "--vendor", "altum", *target, "-q", env=LIVE)
    assert regressed.code == 1, regressed.output
    report = regressed.report()
    assert report["kind"] == "monitor"
    assert report["diff"]["previous"] == {"altum": first_id}
    assert report["diff"]["new"] and not report["diff"]["persisting"]
    assert {item["rule"] for item in report["diff"]["new"]} == {"altum.result.scene-threshold"}
    assert all(finding["status"] == "new" and finding["first_seen"] for finding in report["findings"])
    assert "Since each vendor's previous run" in (regressed.report_dir() / "summary.md").read_text()
    html = (regressed.report_dir() / "report.html").read_text()
    assert "compared per vendor" in html and "Trend" in html and "<polyline" in html

    diff = cli("diff")
    assert diff.code == 0, diff.output
    assert "altum.result.scene-threshold" in diff.stdout

    with served(*serve):
        fixed = cli("run", "--vendor", "altum", *target, "-q", env=LIVE)
    assert fixed.code == 0
    assert {item["rule"] for item in fixed.report()["diff"]["fixed"]} == {"altum.result.scene-threshold"}

    history = cli("history")
    assert history.code == 0 and "altum" in history.stdout and "conformant" in history.stdout


def test_fail_on_new_lets_known_findings_pass(cli):
    args = ("run", "--vendor", "altum", "--drift", "altum.output-renamed", "-q")
    assert cli(*args, "--fail-on", "new").code == 1  # first sighting: everything is new
    again = cli(*args, "--fail-on", "new")
    assert again.code == 0, again.output
    assert again.report()["exit_code"] == 0
    assert not again.report()["diff"]["new"] and again.report()["diff"]["persisting"]
    assert cli(*args).code == 1  # --fail-on any (the default)


def test_a_corrupt_history_is_one_line_and_the_report_is_still_written(cli, tmp_path):
    history = tmp_path / "reports" / "history.sqlite"
    history.parent.mkdir(parents=True)
    history.write_bytes(b"this is not a database" * 50)
    before = history.read_bytes()
    result = cli("run", "--vendor", "altum", "-q")
    assert result.code == 2
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("imgconf: ")]
    assert len(errors) == 1 and "corrupt" in errors[0]
    assert result.report()["state"] == "conformant"  # the run's report exists and is whole
    assert history.read_bytes() == before  # never "repaired" over the user's file


def test_a_locked_history_is_one_line_and_the_report_is_still_written(cli, tmp_path):
    assert cli("run", "--vendor", "altum", "-q").code == 0  # creates the history
    holder = sqlite3.connect(tmp_path / "reports" / "history.sqlite")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("run", "--vendor", "altum", "-q")
    finally:
        holder.close()
    assert result.code == 2
    assert "locked" in result.stderr and "Traceback" not in result.output
    assert len(list((tmp_path / "reports").glob("*/report.json"))) == 2


def test_an_outage_is_unreachable_not_non_conformant(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--option", "altum.outage=true") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "-q", env=LIVE)
    assert result.code == 3, result.output
    report = result.report()
    assert report["state"] == "unreachable"
    # The preflight and the four answers after it, all 5xx, are enough: the outage cost 42 requests before.
    assert report["vendors"][0]["reason"] == "the service is failing: 5 of 5 answers were 5xx"
    assert report["requests"] == 5
    assert "non-conformant" not in (result.report_dir() / "summary.md").read_text()
    # Its answers ran checks (the report counts them), so no output says that nothing was checked.
    assert report["vendors"][0]["coverage"]["checked"] > 0
    outputs = [result.stdout, *((result.report_dir() / name).read_text() for name in ("summary.md", "report.html"))]
    assert all("no findings in what could be checked" in text for text in outputs)
    assert not any("nothing was checked" in text for text in outputs)


def test_a_target_url_where_nothing_serves_the_api_is_unreachable_not_non_conformant(cli):
    """imagerecognize pointed at identifAI's emulator (a typo in a port): every answer is a 404, which says
    the API is not there, not that the vendor broke it. Before, a run like this one was non-conformant with
    four findings of the vendor's. (The rule's other side, a vendor whose answers are not all 404s, is every
    conformant run: identifAI's suite provokes documented 404s on purpose.)"""
    with served("--vendor", "identifai") as urls:
        result = cli(
            "run",
            "--vendor",
            "imagerecognize",
            "--target",
            f"imagerecognize={urls['identifai']}",
            env=clean_env(IMAGERECOGNIZE_API_KEY=KEY),
        )
    assert result.code == 3, result.output
    report = result.report()
    assert (report["state"], report["findings"]) == ("unreachable", [])
    vendor = report["vendors"][0]
    assert vendor["state"] == "unreachable"
    said = f"every one of its {report['requests']} answers was 404 Not Found; is the target URL right?"
    assert said in vendor["reason"]
    assert "is the target URL right?" in result.stdout
    assert "non-conformant" not in (result.report_dir() / "summary.md").read_text()


def test_a_wrong_path_on_altums_gateway_is_no_refused_key(cli):
    """API Gateway answers a path it routes nowhere with 403 "Missing Authentication Token", key or no key:
    the preflight took that 403 for a refused key ("check ALTUM_API_KEY", exit 2) when the key was right and
    the target URL had a stray /v2 in it."""
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}/v2", env=LIVE)
    assert result.code == 3, result.output
    vendor = result.report()["vendors"][0]
    assert vendor["state"] == "unreachable"
    assert "answers was 403 Missing Authentication Token; is the target URL right?" in vendor["reason"]
    assert "ALTUM_API_KEY" not in result.stdout


@contextmanager
def answering(content_type: str, body: bytes) -> Iterator[dict]:
    """A loopback server that answers every request with 200 and the same body, as a web server's catch-all
    (or a single-page app's) does; counts what it was sent."""
    sent = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            sent["requests"] += 1
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "sent": sent}
    finally:
        server.shutdown()
        server.server_close()


PAGE = b"\xef\xbb\xbf\n<!-- served by nginx -->\n<!DOCTYPE html>\n<html><body>Welcome to nginx!</body></html>"
ANY_KEY = clean_env(
    ALTUM_API_KEY=KEY, IDENTIFAI_API_KEY=KEY, IMAGERECOGNIZE_API_KEY=KEY, HUAWEI_AK="AK0000", HUAWEI_SK="SK0000"
)


@pytest.mark.parametrize("vendor", ["altum", "identifai", "imagerecognize"])
def test_a_web_server_answering_every_path_with_a_page_is_unreachable_and_stops_early(cli, vendor):
    """A target URL that reaches a web server (its welcome page, a single-page app's catch-all) gets a page
    with 200 to every request: non-conformant before, every vendor with 10 to 48 findings of the vendor's, and
    identifAI's paced run took 38 s. The preflight and the four answers after it are enough to say so."""
    with answering("text/html", PAGE) as page:
        result = cli("run", "--vendor", vendor, "--target", f"{vendor}={page['url']}", env=ANY_KEY)
    assert result.code == 3, result.output
    report = result.report()
    assert (report["state"], report["findings"]) == ("unreachable", [])
    said = "every one of its 5 answers was a web page (200); is the target URL right?"
    assert said in report["vendors"][0]["reason"] and said in result.stdout
    assert report["requests"] == page["sent"]["requests"] == 5  # stopped, not the whole run sent


def test_a_recorded_wrong_url_replays_to_the_recorded_verdict(cli):
    """The replay answers the preflight from the cassette, so it stops where the recording stopped: it had gone
    on past the recorded answers and judged them again, non-conformant with 4 findings beside an unreachable
    recording."""
    with answering("text/html", PAGE) as page:
        recorded = cli("run", "--vendor", "altum", "--target", f"altum={page['url']}", "--record", env=ANY_KEY)
    assert recorded.code == 3, recorded.output
    replayed = cli("run", "--replay", str(recorded.report_dir() / "cassette.yaml"), env=clean_env())
    assert replayed.code == 3, replayed.output
    before, after = recorded.report(), replayed.report()
    assert (after["requests"], after["findings"]) == (before["requests"], []) == (5, [])
    assert after["vendors"][0]["reason"] == before["vendors"][0]["reason"]


def test_a_page_at_huaweis_project_lookup_stops_the_suite_as_unreachable(cli):
    """Huawei's project lookup comes before every test: a page there failed all 46 of them, each with a
    JSONDecodeError reported under its own rule (32 findings from one answer)."""
    with answering("text/html", PAGE) as page:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={page['url']}", env=ANY_KEY)
    assert result.code == 3, result.output
    report = result.report()
    assert (report["state"], report["findings"], report["requests"]) == ("unreachable", [], 1)
    said = "GET /v3/projects answered a web page (200); is the target URL right?"
    assert said in report["vendors"][0]["reason"]
    assert "JSONDecodeError" not in result.output


def test_a_project_lookup_answered_with_no_json_is_the_iam_rule_broken(cli):
    """IAM answering 200 with a body that is no JSON is the vendor's break of the lookup's rule, said once
    per column, not a JSONDecodeError filed under each failing test's own rule."""
    with answering("text/plain", b"OK") as plain:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={plain['url']}", env=ANY_KEY)
    assert result.code == 1, result.output
    findings = result.report()["findings"]
    assert findings and {finding["rule"]["id"] for finding in findings} == {"huawei.iam.projects"}
    assert "GET /v3/projects answered 200 with a body that is no JSON object" in findings[0]["message"]
    assert "JSONDecodeError" not in result.output


@pytest.mark.parametrize(
    ("body", "page"),
    [
        (b"<!doctype html><html></html>", True),
        (b"\xef\xbb\xbf  <HTML lang=en>", True),
        (b"<!-- a comment -->\n<!DOCTYPE html>", True),
        (b"<head><title>Index of /</title></head>", True),
        (b'{"Output": "<html>"}', False),  # imagerecognize may label its JSON text/html: the body decides
        (b"", False),
        (b"<?xml version='1.0'?><Error/>", False),
        (b"OK", False),
    ],
)
def test_what_counts_as_a_web_page(body, page):
    assert is_web_page(body) is page


def test_a_page_is_not_the_api_below_500_only():
    """A 5xx page is a failing service and a 429 page throttling (their own storms decide), not a wrong URL."""
    vendor = registry.all_vendors()["imagerecognize"]
    assert vendor.not_the_api(200, PAGE) == "a web page (200)"
    assert vendor.not_the_api(403, PAGE) == "a web page (403)"
    assert vendor.not_the_api(502, PAGE) is None
    assert vendor.not_the_api(429, PAGE) is None
    assert vendor.not_the_api(200, b'{"error": "x"}') is None
    assert vendor.not_the_api(404, b"{}") == "404 Not Found"


@pytest.mark.parametrize("mode", ["signed", "token"])
def test_an_outage_at_huaweis_first_request_is_unreachable_not_the_operators_mistake(cli, mode):
    """Huawei's token and project lookup come before every test: a 500 there was "set HUAWEI_PROJECT_ID"
    (exit 2, the operator's to fix) for the lookup, and a finding of the vendor's for the token."""
    if mode == "signed":
        credential, env = "huawei:ak=AKOUTAGE00000001,sk=outage-secret-0001", {"HUAWEI_AK": "AKOUTAGE00000001"}
        env["HUAWEI_SK"] = "outage-secret-0001"
    else:
        credential = "huawei:iam_user=ops,iam_password=outage-pw-0001,iam_domain=acme"
        env = {"HUAWEI_IAM_USER": "ops", "HUAWEI_IAM_PASSWORD": "outage-pw-0001", "HUAWEI_IAM_DOMAIN": "acme"}
    with served("--vendor", "huawei", "--credential", credential, "--option", "huawei.outage=true") as urls:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={urls['huawei']}", env=clean_env(**env))
    assert result.code == 3, result.output
    report = result.report()
    assert (report["state"], report["findings"], report["requests"]) == ("unreachable", [], 1)
    first = "GET /v3/projects" if mode == "signed" else "POST /v3/auth/tokens"
    assert report["vendors"][0]["reason"] == f"huawei: the service is failing: {first} answered 500"
    assert "HUAWEI_PROJECT_ID" not in result.output


def test_refused_connections_are_unreachable(cli):
    result = cli("run", "--vendor", "altum", "--target", f"altum=http://127.0.0.1:{free_port()}", env=LIVE)
    assert result.code == 3 and result.report()["state"] == "unreachable"


def test_a_429_storm_is_waited_out_not_reported(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--option", "altum.storm_429=3") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "-q", env=LIVE)
    assert result.code == 0, result.output
    report = result.report()
    assert report["state"] == "conformant"
    assert any("waited out 3 × 429" in note for note in report["notes"])


def test_the_budget_is_never_exceeded(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "--budget", "12", env=LIVE)
    assert result.code == 3, result.output
    report = result.report()
    assert report["requests"] == 12
    assert report["vendors"][0]["requests"] == 12
    assert "budget of 12" in report["vendors"][0]["reason"]
    assert report["state"] == "incomplete"


def test_the_default_live_budget_fits_a_smoke_run(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "-q", env=LIVE)
    assert result.code == 0, result.output
    assert result.report()["requests"] <= 50


@pytest.mark.parametrize("drift", [None, "altum.confidence-as-number"])
def test_a_recorded_cassette_replays_offline_to_the_same_verdict(cli, drift):
    extra = ("--drift", drift) if drift else ()
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}", *extra) as urls:
        recorded = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "--record", "-q", env=LIVE)
    assert recorded.code == (1 if drift else 0), recorded.output
    cassette = recorded.report_dir() / "cassette.yaml"
    text = cassette.read_text()
    assert text.startswith("interactions:") and "version: 1" in text and "metadata:" in text
    # the emulator is gone: the replay is offline
    replayed = cli("run", "--replay", str(cassette), "-q", env=clean_env())
    assert replayed.code == recorded.code, replayed.output
    before = sorted(f["fingerprint"] for f in recorded.report()["findings"])
    after = sorted(f["fingerprint"] for f in replayed.report()["findings"])
    assert before == after
    assert replayed.report()["target"]["kind"] == "replay"
    assert replayed.report()["requests"] == recorded.report()["requests"]


def test_sentinel_secrets_reach_no_artifact_and_no_output(cli, tmp_path):
    with served(
        "--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--drift", "altum.confidence-as-number"
    ) as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", "--record", env=LIVE)
    assert result.code == 1
    files = every_file(tmp_path / "reports")
    names = {path.name for path in files}
    assert {"report.json", "junit.xml", "summary.md", "report.html", "cassette.yaml", "history.sqlite"} <= names
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in result.output


def test_validate_checks_a_har_file_from_any_source(cli, tmp_path):
    good = {"Output": {"Image_Class": "other", "ConfidencePercent_Image_Class": "61.5"}}
    bad = {"Output": {"Image_Class": "other", "ConfidencePercent_Image_Class": 61.5}}

    def entry(body):
        return {
            "request": {
                "method": "POST",
                "url": "https://api.altum.ai/labelling/url",
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "postData": {"mimeType": "application/json", "text": '{"url": "https://x/a.jpg"}'},
            },
            "response": {
                "status": 200,
                "statusText": "OK",
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "content": {"mimeType": "application/json", "text": json.dumps(body)},
            },
        }

    har = tmp_path / "traffic.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry(good), entry(bad)]}}))
    result = cli("validate", str(har))
    assert result.code == 1, result.output
    report = result.report()
    assert {f["rule"]["id"] for f in report["findings"]} == {"altum.result.confidence"}
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry(good)]}}))
    assert cli("validate", str(har)).code == 0
    har.write_text("{not json")
    broken = cli("validate", str(har))
    assert broken.code == 2 and "Traceback" not in broken.output


def test_dry_run_sends_nothing_and_writes_nothing(cli, tmp_path):
    target = f"altum=http://127.0.0.1:{free_port()}"
    result = cli("run", "--vendor", "altum", "--target", target, "--dry-run", "-v", env=LIVE)
    assert result.code == 0, result.output
    assert "nothing is sent" in result.stdout and "budget: 60" in result.stdout
    assert "POST /labelling/url" in result.stdout and "credentials: $ALTUM_API_KEY set" in result.stdout
    assert KEY not in result.output
    assert not (tmp_path / "reports").exists()


def test_record_is_refused_for_the_emulator(cli):
    result = cli("run", "--vendor", "altum", "--record")
    assert result.code == 2 and "--record is for live and URL targets" in result.stderr
