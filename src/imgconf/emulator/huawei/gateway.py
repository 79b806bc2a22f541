"""The API gateway (APIG) in front of Image Tagging and IAM: who is calling, and may they.

An IAM token (X-Auth-Token) is looked up and its 24 hours checked; an AK/SK
signature is verified with the same SDK-HMAC-SHA256 code live runs sign with
(`imgconf.wire.signing`): the received method, path, query, signed
headers and raw body bytes, X-Sdk-Date within 15 minutes of the clock, and five
bad signatures in a row lock the AK for five minutes. The answer is a
`Caller`, or the reason (an APIG.0301 text) it is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from starlette.requests import Request

from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.huawei import answers
from imgconf.emulator.huawei.accounts import Account, Directory
from imgconf.wire import signing

SKEW_S = 15 * 60
LOCK_AFTER = 5
LOCK_S = 5 * 60
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Caller:
    account: Account
    # The token's project (None for a domain-scoped token); AK/SK callers may use any project of their account.
    token_project: str | None
    via_token: bool


@dataclass(frozen=True)
class Refused:
    reason: str  # the text after "Incorrect IAM authentication information: "


@dataclass
class _Strikes:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class Gateway:
    config: EmulatorConfig
    directory: Directory
    strikes: dict[str, _Strikes] = field(default_factory=lambda: defaultdict(_Strikes))

    def authenticate(self, request: Request, body: bytes) -> Caller | Refused:
        token = request.headers.get("x-auth-token")
        if token is not None:
            return self._token(token)
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return self._signature(request, authorization, body)
        return Refused(answers.NO_TOKEN)

    def _token(self, value: str) -> Caller | Refused:
        token = self.directory.token(value.strip())
        if token is None:
            return Refused(answers.DECRYPT_FAIL)
        expired = self.config.clock() >= token.expires_at
        if expired and not self.config.drifting("huawei.expired-token-accepted"):
            return Refused(answers.TOKEN_EXPIRED)
        return Caller(token.account, token.project_id, via_token=True)

    def _signature(self, request: Request, authorization: str, body: bytes) -> Caller | Refused:
        parsed = signing.parse_authorization(authorization)
        if parsed is None:
            return Refused(answers.SIGNATURE_FAIL)
        found = self.directory.by_access_key(parsed.access_key)
        if found is None:
            return Refused(answers.UNKNOWN_AK)
        account, secret_key = found
        if self.config.drifting("huawei.signature-not-verified"):
            return Caller(account, None, via_token=False)
        now = self.config.clock()
        strikes = self.strikes[parsed.access_key]
        if strikes.locked_until > now:
            return Refused(answers.LOCKED)
        sent_at = signing.parse_date(request.headers.get(signing.DATE_HEADER))
        if sent_at is not None and "x-sdk-date" in parsed.signed_headers and abs(now - sent_at.timestamp()) > SKEW_S:
            return Refused(answers.SKEWED)
        message = signing.Message(
            request.method,
            request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            request.scope.get("query_string", b"").decode("latin-1"),
            dict(request.headers),
            body,
        )
        if (
            sent_at is None
            or not self._payload_declared_honestly(request, body)
            or not signing.verify(message, parsed, secret_key)
        ):
            return self._strike(parsed.access_key, now)
        strikes.count = 0
        return Caller(account, None, via_token=False)

    @staticmethod
    def _payload_declared_honestly(request: Request, body: bytes) -> bool:
        """X-Sdk-Content-Sha256 is used as signed; a hex digest in it must still be the body's."""
        declared = request.headers.get(signing.CONTENT_HASH_HEADER)
        if declared is None or not _HEX_DIGEST.match(declared.strip()):
            return True
        return declared.strip() == hashlib.sha256(body).hexdigest()

    def _strike(self, access_key: str, now: float) -> Refused:
        strikes = self.strikes[access_key]
        strikes.count += 1
        if strikes.count >= LOCK_AFTER and not self.config.drifting("huawei.lockout-never"):
            strikes.count = 0
            strikes.locked_until = now + LOCK_S
        return Refused(answers.SIGNATURE_FAIL)
