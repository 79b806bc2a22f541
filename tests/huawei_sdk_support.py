"""The official Huawei SDK pointed at a served emulator: the account, an image, the client and a clean SDK
environment, shared by the SDK tests run directly (test_huawei_sdk.py) and through the proxy (test_proxy_sdk.py).
"""

from __future__ import annotations

import base64
import os

from imgconf import images
from imgconf.emulator.huawei import DEFAULT_CREDENTIALS

ACCOUNT = DEFAULT_CREDENTIALS[0]
IMAGE = base64.b64encode(images.render(160, 120, seed=8, fmt="jpeg")).decode()
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def clean_sdk_environment(monkeypatch, home) -> None:
    """HOME in a temporary folder (the SDK writes ~/.huaweicloud/application_id), no stray SDK or proxy settings."""
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name.startswith("HUAWEICLOUD_SDK_") or name.lower() in _PROXY_VARIABLES:
            monkeypatch.delenv(name)


def client(endpoint: str, sk: str = ACCOUNT["sk"], project_id: str | None = ACCOUNT["project_id"]):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkimage.v2 import ImageClient

    credentials = BasicCredentials(ACCOUNT["ak"], sk, project_id)
    return ImageClient.new_builder().with_credentials(credentials).with_endpoint(endpoint).build()


def tagging(**fields):
    from huaweicloudsdkimage.v2 import ImageTaggingReq, RunImageTaggingRequest

    return RunImageTaggingRequest(body=ImageTaggingReq(**fields))
