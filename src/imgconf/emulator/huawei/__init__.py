"""Huawei Cloud Image Tagging (v1.0 and v2) and IAM, emulated.

`service` wires the layers (gateway, platform, service, IAM); `gateway` authenticates with the
vendor module's SDK-HMAC-SHA256 code; `tagging` checks bodies and images and draws the tags;
`accounts` holds accounts and tokens; `answers` builds every body; `drifts` is the catalogue.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.huawei import service
from imgconf.emulator.huawei.drifts import DRIFTS

__all__ = ["DEFAULT_CREDENTIALS", "DRIFTS", "VENDOR", "create_app"]

VENDOR = "huawei"
# One account: an AK/SK pair, an IAM user, a project, and a spare AK the suites may lock.
DEFAULT_CREDENTIALS: tuple[dict[str, str], ...] = (
    {
        "ak": "HWEMULATORAKQ7Y3K2PA",
        "sk": "hwEmulatorSkN4v8cW2mT6qZ1rB5xL9dF3gH7jK0pS",
        "project_id": "a3f1c0d9e8b74f6a9c2d1e0f5b4a3c2d",
        "iam_user": "imgconf-emulator-user",
        "iam_password": "imgconf-emulator-password",
        "iam_domain": "imgconf-emulator-domain",
        "lockout_ak": "HWEMULATORLOCKOUTAK1",
        "lockout_sk": "hwEmulatorLockoutSk0aB1cD2eF3gH4iJ5kL6mN7",
    },
)


def create_app(config: EmulatorConfig | None = None) -> ASGIApp:
    config = config or EmulatorConfig()
    return service.create_app(config, (*DEFAULT_CREDENTIALS, *config.credentials))
