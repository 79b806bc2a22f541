"""The official SDK, unmodified, against the emulator served on loopback.

huaweicloudsdkimage (in the dev extra) is pointed at the emulator with `with_endpoint`, or found through
`with_region` with its endpoint environment variables set to loopback, and nothing else: if the emulator
signs, parses or answers differently from the real service, this is where it shows.
"""

from __future__ import annotations

import base64

import pytest

from conftest import clean_env, served
from huawei_sdk_support import ACCOUNT, IMAGE, clean_sdk_environment, client, tagging

pytest.importorskip("huaweicloudsdkimage")


@pytest.fixture(scope="module")
def endpoint():
    with served("--vendor", "huawei", "--fast", env=clean_env()) as urls:
        yield urls["huawei"]


@pytest.fixture
def sdk_env(tmp_path, monkeypatch):
    clean_sdk_environment(monkeypatch, tmp_path)
    return monkeypatch


def test_run_image_tagging_gets_a_parsed_answer(endpoint, sdk_env):
    response = client(endpoint).run_image_tagging(tagging(image=IMAGE, language="en", threshold=10.0, limit=5))
    assert response.status_code == 200
    tags = response.result.tags
    assert 0 < len(tags) <= 5
    for tag in tags:
        assert isinstance(tag.confidence, str) and 10.0 <= float(tag.confidence) <= 100.0
        assert tag.tag == tag.i18n_tag.en and tag.type == tag.i18n_type.en
        assert tag.i18n_tag.zh and tag.i18n_type.zh
        for instance in tag.instances or []:
            assert isinstance(instance.bounding_box.width, float) and isinstance(instance.confidence, str)


def test_the_sdk_defaults_and_a_url(endpoint, sdk_env):
    """No threshold, limit or language: v2's defaults (60, 50, zh); and the docs' OBS URL example."""
    response = client(endpoint).run_image_tagging(tagging(image=IMAGE))
    assert all(float(tag.confidence) >= 60 and tag.tag == tag.i18n_tag.zh for tag in response.result.tags)
    by_url = client(endpoint).run_image_tagging(tagging(url="https://BucketName.obs.myhuaweicloud.com/ObjectName"))
    assert by_url.status_code == 200


def test_a_wrong_sk_raises_client_request_exception_with_the_request_id(endpoint, sdk_env):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    with pytest.raises(ClientRequestException) as raised:
        client(endpoint, sk=ACCOUNT["sk"][::-1]).run_image_tagging(tagging(image=IMAGE))
    error = raised.value
    assert error.status_code == 401
    assert error.error_code == "APIG.0301"
    assert "verify aksk signature fail" in error.error_msg
    assert error.request_id and len(error.request_id) == 32
    # One bad signature is not a lockout: the right SK still works.
    assert client(endpoint).run_image_tagging(tagging(image=IMAGE)).status_code == 200


def test_service_errors_reach_the_sdk_as_their_codes(endpoint, sdk_env):
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

    with pytest.raises(ClientRequestException) as raised:
        client(endpoint).run_image_tagging(tagging(image=base64.b64encode(b"GIF89a not really").decode()))
    assert (raised.value.status_code, raised.value.error_code) == (400, "AIS.0502")
    with pytest.raises(ClientRequestException) as raised:
        client(endpoint, project_id="f" * 32).run_image_tagging(tagging(image=IMAGE))
    assert (raised.value.status_code, raised.value.error_code) == (400, "ModelArts.4203")


def test_with_region_finds_the_project_through_iam(endpoint, sdk_env):
    """No project id: the SDK signs GET /v3/projects?name=cn-north-4 at its IAM endpoint, then tags."""
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkimage.v2 import ImageClient
    from huaweicloudsdkimage.v2.region.image_region import ImageRegion

    sdk_env.setenv("HUAWEICLOUD_SDK_IAM_ENDPOINT", endpoint)
    sdk_env.setenv("HUAWEICLOUD_SDK_REGION_IMAGE_CN_NORTH_4", endpoint)
    built = (
        ImageClient.new_builder()
        .with_credentials(BasicCredentials(ACCOUNT["ak"], ACCOUNT["sk"]))
        .with_region(ImageRegion.value_of("cn-north-4"))
        .build()
    )
    response = built.run_image_tagging(tagging(image=IMAGE, language="en"))
    assert response.status_code == 200 and response.result.tags
