"""How credentials travel to Huawei: an IAM token in X-Auth-Token, or an AK/SK signature.

One scheme covers both, chosen by the credentials a client holds: `{"token": ...}`
sends the token; `{"ak": ..., "sk": ...}` signs the final request as the official
SDK does. Signing needs the exact bytes that will be sent, so the scheme works at
send time (`at_send_time`): requests calls it after the body and headers are final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from imgconf.vendors.base import AuthScheme, Credentials
from imgconf.wire import signing

Clock = Callable[[], datetime]
# The region whose project a token is scoped to, and which the SDK looks up, unless HUAWEI_PROJECT_NAME says.
DEFAULT_PROJECT_NAME = "cn-north-4"
# The parts of a credential that make it valid; the rest (the project id) only says where it applies.
SECRET_PARTS = ("token", "ak", "sk")


def _now() -> datetime:
    return datetime.now(UTC)


def token_request(user: str, password: str, domain: str, project_name: str) -> dict[str, Any]:
    """The body of the seed's §3.2 example: password method, project scope by name."""
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}},
            },
            "scope": {"project": {"name": project_name}},
        }
    }


def is_project_scoped(path: str) -> bool:
    """Tagging runs in a project (the SDK adds X-Project-Id there); IAM is a global service and gets none."""
    return not path.startswith("/v3/")


def sign_prepared(
    request: requests.PreparedRequest,
    access_key: str,
    secret_key: str,
    project_id: str | None = None,
    *,
    now: Clock = _now,
    extra_signed: tuple[str, ...] = (),
) -> requests.PreparedRequest:
    """Sign a prepared request in place, as huaweicloudsdkcore's Signer does.

    Adds X-Sdk-Date, Host (netloc with port) and, on project-scoped paths, X-Project-Id; rewrites the
    query into its canonical form (the SDK sends it that way, so the gateway sees what was signed);
    signs every SIGNABLE header present plus `extra_signed`.
    """
    parts = urlsplit(request.url or "")
    query = signing.canonical_query(signing.parse_query(parts.query))
    request.url = urlunsplit(parts._replace(query=query))
    headers = request.headers
    headers["Host"] = parts.netloc
    if signing.header(headers, signing.DATE_HEADER) is None:
        headers[signing.DATE_HEADER] = signing.format_date(now())
    if project_id and is_project_scoped(parts.path or "/"):
        headers["X-Project-Id"] = project_id
    raw = signing.raw_body(request.body)
    names = {name.lower() for name in headers if name.lower() in signing.SIGNABLE} | {
        name.lower() for name in extra_signed
    }
    message = signing.Message(request.method or "GET", parts.path or "/", query, dict(headers), raw)
    headers["Authorization"] = signing.sign(message, access_key, secret_key, sorted(names))
    return request


@dataclass(frozen=True)
class HuaweiAuth(AuthScheme):
    """Token or AK/SK, whichever the credentials hold (a token wins when both are there, as at APIG)."""

    at_send_time = True

    def apply(self, request: requests.PreparedRequest, credentials: Credentials) -> None:
        token = credentials.get("token")
        if token:
            request.headers["X-Auth-Token"] = token
            return
        access_key, secret_key = credentials.get("ak"), credentials.get("sk")
        if access_key and secret_key:
            sign_prepared(request, access_key, secret_key, credentials.get("project_id"))

    def schemathesis_config(self, credentials: Credentials, base_url: str) -> dict[str, dict[str, str]] | None:
        """For plain `st run` (the selftest's baseline): a token is a static header, a signature is not, so
        a token is obtained from the target's IAM with the credentials' IAM user; v2's project_id is fixed."""
        token = credentials.get("token")
        user, password, domain = (credentials.get(name) for name in ("iam_user", "iam_password", "iam_domain"))
        project_id = credentials.get("project_id")
        if not token and user and password and domain:
            body = token_request(user, password, domain, credentials.get("project_name") or DEFAULT_PROJECT_NAME)
            try:
                answer = requests.post(f"{base_url.rstrip('/')}/v3/auth/tokens", json=body, timeout=10)
            except requests.RequestException:
                return None
            token = answer.headers.get("X-Subject-Token") if answer.status_code == 201 else None
        if not token:
            return None
        config: dict[str, dict[str, str]] = {"headers": {"X-Auth-Token": token}}
        if project_id:
            config["parameters"] = {"project_id": project_id}
        return config

    def invalid(self, credentials: Credentials) -> dict[str, str]:
        """A token or an AK/SK pair never issued; the project id stays, so only the credential is wrong."""
        changed = super().invalid(credentials)
        return {name: changed[name] if name in SECRET_PARTS else value for name, value in credentials.items()}
