"""Huawei Cloud Image Tagging (v1.0 and v2) and the IAM calls it needs: the vendor's facts.

Two specs (tagging and IAM), two ways to authenticate (an IAM token, an AK/SK
signature: `auth.HuaweiAuth`, with the one SDK-HMAC-SHA256 implementation in
`signing`), credentials that come in alternatives (an AK/SK pair, or an IAM
user and password), and a retirement date. `checks` holds what no schema can
say; `clients` turns whatever credentials a target has into a signing client
and a token client for the suites.
"""

from __future__ import annotations

from datetime import date

from imgconf.vendors.base import AccountRefusal, CredentialField, Retirement, Vendor
from imgconf.vendors.huawei.auth import DEFAULT_PROJECT_NAME, HuaweiAuth

# The X-Auth-Token the docs' examples send (§4.1, §4.2), without the docs' trailing "...": issued for the
# token body the docs print, which expired on 2019-02-13. No gateway accepts it any more.
DOCUMENTED_TOKEN = "MIINRwYJKoZIhvcNAQcCoIINODCCDTQCAQExDTALBglghkgBZQMEAgEwgguVBgkqhkiG"

VENDOR = Vendor(
    id="huawei",
    title="Huawei Cloud Image Tagging",
    spec_files=("huawei-image-tagging.yaml", "huawei-iam.yaml"),
    credentials=(
        CredentialField("ak", "HUAWEI_AK", "access key id, for AK/SK signing (or use the IAM user)", optional=True),
        CredentialField("sk", "HUAWEI_SK", "secret access key that goes with HUAWEI_AK", optional=True),
        CredentialField(
            "project_id", "HUAWEI_PROJECT_ID", "project id for /v2 (looked up by name when not set)", optional=True
        ),
        CredentialField("iam_user", "HUAWEI_IAM_USER", "IAM user name, for token mode (or use AK/SK)", optional=True),
        CredentialField("iam_password", "HUAWEI_IAM_PASSWORD", "that IAM user's password", optional=True),
        CredentialField("iam_domain", "HUAWEI_IAM_DOMAIN", "the account (domain) name of that IAM user", optional=True),
        CredentialField(
            "project_name",
            "HUAWEI_PROJECT_NAME",
            f"project (region) name to scope tokens to and look up; default {DEFAULT_PROJECT_NAME}",
            secret=False,
            optional=True,
        ),
        CredentialField(
            "lockout_ak",
            "HUAWEI_LOCKOUT_AK",
            "a spare AK the suite may lock for 5 minutes to test the lockout (the test is skipped without it)",
            optional=True,
            spare=True,
        ),
        CredentialField("lockout_sk", "HUAWEI_LOCKOUT_SK", "the SK of HUAWEI_LOCKOUT_AK", optional=True, spare=True),
    ),
    # §6.2's 400 ModelArts.4204 "The API is not subscribed to.": the service is not subscribed to in the region.
    refusals=(AccountRefusal(400, "ModelArts.4204", "subscribe to Image Tagging in the project's region"),),
    auth=HuaweiAuth(),
    # No public image URL is documented (the docs' OBS paths are placeholders): set IMGCONF_HUAWEI_IMAGE_URLS.
    image_urls=(),
    # A smoke run on a careful URL target sends about 56: 50, and the URL rules a target on loopback (or
    # given --callback-url) can answer would cut it short.
    live_budget=64,
    retirement=Retirement(
        stops_selling=date(2026, 6, 30),
        offline=date(2026, 12, 30),
        source="Huawei Cloud bulletin image_07_0001: Image Recognition stops selling 2026-06-30, offline 2026-12-30",
    ),
)

from imgconf.vendors.huawei import checks as checks  # noqa: E402 - registers the vendor checks
