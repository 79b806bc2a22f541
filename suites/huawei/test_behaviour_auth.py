"""The auth matrix: tokens and AK/SK signatures, accepted and refused, on both tagging versions.

Every signature test starts from a correct SDK-style signature and breaks one thing. Tests that send a
bad signature for the run's own AK follow it with a good request, so that no more than one failure is
ever in a row: the lockout after five is tested on a spare AK only (the `lockout` fixture).
"""

import json

import pytest

from imgconf import images
from imgconf.redact import REDACTOR
from imgconf.testing import violated
from imgconf.vendors.huawei import DOCUMENTED_TOKEN, probes

V1 = probes.V1_PATH
# On a metered target (50 requests a run) each rule is checked once, on v2, the operation the SDK calls.
VERSIONS = probes.on_live(["v2", "v1"], 1)
SAMPLE = images.render(64, 48, seed=11, fmt="jpeg")
BODY = probes.image_body(SAMPLE, language="en")


def refused_401(api, response, what, rule="huawei.auth.enforced"):
    """Refused, then held to the spec (error body, code with its status), then the exact 401 APIG.0301."""
    violated(rule, response.status_code not in range(200, 300), f"{what} answered {response.status_code}")
    api.validate(response)
    assert response.status_code == 401, f"{what}: expected 401, got {response.status_code} {response.text[:200]}"
    assert probes.error_code(response) == "APIG.0301", (
        f"{what}: error_code {probes.error_code(response)!r}, not APIG.0301"
    )


def refused_then_reset(api, response, what, rule, path):
    """A deliberate bad signature for the run's own AK, then a good request whatever happened, so that
    failures never pile up towards the lockout; the good one must still be accepted."""
    try:
        refused_401(api, response, what, rule=rule)
    finally:
        reset = api.post(path, json=BODY)
    violated("huawei.request.accepted", reset.status_code == 200, f"a good request afterwards got {reset.status_code}")


# -- both modes accepted ------------------------------------------------------------------------------


@pytest.mark.rule("huawei.request.accepted")
@pytest.mark.parametrize(
    ("mode", "version"), probes.on_live([("signed", "v2"), ("token", "v2"), ("signed", "v1"), ("token", "v1")], 2)
)
def test_both_modes_are_accepted_on_both_versions(request, clients, mode, version):
    api = request.getfixturevalue("signed" if mode == "signed" else "token_api")
    response = api.post(probes.tagging_paths(clients.v2())[version], json=BODY)
    assert response.status_code == 200, f"{mode} on {version}: {response.status_code} {response.text[:200]}"
    api.validate(response)


# -- no credentials, bad tokens -----------------------------------------------------------------------


@pytest.mark.rule("huawei.auth.missing")
@pytest.mark.parametrize("version", VERSIONS)
def test_no_credentials_is_refused(api, clients, version):
    response = api.post(probes.tagging_paths(clients.v2())[version], json=BODY, auth="none")
    refused_401(api, response, f"{version} without credentials")


@pytest.mark.rule("huawei.auth.token-invalid")
@pytest.mark.parametrize("version", VERSIONS)
def test_a_token_that_was_never_issued_is_refused(token_api, clients, version):
    response = token_api.post(probes.tagging_paths(clients.v2())[version], json=BODY, auth="invalid")
    refused_401(token_api, response, f"{version} with a made-up token")


@pytest.mark.rule("huawei.auth.token-expiry")
@pytest.mark.parametrize("version", VERSIONS)
def test_the_docs_expired_token_is_refused(api, clients, version):
    """The docs' example token belongs to the token body they print, which expired on 2019-02-13."""
    response = api.post(probes.tagging_paths(clients.v2())[version], json=BODY, auth={"token": DOCUMENTED_TOKEN})
    refused_401(api, response, f"{version} with the docs' expired token", rule="huawei.auth.token-expiry")


# -- signatures ---------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.auth.signature")
@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_access_key_is_refused(signed, clients, version):
    response = signed.post(probes.tagging_paths(clients.v2())[version], json=BODY, auth="invalid")
    refused_401(signed, response, f"{version} signed with an AK never issued", rule="huawei.auth.signature")


@pytest.mark.rule("huawei.auth.signature")
@pytest.mark.parametrize("version", VERSIONS)
def test_a_wrong_secret_key_is_refused(signed, clients, version):
    wrong = {**signed.credentials, "sk": signed.credentials["sk"][::-1] + "x"}
    path = probes.tagging_paths(clients.v2())[version]
    response = signed.post(path, json=BODY, auth=wrong)
    refused_then_reset(signed, response, f"{version} with a wrong SK", "huawei.auth.signature", path)


@pytest.mark.rule("huawei.auth.signature")
@probes.local_only("the wrong-SK test covers the rule")
def test_a_body_changed_after_signing_is_refused(signed, clients):
    sent = probes.image_body(SAMPLE, language="en", limit=5)
    original = json.dumps(sent).encode()
    tampered = original.replace(b'"limit": 5', b'"limit": 9')
    response = signed.session.post(
        signed.url(clients.v2()),
        data=original,
        headers={"Content-Type": "application/json"},
        auth=probes.Signed(signed.credentials, after=probes.replace_body(tampered)),
    )
    refused_then_reset(signed, response, "a body rewritten after signing", "huawei.auth.signature", clients.v2())


@pytest.mark.rule("huawei.auth.signature")
@probes.local_only("the wrong-SK test covers the rule")
def test_a_signed_header_changed_after_signing_is_refused(signed, clients):
    response = signed.session.post(
        signed.url(clients.v2()),
        json=BODY,
        auth=probes.Signed(
            signed.credentials, after=probes.set_header("Content-Type", "application/json;charset=utf-8")
        ),
    )
    refused_then_reset(signed, response, "Content-Type changed after signing", "huawei.auth.signature", clients.v2())


@pytest.mark.rule("huawei.auth.signing-rules")
def test_a_signature_without_the_trailing_slash_is_refused(signed, clients):
    response = signed.session.post(
        signed.url(clients.v2()), json=BODY, auth=probes.Signed(signed.credentials, trailing_slash=False)
    )
    refused_then_reset(
        signed, response, "a canonical URI without its trailing '/'", "huawei.auth.signing-rules", clients.v2()
    )


@pytest.mark.rule("huawei.auth.signing-rules")
@probes.local_only("the trailing-slash test covers the rule")
def test_x_sdk_date_must_be_signed(signed, clients):
    response = signed.session.post(
        signed.url(clients.v2()),
        json=BODY,
        auth=probes.Signed(signed.credentials, signed_headers=lambda names: [n for n in names if n != "x-sdk-date"]),
    )
    refused_then_reset(
        signed, response, "X-Sdk-Date left out of SignedHeaders", "huawei.auth.signing-rules", clients.v2()
    )


@pytest.mark.rule("huawei.auth.signing-rules")
@probes.local_only("the trailing-slash test covers the rule")
def test_the_raw_body_bytes_are_what_is_signed(signed, clients):
    """JSON as a hand-written client sends it (spaces, line breaks, escapes): hashed as sent, accepted."""
    text = '{\n  "language" : "\\u0065n",\n  "image" : "' + probes.encode(SAMPLE) + '",\n  "limit":5 }'
    response = signed.session.post(
        signed.url(clients.v2()),
        data=text.encode(),
        headers={"Content-Type": "application/json"},
        auth=probes.Signed(signed.credentials),
    )
    assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
    signed.validate(response)


@pytest.mark.rule("huawei.auth.signing-rules")
@probes.local_only("the trailing-slash test covers the rule")
def test_an_unsigned_payload_is_accepted(signed, clients):
    response = signed.session.post(
        signed.url(clients.v2()),
        json=BODY,
        auth=probes.Signed(signed.credentials, before=probes.set_header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")),
    )
    assert response.status_code == 200, f"{response.status_code} {response.text[:200]}"
    signed.validate(response)


@pytest.mark.rule("huawei.auth.clock-skew")
@pytest.mark.parametrize(
    ("minutes", "accepted"), probes.on_live([(16, False), (14, True), (-14, True), (-16, False)], 1)
)
def test_x_sdk_date_must_be_within_15_minutes(signed, clients, minutes, accepted):
    response = signed.session.post(
        signed.url(clients.v2()),
        json=BODY,
        auth=probes.Signed(signed.credentials, sdk_date=probes.minutes_ago(minutes)),
    )
    when = f"X-Sdk-Date {abs(minutes)} minutes {'ago' if minutes > 0 else 'ahead'}"
    if accepted:
        assert response.status_code == 200, f"{when}: {response.status_code} {response.text[:200]}"
        signed.validate(response)
    else:
        refused_then_reset(signed, response, when, "huawei.auth.clock-skew", clients.v2())


def spare_refused(response):
    """What a refusal of the spare AK's first, correctly signed request says: HUAWEI_LOCKOUT_AK does not work."""
    if response.status_code != 401:
        return None
    return (
        f"a spare AK the gateway accepts (HUAWEI_LOCKOUT_AK was refused before any bad signature: "
        f"401 {probes.error_code(response) or response.text[:80]})"
    )


@pytest.mark.rule("huawei.auth.lockout")
def test_five_bad_signatures_lock_the_access_key(lockout, clients):
    path = clients.v2()
    first = lockout.post(path, json=BODY)
    if first.status_code == 401 and "limit" in first.text:
        pytest.skip("the spare AK is still locked from an earlier run (five minutes)")
    # The operator's spare AK refused from the start is a key to change, not the vendor's break (on the emulator
    # the spare is the suite's own, and a refusal is judged).
    lockout.lacking_role(first, spare_refused)
    assert first.status_code == 200, f"the spare AK does not work: {first.status_code} {first.text[:200]}"
    wrong = {**lockout.credentials, "sk": lockout.credentials["sk"] + "x"}
    for attempt in range(5):
        response = lockout.post(path, json=BODY, auth=wrong)
        refused_401(lockout, response, f"bad signature {attempt + 1}", rule="huawei.auth.signature")
    locked = lockout.post(path, json=BODY)
    refused_401(lockout, locked, "a correct signature right after five bad ones", rule="huawei.auth.lockout")


# -- projects -----------------------------------------------------------------------------------------


@pytest.mark.rule("huawei.auth.project")
@pytest.mark.parametrize("mode", probes.on_live(["signed", "token"], 1))
def test_another_project_is_refused(request, clients, mode):
    api = request.getfixturevalue("signed" if mode == "signed" else "token_api")
    other = ("0" * 31 + "1") if clients.project_id != "0" * 31 + "1" else "f" * 32
    response = api.post(clients.v2(other), json=BODY)
    violated("huawei.auth.enforced", response.status_code != 200, f"another project's path answered 200 ({mode})")
    api.validate(response)
    assert response.status_code == 400, f"{mode}: {response.status_code} {response.text[:200]}"
    assert probes.error_code(response) == "ModelArts.4203", f"{mode}: {probes.error_code(response)!r}"


@pytest.mark.rule("huawei.auth.project")
@probes.local_only("the other-project test covers the rule")
def test_a_domain_scoped_token_is_refused(api, clients):
    issued = clients.issued
    if issued is None:
        pytest.skip("no IAM user for this target")
    credentials = clients.base.credentials
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": credentials["iam_user"],
                        "password": credentials["iam_password"],
                        "domain": {"name": credentials["iam_domain"]},
                    }
                },
            },
            "scope": {"domain": {"name": credentials["iam_domain"]}},
        }
    }
    granted = api.post("/v3/auth/tokens", json=body, auth="none")
    assert granted.status_code == 201, f"a domain-scoped token was not issued: {granted.status_code}"
    api.validate(granted)
    domain_token = granted.headers["X-Subject-Token"]
    REDACTOR.add_secret(domain_token)
    response = api.post(clients.v2(), json=BODY, auth={"token": domain_token})
    api.validate(response)
    assert response.status_code == 400, f"{response.status_code} {response.text[:200]}"
    assert probes.error_code(response) == "ModelArts.0212", probes.error_code(response)
