"""`imgconf proxy` as a user runs it: in front of `imgconf emulator serve`, reports every few seconds and on
SIGTERM (exit 0), a redacted cassette that `imgconf validate` and `imgconf run --replay` accept, the same
history as `imgconf run`, and no credential anywhere: not in a report, the cassette, the history or the
console."""

from __future__ import annotations

import base64
import json
import signal
import time
from pathlib import Path

import requests

from conftest import clean_env, imgconf, served
from imgconf import emulator
from imgconf.vendors.huawei.auth import DEFAULT_PROJECT_NAME, token_request
from proxy_support import IMAGE_JPEG, TRAFFIC, Client, proxy_cli

ALTUM_KEY = emulator.get("altum").default_credentials[0]["api_key"]
IMAGERECOGNIZE_KEY = emulator.get("imagerecognize").default_credentials[0]["apikey"]
HUAWEI = emulator.get("huawei").default_credentials[0]
SENTINELS = [ALTUM_KEY, IMAGERECOGNIZE_KEY, HUAWEI["ak"], HUAWEI["sk"], HUAWEI["iam_password"]]


def _reports(out: Path) -> list[Path]:
    return sorted(path for path in out.iterdir() if (path / "report.json").exists()) if out.exists() else []


def _every_file(root: Path) -> str:
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file())


def test_reports_every_window_and_on_sigterm_with_a_cassette_validate_accepts(tmp_path):
    vendors = ("--vendor", "altum", "--vendor", "imagerecognize", "--vendor", "huawei")
    with served(*vendors, "--fast", "--drift", "altum.confidence-as-number", env=clean_env()) as urls:
        with proxy_cli("altum", urls["altum"], tmp_path / "a", "--record", "--flush-every", "0.02") as altum:
            TRAFFIC["altum"](Client("altum", altum.url))
            deadline = time.monotonic() + 20
            while not _reports(altum.out):  # a window is published while the proxy runs
                assert time.monotonic() < deadline, "no report within the flush period"
                time.sleep(0.1)
            requests.post(
                altum.url + "/labelling/url",
                json={"url": "http://127.0.0.1/x.jpg"},
                timeout=10,
                headers={"x-api-key": ALTUM_KEY},
            )
            time.sleep(0.3)
            assert altum.stop(signal.SIGTERM) == 0
        with proxy_cli("imagerecognize", urls["imagerecognize"], tmp_path / "i", "--record") as other:
            TRAFFIC["imagerecognize"](Client("imagerecognize", other.url))
            assert other.stop(signal.SIGINT) == 0
        with proxy_cli("huawei", urls["huawei"], tmp_path / "h", "--record") as huawei:
            client = Client("huawei", urls["huawei"], proxy=huawei.url)  # AK/SK, IAM password, then a token
            TRAFFIC["huawei"](client)
            body = token_request(HUAWEI["iam_user"], HUAWEI["iam_password"], HUAWEI["iam_domain"], DEFAULT_PROJECT_NAME)
            issued = client.send("POST", "/v3/auth/tokens", auth="none", json=body)
            token = issued.headers["X-Subject-Token"]
            tagged = client.session.post(
                urls["huawei"] + f"/v2/{HUAWEI['project_id']}/image/tagging",
                json={"image": base64.b64encode(IMAGE_JPEG).decode()},
                headers={"X-Auth-Token": token},
                timeout=20,
            )
            assert tagged.status_code == 200
            assert huawei.stop() == 0
    sentinels = [*SENTINELS, token]
    windows = _reports(altum.out)
    assert len(windows) >= 2  # at least one while running, one at shutdown
    reports = {window: json.loads((window / "report.json").read_text()) for window in windows}
    for window, report in reports.items():
        assert report["kind"] == "proxy" and report["target"]["kind"] == "proxy"
        for name in ("report.json", "junit.xml", "summary.md", "report.html", "cassette.yaml"):
            assert (window / name).exists(), name
        # A window generated no cases: no seed or profile to show, and what it left unchecked is the traffic's.
        for name in ("summary.md", "report.html"):
            text = (window / name).read_text()
            assert "observed traffic, no generated cases" in text and "seed None" not in text, name
            assert "not checked on this target" not in text, name
    # Where the windows split the traffic depends on timing; what they found, together, does not.
    broken = next(
        w for w, r in reports.items() if any(f["rule"]["id"] == "altum.result.confidence" for f in r["findings"])
    )
    assert reports[broken]["state"] == "non-conformant" and reports[broken]["exit_code"] == 1
    assert "altum.result.confidence" in (broken / "report.html").read_text()
    own = [w for w, r in reports.items() if any(f["kind"] == "application" for f in r["findings"])]
    assert own and "the application's own request" in (own[0] / "report.html").read_text()

    # The cassette: `imgconf validate` finds the same vendor finding from it, sending nothing.
    validated = imgconf(
        "validate", str(broken / "cassette.yaml"), "--out", str(tmp_path / "v"), out=tmp_path / "v", cwd=tmp_path
    )
    assert validated.code == 1, validated.output
    assert "altum.result.confidence" in {f["rule"]["id"] for f in validated.report()["findings"]}
    # `imgconf run --replay` loads it as a run's cassette (its own suites' requests were never recorded).
    replayed = imgconf(
        "run", "--replay", str(broken / "cassette.yaml"), "--no-history", out=tmp_path / "r", cwd=tmp_path
    )
    # It holds the application's requests, not the suites': they miss, which a replay reports as unreachable.
    assert replayed.code == 3 and "no recorded answer" in replayed.output, replayed.output

    # The same history as `imgconf run`: windows are runs of kind proxy on target proxy:altum.
    history = imgconf("history", "--history", str(altum.out / "history.sqlite"), "--all", out=altum.out, cwd=tmp_path)
    assert history.code == 0, history.output
    assert "proxy:altum" in history.output

    assert (_reports(huawei.out)[-1] / "cassette.yaml").exists()
    everything = _every_file(tmp_path) + altum.stdout + altum.stderr + other.stdout + other.stderr
    everything += huawei.stdout + huawei.stderr
    everything += validated.output + replayed.output + history.output
    for sentinel in sentinels:
        assert sentinel not in everything
    assert "last window" in altum.stdout and other.stdout


def test_a_vendor_that_does_not_exist_or_a_bad_upstream_is_one_line(cli):
    unknown = cli("proxy", "--vendor", "nobody")
    assert unknown.code == 2 and "unknown vendor" in unknown.stderr and "Traceback" not in unknown.output
    bad = cli("proxy", "--vendor", "altum", "--upstream", "ftp://x")
    assert bad.code == 2 and "--upstream" in bad.stderr and "Traceback" not in bad.output
    listen = cli("proxy", "--vendor", "altum", "--upstream", "http://127.0.0.1:9", "--listen", "nowhere")
    assert listen.code == 2 and "--listen" in listen.stderr
