"""The specs are the source of truth, so they are checked like code: valid, loadable, and every rule
named anywhere (schemas, check mappings, drifts, behaviour tests) defined in the vendor's `x-rules`."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis

from imgconf import emulator, paths, specs, vendors
from imgconf.errors import SpecError

VENDORS = sorted(vendors.all_vendors().values(), key=lambda vendor: vendor.id)
SPEC_FILES = sorted(path.name for path in paths.specs_dir().glob("*.yaml"))


def vendor_rules(vendor) -> set[str]:
    return {rule for spec in vendor.specs for rule in spec.rules} | set(specs.GENERIC_RULES)


def x_rules_in(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("x-rule"), str):
            found.add(node["x-rule"])
        for value in node.values():
            found |= x_rules_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= x_rules_in(value)
    return found


@pytest.mark.parametrize("name", SPEC_FILES)
def test_every_spec_validates_and_loads_in_schemathesis(name):
    spec = specs.load(paths.specs_dir() / name)
    specs.validate_document(spec.path, spec.raw)  # in full: `load` trusts the shipped stamp
    assert spec.raw["openapi"].startswith("3.1")
    assert spec.vendor in vendors.all_vendors(), f"{name}: info.x-imgconf-vendor names no vendor"
    loaded = schemathesis.openapi.from_path(str(paths.specs_dir() / name))
    labels = {result.ok().label for result in loaded.get_all_operations()}
    assert labels == {operation.label for operation in spec.operations}


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda vendor: vendor.id)
def test_every_rule_named_anywhere_is_defined(vendor):
    defined = vendor_rules(vendor)
    used: dict[str, set[str]] = {"spec x-rule": set(), "x-check-rules": set(), "drift breaks": set()}
    for spec in vendor.specs:
        used["spec x-rule"] |= x_rules_in(spec.raw)
        used["x-check-rules"] |= set(spec.check_rules.values())
    for path in (paths.schemas_dir() / vendor.id).glob("*.json"):
        used.setdefault("schemas", set()).update(x_rules_in(json.loads(path.read_text())))
    used["drift breaks"] = {rule for drift in emulator.get(vendor.id).drifts for rule in drift.breaks}
    used["behaviour markers"] = marker_rules(paths.suites_dir() / vendor.id)
    for where, rules in used.items():
        assert rules <= defined, f"{vendor.id}: {where} name undefined rules {sorted(rules - defined)}"


def marker_rules(folder: Path) -> set[str]:
    """Rule ids in @pytest.mark.rule(...) and violated(...) calls of a suite folder."""
    found = set()
    for path in folder.glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("rule", "violated") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda vendor: vendor.id)
def test_rules_say_what_they_rest_on(vendor):
    for spec in vendor.specs:
        for rule in spec.rules.values():
            assert rule.text, f"{rule.id} has no text"
            assert rule.basis in ("documented", "assumption", "errata"), f"{rule.id}: basis {rule.basis!r}"
        for item in spec.errata:
            assert {"id", "where", "docs-say", "spec-follows"} <= set(item), f"{spec.path.name}: erratum {item}"
        assert spec.assumptions, f"{spec.path.name} records no x-assumption"


def test_every_drift_name_is_prefixed_by_its_vendor_and_unique():
    names = [drift.name for drift in emulator.catalogue()]
    assert len(names) == len(set(names))
    for drift in emulator.catalogue():
        assert drift.vendor in vendors.all_vendors(), drift.name
        assert drift.breaks, f"{drift.name} names no rule it breaks"


def test_the_validation_stamps_are_those_of_the_specs_as_they_are():
    """A stale stamp is never wrong (the spec is then validated on every load), only slow: so it fails here."""
    shipped = json.loads((paths.specs_dir() / specs.STAMPS).read_text())
    shipped.pop("_about")
    assert shipped == specs.stamps(paths.specs_dir()), "specs/validated.json is stale: run `python -m imgconf.specs`"


def test_a_run_trusts_the_stamps_and_never_imports_the_validator():
    script = (
        "import sys\n"
        "from imgconf import vendors\n"
        "for vendor in vendors.all_vendors().values():\n"
        "    vendor.specs\n"
        "print(sorted(name for name in ('openapi_spec_validator', 'pydantic') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


@pytest.mark.parametrize("edit", ["spec", "referenced schema"])
def test_a_stamped_spec_edited_anywhere_is_validated_again(tmp_path, edit):
    """The digest covers every document the spec's `$ref`s reach: breaking a schema file alone is caught."""
    shutil.copytree(paths.specs_dir(), tmp_path / "specs")
    shutil.copytree(paths.schemas_dir(), tmp_path / "schemas")
    spec_path = tmp_path / "specs" / "altum-labelling.yaml"
    if edit == "spec":
        spec_path.write_text(spec_path.read_text().replace("responses:", "responses: 12\n  ignored:", 1))
    else:
        errors = tmp_path / "schemas" / "altum" / "errors.json"
        document = json.loads(errors.read_text())
        next(iter(document["$defs"].values()))["type"] = 12
        errors.write_text(json.dumps(document))
    with pytest.raises(SpecError, match=r"altum-labelling\.yaml: invalid OpenAPI"):
        specs.load(spec_path)
    assert (
        specs.digest(spec_path, specs.parse_yaml(spec_path.read_text()))
        not in json.loads((paths.specs_dir() / specs.STAMPS).read_text()).values()
    )


def test_a_malformed_spec_is_one_clear_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a: {get: {responses: 12}}\n")
    with pytest.raises(SpecError) as error:
        specs.load(broken)
    assert "broken.yaml" in error.value.message and "\n" not in error.value.message
    not_yaml = tmp_path / "not.yaml"
    not_yaml.write_text("openapi: [3.1\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        specs.load(not_yaml)
    swagger = tmp_path / "old.yaml"
    swagger.write_text("swagger: '2.0'\n")
    with pytest.raises(SpecError, match=r"not an OpenAPI 3\.1 document"):
        specs.load(swagger)


@pytest.mark.parametrize("name", SPEC_FILES)
def test_the_rendered_api_docs_are_current(name):
    from imgconf import docs

    page = paths.root() / "docs" / "api" / f"{Path(name).stem}.md"
    assert page.exists() and page.read_text() == docs.render(specs.load(paths.specs_dir() / name)), (
        f"{page} is stale: regenerate with `imgconf docs`"
    )


def test_a_resolved_path_is_the_real_one_and_a_relative_one_follows_the_working_directory(tmp_path, monkeypatch):
    """`paths.resolved` remembers absolute paths only: a forked run changes its working directory."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    assert paths.resolved(tmp_path / "link" / "spec.yaml") == real / "spec.yaml"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        assert paths.resolved(Path("spec.yaml")) == tmp_path / folder / "spec.yaml"
