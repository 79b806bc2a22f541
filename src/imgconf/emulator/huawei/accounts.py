"""Who the emulator knows: accounts (domain, IAM user, project, AK/SK pairs) and the tokens IAM issued.

Each credential mapping the emulator is given (its default one, and any `--credential huawei:...`)
is one account. Tokens live 24 hours by the emulator's clock, which tests inject.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The seed's own facts, kept here so the emulator owns its account data (it imports nothing suite-side):
# the region of its examples, and the token value its §3.2 response example shows.
DEFAULT_PROJECT_NAME = "cn-north-4"
DOCUMENTED_TOKEN = "MIINRwYJKoZIhvcNAQcCoIINODCCDTQCAQExDTALBglghkgBZQMEAgEwgguVBgkqhkiG"

TOKEN_LIFETIME_S = 24 * 3600
# The docs' token body says it expired at 2019-02-13T06:52:13.855000Z; its token is the one their examples send.
DOCUMENTED_TOKEN_EXPIRY = datetime(2019, 2, 13, 6, 52, 13, 855000, tzinfo=UTC).timestamp()


def _hex_id(*parts: str) -> str:
    """A 32-hex id, as IAM's ids look, derived from stable parts so restarts give the same ids."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]


@dataclass
class Account:
    domain_name: str
    user_name: str | None
    password: str | None
    project_id: str
    project_name: str
    keys: dict[str, str] = field(default_factory=dict)  # AK -> SK

    @property
    def domain_id(self) -> str:
        return _hex_id("domain", self.domain_name)

    @property
    def user_id(self) -> str:
        return _hex_id("user", self.domain_name, self.user_name or "")


def account_from(credentials: Mapping[str, str], index: int) -> Account:
    """An account from one credential mapping; what it leaves out gets a stable stand-in."""
    keys = {}
    for ak_name, sk_name in (("ak", "sk"), ("lockout_ak", "lockout_sk")):
        if credentials.get(ak_name) and credentials.get(sk_name):
            keys[credentials[ak_name]] = credentials[sk_name]
    domain = credentials.get("iam_domain") or f"imgconf-domain-{index}"
    return Account(
        domain_name=domain,
        user_name=credentials.get("iam_user"),
        password=credentials.get("iam_password"),
        project_id=credentials.get("project_id") or _hex_id("project", domain),
        project_name=credentials.get("project_name") or DEFAULT_PROJECT_NAME,
        keys=keys,
    )


@dataclass(frozen=True)
class Token:
    value: str
    account: Account
    project_id: str | None  # None: a domain-scoped token
    issued_at: float
    expires_at: float


def iso(moment: float) -> str:
    """IAM's timestamps: UTC with microseconds and a Z (%Y-%m-%dT%H:%M:%S.%fZ)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _token_text() -> str:
    """Opaque, long, and shaped like IAM's PKI tokens (base64 of a CMS blob, 'MII...')."""
    blob = base64.b64encode(b"\x30\x82\x01\x7e" + secrets.token_bytes(382)).decode()
    return blob.replace("+", "-").replace("/", "_").rstrip("=")


class Directory:
    """Accounts by AK and by user, and the tokens issued so far."""

    def __init__(self, credentials: Iterable[Mapping[str, str]], clock: Callable[[], float]) -> None:
        self.accounts = [account_from(item, index) for index, item in enumerate(credentials)]
        self.clock = clock
        self.tokens: dict[str, Token] = {}
        default = self.accounts[0]
        # The token the docs' examples send: known here as the expired token it is (like a fixture image URL).
        self.tokens[DOCUMENTED_TOKEN] = Token(
            DOCUMENTED_TOKEN,
            default,
            default.project_id,
            DOCUMENTED_TOKEN_EXPIRY - TOKEN_LIFETIME_S,
            DOCUMENTED_TOKEN_EXPIRY,
        )

    def by_access_key(self, access_key: str) -> tuple[Account, str] | None:
        for account in self.accounts:
            if access_key in account.keys:
                return account, account.keys[access_key]
        return None

    def by_user(self, domain: Mapping[str, str], name: str) -> Account | None:
        for account in self.accounts:
            domain_matches = domain.get("name") == account.domain_name or domain.get("id") == account.domain_id
            if domain_matches and account.user_name is not None and account.user_name == name:
                return account
        return None

    def issue(self, account: Account, project_id: str | None) -> Token:
        now = self.clock()
        token = Token(_token_text(), account, project_id, now, now + TOKEN_LIFETIME_S)
        self.tokens[token.value] = token
        return token

    def token(self, value: str) -> Token | None:
        return self.tokens.get(value)
