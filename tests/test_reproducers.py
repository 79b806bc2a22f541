"""What a report may hold of a credential: nothing derived from one, and no userinfo of a target URL.

A Huawei AK/SK signature is an HMAC over the request with the secret key; printed in a curl command it
authenticated again 72 s after the run (the hardening probe). Reproducers of signed requests are therefore
scripts that sign anew from the environment, and IAM tokens are `$HUAWEI_TOKEN`-style references. A target
URL's userinfo (`http://user:password@host`) is a credential too: no output of a run may carry it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import requests

from conftest import clean_env, imgconf, served
from imgconf import images
from imgconf.emulator import altum
from imgconf.emulator import huawei as huawei_emulator
from imgconf.redact import REDACTOR, Redactor, is_signature
from imgconf.report import evidence
from imgconf.vendors.huawei import probes
from imgconf.vendors.huawei.auth import sign_prepared
from imgconf.wire.exchange import Exchange
from imgconf.wire.multipart import parts

ACCOUNT = huawei_emulator.DEFAULT_CREDENTIALS[0]
SIGNATURE = re.compile(r"Signature=([0-9a-f]{64})")


def _signed_exchange(base: str) -> tuple[Exchange, str]:
    body = {"image": probes.encode(images.render(64, 48, seed=1, fmt="jpeg")), "limit": 5}
    url = f"{base}/v2/{ACCOUNT['project_id']}/image/tagging"
    request = requests.Request("POST", url, json=body).prepare()
    sign_prepared(request, ACCOUNT["ak"], ACCOUNT["sk"], ACCOUNT["project_id"], now=lambda: datetime.now(UTC))
    signature = SIGNATURE.search(request.headers["Authorization"])
    assert signature is not None
    return sent(request, "huawei", seq=7), signature.group(1)


def sent(request: requests.PreparedRequest, vendor: str, seq: int) -> Exchange:
    """The exchange of `request`, answered 200 with an empty JSON object."""
    raw = request.body if isinstance(request.body, bytes) else str(request.body).encode()
    return Exchange(
        seq=seq,
        vendor=vendor,
        method=request.method or "POST",
        url=request.url or "",
        request_headers=dict(request.headers),
        request_body=raw,
        request_size=len(raw),
        status=200,
        response_headers={"Content-Type": "application/json"},
        response_body=b"{}",
        response_size=2,
        elapsed_ms=1.0,
        started_at=0.0,
    )


def test_a_signed_request_is_reproduced_by_signing_it_again(tmp_path: Path) -> None:
    """No byte of the signature in the evidence; the script it writes instead gets a 200 from a served
    emulator with nothing but $HUAWEI_AK, $HUAWEI_SK and $HUAWEI_PROJECT_ID in its environment."""
    REDACTOR.add_secret(ACCOUNT["ak"], "$HUAWEI_AK")
    REDACTOR.add_secret(ACCOUNT["sk"], "$HUAWEI_SK")
    with served("--vendor", "huawei") as urls:
        exchange, signature = _signed_exchange(urls["huawei"])
        found = evidence.from_exchange(exchange, "f1")
        written = json.dumps({"request": found.request, "curl": found.curl}) + "".join(
            content.decode("utf-8", "replace") for content in found.files.values()
        )
        assert signature not in written and ACCOUNT["sk"] not in written and ACCOUNT["ak"] not in written
        assert found.curl.startswith("python3 evidence/f1-resign.py")
        assert "$HUAWEI_AK and $HUAWEI_SK" in found.curl
        folder = tmp_path / "evidence"
        folder.mkdir()
        for name, content in found.files.items():
            (folder / name).write_bytes(content)
        env = clean_env(HUAWEI_AK=ACCOUNT["ak"], HUAWEI_SK=ACCOUNT["sk"], HUAWEI_PROJECT_ID=ACCOUNT["project_id"])
        replayed = subprocess.run(
            [sys.executable, "evidence/f1-resign.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    print(found.curl)
    print(replayed.stdout.splitlines()[0] if replayed.stdout else replayed.stderr[-400:])
    assert replayed.returncode == 0, replayed.stderr[-800:]
    assert replayed.stdout.startswith("200 "), replayed.stdout[:400]


def test_tokens_and_signatures_are_never_shown_in_a_curl_command() -> None:
    token = "MIIBfgYJKoZIhvcNAQcCoIIBbzCCAWsCAQExDTALBglghkgBZQMEAgEwgg"
    REDACTOR.add_secret(token, "$HUAWEI_TOKEN")
    exchange, _ = _signed_exchange("http://huawei.emulator")
    headers = {"Content-Type": "application/json", "X-Auth-Token": token}
    with_token = Exchange(**{**exchange.__dict__, "request_headers": headers})
    command = evidence.curl_command(with_token, "f2", {})
    assert token not in command and '"X-Auth-Token: $HUAWEI_TOKEN"' in command
    unknown = Exchange(**{**exchange.__dict__, "request_headers": {"X-Auth-Token": "a-token-no-one-registered"}})
    assert '"X-Auth-Token: $HUAWEI_X_AUTH_TOKEN"' in evidence.curl_command(unknown, "f3", {})
    assert is_signature("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00ff")
    assert is_signature("AWS4-HMAC-SHA256 Credential=AK/x, SignedHeaders=host, Signature=00ff")
    assert not is_signature("Basic dXNlcjpwYXNz") and not is_signature("Bearer abc")


def test_userinfo_is_redacted_in_text_urls_and_bytes() -> None:
    redactor = Redactor()
    assert redactor.text("--target altum=http://me:pw@127.0.0.1:9/x") == "--target altum=http://REDACTED@127.0.0.1:9/x"
    assert redactor.url("https://me:pw@h.test/p?apikey=k") == "https://REDACTED@h.test/p?apikey=[REDACTED]"
    assert redactor.bytes(b'{"url": "http://me:pw@h.test/"}') == b'{"url": "http://REDACTED@h.test/"}'
    assert redactor.text("mail me@example.com") == "mail me@example.com"


def test_a_run_against_a_target_with_userinfo_writes_it_nowhere(tmp_path: Path) -> None:
    """`imgconf run --target altum=http://user:pass@127.0.0.1:PORT --record`: stdout, stderr, every file of
    the run (report, cassette, evidence) and the history are searched for the user and the password."""
    user, password = "imgconf-user", "pass"  # a short password: redacted as userinfo, not only by value
    with served("--vendor", "altum") as urls:
        target = urls["altum"].replace("http://", f"http://{user}:{password}@")
        result = imgconf(
            "run",
            "--vendor",
            "altum",
            "--target",
            f"altum={target}",
            "--record",
            out=tmp_path / "reports",
            cwd=tmp_path,
            env=clean_env(ALTUM_API_KEY=altum.DEFAULT_CREDENTIALS[0]["api_key"]),
            timeout=240,
        )
    assert result.code == 0, result.output[-2000:]
    assert "REDACTED@127.0.0.1" in result.stdout
    leaks = [name for name in ("stdout", "stderr") if user in getattr(result, name)]
    files = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    assert any(path.name == "history.sqlite" for path in files) and any(path.name == "cassette.yaml" for path in files)
    for path in files:
        content = path.read_bytes()
        if user.encode() in content or f":{password}@".encode() in content:
            leaks.append(str(path.relative_to(tmp_path)))
    print(f"searched stdout, stderr and {len(files)} files")
    assert leaks == []


def test_a_multipart_request_is_read_once_for_its_view_and_its_reproducer(monkeypatch) -> None:
    """The key field is redacted in the view and an $ENV reference in the command, the image is a file beside
    the report named in the command, and the body is parsed once for both (the stdlib parser is slow)."""
    key = "multipart-key-0123456789abcdef"
    REDACTOR.add_secret(key, "$IMAGERECOGNIZE_API_KEY")
    image = images.render(16, 16, seed=3, fmt="png")
    request = requests.Request(
        "POST",
        "http://imagerecognize.emulator/v2/recognize",
        files={"apikey": (None, key), "lang": (None, "en"), "image": ("photo.png", image, "image/png")},
    ).prepare()
    assert isinstance(request.body, bytes)
    exchange = sent(request, "imagerecognize", seq=3)
    read = []
    monkeypatch.setattr(evidence, "parts", lambda *args: read.append(args) or parts(*args))
    found = evidence.from_exchange(exchange, "f4")
    assert len(read) == 1
    view = {part["name"]: part for part in found.request["body"]["multipart"]}
    assert view["apikey"]["value"] == "[REDACTED]" and view["lang"]["value"] == "en"
    assert view["image"]["filename"] == "photo.png" and "bytes" not in view["image"] and view["image"]["sha256"]
    assert '-F "apikey=$IMAGERECOGNIZE_API_KEY"' in found.curl and "-F lang=en" in found.curl
    assert "-F 'image=@evidence/f4-2-photo.png;type=image/png'" in found.curl
    assert found.files == {"f4-2-photo.png": image} and key not in found.curl
