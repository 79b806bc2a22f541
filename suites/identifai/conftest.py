"""identifAI's suite: the client for the target, and a loopback receiver for webhook calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from imgconf.errors import ImgconfError, TargetUnreachable
from imgconf.testing.checks import checks_for
from imgconf.testing.client import ApiClient
from imgconf.testing.session import SuiteSession
from imgconf.testing.webhooks import WebhookReceiver


class Client(ApiClient):
    """The framework's client, holding answers of templated paths (/api/classification/{identifier}) to the spec.

    `ApiClient.validate` builds its schemathesis case without path parameters, which schemathesis needs to
    recover the base URL of a templated path; this reads them back from the URL the request went to.
    """

    def validate(self, response: requests.Response) -> requests.Response:
        from imgconf.testing.contract import RESPONSE_CHECKS

        case = self.operation(response).Case(path_parameters=self.path_parameters(response))
        case.validate_response(response, checks=[*RESPONSE_CHECKS, *checks_for(self.vendor.id)])
        return response

    def path_parameters(self, response: requests.Response) -> dict[str, Any]:
        request = response.request
        path = urlsplit(request.url or "").path
        found = self.vendor.spec_for(request.method or "GET", path)
        if found is None:
            return {}
        template = found[1].path
        pattern = re.sub(r"\\\{([^}]+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        match = re.fullmatch(pattern, path)
        return {name: unquote(value) for name, value in match.groupdict().items()} if match else {}


@pytest.fixture(scope="session")
def api() -> Client:
    session = SuiteSession.current()
    try:
        return Client(session.target("identifai"))
    except TargetUnreachable as exc:
        pytest.skip(f"unreachable: {exc.message}")
    except ImgconfError as exc:
        pytest.exit(exc.message, returncode=int(exc.exit_code))


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
