"""One run, one verdict: every everyday situation gets the state, the exit code and the words that are true.

Each test is a row of the issue's table: what the user did, and what imgconf must say. Targets that
misbehave in ways the emulator does not (a socket closed mid-answer, a server that never answers) are
small loopback servers defined here.
"""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import Result, clean_env, free_port, served
from imgconf import targets
from imgconf.emulator import huawei as huawei_emulator
from imgconf.errors import CredentialsRejected
from imgconf.targets import Connection
from imgconf.testing.client import ApiClient
from imgconf.testing.collector import Collector
from imgconf.testing.options import SuiteOptions
from imgconf.vendors import identifai
from imgconf.wire.recorder import Recorder

KEY = "SENTINEL-verdict-key-4f2a61"
LIVE = clean_env(ALTUM_API_KEY=KEY)


@contextmanager
def loopback_server(mode: str) -> Iterator[dict]:
    """A deliberately bad target on 127.0.0.1: `slow` answers {} after 0.2 s, `cut` closes mid-body,
    `silent` accepts and never answers. Yields its URL and a request counter."""
    state = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            state["requests"] += 1
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if mode == "silent":
                time.sleep(30)
                return
            if mode == "cut":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "500")
                self.end_headers()
                self.wfile.write(b'{"Output": {')
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            time.sleep(0.2)
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "state": state}
    finally:
        server.shutdown()
        server.server_close()


def history_rows(out) -> list[tuple]:
    with sqlite3.connect(out / "history.sqlite") as db:
        return db.execute("SELECT run_id, kind, state, interrupted FROM runs ORDER BY started_at").fetchall()


# A pytest plugin that signals its own process while pytest collects a suite module, where a cleanup then
# fails as the interrupt unwinds through it: pytest lets a KeyboardInterrupt through, but what the cleanup
# raises (chained to the interrupt) becomes that module's collection error, as in the CI run below.
SIGNAL_AT_COLLECTION = """
import os
import signal


def pytest_collect_file(file_path, parent):
    if file_path.name == "test_contract.py":
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            assert file_path.name != "test_contract.py", "a cleanup that fails while the interrupt unwinds"
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_signal_while_the_suites_are_collected_is_an_interruption_not_broken_suites(tmp_path, workers):
    """Seen once in CI: SIGTERM to a `--workers 2` run while a worker collected identifAI's contract module
    was "the suites could not be collected" (exit 2), the operator's stop read as the suites' breakage."""
    (tmp_path / "stop_at_collection.py").write_text(SIGNAL_AT_COLLECTION)
    vendors = ["--vendor", "altum"] + (["--vendor", "imagerecognize"] if workers == "2" else [])
    done = subprocess.run(
        [sys.executable, "-m", "imgconf", "run", *vendors, "--workers", workers, "--out", str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        env=clean_env(PYTHONPATH=str(tmp_path), PYTEST_PLUGINS="stop_at_collection"),
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 143, done.stdout + done.stderr
    assert "could not be collected" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    report = Result(done.returncode, done.stdout, done.stderr, tmp_path / "reports").report()
    assert (report["state"], report["interrupted"]) == ("interrupted", "SIGTERM")
    assert {vendor["state"] for vendor in report["vendors"]} == {"incomplete"}


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_an_interrupted_run_says_interrupted_everywhere(tmp_path, sig, code, name):
    out = tmp_path / "reports"
    with loopback_server("slow") as fake:
        command = [sys.executable, "-m", "imgconf", "run", "--vendor", "altum", "--target", f"altum={fake['url']}"]
        process = subprocess.Popen(
            [*command, "--budget", "500", "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=LIVE,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 60
        while fake["state"]["requests"] < 4:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started sending"
            time.sleep(0.05)
        process.send_signal(sig)
        stopped = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
    assert time.monotonic() - stopped < 15, "the run took too long to stop"
    assert process.returncode == code, stdout + stderr
    assert "Traceback" not in stdout + stderr
    report = Result(process.returncode, stdout, stderr, out).report()
    assert report["state"] == "interrupted" and report["interrupted"] == name and report["exit_code"] == code
    assert f"exit {code}" in stdout and "conformant" not in stdout.replace("non-conformant", "")
    assert "interrupted" in (out / report["run_id"] / "summary.md").read_text()
    rows = history_rows(out)
    assert rows == [(report["run_id"], "monitor", "interrupted", name)]
    history = subprocess.run(
        [sys.executable, "-m", "imgconf", "history", "--history", str(out / "history.sqlite")],
        capture_output=True,
        text=True,
        env=LIVE,
    )
    assert "altum" not in history.stdout, history.stdout  # no trend point from an interrupted run


def test_a_refused_credential_is_credentials_rejected_not_a_finding(cli):
    with served("--vendor", "altum", "--credential", "altum:api_key=the-real-key-0000") as urls:
        result = cli("run", "--vendor", "altum", "--target", f"altum={urls['altum']}", env=LIVE)
    assert result.code == 2, result.output
    report = result.report()
    assert report["state"] == "credentials-rejected" and report["findings"] == []
    assert report["vendors"][0]["state"] == "credentials-rejected"
    assert "ALTUM_API_KEY" in report["vendors"][0]["reason"]
    assert report["requests"] == 1  # the preflight, and nothing more
    assert "ALTUM_API_KEY" in result.stdout and "exit 2" in result.stdout
    assert "no findings, because nothing was checked" in result.stdout  # the preflight alone is no check
    # and the coverage agrees: the preflight's 401 was never held to the spec (it had counted as 1 of 27)
    assert report["vendors"][0]["coverage"]["checked"] == 0
    # Its one request said as one, and the vendor named once where its line already names it.
    assert "nothing was checked · 1 request · " in result.stdout
    assert "altum: altum:" not in result.stdout
    row = next(
        line for line in (result.report_dir() / "summary.md").read_text().splitlines() if line.startswith("| Altum")
    )
    assert row.endswith(
        "| the vendor refused the configured credential (401 on POST /labelling/url); check ALTUM_API_KEY |"
    )
    # The tests that passed sent nothing (the spec's examples held to its schemas): every output says so,
    # where "27 passed" alone read as 27 of the vendor's answers found right.
    html = (result.report_dir() / "report.html").read_text()
    for text in (result.stdout, row, html):
        assert re.search(r"\b\d+ passed \(all offline\), 0 failed, \d+ not run", text), text[-2000:]
    assert KEY not in result.output


def test_a_refused_key_is_credentials_rejected_in_every_test_identifai_runs(cli):
    """identifAI's state machine reaches the connection from schemathesis' code, not through the client fixture:
    a refused key made it fail with the refusal, and the run was non-conformant with a finding of the vendor's
    (contract.unknown) for the operator's wrong key."""
    env = clean_env(IDENTIFAI_API_KEY="a-key-identifai-never-issued")
    with served("--vendor", "identifai") as urls:
        result = cli("run", "--vendor", "identifai", "--target", f"identifai={urls['identifai']}", env=env)
    assert result.code == 2, result.output
    report = result.report()
    assert report["state"] == "credentials-rejected" and report["findings"] == []
    assert report["requests"] == 1  # the preflight
    outcomes = {test["nodeid"]: test["outcome"] for test in report["tests"]}
    assert outcomes["identifai/test_contract.py::TestStateful::runTest"] == "credentials"
    assert "failed" not in outcomes.values()


def thorough(cli, vendor: str, env: dict[str, str], selection: str) -> Result:
    """`imgconf run --thorough -k SELECTION` with the operator's `env`, at the vendor's emulator served as a URL
    target (its rate limits off, so the run is quick)."""
    with served("--vendor", vendor, "--fast") as urls:
        return cli(
            "run",
            "--vendor",
            vendor,
            "--target",
            f"{vendor}={urls[vendor]}",
            "--thorough",
            "-k",
            selection,
            env=clean_env(**env),
        )


def test_a_key_that_is_not_a_partners_leaves_the_partner_routes_not_checked(cli):
    """IDENTIFAI_API_KEY must be a partner's (README). A user's key got the documented 403 Forbidden on every
    partner route, and the run was non-conformant with findings of identifAI's (the users page, and in a thorough
    run the contract's "valid data should have been accepted" on the partner writes): the operator's key, not the
    vendor. The partner rules are now left not checked, saying why; everything else is checked as before."""
    result = thorough(
        cli, "identifai", {"IDENTIFAI_API_KEY": "identifai-emulator-user-key"}, "partner or paginator or test_contract"
    )
    report = result.report()
    assert (result.code, report["state"], report["findings"]) == (0, "conformant", []), result.output
    reasons = {test["nodeid"]: test.get("reason") or "" for test in report["tests"] if test["outcome"] != "passed"}
    refused = [nodeid for nodeid, reason in reasons.items() if "answered 403 Forbidden on /api/partner/" in reason]
    assert any("users_page_is_a_coherent_paginator" in nodeid for nodeid in refused), reasons
    assert any("test_contract.py::test_contract" in nodeid for nodeid in refused), reasons
    assert all("IDENTIFAI_API_KEY" in reasons[nodeid] for nodeid in refused)
    passed = [
        test["nodeid"] for test in report["tests"] if test["outcome"] == "passed" and "test_contract" in test["nodeid"]
    ]
    assert len(passed) > 10, "the routes a user's key may use are no longer checked"
    # The workflow goes on past a refused partner step, with the submissions the key may make.
    assert "identifai/test_contract.py::TestStateful::runTest" in passed, reasons


@pytest.mark.parametrize("spare", ["working", "refused"])
def test_a_spare_access_key_the_gateway_refuses_is_the_operators_to_change(cli, spare):
    """HUAWEI_LOCKOUT_AK refused on its first, correctly signed request made the lockout rule a finding of
    Huawei's ("the spare AK does not work"): the key is the operator's to change, and the rule is not checked."""
    account = huawei_emulator.DEFAULT_CREDENTIALS[0]
    keys = {"HUAWEI_AK": account["ak"], "HUAWEI_SK": account["sk"], "HUAWEI_PROJECT_ID": account["project_id"]}
    if spare == "working":
        keys |= {"HUAWEI_LOCKOUT_AK": account["lockout_ak"], "HUAWEI_LOCKOUT_SK": account["lockout_sk"]}
    else:
        keys |= {"HUAWEI_LOCKOUT_AK": "HWNOSUCHACCESSKEY001", "HUAWEI_LOCKOUT_SK": "no-such-secret-key"}
    result = thorough(cli, "huawei", keys, "lock")
    report = result.report()
    assert (result.code, report["state"], report["findings"]) == (0, "conformant", []), result.output
    lockout = next(test for test in report["tests"] if "test_five_bad_signatures_lock" in test["nodeid"])
    if spare == "working":
        assert lockout["outcome"] == "passed"
        return
    assert lockout["outcome"] == "skipped" and "HUAWEI_LOCKOUT_AK was refused" in lockout["reason"], lockout


@pytest.mark.parametrize(("target", "skipped"), [("emulator", False), ("http://127.0.0.1:9", True)])
def test_only_the_operators_key_can_lack_the_partner_role(target, skipped):
    """The emulator's keys are the suites' own, so there a partner route refusing its key is judged as any answer
    (a break, if the suite expected 200); only an operator's key can be one that is not a partner's."""
    refused = requests.Response()
    refused.status_code, refused._content = 403, b'{"error": "Forbidden"}'
    refused.request = requests.Request("GET", "http://identifai.test/api/partner/users").prepare()
    other = requests.Response()
    other.status_code, other._content = 403, b'{"error": "Forbidden"}'
    other.request = requests.Request("GET", "http://identifai.test/api/classifications").prepare()
    assert identifai.not_a_partner(other) is None
    connection = Connection(identifai.VENDOR, targets.parse(target), {}, {}, requests.Session(), None, ())  # type: ignore[arg-type]
    api = ApiClient(connection, None)  # type: ignore[arg-type]
    assert api.lacking_role(other, identifai.not_a_partner) is other
    assert (api.role_lacking(refused, identifai.not_a_partner) is not None) == skipped
    if not skipped:
        assert api.lacking_role(refused, identifai.not_a_partner) is refused
        return
    with pytest.raises(
        pytest.skip.Exception, match="IDENTIFAI_API_KEY was answered 403 Forbidden on /api/partner/users"
    ):
        api.lacking_role(refused, identifai.not_a_partner)


def test_a_refusal_raised_inside_a_test_is_the_operators_not_a_finding():
    """The collector's own guard, for code that reaches the connection without the client fixture (a hook, a
    state machine): the refusal, alone or among Hypothesis' grouped failures, is the key's, never the vendor's."""
    refusal = CredentialsRejected("identifai: the vendor refused the configured credential; check IDENTIFAI_API_KEY")
    options = SuiteOptions.from_values(target=None, vendors=["identifai"], profile=None, seed=None, drifts=None)
    collector = Collector(options=options, recorder=Recorder())
    collector.finished(
        "identifai/test_contract.py::TestStateful::runTest", "identifai", "contract", None, "failed", 0.1, refusal, []
    )
    collector.finished(
        "identifai/test_contract.py::test_contract[GET /api/classifications]",
        "identifai",
        "contract",
        None,
        "failed",
        0.1,
        ExceptionGroup("two", [refusal, refusal]),
        [],
    )
    assert collector.findings == []
    assert [test.outcome for test in collector.tests] == ["credentials", "credentials"]
    assert collector.problem("identifai").credentials == refusal.message


@pytest.mark.parametrize("configured", ["right", "wrong"])
def test_a_project_id_the_keys_cannot_use_is_the_operators_to_fix(cli, configured):
    """A HUAWEI_PROJECT_ID of another account was non-conformant with 20 findings of the vendor's (each v2
    call answered the documented 400 ModelArts.4203 "No access permission"); the right one runs as before."""
    project = "0123456789abcdef0123456789abcdef"
    given = project if configured == "right" else "fedcba9876543210fedcba9876543210"
    env = clean_env(HUAWEI_AK="AK-project-1", HUAWEI_SK="SK-project-secret-1", HUAWEI_PROJECT_ID=given)
    credential = f"huawei:ak=AK-project-1,sk=SK-project-secret-1,project_id={project}"
    with served("--vendor", "huawei", "--credential", credential) as urls:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={urls['huawei']}", "-k", "iam", env=env)
    report = result.report()
    if configured == "right":
        assert (result.code, report["state"]) == (0, "conformant"), result.output
        return
    assert result.code == 2, result.output
    assert (report["state"], report["findings"], report["requests"]) == ("credentials-rejected", [], 2)
    assert "refused the configured project (400 ModelArts.4203" in report["vendors"][0]["reason"]
    assert "HUAWEI_PROJECT_ID" in result.stdout and "SK-project-secret-1" not in result.output


@pytest.mark.parametrize(
    ("vendor", "env", "key", "said"),
    [
        ("identifai", "IDENTIFAI_API_KEY", "identifai-emulator-spent-key", '400 \'{"error":"Not enough credits'),
        ("imagerecognize", "IMAGERECOGNIZE_API_KEY", "imagerecognize-emulator-spent-key", '402 \'{"status":402,'),
    ],
)
def test_a_key_whose_account_cannot_pay_is_the_operators_to_fix(cli, vendor, env, key, said):
    """A key with no credits (identifAI) or no quota left (imagerecognize) gets the vendor's documented refusal
    on every paid request: that was non-conformant, 9 findings of identifAI's (exit 1), where the account
    needs topping up. The run stops at the first such answer to the operator's own key."""
    with served("--vendor", vendor) as urls:
        result = cli("run", "--vendor", vendor, "--target", f"{vendor}={urls[vendor]}", env=clean_env(**{env: key}))
    assert result.code == 2, result.output
    report = result.report()
    assert (report["state"], report["findings"]) == ("credentials-rejected", [])
    reason = report["vendors"][0]["reason"]
    assert f"the account of {env} cannot be served" in reason and said in reason, reason
    assert reason.endswith(f"top up its {'credits' if vendor == 'identifai' else 'quota'}, or check {env}"), reason
    assert report["requests"] < 15  # stopped, not the whole smoke run (60 and 31 requests)
    assert key not in result.output


@pytest.mark.parametrize("mode", ["signed", "token"])
def test_an_account_not_subscribed_to_huaweis_tagging_is_the_operators_to_fix(cli, mode):
    """Every tagging call answered 400 ModelArts.4204 "The API is not subscribed to." (the operator has not
    subscribed in the region): findings of the vendor's before, whichever way the run authenticated."""
    keys = {"ak": "AKUNSUBSCRIBED001", "sk": "unsubscribed-secret-001"}
    user = {"iam_user": "ops", "iam_password": "unsubscribed-pw-001", "iam_domain": "acme"}
    given = keys if mode == "signed" else user
    credential = "huawei:" + ",".join(f"{name}={value}" for name, value in {**keys, **user}.items())
    env = clean_env(**{f"HUAWEI_{name.upper()}": value for name, value in given.items()})
    with served("--vendor", "huawei", "--credential", credential, "--option", "huawei.unsubscribed=true") as urls:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={urls['huawei']}", env=env)
    assert result.code == 2, result.output
    report = result.report()
    assert (report["state"], report["findings"]) == ("credentials-rejected", [])
    reason = report["vendors"][0]["reason"]
    named = "HUAWEI_AK" if mode == "signed" else "HUAWEI_IAM_USER"
    assert reason.startswith(f"huawei: the account of {named} cannot be served: Huawei Cloud Image Tagging answered")
    assert "ModelArts.4204" in reason and "subscribe to Image Tagging in the project's region" in reason
    assert "unsubscribed-secret-001" not in result.output and "unsubscribed-pw-001" not in result.output


def test_a_spare_key_without_credits_is_the_credits_rule_not_the_accounts(cli):
    """The spare key a test sends on purpose (IDENTIFAI_SPENT_API_KEY) gets the same refusal: that is the
    rule under test, and the operator's own key still pays for the rest."""
    env = clean_env(
        IDENTIFAI_API_KEY="identifai-emulator-partner-key", IDENTIFAI_SPENT_API_KEY="identifai-emulator-spent-key"
    )
    with served("--vendor", "identifai") as urls:
        result = cli(
            "run", "--vendor", "identifai", "--target", f"identifai={urls['identifai']}", "-k", "credits", env=env
        )
    assert result.code == 0, result.output
    report = result.report()
    assert report["state"] == "conformant"
    assert [t["outcome"] for t in report["tests"] if "a_key_without_credits_is_refused" in t["nodeid"]] == ["passed"]


@pytest.mark.parametrize("http_status", ["mirror", "always-200"])
def test_imagerecognize_refusing_the_key_in_its_envelope_is_credentials_rejected(cli, http_status):
    """Should the service answer its errors with HTTP 200 (the spec's `http_status` note), the refusal of the
    key is the envelope's 401: that was non-conformant with 21 findings of the vendor's."""
    option = ("--option", f'imagerecognize.http_status="{http_status}"')
    with served("--vendor", "imagerecognize", *option) as urls:
        env = clean_env(IMAGERECOGNIZE_API_KEY="not-a-key-of-this-account-0001")
        result = cli(
            "run", "--vendor", "imagerecognize", "--target", f"imagerecognize={urls['imagerecognize']}", env=env
        )
    assert result.code == 2, result.output
    report = result.report()
    assert (report["state"], report["findings"], report["requests"]) == ("credentials-rejected", [], 1)
    said = "401 on" if http_status == "mirror" else "401 in a 200 body on"
    assert f"the vendor refused the configured credential ({said} GET /api/v2/)" in report["vendors"][0]["reason"]


def test_an_iam_201_without_its_token_header_is_a_finding_with_a_report(cli):
    credential = "huawei:iam_user=ops,iam_password=pw-123456,iam_domain=acme"
    env = clean_env(HUAWEI_IAM_USER="ops", HUAWEI_IAM_PASSWORD="pw-123456", HUAWEI_IAM_DOMAIN="acme")
    with served("--vendor", "huawei", "--credential", credential, "--drift", "huawei.iam-token-header-dropped") as urls:
        result = cli("run", "--vendor", "huawei", "--target", f"huawei={urls['huawei']}", env=env)
    assert result.code == 1, result.output
    rules = {finding["rule"]["id"] for finding in result.report()["findings"]}
    assert "huawei.iam.headers" in rules
    assert "HUAWEI_IAM_USER" not in result.output.split("report:")[0].split("F1")[0]  # not blamed on the user


def test_wrong_iam_credentials_reject_huawei_and_the_other_vendors_still_report(cli):
    env = clean_env(
        ALTUM_API_KEY=KEY, HUAWEI_IAM_USER="ops", HUAWEI_IAM_PASSWORD="wrong-pass-1", HUAWEI_IAM_DOMAIN="acme"
    )
    with served(
        "--vendor",
        "altum",
        "--vendor",
        "huawei",
        "--credential",
        f"altum:api_key={KEY}",
        "--credential",
        "huawei:iam_user=ops,iam_password=right-pass-1,iam_domain=acme",
    ) as urls:
        target = f"altum={urls['altum']},huawei={urls['huawei']}"
        result = cli("run", "--vendor", "altum", "--vendor", "huawei", "--target", target, env=env)
    assert result.code == 2, result.output
    report = result.report()
    states = {vendor["id"]: vendor["state"] for vendor in report["vendors"]}
    assert states == {"altum": "conformant", "huawei": "credentials-rejected"}
    assert report["findings"] == []
    assert "HUAWEI_IAM_USER" in report["vendors"][1]["reason"]


def test_a_closed_port_checks_nothing_and_says_so(cli):
    result = cli("run", "--vendor", "altum", "--target", f"altum=http://127.0.0.1:{free_port()}", env=LIVE)
    assert result.code == 3, result.output
    report = result.report()
    assert report["vendors"][0]["score"] is None
    html = (result.report_dir() / "report.html").read_text()
    assert "every exercised check passed" not in html and "every exercised check passed" not in result.stdout
    assert "nothing was checked" in html and "100%" not in result.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--budget", "-5"), "--budget -5"),
        (("--budget", "0"), "--budget 0"),
        (("--target", "acme=http://127.0.0.1:9"), "unknown vendor 'acme'"),
        (("--out", "report-file/inside"), "cannot be written"),
        (("--timeout", "0"), "--timeout 0"),
    ],
)
def test_operator_errors_are_one_line_before_the_first_request(cli, tmp_path, args, fragment):
    (tmp_path / "report-file").write_text("a file, not a directory")
    result = cli("run", "--vendor", "altum", *args, env=LIVE)
    assert result.code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.output
    assert not list(tmp_path.rglob("report.json"))


def test_findings_win_over_a_budget_run_out_and_the_report_says_it_was_cut_short(cli):
    with served("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--drift", "altum.output-renamed") as urls:
        result = cli("run", "--vendor", "altum", "--target", urls["altum"], "--budget", "30", env=LIVE)
    assert result.code == 1, result.output
    vendor = result.report()["vendors"][0]
    assert vendor["state"] == "non-conformant" and "budget of 30" in vendor["cut_short"]
    assert "cut short" in result.stdout and "budget of 30" in (result.report_dir() / "summary.md").read_text()


def test_a_target_that_cuts_answers_short_is_unreachable(cli):
    with loopback_server("cut") as fake:
        result = cli("run", "--vendor", "altum", "--target", f"altum={fake['url']}", env=LIVE)
    assert result.code == 3, result.output
    report = result.report()
    assert report["state"] == "unreachable" and report["findings"] == []
    assert fake["state"]["requests"] <= 3


def test_a_target_that_throttles_everything_is_unreachable_with_its_retry_after(cli):
    serve = ("--vendor", "altum", "--credential", f"altum:api_key={KEY}", "--option", "altum.storm_429=100000")
    with served(*serve) as urls:
        result = cli("run", "--vendor", "altum", "--target", urls["altum"], env=LIVE, timeout=120)
    assert result.code == 3, result.output
    vendor = result.report()["vendors"][0]
    assert vendor["state"] == "unreachable" and vendor["retry_after"] == "1" and "throttled" in vendor["reason"]
    assert result.report()["findings"] == []


def test_a_target_that_never_answers_is_unreachable_in_bounded_time(cli):
    with loopback_server("silent") as fake:
        started = time.monotonic()
        result = cli("run", "--vendor", "altum", "--target", fake["url"], "--timeout", "0.5", env=LIVE)
        took = time.monotonic() - started
    assert result.code == 3, result.output
    assert "timed out" in result.report()["vendors"][0]["reason"].lower()
    assert took < 40 and fake["state"]["requests"] <= 3
