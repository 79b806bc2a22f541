"""Schemathesis over both specs, in both authentication modes.

Every operation is generated once and sent twice over: signed with AK/SK (what the SDK does) and with
an IAM token (what the docs' samples do). The auth scheme works at send time, so each request is signed
over its final bytes, whatever schemathesis generated. Positive tagging cases are given what the schema
cannot: a real JPG, PNG or BMP (or a URL serving one) and the project of the credentials.
"""

import pytest
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.generation.meta import TestPhase

from imgconf import images
from imgconf.testing import NOT_CHECKED_THOROUGH, contract, not_checked
from imgconf.testing.client import current_client
from imgconf.vendors.huawei import clients as huawei_clients
from imgconf.vendors.huawei import probes

tagging = contract.schema("huawei", "huawei-image-tagging.yaml")
iam = contract.schema("huawei", "huawei-iam.yaml")


COVERAGE_IMAGE = images.render(64, 48, seed=64, fmt="jpeg")


def _positive(case):
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    return positive and isinstance(case.body, dict)


def _own_project(case, api):
    if "project_id" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "project_id": huawei_clients.for_target(api).project_id}


@tagging.hook
def flatmap_case(context, case):
    """Fuzzing: a generated real image, or a URL serving one."""
    if not _positive(case):
        return contract.unchanged(case)
    api = current_client("huawei")
    _own_project(case, api)

    def with_image(item):
        data, _ = item
        case.body = {**case.body, "image": probes.encode(data), "url": ""}
        return case

    def with_url(url):
        case.body = {**case.body, "image": "", "url": url}
        return case

    by_url = bool(case.body.get("url"))
    if by_url and api.reaches_callback:
        return probes.accepted_images().map(lambda item: api.publish(item[0], item[1])).map(with_url)
    if by_url and api.target.image_urls:
        return st.sampled_from(api.target.image_urls).map(with_url)
    return probes.accepted_images().map(with_image)


@tagging.hook
def map_case(context, case):
    """Coverage (boundary values, no strategies): the same substitutions with one fixed image."""
    if not _positive(case) or case.meta.phase.name != TestPhase.COVERAGE:
        return case
    api = current_client("huawei")
    _own_project(case, api)
    if case.body.get("url") and api.reaches_callback:
        case.body = {**case.body, "image": "", "url": api.publish(COVERAGE_IMAGE, "jpeg")}
    elif case.body.get("url") and api.target.image_urls:
        case.body = {**case.body, "image": "", "url": api.target.image_urls[0]}
    else:
        case.body = {**case.body, "image": probes.encode(COVERAGE_IMAGE), "url": ""}
    return case


@pytest.fixture
def token_mode(clients, token_api):
    """The token client, for a second contract pass; on a metered target one pass (signed, if it can) is enough."""
    if not probes.local() and clients.signed is not None:
        not_checked(NOT_CHECKED_THOROUGH, "saved on a metered target: the contract runs once, signed")
    return token_api


@pytest.fixture
def iam_contract(clients):
    if not probes.local():
        not_checked(NOT_CHECKED_THOROUGH, "saved on a metered target: the IAM behaviour tests hold its answers")
    return clients


@tagging.parametrize()
@contract.settings()
def test_tagging_signed(case, signed):
    signed.call_and_validate(case)


@tagging.parametrize()
@contract.settings()
def test_tagging_token(case, token_mode):
    token_mode.call_and_validate(case)


@iam.parametrize()
@contract.settings()
def test_iam_signed(case, iam_contract, signed):
    signed.call_and_validate(case)


@iam.parametrize()
@contract.settings()
def test_iam_token(case, iam_contract, token_mode):
    token_mode.call_and_validate(case)
