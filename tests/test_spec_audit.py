"""The audit of the specs against the vendors' own documents (issue 11), kept as tests.

Each test holds one finding: a documented fact the specs left out or got wrong. The documents themselves are
not in this repository, so the facts a test needs (Huawei's error table, identifAI's audio types) are copied
here, and the test says which page they come from.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from imgconf import paths, specs

HUAWEI = specs.load(specs.spec_path("huawei-image-tagging.yaml"))
IDENTIFAI = specs.load(specs.spec_path("identifai.yaml"))
IMAGERECOGNIZE = specs.load(specs.spec_path("imagerecognize.yaml"))
ALTUM = specs.load(specs.spec_path("altum-labelling.yaml"))

# Table 6-2 of Huawei's Image Recognition API Reference (2022-08-01), every row, with the text of its first
# Description column (https://support.huaweicloud.com/intl/en-us/api-image/image_03_0010.html).
HUAWEI_ERROR_TABLE = {
    "AIS.0012": "The request parameter is not supported.",
    "AIS.0014": "The JSON format of the input data is incorrect.",
    "AIS.0501": "The input parameter is invalid.",
    "AIS.0502": "The image format is not supported.",
    "AIS.0503": "The image is damaged.",
    "AIS.0504": "The image size does not meet requirements.",
    "AIS.0505": "Failed to run the algorithm.",
    "AIS.0506": "An internal error occurred.",
    "APIG.0101": "The API does not exist or has not been published.",
    "APIG.0301": "Incorrect IAM authentication information",
    "APIG.0201": "The request body is oversized.",
    "APIG.0308": "The request is sent too fast and exceeds the default rate limit of the service.",
    "ModelArts.0203": "Invalid token.",
    "ModelArts.4101": "The token is empty.",
    "ModelArts.4102": "Failed to parse the token.",
    "ModelArts.4103": "The token is invalid.",
    "ModelArts.4104": "The length of the request body is invalid.",
    "ModelArts.4105": "The JSON format of the request body is incorrect.",
    "ModelArts.4106": "The account is restricted.",
    "ModelArts.4107": "An exception occurred when obtaining the temporary AK/SK.",
    "ModelArts.4201": "The request URL does not contain the service ID.",
    "ModelArts.4202": "The request URL format is invalid.",
    "ModelArts.4203": "No access permission.",
    "ModelArts.4204": "The API is not subscribed to.",
    "ModelArts.4601": "The external URL is invalid.",
    "ModelArts.4603": "The file failed to be downloaded from the external URL.",
    "ModelArts.4702": "The OBS agency failed to be queried.",
    "ModelArts.4703": "The OBS URL is invalid.",
    "ModelArts.4704": "Failed to obtain the OBS file.",
    "ModelArts.4705": "The OBS file is oversized.",
    "ModelArts.4706": "The OBS file does not exist.",
    "Other": "If other error codes are displayed, contact technical support.",
}
# The gateway's statuses (APIG's own error table); every other row is 400, as Table 6-2 prints.
GATEWAY_STATUS = {"APIG.0101": 404, "APIG.0201": 413, "APIG.0301": 401, "APIG.0308": 429}


def _errors_schema(definition: str) -> dict[str, Any]:
    document = json.loads((paths.schemas_dir() / "huawei" / "errors.json").read_text())
    return {**document, "$ref": f"#/$defs/{definition}"}


def _examples_by_code(spec: specs.Spec) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for example in spec.examples():
        if example.kind == "response" and isinstance(example.value, dict) and "error_code" in example.value:
            found.setdefault(example.value["error_code"], []).append(str(example.value.get("error_msg", "")))
    return found


# -- Huawei ----------------------------------------------------------------------------------------------


def test_huawei_every_row_of_the_error_table_is_in_the_spec_with_its_status_and_text():
    table = {row["code"]: row for row in HUAWEI.raw["x-error-codes"]}
    assert list(table) == list(HUAWEI_ERROR_TABLE), "x-error-codes must hold Table 6-2's rows, in its order"
    for code, text in HUAWEI_ERROR_TABLE.items():
        row = table[code]
        assert row["table-status"] == 400
        assert row["status"] == GATEWAY_STATUS.get(code, 400), code
        assert text in row["message"], f"{code}: {row['message']!r} is not the table's {text!r}"


def test_huawei_codes_of_other_families_are_documented_answers():
    """The table's last row admits other codes; the schema must not flag APIGW.0303 as a violation."""
    body = {"error_code": "APIGW.0303", "error_msg": "verify signature fail", "request_id": "abc"}
    jsonschema.validate(body, _errors_schema("ErrorBody"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"error_code": "not a code", "error_msg": "x"}, _errors_schema("ErrorBody"))


def test_huawei_gateway_texts_that_differ_from_the_table_are_errata():
    erratum = next(item for item in HUAWEI.errata if item["id"] == "huawei-apig-message-texts")
    for code, messages in _examples_by_code(HUAWEI).items():
        table_text = HUAWEI_ERROR_TABLE.get(code)
        if table_text is None or code == "APIG.0301":
            continue
        if any(message != table_text for message in messages):
            assert code in erratum["where"] and table_text in erratum["docs-say"], code


def test_huawei_429_documents_retry_after():
    """The emulator's side is in tests/test_huawei_emulator.py."""
    throttled, _ = HUAWEI.resolve(HUAWEI.raw["components"]["responses"]["Throttled"])
    header, _ = HUAWEI.resolve(throttled["headers"]["Retry-After"])
    assert header["required"] is True and header["schema"]["x-rule"] == "huawei.transport.retry-after"


def test_huawei_content_type_is_a_rule():
    assert HUAWEI.rules["huawei.request.content-type"].basis == "documented"
    assert "huawei-content-type" in HUAWEI.assumptions


def test_huawei_error_table_status_erratum_cites_public_evidence_not_a_local_run():
    erratum = next(item for item in HUAWEI.errata if item["id"] == "huawei-error-table-status")
    assert "https://support.huaweicloud.com/" in erratum["problem"]
    assert "sees 401" not in erratum["problem"]


# -- identifAI -------------------------------------------------------------------------------------------

AUDIO_TYPES = (
    "audio/mpeg, audio/wav, audio/ogg, audio/flac, audio/aac, audio/3gp, audio/m4a, audio/m4b, audio/m4p, "
    "audio/m4r, video/mp4"
)


def _request_body(spec: specs.Spec, name: str) -> dict[str, Any]:
    return spec.raw["components"]["requestBodies"][name]["content"]["multipart/form-data"]


def test_identifai_prevent_c2pa_forces_is_described_whole():
    properties = _request_body(IDENTIFAI, "ClassifyImage")["schema"]["properties"]
    assert properties["prevent_c2pa_forces"] == {
        "$ref": "#/components/schemas/FormBoolean",
        "description": "If true, a C2PA signature does not force the origin to artificial.",
    }


def test_identifai_media_types_are_as_wide_as_the_pages():
    assert _request_body(IDENTIFAI, "ClassifyVideo")["encoding"]["video"]["contentType"] == "video/*"
    assert _request_body(IDENTIFAI, "ClassifySpeech")["encoding"]["audio"]["contentType"] == AUDIO_TYPES


def test_identifai_legacy_with_llm_is_declared_deprecated():
    with_llm = _request_body(IDENTIFAI, "ClassifyImage")["schema"]["properties"]["with_llm"]
    assert with_llm["deprecated"] is True and with_llm["$ref"] == "#/components/schemas/FormBoolean"
    assert "identifai-with-llm" in IDENTIFAI.assumptions


def test_identifai_says_what_empty_repeated_query_values_and_undeclared_methods_get():
    assert {"identifai-empty-query", "identifai-undeclared-methods"} <= set(IDENTIFAI.assumptions)
    parameters = {item["name"]: item for item in IDENTIFAI.raw["paths"]["/api/partner/users"]["get"]["parameters"]}
    for name in ("direction", "pricing_id", "per_page", "page"):
        jsonschema.validate("", parameters[name]["schema"])


def test_identifai_heuristic_sample_that_fails_its_schema_is_an_erratum():
    sample = _request_body(IDENTIFAI, "SavePartnerUser")["examples"]["documented"]["value"]
    assert sample["heuristic"] == "<string>", "the vendor's sample stays as printed"
    assert any(item["id"] == "identifai-partner-user-sample" for item in IDENTIFAI.errata)


# -- imagerecognize --------------------------------------------------------------------------------------


def test_imagerecognize_is_plain_yaml_without_merge_keys():
    text = IMAGERECOGNIZE.path.read_text()
    assert "<<:" not in text and not re.search(r":\s*[&*][A-Za-z][\w-]*\s*$", text, re.MULTILINE), "no anchors"
    raw = yaml.safe_load(text)
    assert raw["paths"]["/api/v3/"]["post"]["responses"].keys() == raw["paths"]["/api/v2/"]["post"]["responses"].keys()


def test_imagerecognize_key_is_a_declared_credential():
    scheme = IMAGERECOGNIZE.raw["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "query", "apikey")
    for item in IMAGERECOGNIZE.raw["paths"].values():
        for definition in item.values():
            assert definition["security"] == [{"ApiKey": []}]


def test_imagerecognize_cache_type_and_samples_without_file_are_errata():
    errata = {item["id"] for item in IMAGERECOGNIZE.errata}
    assert {"imagerecognize-cache-type", "imagerecognize-samples-without-file"} <= errata
    assert IMAGERECOGNIZE.rules["imagerecognize.result.type"].basis == "errata"


# -- Altum -----------------------------------------------------------------------------------------------


def test_altum_auth_triggers_are_marked_as_inferred():
    for rule in ("altum.auth.missing-key", "altum.auth.invalid-key"):
        assert ALTUM.rules[rule].basis == "assumption", rule
        assert "altum-auth-triggers" in ALTUM.rules[rule].text
    assert "altum-auth-triggers" in ALTUM.assumptions


# -- all specs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(paths.specs_dir().glob("*.yaml")), ids=lambda path: path.name)
def test_specs_cite_public_sources_not_files_outside_the_repo(path: Path):
    text = path.read_text()
    assert "seeds/" not in text and "research/" not in text and "../shared" not in text
    assert specs.load(path).raw["info"]["x-sources"], "info.x-sources lists the vendor's public pages"


def test_huawei_url_placeholder_examples_are_errata():
    assert any(item["id"] == "huawei-url-placeholders" for item in HUAWEI.errata)


def test_identifai_form_flags_take_what_laravel_takes():
    """`no_cache=0` is a valid flag (Laravel's boolean rule); a full run with seed 3 sent it and the spec called it
    invalid. Every multipart flag uses the one FormBoolean schema."""
    flag = IDENTIFAI.raw["components"]["schemas"]["FormBoolean"]
    for value in (True, False, 0, 1, "0", "1", "true", "false", ""):
        jsonschema.validate(value, flag)
    for value in (2, "2", "yes", "on", 1.5, "TRUE", " true", "true\n"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, flag)
    for name in ("ClassifyImage", "ClassifyImageFromUrl", "ClassifyVideo", "ClassifySpeech", "SavePartnerUser"):
        properties = _request_body(IDENTIFAI, name)["schema"]["properties"]
        flags = [key for key, value in properties.items() if value.get("type") == "boolean"]
        assert flags == [], f"{name}: {flags} are plain booleans"
