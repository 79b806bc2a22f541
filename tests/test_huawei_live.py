"""Live mode, tested against the emulator served on loopback as if it were Huawei: credentials from the
environment only, none of them (nor the tokens IAM issues) in any artifact, and a retired service told
apart from a non-conformant one."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import yaml

from conftest import clean_env, free_port, served
from imgconf import paths
from imgconf.vendors.huawei import VENDOR

# Sentinels: values that cannot occur in an artifact by chance. Every credential the vendor declares.
SENTINELS = {
    "HUAWEI_AK": "SNTLAKQ4Z8X2W7V1H3M9",
    "HUAWEI_SK": "sntlSkZq81kd93mf02ja7xw5ck4hr6tyu8i9o0p",
    "HUAWEI_PROJECT_ID": "5e471ee1c0de4a11b0a7d3c2e1f0a9b8",
    "HUAWEI_IAM_USER": "sntl-iam-user-k2j4h6",
    "HUAWEI_IAM_PASSWORD": "sntl-iam-password-p9q8r7",
    "HUAWEI_IAM_DOMAIN": "sntl-iam-domain-d7e6f5",
    "HUAWEI_LOCKOUT_AK": "SNTLLOCKOUTAK0F3G5J7",
    "HUAWEI_LOCKOUT_SK": "sntlLockoutSkP0o9i8u7y6t5r4e3w2q1a2s3d4",
}
NAMES = {
    "HUAWEI_AK": "ak",
    "HUAWEI_SK": "sk",
    "HUAWEI_PROJECT_ID": "project_id",
    "HUAWEI_IAM_USER": "iam_user",
    "HUAWEI_IAM_PASSWORD": "iam_password",
    "HUAWEI_IAM_DOMAIN": "iam_domain",
    "HUAWEI_LOCKOUT_AK": "lockout_ak",
    "HUAWEI_LOCKOUT_SK": "lockout_sk",
}
# The emulator's tokens: base64 of a CMS-like blob, like IAM's ("MIIB...").
TOKEN = re.compile(r"MIIBf[A-Za-z0-9_\-+/]{40,}")


def test_every_credential_is_declared_with_its_environment_variable():
    declared = {credential.env: credential for credential in VENDOR.credentials}
    assert set(SENTINELS) <= set(declared)
    assert all(declared[env].secret for env in SENTINELS)
    assert all(credential.optional for credential in VENDOR.credentials), "AK/SK and an IAM user are alternatives"


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), value.lower(), value.upper()}


def _leaks(text: str) -> list[str]:
    found = [env for env, value in SENTINELS.items() if any(form in text for form in _forms(value))]
    return found + [f"token {match[:12]}..." for match in TOKEN.findall(text)]


def _scan(folder: Path) -> dict[str, list[str]]:
    leaks = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found = _leaks(path.read_bytes().decode("utf-8", "replace"))
            if found:
                leaks[str(path.relative_to(folder))] = found
    return leaks


@pytest.mark.parametrize(
    ("drifts", "spare_key"),
    [((), False), (("huawei.signature-not-verified", "huawei.v2-confidence-as-number"), True)],
    ids=["faithful-default-budget", "drifted-with-spare-key"],
)
def test_live_mode_writes_no_credential_anywhere(cli, tmp_path, drifts, spare_key):
    """A URL target (live mode pointed at loopback) with sentinel credentials. Faithful, the live suite fits the
    default budget (its URL rules included: the target reaches the loopback callback address); drifted (and
    with the spare AK the lockout test may lock), findings carry
    evidence, every credential is on the wire, and none of them is on disk or on the terminal."""
    given = {env: value for env, value in SENTINELS.items() if spare_key or "LOCKOUT" not in env}
    credential = ",".join(f"{NAMES[env]}={value}" for env, value in given.items())
    extra = [arg for drift in drifts for arg in ("--drift", drift)]
    budget = ["--budget", "500"] if spare_key else []
    with served("--vendor", "huawei", "--fast", "--credential", f"huawei:{credential}", *extra) as urls:
        result = cli("run", "--vendor", "huawei", "--target", urls["huawei"], *budget, env=clean_env(**given))
    report = result.report()
    assert result.code == (1 if drifts else 0), result.output[-2000:]
    assert report["state"] == ("non-conformant" if drifts else "conformant")
    summary = report["vendors"][0]
    assert summary["tests"]["passed"] > 50
    if not spare_key:
        assert report["requests"] <= VENDOR.live_budget
    if drifts:
        assert any(finding.get("evidence") or finding.get("request") for finding in report["findings"])
    written = {path.name for path in result.report_dir().iterdir()}
    assert {"report.json", "junit.xml", "summary.md", "report.html"} <= written
    assert _leaks(result.stdout) == [] and _leaks(result.stderr) == []
    assert _scan(tmp_path) == {}


def test_an_unreachable_service_is_unreachable_before_the_offline_date_and_retired_after(cli):
    pytest.importorskip("imgconf.clock")  # IMGCONF_TODAY, the monitors' date override
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"HUAWEI_AK": SENTINELS["HUAWEI_AK"], "HUAWEI_SK": SENTINELS["HUAWEI_SK"]}
    before = cli("run", "--vendor", "huawei", "--target", dead, env=clean_env(IMGCONF_TODAY="2026-12-29", **env))
    assert before.code == 3, before.output[-1500:]
    assert before.report()["vendors"][0]["state"] == "unreachable"
    after = cli("run", "--vendor", "huawei", "--target", dead, env=clean_env(IMGCONF_TODAY="2026-12-30", **env))
    assert after.code == 3, after.output[-1500:]
    summary = after.report()["vendors"][0]
    assert summary["state"] == "retired" and after.report()["state"] == "retired"
    assert summary["retirement"] == {
        "stops_selling": "2026-06-30",
        "offline": "2026-12-30",
        "source": VENDOR.retirement.source,
    }
    assert "retired" in after.output


def test_the_retirement_is_in_the_spec_and_the_vendor_alike():
    spec = yaml.safe_load((paths.specs_dir() / "huawei-image-tagging.yaml").read_text())
    declared = spec["info"]["x-retirement"]
    assert VENDOR.retirement is not None
    assert declared["stops-selling"] == VENDOR.retirement.stops_selling.isoformat()
    assert declared["offline"] == VENDOR.retirement.offline.isoformat()
    assert all(operation.deprecated for operation in VENDOR.specs[0].operations)


def test_plain_schemathesis_gets_a_static_token_and_the_project():
    """The selftest's plain `st run` baseline cannot sign; the scheme hands it a token from IAM instead."""
    import requests

    from imgconf import images
    from imgconf.emulator.huawei import DEFAULT_CREDENTIALS
    from imgconf.vendors.huawei import probes

    account = DEFAULT_CREDENTIALS[0]
    with served("--vendor", "huawei", "--fast") as urls:
        config = VENDOR.auth.schemathesis_config(account, urls["huawei"])
        assert config is not None and set(config["headers"]) == {"X-Auth-Token"}
        assert config["parameters"] == {"project_id": account["project_id"]}
        answer = requests.post(
            f"{urls['huawei']}/v2/{account['project_id']}/image/tagging",
            json=probes.image_body(images.render(40, 30, 1, "png")),
            headers=config["headers"],
            timeout=10,
        )
        assert answer.status_code == 200
        assert VENDOR.auth.schemathesis_config({"ak": account["ak"], "sk": account["sk"]}, urls["huawei"]) is None
