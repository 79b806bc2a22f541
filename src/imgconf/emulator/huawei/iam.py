"""IAM, emulated: POST /v3/auth/tokens (password, project or domain scope) and GET /v3/projects?name=.

The token request is validated against the spec's own JSON Schema (schemas/huawei/iam.json), as
Keystone validates its bodies with a JSON schema; the answer is Keystone's 201 with the token in
X-Subject-Token, valid for 24 hours by the emulator's clock. Errors are Keystone's
`{"error": {"code", "message", "title"}}`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import Response

from imgconf import paths
from imgconf.emulator.bodies import parse_json
from imgconf.emulator.huawei.accounts import Account, Directory, Token, iso
from imgconf.emulator.huawei.answers import Answers
from imgconf.emulator.huawei.gateway import Caller, Gateway

INVALID_BODY = "The request body is invalid"
WRONG_PASSWORD = "The username or password is wrong."
UNAUTHENTICATED = "The request you have made requires authentication."


@cache
def _token_request_validator() -> jsonschema.Draft202012Validator:
    document = json.loads((paths.schemas_dir() / "huawei" / "iam.json").read_text(encoding="utf-8"))
    schema = {**document["$defs"]["TokenRequest"], "$defs": document["$defs"]}
    return jsonschema.Draft202012Validator(schema)


SUBJECT_TOKEN_DROPPED = "huawei.iam-token-header-dropped"


class Iam:
    def __init__(self, directory: Directory, gateway: Gateway, answers: Answers) -> None:
        self.directory = directory
        self.gateway = gateway
        self.answers = answers

    def issue(self, request: Request, body: bytes) -> Response:
        try:
            document = parse_json(body)
        except ValueError:  # bad syntax or encoding, nested too deep, an integer of over 4,300 digits
            return self.answers.keystone(400, INVALID_BODY)
        if not _token_request_validator().is_valid(document):
            return self.answers.keystone(400, INVALID_BODY)
        auth = document["auth"]
        user = auth["identity"]["password"]["user"]
        account = self.directory.by_user(user["domain"], user["name"])
        if account is None or account.password != user["password"]:
            return self.answers.keystone(401, WRONG_PASSWORD)
        scope = auth["scope"]
        project_id: str | None = None
        if "project" in scope:
            wanted = scope["project"]
            if (
                wanted.get("id", account.project_id) != account.project_id
                or wanted.get("name", account.project_name) != account.project_name
            ):
                return self.answers.keystone(401, UNAUTHENTICATED)
            project_id = account.project_id
        elif (
            scope["domain"].get("name", account.domain_name) != account.domain_name
            or scope["domain"].get("id", account.domain_id) != account.domain_id
        ):
            return self.answers.keystone(401, UNAUTHENTICATED)
        token = self.directory.issue(account, project_id)
        catalog = [] if request.query_params.get("nocatalog") else self._catalog(request, account)
        # A gateway in front of IAM that drops the header loses the token itself: the body only describes it.
        headers = {} if self.answers.config.drifting(SUBJECT_TOKEN_DROPPED) else {"X-Subject-Token": token.value}
        return self.answers.json({"token": self._describe(token, catalog)}, 201, headers=headers)

    def projects(self, request: Request, body: bytes) -> Response:
        caller = self.gateway.authenticate(request, body)
        if not isinstance(caller, Caller):
            return self.answers.keystone(401, UNAUTHENTICATED)
        account = caller.account
        name = request.query_params.get("name")
        base = str(request.base_url).rstrip("/")
        matching = [] if name is not None and name != account.project_name else [self._project(base, account)]
        return self.answers.json(
            {"links": {"self": str(request.url), "previous": None, "next": None}, "projects": matching}, 200
        )

    @staticmethod
    def _project(base: str, account: Account) -> dict[str, Any]:
        return {
            "description": "",
            "domain_id": account.domain_id,
            "enabled": True,
            "id": account.project_id,
            "is_domain": False,
            "links": {"self": f"{base}/v3/projects/{account.project_id}"},
            "name": account.project_name,
            "parent_id": account.domain_id,
        }

    @staticmethod
    def _catalog(request: Request, account: Account) -> list[dict[str, Any]]:
        """One entry: Image Recognition, served by this emulator (its own base URL)."""
        base = str(request.base_url).rstrip("/")
        endpoint = {
            "id": f"{account.project_id[:16]}image",
            "interface": "public",
            "region": account.project_name,
            "region_id": account.project_name,
            "url": base,
        }
        return [{"type": "image", "id": "imagerecognition", "name": "image", "endpoints": [endpoint]}]

    @staticmethod
    def _describe(token: Token, catalog: list[dict[str, Any]]) -> dict[str, Any]:
        account = token.account
        domain = {"id": account.domain_id, "name": account.domain_name}
        described: dict[str, Any] = {
            "catalog": catalog,
            "expires_at": iso(token.expires_at),
            "issued_at": iso(token.issued_at),
            "methods": ["password"],
            "roles": [{"id": "0", "name": "te_admin"}],
            "user": {
                "domain": domain,
                "id": account.user_id,
                "name": account.user_name,
                "password_expires_at": "",
            },
        }
        if token.project_id is not None:
            described["project"] = {"domain": domain, "id": account.project_id, "name": account.project_name}
        else:
            described["domain"] = domain
        return described
