"""JUnit XML for CI, from the run outcome: one testcase per suite test, every failed test a <failure>.

Counts equal report.json's: a test that failed is a failure whatever finding it shared with another test;
each failure names its rule and basis. Testcase names are unique: the classname carries vendor, kind and
operation, the name the test's own id.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from imgconf.report.outcome import Finding, RunOutcome, TestRecord, VendorOutcome
from imgconf.report.wording import MEANING, findings_sentence, vendor_line

NOT_RUN = ("skipped", "unreachable", "budget", "credentials", "interrupted")


def _case_names(test: TestRecord, seen: set[tuple[str, str]]) -> tuple[str, str]:
    module, _, name = test.nodeid.rpartition("::")
    classname = f"{test.vendor}.{test.kind}." + module.replace("/", ".").removesuffix(".py")
    if test.operation:
        classname += f".{test.operation}"
    unique, index = name, 1
    while (classname, unique) in seen:
        index += 1
        unique = f"{name} #{index}"
    seen.add((classname, unique))
    return classname, unique


def _failure_text(finding: Finding) -> str:
    return "\n".join(
        filter(
            None,
            [
                finding.message,
                f"rule: {finding.rule['id']} ({finding.rule['basis']}) {finding.rule['text']}",
                f"operation: {finding.operation}",
                f"reproduce: {finding.evidence.curl}" if finding.evidence.curl else None,
            ],
        )
    )


def _not_checked(vendor: VendorOutcome) -> str | None:
    if vendor.coverage is None:
        return None
    return "; ".join(f"{item.rule}: {item.why}" for item in vendor.coverage.not_checked)


def render(run: RunOutcome) -> str:
    root = ET.Element("testsuites", name=f"imgconf {run.run_id}")
    by_id = {finding.id: finding for finding in run.findings}
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    seen: set[tuple[str, str]] = set()
    for vendor in run.vendors:
        tests = [test for test in run.tests if test.vendor == vendor.id]
        suite = ET.SubElement(root, "testsuite", name=vendor.id)
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("state", str(vendor.state)),
            ("meaning", MEANING[vendor.state]),
            ("reason", vendor_line(vendor)),
            ("score", vendor.score),
            ("rules_checked", vendor.coverage.checked if vendor.coverage else None),
            ("rules_total", vendor.coverage.total if vendor.coverage else None),
            ("rules_not_checked", _not_checked(vendor)),
            ("target", run.target.description),
            ("seed", run.seed),
            ("run_state", str(run.state)),
            ("exit_code", run.exit_code),
            ("findings", findings_sentence(run)),
        ):
            ET.SubElement(properties, "property", name=name, value="" if value is None else str(value))
        failures = skipped = errors = 0
        for test in tests:
            classname, name = _case_names(test, seen)
            case = ET.SubElement(suite, "testcase", classname=classname, name=name, time=f"{test.duration:.3f}")
            if test.outcome == "failed":
                failures += 1
                findings = [by_id[finding_id] for finding_id in test.findings if finding_id in by_id]
                if not findings:
                    ET.SubElement(case, "failure", type="imgconf", message=test.reason or "failed")
                for finding in findings:
                    failure = ET.SubElement(
                        case,
                        "failure",
                        type=finding.rule["id"],
                        message=f"{finding.id} {finding.rule['id']} ({finding.rule['basis']}): {finding.title}",
                    )
                    failure.text = _failure_text(finding)
            elif test.outcome == "error":  # the suite's own breakage: JUnit's error, not a failure of the vendor
                errors += 1
                ET.SubElement(case, "error", type="imgconf", message=test.reason or "error")
            elif test.outcome in NOT_RUN:
                skipped += 1
                ET.SubElement(case, "skipped", message=f"{test.outcome}: {test.reason or test.outcome}")
        suite.set("tests", str(len(tests)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", str(errors))
        totals["tests"] += len(tests)
        totals["failures"] += failures
        totals["skipped"] += skipped
        totals["errors"] += errors
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
