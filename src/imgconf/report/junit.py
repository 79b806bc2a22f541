"""JUnit XML for CI: one testcase per suite test, its findings as failures."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET


def render(report: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name=f"imgconf {report['run_id']}")
    by_test: dict[str, list[dict[str, Any]]] = {}
    for finding in report["findings"]:
        by_test.setdefault(finding["test"], []).append(finding)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for vendor in report["vendors"]:
        tests = [test for test in report["tests"] if test["vendor"] == vendor["id"]]
        suite = ET.SubElement(root, "testsuite", name=vendor["id"])
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("verdict", vendor["verdict"]),
            ("score", vendor["score"]),
            ("target", report["target"]["description"]),
            ("seed", report["seed"]),
        ):
            ET.SubElement(properties, "property", name=name, value=str(value))
        failures = skipped = 0
        for test in tests:
            module, _, name = test["nodeid"].rpartition("::")
            case = ET.SubElement(
                suite,
                "testcase",
                classname=module.replace("/", ".").removesuffix(".py"),
                name=name,
                time=f"{test['duration']:.3f}",
            )
            findings = by_test.get(test["nodeid"], [])
            if findings:
                failures += 1
                for finding in findings:
                    failure = ET.SubElement(
                        case,
                        "failure",
                        type=finding["rule"]["id"],
                        message=f"{finding['id']} {finding['title']}: {finding['rule']['id']}",
                    )
                    failure.text = "\n".join(
                        filter(
                            None,
                            [
                                finding["message"],
                                f"rule: {finding['rule']['id']} ({finding['rule']['basis']}) {finding['rule']['text']}",
                                f"operation: {finding['operation']}",
                                f"reproduce: {finding['curl']}" if finding["curl"] else None,
                            ],
                        )
                    )
            elif test["outcome"] in ("skipped", "unreachable", "budget"):
                skipped += 1
                ET.SubElement(case, "skipped", message=test["reason"] or test["outcome"])
        suite.set("tests", str(len(tests)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
        totals["tests"] += len(tests)
        totals["failures"] += failures
        totals["skipped"] += skipped
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
