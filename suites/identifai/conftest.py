"""identifAI's suite: the client for the target, and a loopback receiver for webhook calls."""

from collections.abc import Iterator

import pytest

from imgconf.testing.plugin import client_fixture, run_state
from imgconf.testing.webhooks import WebhookReceiver

api = client_fixture("identifai")


@pytest.fixture(scope="session")
def webhooks(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver]:
    """The run's receiver, at the callback address the target is told (it shares the image server's)."""
    yield run_state(request.config).webhooks
