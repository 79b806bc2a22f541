"""IAM as the docs use it: a token by password (201, X-Subject-Token, 24 hours), and the project lookup."""

from datetime import datetime, timedelta

import pytest

from imgconf.testing import violated
from imgconf.vendors.huawei import clients as huawei_clients
from imgconf.vendors.huawei import probes

TOKENS, PROJECTS = "/v3/auth/tokens", "/v3/projects"
TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def iam_user(clients):
    credentials = clients.base.credentials
    if not all(credentials.get(name) for name in ("iam_user", "iam_password", "iam_domain")):
        pytest.skip("no IAM user for this target (HUAWEI_IAM_USER, HUAWEI_IAM_PASSWORD, HUAWEI_IAM_DOMAIN)")
    return credentials


@pytest.mark.rule("huawei.iam.token-validity")
def test_a_token_lives_24_hours(token_api, clients):
    token = clients.issued.body["token"]
    issued = datetime.strptime(token["issued_at"], TIMESTAMP)
    expires = datetime.strptime(token["expires_at"], TIMESTAMP)
    assert expires - issued == timedelta(hours=24), f"issued {token['issued_at']}, expires {token['expires_at']}"


@pytest.mark.rule("huawei.iam.token-issued")
@probes.local_only("the run's own token was issued and its body is checked by the 24-hour test")
def test_a_password_gets_a_project_token_in_x_subject_token(api, clients):
    credentials = iam_user(clients)
    body = huawei_clients.token_request(
        credentials["iam_user"], credentials["iam_password"], credentials["iam_domain"], clients.project_name
    )
    response = api.post(TOKENS, json=body, auth="none")
    assert response.status_code == 201, f"{response.status_code} {response.text[:200]}"
    violated("huawei.iam.headers", bool(response.headers.get("X-Subject-Token")), "the 201 has no X-Subject-Token")
    api.validate(response)
    token = response.json()["token"]
    assert token["project"]["id"] == clients.project_id, token["project"]
    assert token["project"]["name"] == clients.project_name, token["project"]
    assert token["catalog"], "without nocatalog, the catalog is not empty"


@pytest.mark.rule("huawei.iam.bad-password")
@probes.local_only("a wrong password counts towards IAM's login lockout of the real user")
def test_a_wrong_password_gets_no_token(api, clients):
    credentials = iam_user(clients)
    body = huawei_clients.token_request(
        credentials["iam_user"], credentials["iam_password"] + "-wrong", credentials["iam_domain"], clients.project_name
    )
    response = api.post(TOKENS, json=body, auth="none")
    assert response.status_code == 401, f"{response.status_code} {response.text[:200]}"
    assert "X-Subject-Token" not in response.headers
    assert response.json() == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }, response.text[:300]
    api.validate(response)


@pytest.mark.rule("huawei.iam.bad-body")
@pytest.mark.parametrize("case", probes.on_live(["no-scope", "not-json", "no-password", "methods-empty"], 1))
def test_an_invalid_token_request_is_refused(api, clients, case):
    body = huawei_clients.token_request("someone", "secret-words", "somewhere", clients.project_name)
    if case == "no-scope":
        del body["auth"]["scope"]
    elif case == "no-password":
        del body["auth"]["identity"]["password"]["user"]["password"]
    elif case == "methods-empty":
        body["auth"]["identity"]["methods"] = []
    if case == "not-json":
        response = api.post(TOKENS, data=b"auth=password", headers={"Content-Type": "application/json"}, auth="none")
    else:
        response = api.post(TOKENS, json=body, auth="none")
    assert response.status_code == 400, f"{case}: {response.status_code} {response.text[:200]}"
    assert response.json() == {
        "error": {"code": 400, "message": "The request body is invalid", "title": "Bad Request"}
    }, response.text[:300]
    api.validate(response)


@pytest.mark.rule("huawei.iam.projects")
@pytest.mark.parametrize("mode", probes.on_live(["signed", "token"], 1))
def test_the_project_is_found_by_name(request, clients, mode):
    api = request.getfixturevalue("signed" if mode == "signed" else "token_api")
    response = api.get(PROJECTS, params={"name": clients.project_name})
    assert response.status_code == 200, f"{mode}: {response.status_code} {response.text[:200]}"
    api.validate(response)
    projects = response.json()["projects"]
    assert [project["id"] for project in projects] == [clients.project_id], projects
    assert all(project["name"] == clients.project_name for project in projects)


@pytest.mark.rule("huawei.iam.projects")
@probes.local_only("the lookup by name covers the rule")
def test_an_unknown_name_finds_no_project(api):
    response = api.get(PROJECTS, params={"name": "imgconf-no-such-region-1"})
    assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
    api.validate(response)
    assert response.json()["projects"] == []


@pytest.mark.rule("huawei.iam.auth-enforced")
@pytest.mark.parametrize("auth", probes.on_live(["none", "invalid"], 1))
def test_projects_need_credentials(api, clients, auth):
    response = api.get(PROJECTS, params={"name": clients.project_name}, auth=auth)
    violated("huawei.iam.auth-enforced", response.status_code != 200, f"auth={auth} answered 200")
    assert response.status_code == 401, f"{response.status_code} {response.text[:200]}"
    api.validate(response)
