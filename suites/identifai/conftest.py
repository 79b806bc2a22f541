"""identifAI's suite: the client for the target, and a loopback receiver for webhook calls."""

from collections.abc import Iterator

import pytest

from imgconf.testing.plugin import client_fixture
from imgconf.testing.webhooks import WebhookReceiver

api = client_fixture("identifai")


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
