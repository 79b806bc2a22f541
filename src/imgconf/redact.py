"""Keeping secrets out of every artifact.

Two nets, because either alone leaks: names (a header, query parameter, form
field or JSON key that is sensitive by name is blanked whatever it holds) and
values (every credential the run was given is replaced wherever it appears,
also URL-encoded or JSON-escaped, in any text that reaches disk or stdout).
Two shapes are secret whatever their value: the userinfo of a URL
(`http://user:password@host` is a credential, however short the password),
and a signature computed from a secret (`SDK-HMAC-SHA256 ... Signature=`):
replacing the key id in it leaves a value that authenticates for minutes, so
it is never shown, only re-computed (see imgconf.report.evidence).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

REDACTED = "[REDACTED]"

# Lower-case names whose values are secret wherever they appear.
SENSITIVE_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "apikey",
        "api_key",
        "api-key",
        "key",
        "x-auth-token",
        "x-subject-token",
        "x-security-token",
        "token",
        "access_token",
        "password",
        "passwd",
        "secret",
        "sk",
        "ak",
        "signature",
    }
)

# Shorter values are not redacted by value: replacing two letters everywhere would destroy
# every report, and no real credential is that short.
MIN_SECRET_LENGTH = 6

# `scheme://userinfo@`: what sits between `://` and the first `@` of the authority is a credential.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>]*@")
_USERINFO_BYTES = re.compile(rb"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>]*@")
# Authorization values that are an HMAC over the request with a secret key, not the key itself.
_SIGNATURE = re.compile(r"(?i)^\S*HMAC\S*\s|[\s,]Signature=")


# What stands for userinfo: still a valid URL (brackets in an authority would make it an IPv6 literal).
USERINFO_REDACTED = "REDACTED"


def strip_userinfo(text: str) -> str:
    """Every `scheme://user:password@` in the text as `scheme://REDACTED@`."""
    return _USERINFO.sub(lambda match: f"{match.group(1)}{USERINFO_REDACTED}@", text) if "://" in text else text


def is_signature(value: str) -> bool:
    """Whether a header value is a request signature derived from a secret (AK/SK, AWS SigV4 and the like)."""
    return bool(_SIGNATURE.search(value))


def is_sensitive_name(name: str) -> bool:
    return name.lower() in SENSITIVE_NAMES


class Redactor:
    """Replaces known secrets and sensitive-by-name values; safe to share between threads."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._placeholders: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None, placeholder: str | None = None) -> None:
        """Register a credential; `placeholder` (e.g. `$ALTUM_API_KEY`) stands in for it in curl commands."""
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        with self._lock:
            if placeholder:
                for form in forms:
                    self._placeholders[form] = placeholder
            if forms <= self._secrets:
                return
            self._secrets |= forms
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(item) for item in ordered))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    @property
    def placeholders(self) -> frozenset[str]:
        """The `$ENV_VAR` names registered to stand for secrets."""
        return frozenset(self._placeholders.values())

    def text(self, value: str) -> str:
        pattern = self._pattern
        if not value:
            return value
        value = strip_userinfo(value)
        return value if pattern is None else pattern.sub(REDACTED, value)

    def placeholder(self, value: str) -> str:
        """The text with every secret replaced by its placeholder, or by REDACTED when it has none."""
        pattern = self._pattern
        if not value:
            return value
        value = strip_userinfo(value)
        if pattern is None:
            return value
        return pattern.sub(lambda match: self._placeholders.get(match.group(0), REDACTED), value)

    def bytes(self, value: bytes) -> bytes:
        pattern = self._pattern
        if not value:
            return value
        if b"://" in value:
            value = _USERINFO_BYTES.sub(lambda match: match.group(1) + USERINFO_REDACTED.encode() + b"@", value)
        if pattern is None:
            return value
        for secret in sorted(self._secrets, key=len, reverse=True):
            value = value.replace(secret.encode(), REDACTED.encode())
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: REDACTED if is_sensitive_name(name) else self.text(str(value)) for name, value in headers.items()}

    def url(self, url: str) -> str:
        try:
            parts = urlsplit(url)
        except ValueError:  # not a URL urllib can split ("http://[" ...): redact it as text
            return self.text(url)
        if "@" in parts.netloc:
            parts = parts._replace(netloc=f"{USERINFO_REDACTED}@{parts.netloc.rsplit('@', 1)[1]}")
        if parts.query:
            pairs = [
                (name, REDACTED if is_sensitive_name(name) else value)
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(pairs, safe="[]"))
        return self.text(urlunsplit(parts))

    def data(self, value: Any) -> Any:
        """A decoded JSON document or form mapping, with sensitive keys blanked at any depth."""
        if isinstance(value, Mapping):
            return {
                key: REDACTED if isinstance(key, str) and is_sensitive_name(key) else self.data(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value


# One per process: the transport registers every credential it is given, and every writer
# (reports, cassettes, logs, error messages) passes its text through it.
REDACTOR = Redactor()


class RedactingFilter(logging.Filter):
    """Scrubs log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = REDACTOR.text(str(record.msg))
        return True


def install_logging_filter() -> None:
    root = logging.getLogger()
    if not any(isinstance(item, RedactingFilter) for item in root.filters):
        root.addFilter(RedactingFilter())
    for handler in root.handlers:
        if not any(isinstance(item, RedactingFilter) for item in handler.filters):
            handler.addFilter(RedactingFilter())
