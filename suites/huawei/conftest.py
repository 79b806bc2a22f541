"""Huawei's clients: one per way of authenticating, built from whatever credentials the target has.

`api` is the default (AK/SK when the target has keys, like the SDK; a token otherwise); `signed` and
`token_api` are the two modes, each skipping its tests when the credentials cannot provide it;
`lockout` is a spare AK that the lockout test may lock for five minutes.
"""

import pytest

from imgconf.errors import CredentialsRejected, ImgconfError, TargetUnreachable
from imgconf.testing.plugin import client_fixture, end_run, run_state, unavailable
from imgconf.vendors.huawei import clients as huawei_clients

target_client = client_fixture("huawei")


@pytest.fixture(scope="session")
def clients(request, target_client):
    try:
        return huawei_clients.for_target(target_client)
    except (CredentialsRejected, TargetUnreachable) as exc:
        unavailable(run_state(request.config), "huawei", exc)
    except ImgconfError as exc:
        end_run(exc)


@pytest.fixture(scope="session")
def api(clients):
    return clients.default


@pytest.fixture(scope="session")
def signed(clients):
    if clients.signed is None:
        pytest.skip("no AK/SK for this target (HUAWEI_AK, HUAWEI_SK): AK/SK mode not tested")
    return clients.signed


@pytest.fixture(scope="session")
def token_api(clients):
    if clients.token_error is not None:
        raise clients.token_error
    if clients.token is None:
        pytest.skip("no IAM user for this target (HUAWEI_IAM_USER, ...): token mode not tested")
    return clients.token


@pytest.fixture(scope="session")
def lockout(clients):
    if clients.lockout is None:
        pytest.skip("no spare AK (HUAWEI_LOCKOUT_AK, HUAWEI_LOCKOUT_SK) the suite may lock for five minutes")
    return clients.lockout
