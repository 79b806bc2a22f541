"""The official Huawei SDK through `imgconf proxy`, against `imgconf emulator serve`: both real processes.

SDK-HMAC-SHA256 signs the Host header, so where the SDK believes it is sending decides whether the
signature holds upstream:
* forward proxy (the recipe): the SDK keeps the upstream as its endpoint (with `http://`) and the
  application's environment names the proxy, `HTTP_PROXY=http://127.0.0.1:8780`, which the SDK's requests
  session honours; it signs the upstream's Host, the request reaches the proxy in absolute form, and the
  proxy passes that Host on unchanged: the signature verifies. (The SDK's own `HttpConfig.proxy_*`
  settings apply to `https://` endpoints only, which go through a CONNECT tunnel a proxy cannot read:
  the test below shows the proxy refusing it rather than relaying traffic it cannot check.)
* reverse proxy (endpoint = the proxy): the SDK signs the proxy's Host; the proxy sets the upstream's, as
  any reverse proxy does, and the vendor rightly refuses the signature (401 APIG.0301). `--keep-host`
  forwards the proxy's Host as signed, which an upstream that does not route by Host (the emulator) accepts.
"""

from __future__ import annotations

import json

import pytest

from conftest import clean_env, served
from huawei_sdk_support import ACCOUNT, IMAGE, clean_sdk_environment, client, tagging
from proxy_support import proxy_cli

pytest.importorskip("huaweicloudsdkimage")


@pytest.fixture(scope="module")
def endpoint():
    with served("--vendor", "huawei", "--fast", env=clean_env()) as urls:
        yield urls["huawei"]


@pytest.fixture
def sdk_env(tmp_path, monkeypatch):
    clean_sdk_environment(monkeypatch, tmp_path)
    return monkeypatch


def _answer(response) -> dict:
    return json.loads(json.dumps(response.to_json_object(), sort_keys=True, default=str))


def test_the_sdk_through_the_forward_proxy_gets_the_answer_it_gets_directly(endpoint, sdk_env, tmp_path):
    request = {"image": IMAGE, "language": "en", "threshold": 10.0, "limit": 5}
    direct = client(endpoint).run_image_tagging(tagging(**request))
    with proxy_cli("huawei", endpoint, tmp_path, "--no-history") as proxy:
        sdk_env.setenv("HTTP_PROXY", proxy.url)  # the one line the application's environment gains
        proxied = client(endpoint).run_image_tagging(tagging(**request))
        defaults = client(endpoint).run_image_tagging(tagging(image=IMAGE))
        assert proxy.stop() == 0
    assert proxied.status_code == direct.status_code == 200
    assert _answer(proxied) == _answer(direct)
    assert defaults.status_code == 200 and defaults.result.tags
    report = json.loads((proxy.out / (proxy.out / "LATEST").read_text().strip() / "report.json").read_text())
    assert report["kind"] == "proxy" and report["target"]["kind"] == "proxy"
    assert report["state"] == "conformant" and report["findings"] == []
    assert report["requests"] == 2
    text = json.dumps(report) + proxy.stdout + proxy.stderr
    assert ACCOUNT["sk"] not in text and ACCOUNT["ak"] not in text and "Signature=" not in text


def test_with_region_finds_its_project_through_the_proxy(endpoint, sdk_env, tmp_path):
    """No project id: the SDK signs GET /v3/projects at its IAM endpoint (through the proxy too), then tags."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkimage.v2 import ImageClient
    from huaweicloudsdkimage.v2.region.image_region import ImageRegion

    sdk_env.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", endpoint)
    sdk_env.setenv("HUAWEICLOUD_SDK_REGION_IMAGE_CN_NORTH_4", endpoint)
    sdk_env.setattr(BasicCredentials, "_CACHE", {})  # the SDK keeps found project ids per process
    with proxy_cli("huawei", endpoint, tmp_path, "--no-history") as proxy:
        sdk_env.setenv("HTTP_PROXY", proxy.url)
        built = (
            ImageClient.new_builder()
            .with_credentials(BasicCredentials(ACCOUNT["ak"], ACCOUNT["sk"]))
            .with_region(ImageRegion.value_of("cn-north-4"))
            .build()
        )
        response = built.run_image_tagging(tagging(image=IMAGE, language="en"))
        assert proxy.stop() == 0
    assert response.status_code == 200 and response.result.tags
    report = json.loads((proxy.out / (proxy.out / "LATEST").read_text().strip() / "report.json").read_text())
    operations = {test["operation"] for test in report["tests"]}
    assert {"GET /v3/projects", "POST /v2/{project_id}/image/tagging"} <= operations
    assert report["findings"] == []


def test_the_sdk_aimed_at_the_proxy_itself_signs_the_wrong_host(endpoint, sdk_env, tmp_path):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    with proxy_cli("huawei", endpoint, tmp_path / "reverse", "--no-history") as proxy:
        with pytest.raises(ClientRequestException) as raised:
            client(proxy.url).run_image_tagging(tagging(image=IMAGE))
        assert (raised.value.status_code, raised.value.error_code) == (401, "APIG.0301")
    with proxy_cli("huawei", endpoint, tmp_path / "kept", "--no-history", "--keep-host") as proxy:
        assert client(proxy.url).run_image_tagging(tagging(image=IMAGE)).status_code == 200


def test_the_sdks_own_proxy_settings_tunnel_and_the_proxy_refuses_what_it_cannot_read(endpoint, sdk_env, tmp_path):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions.exceptions import ConnectionException, SdkException
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkimage.v2 import ImageClient

    with proxy_cli("huawei", endpoint, tmp_path, "--no-history") as proxy:
        config = HttpConfig.get_default_config()
        config.proxy_protocol, config.proxy_host, config.proxy_port = "http", "127.0.0.1", proxy.port
        config.ignore_ssl_verification = True
        built = (
            ImageClient.new_builder()
            .with_credentials(BasicCredentials(ACCOUNT["ak"], ACCOUNT["sk"], ACCOUNT["project_id"]))
            .with_http_config(config)
            .with_endpoint("https://image.cn-north-4.myhuaweicloud.com")
            .build()
        )
        with pytest.raises((ConnectionException, SdkException)) as raised:
            built.run_image_tagging(tagging(image=IMAGE))
        assert "501" in str(raised.value) or "Tunnel" in str(raised.value) or "proxy" in str(raised.value).lower()
        assert proxy.stop() == 0
