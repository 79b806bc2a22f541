"""The imagerecognize key travels as a form field (POST) and a query parameter (GET): prove that neither
a conformant run nor a drifted one with findings, evidence and curl reproducers lets it reach an artifact,
the CLI's output, or the emulator's log - in plain, URL-encoded or JSON-escaped form.

Both runs are live-mode runs (a URL target with the keys in the environment), as a monitoring job runs
them; the emulator behind the URL accepts the sentinel keys as extra credentials. The sentinels hold
characters that change under URL encoding, so a leak through a query string could not hide.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from conftest import clean_env, imgconf

KEY = "SENTINEL/ir+key=5f2a9c"
SPENT = "SENTINEL-spent/ir+7d1e"


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


@contextmanager
def serving(tmp_path: Path, *drifts: str) -> Iterator[tuple[str, Path]]:
    """`imgconf emulator serve` with the sentinel keys, its output kept in a log file we can search."""
    ready, log = tmp_path / "ready.json", tmp_path / f"emulator-{len(drifts)}.log"
    command = [sys.executable, "-m", "imgconf", "emulator", "serve", "--vendor", "imagerecognize", "--port", "0"]
    command += ["--ready-file", str(ready), "--fast", "--log-level", "info"]
    command += [
        "--credential",
        f"imagerecognize:apikey={KEY}",
        "--credential",
        f"imagerecognize:exhausted_apikey={SPENT}",
    ]
    for drift in drifts:
        command += ["--drift", drift]
    ready.unlink(missing_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=clean_env())
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.05)
            yield json.loads(ready.read_text())["imagerecognize"], log
        finally:
            process.terminate()
            process.wait(timeout=10)


def run(tmp_path: Path, url: str):
    env = clean_env(IMAGERECOGNIZE_API_KEY=KEY, IMAGERECOGNIZE_EXHAUSTED_API_KEY=SPENT)
    return imgconf(
        "run",
        "--vendor",
        "imagerecognize",
        "--target",
        f"imagerecognize={url}",
        out=tmp_path / "reports",
        env=env,
        cwd=tmp_path,
    )


def leaks(texts: dict[str, bytes]) -> list[str]:
    found = []
    for where, data in texts.items():
        for secret in (KEY, SPENT):
            found += [f"{where}: {form!r}" for form in forms(secret) if form.encode() in data]
    return found


@pytest.mark.parametrize(
    "drifts", [(), ("imagerecognize.json-as-html", "imagerecognize.errors-http-200")], ids=["conformant", "drifted"]
)
def test_the_keys_are_in_no_artifact_output_or_log(tmp_path, drifts):
    with serving(tmp_path, *drifts) as (url, log):
        result = run(tmp_path, url)
    report = result.report()
    if drifts:
        assert result.code == 1, result.output
        findings = report["findings"]
        assert findings and all(finding.get("curl") for finding in findings)
        # The keys did travel: in the form and in the query, and the reproducers name them by variable.
        curls = " ".join(finding["curl"] for finding in findings)
        assert '-F "apikey=$IMAGERECOGNIZE_API_KEY"' in curls
        assert "?apikey=$IMAGERECOGNIZE_API_KEY" in curls
        assert (result.report_dir() / "evidence").is_dir()
        assert b"apikey=[REDACTED]" in (result.report_dir() / "report.json").read_bytes()  # scrubbed, not absent
    else:
        assert result.code == 0, result.output  # a live run that fits the default budget of 50 requests
        assert report["requests"] <= 50
    files = {str(path): path.read_bytes() for path in (tmp_path / "reports").rglob("*") if path.is_file()}
    names = {Path(name).name for name in files}
    assert {"report.json", "junit.xml", "summary.md", "report.html"} <= names
    texts = {
        **files,
        "stdout": result.stdout.encode(),
        "stderr": result.stderr.encode(),
        "emulator log": log.read_bytes(),
    }
    assert log.read_bytes(), "the emulator logged nothing, so the log proves nothing"
    assert not leaks(texts)
