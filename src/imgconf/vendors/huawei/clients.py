"""From a target's credentials to the clients the Huawei suites need: one that signs, one that sends a token.

A live user may hold an AK/SK pair, an IAM user, or both; the emulator holds both. The suites test
each mode they can: contract tests run once per mode, behaviour tests pick the mode a rule is about and
skip when the target's credentials do not allow it. The token is obtained once per run from IAM
(POST /v3/auth/tokens, as the docs describe) and registered with the redactor, like every credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from imgconf.checks import RuleViolation
from imgconf.errors import CredentialsMissing, CredentialsRejected, TargetUnreachable, UsageError
from imgconf.redact import REDACTOR
from imgconf.testing.client import ApiClient, tag
from imgconf.vendors.huawei import DEFAULT_PROJECT_NAME
from imgconf.vendors.huawei.auth import token_request
from imgconf.vendors.huawei.probes import error_code

TOKENS = "/v3/auth/tokens"
PROJECTS = "/v3/projects"
# The platform's answers to a v2 project the caller may not use (huawei.auth.project): another account's
# project, and a token scoped to no project.
PROJECT_REFUSED = ("ModelArts.4203", "ModelArts.0212")


@dataclass(frozen=True)
class Issued:
    """A token as IAM issued it: the value travels in headers only; the body says when it expires."""

    token: str
    project_id: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class ApiClients:
    base: ApiClient
    signed: ApiClient | None
    token: ApiClient | None
    lockout: ApiClient | None
    project_id: str
    project_name: str
    issued: Issued | None
    # IAM broke its contract while issuing the run's token: token-mode tests report it, signed ones still run.
    token_error: RuleViolation | None = None

    @property
    def default(self) -> ApiClient:
        """The client for tests that do not care how they authenticate: signing when possible, like the SDK."""
        client = self.signed or self.token
        if client is None and self.token_error is not None:
            raise self.token_error
        assert client is not None
        return client

    def v2(self, project_id: str | None = None) -> str:
        return f"/v2/{project_id or self.project_id}/image/tagging"


IAM_ENV = "HUAWEI_IAM_USER, HUAWEI_IAM_PASSWORD and HUAWEI_IAM_DOMAIN"
KEYS_ENV = "HUAWEI_AK and HUAWEI_SK"


def with_credentials(base: ApiClient, credentials: dict[str, str]) -> ApiClient:
    """A client for the same target and session (budget, recording, host guard) with other credentials."""
    return base.with_credentials(credentials)


def served(client: ApiClient, response: requests.Response, request: str) -> None:
    """Stop the vendor's suite as unreachable when the answer to the run's first request says the service is
    not there to be tested.

    The token and the project lookup come before every test, so their answer decides for all of them: a 5xx is
    a service that is failing (an outage, not "set HUAWEI_PROJECT_ID"), a 429 that the guard could not wait out
    one that is throttling, and an answer that says there is no such path, or a web page, a wrong target URL
    (or IAM moved).
    """
    status = response.status_code
    if status >= 500:
        raise TargetUnreachable(f"huawei: the service is failing: {request} answered {status}")
    if status == 429:
        raise TargetUnreachable(f"huawei: throttled: {request} answered 429")
    said = client.vendor.not_the_api(status, response.content)
    if said is not None:
        raise TargetUnreachable(
            f"huawei: nothing at the target serves this API: {request} answered {said}; is the target URL right?"
        )


def obtain_token(base: ApiClient, credentials: dict[str, str], project_name: str) -> Issued:
    response = base.post(
        TOKENS,
        params={"nocatalog": "true"},
        json=token_request(
            credentials["iam_user"], credentials["iam_password"], credentials["iam_domain"], project_name
        ),
        auth="none",
    )
    served(base, response, f"POST {TOKENS}")
    token = response.headers.get("X-Subject-Token")
    if response.status_code == 401:
        # The documented answer to a wrong user, password or domain: the operator's credential, not a break.
        raise CredentialsRejected(f"huawei: IAM refused the configured user (401); check {IAM_ENV}")
    problem: RuleViolation | None = None
    if response.status_code != 201:
        problem = RuleViolation(
            "huawei.iam.token-issued",
            f"POST {TOKENS} with the configured user answered {response.status_code}, not 201 or the documented 401",
        )
    elif not token:
        problem = RuleViolation("huawei.iam.headers", f"POST {TOKENS} answered 201 without the X-Subject-Token header")
    if problem is not None:
        tag(problem, response)
        raise problem
    assert token is not None
    REDACTOR.add_secret(token, "$HUAWEI_TOKEN")  # a reproducer needs a token of its own: `$HUAWEI_TOKEN`
    body = _json_object(response, "huawei.iam.token-issued", f"POST {TOKENS}")
    project = (body.get("token") or {}).get("project") or {}
    return Issued(token, project.get("id"), body)


def _json_object(response: requests.Response, rule: str, request: str) -> dict[str, Any]:
    """The answer's JSON object; a body that is none is the vendor's break of `rule`, tagged with the answer."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        problem = RuleViolation(rule, f"{request} answered {response.status_code} with a body that is no JSON object")
        tag(problem, response)
        raise problem
    return body


def lookup_project(client: ApiClient, project_name: str) -> str:
    """The project id of `project_name`, as the SDK finds it: GET /v3/projects?name=, exactly one match."""
    response = client.get(PROJECTS, params={"name": project_name})
    served(client, response, f"GET {PROJECTS}")
    if response.status_code == 401:
        raise CredentialsRejected(f"huawei: the gateway refused the configured AK/SK (401); check {KEYS_ENV}")
    if response.status_code == 200:
        projects = _json_object(response, "huawei.iam.projects", f"GET {PROJECTS}").get("projects") or []
    else:
        projects = []
    if len(projects) != 1:
        raise UsageError(
            f"huawei: GET /v3/projects?name={project_name} answered {response.status_code} with "
            f"{len(projects)} projects; set HUAWEI_PROJECT_ID"
        )
    return str(projects[0]["id"])


def check_project(client: ApiClient | None, project_id: str) -> None:
    """Refuse a HUAWEI_PROJECT_ID the credentials cannot use, as the operator's to fix, before any test.

    Asked only when it is not the project the credentials name (the lookup's, the token's): one v2 call with
    an empty body, which the platform checks for the project before the service reads it. Its documented
    "No access permission" (ModelArts.4203) would otherwise fail every v2 test as the vendor's finding.
    """
    if client is None:
        return
    response = client.post(f"/v2/{project_id}/image/tagging", json={})
    if response.status_code == 400 and error_code(response) in PROJECT_REFUSED:
        raise CredentialsRejected(
            f"huawei: the vendor refused the configured project (400 {error_code(response)} on POST "
            "/v2/{project_id}/image/tagging): HUAWEI_PROJECT_ID is no project of these credentials; "
            "check HUAWEI_PROJECT_ID"
        )


def for_target(base: ApiClient) -> ApiClients:
    """The clients of this run's Huawei target (built once per run, kept on the run; the token obtained once)."""
    memo = base.run.memo
    if "huawei.clients" not in memo:
        memo["huawei.clients"] = _build(base)
    clients: ApiClients = memo["huawei.clients"]
    return clients


def _build(base: ApiClient) -> ApiClients:
    credentials = dict(base.credentials)
    project_name = credentials.get("project_name") or DEFAULT_PROJECT_NAME
    has_keys = bool(credentials.get("ak") and credentials.get("sk"))
    has_user = all(credentials.get(name) for name in ("iam_user", "iam_password", "iam_domain"))
    if not has_keys and not has_user:
        raise CredentialsMissing(
            "huawei: set HUAWEI_AK and HUAWEI_SK, or HUAWEI_IAM_USER, HUAWEI_IAM_PASSWORD and HUAWEI_IAM_DOMAIN"
        )
    issued, token_error = None, None
    if has_user:
        try:
            issued = obtain_token(base, credentials, project_name)
        except RuleViolation as exc:
            token_error = exc
    project_id = credentials.get("project_id") or (issued.project_id if issued else None)
    signed, found = None, None
    if has_keys:
        keys = {"ak": credentials["ak"], "sk": credentials["sk"]}
        # Always one signed lookup: it is the preflight that tells a refused AK/SK from a contract break.
        found = lookup_project(with_credentials(base, keys), project_name)
        project_id = project_id or found
        signed = with_credentials(base, {**keys, "project_id": project_id})
    if project_id is None:
        assert token_error is not None
        raise token_error
    token = with_credentials(base, {"token": issued.token, "project_id": project_id}) if issued else None
    named = found if has_keys else (issued.project_id if issued else None)
    if credentials.get("project_id") and project_id != named:
        check_project(signed or token, project_id)
    lockout = None
    if credentials.get("lockout_ak") and credentials.get("lockout_sk"):
        lockout = with_credentials(
            base, {"ak": credentials["lockout_ak"], "sk": credentials["lockout_sk"], "project_id": project_id}
        )
    return ApiClients(base, signed, token, lockout, project_id, project_name, issued, token_error)
