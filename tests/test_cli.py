"""The CLI as a user meets it: exit codes, one-line errors, and reports that hold together."""

from __future__ import annotations

import json
import re
import shutil
from xml.etree import ElementTree

import jsonschema
import pytest

from conftest import ROOT, clean_env, free_port, imgconf, served
from imgconf import paths
from imgconf.testing import collector


def one_line_error(result, code: int, *fragments: str) -> None:
    assert result.code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("imgconf: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("run", "--vendor", "nope"), ("unknown vendor 'nope'",)),
        (("run", "--vendor", "altum", "--drift", "altum.nope"), ("unknown drift",)),
        (("run", "--vendor", "altum", "--target", "ftp://example.com"), ("is not one of",)),
        (("run", "--vendor", "altum", "--profile", "huge"), ("huge",)),
        (("run", "--vendor", "altum", "--target", "live"), ("set ALTUM_API_KEY",)),
        (("run", "--vendor", "altum", "--target", "live", "--drift", "altum.output-renamed"), ()),
        (("emulator", "serve", "--host", "0.0.0.0", "--port", "0"), ("loopback only",)),
        (("run", "--vendor", "altum", "--config", "missing.toml", "--target", "live"), ("does not exist",)),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(cli, args, fragments):
    one_line_error(cli(*args), 2, *fragments)


def test_an_unreachable_target_exits_3_with_a_report_that_says_so(cli):
    port = free_port()  # nothing listens here
    result = cli(
        "run",
        "--vendor",
        "altum",
        "--target",
        f"http://127.0.0.1:{port}",
        env=clean_env(ALTUM_API_KEY="unreachable-key-123"),
    )
    assert result.code == 3, result.output
    report = result.report()
    assert report["state"] == "unreachable"
    assert report["vendors"][0]["state"] == "unreachable"
    assert "unreachable" in report["vendors"][0]["reason"]
    assert report["findings"] == []
    assert "non-conformant" not in (result.report_dir() / "summary.md").read_text()


def test_a_malformed_spec_is_a_one_line_usage_error(tmp_path):
    checkout = tmp_path / "checkout"
    for folder in ("specs", "schemas", "suites"):
        shutil.copytree(ROOT / folder, checkout / folder)
    spec = checkout / "specs" / "altum-labelling.yaml"
    spec.write_text(spec.read_text().replace("openapi: 3.1.0", "openapi: 3.1.0\nwebhooks: 12", 1))
    result = imgconf(
        "run", "--vendor", "altum", out=tmp_path / "reports", env=clean_env(IMGCONF_ROOT=str(checkout)), cwd=tmp_path
    )
    one_line_error(result, 2, "altum-labelling.yaml")
    assert not (tmp_path / "reports").exists()


def test_a_conformant_run_writes_four_artifacts_that_agree(cli):
    result = cli("run", "--vendor", "altum", "--seed", "3")
    assert result.code == 0, result.output
    assert "conformant" in result.stdout and "report:" in result.stdout
    directory = result.report_dir()
    report = json.loads((directory / "report.json").read_text())
    schema = json.loads(paths.report_schema_path().read_text())
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(
        report
    )
    assert report["seed"] == 3 and report["profile"] == "smoke" and report["exit_code"] == 0
    suites = ElementTree.parse(directory / "junit.xml").getroot()
    assert int(suites.get("tests")) == len(report["tests"]) and suites.get("failures") == "0"
    summary = (directory / "summary.md").read_text()
    assert "conformant" in summary and "Altum AI Photo Labelling" in summary
    html = (directory / "report.html").read_text()
    assert "Matrix: vendor × operation × check" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", html), "report.html must load nothing"
    cells = {(cell["operation"], cell["check"]) for cell in report["matrix"]}
    assert ("POST /labelling/img", "response_schema_conformance") in cells
    assert ("POST /labelling/url", "auth") in cells


def test_a_drifted_run_shows_the_finding_with_evidence_and_a_reproducer(cli):
    result = cli("run", "--vendor", "altum", "--drift", "altum.confidence-as-number")
    assert result.code == 1
    assert "altum.result.confidence" in result.stdout
    report = result.report()
    finding = next(f for f in report["findings"] if f["rule"]["id"] == "altum.result.confidence")
    assert finding["rule"]["basis"] == "documented"
    assert finding["response"]["status"] == 200
    assert finding["curl"].startswith("curl ") and "$ALTUM_API_KEY" in finding["curl"]
    for name in finding["attachments"]:
        assert (result.report_dir() / "evidence" / name).exists()
    junit = (result.report_dir() / "junit.xml").read_text()
    assert 'type="altum.result.confidence"' in junit
    html = (result.report_dir() / "report.html").read_text()
    assert finding["id"] in html and "altum.result.confidence" in html


def test_the_api_key_is_in_no_artifact(tmp_path):
    sentinel = "SENTINEL-altum-key-5f2a9c"
    with served(
        "--vendor", "altum", "--credential", f"altum:api_key={sentinel}", "--drift", "altum.confidence-as-number"
    ) as urls:
        result = imgconf(
            "run",
            "--vendor",
            "altum",
            "--target",
            f"altum={urls['altum']}",
            out=tmp_path / "reports",
            cwd=tmp_path,
            env=clean_env(ALTUM_API_KEY=sentinel),
        )
    assert result.code == 1, result.output  # findings, so evidence and curl commands were written
    assert result.report()["findings"]
    assert sentinel not in result.output
    files = [path for path in (tmp_path / "reports").rglob("*") if path.is_file()]
    assert len(files) >= 5
    for path in files:
        assert sentinel.encode() not in path.read_bytes(), path


def test_drift_list_names_every_profile_and_the_rule_it_breaks(cli):
    result = cli("drift", "list", "--json", "--vendor", "altum")
    assert result.code == 0
    drifts = json.loads(result.stdout)
    assert len(drifts) >= 4
    assert all(item["breaks"] and item["category"] and item["imitates"] for item in drifts)


BROKEN_SUITE = """

@pytest.mark.rule("altum.auth.missing-key")
def test_zz_asks_for_a_fixture_nobody_made(no_such_fixture):
    pass


@pytest.mark.rule("altum.auth.missing-key")
def test_zz_asks_pytest_for_an_option_it_lacks(request):
    request.config.getoption("no_such_option")


@pytest.mark.rule("altum.auth.missing-key")
def test_zz_calls_a_helper_with_too_few_arguments():
    images.render(64)
"""


def test_a_suite_that_breaks_itself_is_imgconfs_error_not_the_vendors_finding(tmp_path):
    """A fixture that does not exist, an option pytest lacks, a helper called wrongly: the suite's breakage,
    never the vendor's.

    Before, both were findings of rule contract.unknown ("Unexpected answer"), and Altum non-conformant.
    """
    checkout = tmp_path / "checkout"
    for folder in ("specs", "schemas", "suites"):
        shutil.copytree(ROOT / folder, checkout / folder)
    behaviour = checkout / "suites" / "altum" / "test_behaviour.py"
    behaviour.write_text(behaviour.read_text() + BROKEN_SUITE)
    result = imgconf(
        "run", "--vendor", "altum", out=tmp_path / "reports", env=clean_env(IMGCONF_ROOT=str(checkout)), cwd=tmp_path
    )
    assert result.code == 4, result.output
    assert "Traceback" not in result.output
    report = result.report()
    assert (report["state"], report["vendors"][0]["state"], report["findings"]) == ("error", "error", [])
    assert "FixtureLookupError" in report["vendors"][0]["reason"]
    broken = {test["nodeid"].rsplit("::", 1)[1]: test for test in report["tests"] if "::test_zz_" in test["nodeid"]}
    assert {name: test["outcome"] for name, test in broken.items()} == {
        "test_zz_asks_for_a_fixture_nobody_made": "error",
        "test_zz_asks_pytest_for_an_option_it_lacks": "error",
        "test_zz_calls_a_helper_with_too_few_arguments": "error",
    }
    assert "no_such_option" in broken["test_zz_asks_pytest_for_an_option_it_lacks"]["reason"]
    junit = ElementTree.parse(result.report_dir() / "junit.xml").getroot()
    assert (junit.get("errors"), junit.get("failures")) == ("3", "0")
    summary = (result.report_dir() / "summary.md").read_text()
    assert "its own error, not the vendor's" in summary and "nothing was checked" not in summary
    assert "non-conformant" not in result.stdout


def _raised(code: str) -> BaseException:
    try:
        exec(code, {"answer": {"label": None}, "pytest": pytest})
    except Exception as exc:  # whatever it raised is the subject
        return exc
    raise AssertionError(f"{code!r} raised nothing")


@pytest.mark.parametrize(
    ("code", "harness"),
    [
        ("answer['labels']", False),  # a renamed field in a vendor's answer: the vendor's
        ("answer['label'].upper()", False),  # a null where the spec promises text: the vendor's
        ("int('ten')", False),
        ("answer['label'] + 1", False),  # a null where a number belongs: the vendor's, though a TypeError
        ("len(answer['label'])", False),
        ("(lambda a, b: a)(answer)", True),  # a call the suite's code got wrong: no answer writes its arguments
        ("(lambda a: a)(answer, 1)", True),
        ("(lambda a: a)(answer, b=1)", True),
        ("(lambda *, a: a)()", True),
        ("len(answer, 1)", True),
        ("answer.get()", True),
        ("answer.items(1)", True),
        ("answr['label']", True),  # the suite's own typo
        ("import imgconf_no_such_module", True),
        ("pytest.MonkeyPatch().delattr(object(), 'nope')", True),  # raised inside pytest's own code
    ],
)
def test_only_errors_no_answer_could_cause_are_the_suites_own(code, harness):
    assert collector.harness_error(_raised(code)) is harness


def test_a_suite_that_cannot_be_collected_names_its_cause(tmp_path):
    """A setup error says what went wrong (the import that failed), not pytest's "Error during collection"."""
    checkout = tmp_path / "checkout"
    for folder in ("specs", "schemas", "suites"):
        shutil.copytree(ROOT / folder, checkout / folder)
    behaviour = checkout / "suites" / "altum" / "test_behaviour.py"
    behaviour.write_text("import imgconf_no_such_module\n" + behaviour.read_text())
    result = imgconf(
        "run", "--vendor", "altum", out=tmp_path / "reports", env=clean_env(IMGCONF_ROOT=str(checkout)), cwd=tmp_path
    )
    one_line_error(result, 2, "imgconf_no_such_module")
    assert "Error during collection" not in result.stderr
