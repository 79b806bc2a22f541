"""`imgconf proxy` as a user runs it: in front of `imgconf emulator serve`, reports every few seconds and on
SIGTERM (exit 0), a redacted cassette that `imgconf validate` and `imgconf run --replay` accept, the same
history as `imgconf run`, and no credential anywhere: not in a report, the cassette, the history or the
console."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import requests

from conftest import clean_env, imgconf, served
from imgconf import emulator
from proxy_support import TRAFFIC, Client, proxy_cli

ALTUM_KEY = emulator.get("altum").default_credentials[0]["api_key"]
IMAGERECOGNIZE_KEY = emulator.get("imagerecognize").default_credentials[0]["apikey"]
SENTINELS = [ALTUM_KEY, IMAGERECOGNIZE_KEY]


def _reports(out: Path) -> list[Path]:
    return sorted(path for path in out.iterdir() if (path / "report.json").exists()) if out.exists() else []


def _every_file(root: Path) -> str:
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file())


def test_reports_every_window_and_on_sigterm_with_a_cassette_validate_accepts(tmp_path):
    with served(
        "--vendor",
        "altum",
        "--vendor",
        "imagerecognize",
        "--fast",
        "--drift",
        "altum.confidence-as-number",
        env=clean_env(),
    ) as urls:
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
    windows = _reports(altum.out)
    assert len(windows) >= 2  # at least one while running, one at shutdown
    first = json.loads((windows[0] / "report.json").read_text())
    assert first["kind"] == "proxy" and first["target"]["kind"] == "proxy"
    assert first["state"] == "non-conformant" and first["exit_code"] == 1
    rules = {finding["rule"]["id"] for finding in first["findings"] if finding["kind"] != "application"}
    assert "altum.result.confidence" in rules
    for name in ("report.json", "junit.xml", "summary.md", "report.html", "cassette.yaml"):
        assert (windows[0] / name).exists(), name
    assert "altum.result.confidence" in (windows[0] / "report.html").read_text()
    assert "the application's own request" in (windows[0] / "report.html").read_text()

    # The cassette: `imgconf validate` finds the same vendor finding from it, sending nothing.
    validated = imgconf(
        "validate", str(windows[0] / "cassette.yaml"), "--out", str(tmp_path / "v"), out=tmp_path / "v", cwd=tmp_path
    )
    assert validated.code == 1, validated.output
    assert "altum.result.confidence" in {f["rule"]["id"] for f in validated.report()["findings"]}
    # `imgconf run --replay` loads it as a run's cassette (its own suites' requests were never recorded).
    replayed = imgconf(
        "run", "--replay", str(windows[0] / "cassette.yaml"), "--no-history", out=tmp_path / "r", cwd=tmp_path
    )
    # It holds the application's requests, not the suites': they miss, which a replay reports as unreachable.
    assert replayed.code == 3 and "no recorded answer" in replayed.output, replayed.output

    # The same history as `imgconf run`: windows are runs of kind proxy on target proxy:altum.
    history = imgconf("history", "--history", str(altum.out / "history.sqlite"), "--all", out=altum.out, cwd=tmp_path)
    assert history.code == 0, history.output
    assert "proxy:altum" in history.output

    everything = _every_file(tmp_path) + altum.stdout + altum.stderr + other.stdout + other.stderr
    everything += validated.output + replayed.output + history.output
    for sentinel in SENTINELS:
        assert sentinel not in everything
    assert "last window" in altum.stdout and other.stdout


def test_a_vendor_that_does_not_exist_or_a_bad_upstream_is_one_line(cli):
    unknown = cli("proxy", "--vendor", "nobody")
    assert unknown.code == 2 and "unknown vendor" in unknown.stderr and "Traceback" not in unknown.output
    bad = cli("proxy", "--vendor", "altum", "--upstream", "ftp://x")
    assert bad.code == 2 and "--upstream" in bad.stderr and "Traceback" not in bad.output
    listen = cli("proxy", "--vendor", "altum", "--upstream", "http://127.0.0.1:9", "--listen", "nowhere")
    assert listen.code == 2 and "--listen" in listen.stderr
