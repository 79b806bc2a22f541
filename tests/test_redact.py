"""Redaction by name and by value, in every form a secret takes on the wire."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from imgconf.redact import REDACTED, RedactingFilter, Redactor

SECRET = "s3cr3t+key/with=chars"


def test_values_are_replaced_in_plain_url_encoded_and_json_escaped_forms():
    redactor = Redactor([SECRET])
    text = f"a {SECRET} b {quote(SECRET, safe='')} c {json.dumps(SECRET)}"
    cleaned = redactor.text(text)
    assert SECRET not in cleaned and quote(SECRET, safe="") not in cleaned
    assert cleaned.count(REDACTED) == 3


def test_sensitive_names_are_blanked_whatever_they_hold():
    redactor = Redactor()
    headers = redactor.headers({"X-Api-Key": "anything", "Authorization": "SDK-HMAC-SHA256 Access=AK", "Accept": "*/*"})
    assert headers == {"X-Api-Key": REDACTED, "Authorization": REDACTED, "Accept": "*/*"}
    url = redactor.url("https://api.test/v2/?apikey=abc123&type=cache")
    assert "abc123" not in url and "type=cache" in url
    data = redactor.data({"auth": {"identity": {"password": {"user": {"name": "u", "password": "pw"}}}}, "apikey": 1})
    assert data["apikey"] == REDACTED
    assert data["auth"]["identity"]["password"] == REDACTED


def test_placeholders_keep_curl_commands_runnable():
    redactor = Redactor()
    redactor.add_secret("key-0123456789", "$ALTUM_API_KEY")
    redactor.add_secret("unnamed-secret-value")
    assert redactor.placeholder("x-api-key: key-0123456789") == "x-api-key: $ALTUM_API_KEY"
    assert redactor.placeholder("unnamed-secret-value") == REDACTED


def test_short_values_are_not_treated_as_secrets():
    redactor = Redactor(["abc"])
    assert redactor.text("abc abc") == "abc abc"


def test_bytes_are_scrubbed_too():
    redactor = Redactor([SECRET])
    assert SECRET.encode() not in redactor.bytes(b"--b\r\n" + SECRET.encode() + b"\r\n--b--")


def test_log_records_are_scrubbed_before_formatting(caplog):
    from imgconf.redact import REDACTOR

    REDACTOR.add_secret("logged-secret-987654")
    logger = logging.getLogger("imgconf.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="imgconf.test"):
        logger.info("sending %s", "logged-secret-987654")
    assert "logged-secret-987654" not in caplog.text
    assert REDACTED in caplog.text
