"""imgconf.testing.memos: every memo gives the answer schemathesis computes, and a run with them draws the very
cases a run without them draws."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tomllib
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.pytest import plugin as schemathesis_plugin
from schemathesis.specs.openapi import _hypothesis
from schemathesis.specs.openapi.negative import mutations

from conftest import clean_env, imgconf
from imgconf import paths
from imgconf import vendors as registry
from imgconf.testing import contract, memos

VENDORS = ["altum", "identifai", "imagerecognize", "huawei"]
PHASES = (None, "examples", "coverage", "fuzzing", "stateful")


def vendor_schema(vendor: str, spec: str) -> object:
    toml = paths.suites_dir() / vendor / "schemathesis.toml"
    config = contract._merge(contract.DEFAULTS, tomllib.loads(toml.read_text()) if toml.exists() else {})
    return contract.from_spec(spec, schemathesis.Config.from_dict(config))


@pytest.mark.parametrize("method", memos.MERGED)
@pytest.mark.parametrize("vendor", VENDORS)
def test_the_remembered_configuration_is_the_one_schemathesis_merges(vendor, method):
    for spec in registry.get(vendor).specs:
        schema = vendor_schema(vendor, spec.path.name)
        project = schema.config
        merged = getattr(type(project), method)  # the method itself, unremembered
        # `phases_for` takes no phase: it merges an operation's phases, all of them.
        phases = [{}] if method == "phases_for" else [{"phase": phase} for phase in PHASES]
        for result in schema.get_all_operations():
            operation = result.ok()
            for phase in phases:
                expected = merged(project, operation=operation, **phase)
                remembered = getattr(project, method)(operation=operation, **phase)
                assert remembered == expected
                assert remembered is getattr(project, method)(operation=operation, **phase)  # not merged again
        assert getattr(project, method)(operation=None) == merged(project, operation=None)


def test_a_vendor_toml_that_disables_a_check_for_one_operation_is_still_honoured():
    # identifAI's toml has per-operation sections: operations differ, and the memo keeps them apart.
    schema = vendor_schema("identifai", registry.get("identifai").specs[0].path.name)
    operations = [result.ok() for result in schema.get_all_operations()]
    configs = {repr(schema.config.checks_config_for(operation=operation, phase="fuzzing")) for operation in operations}
    assert len(configs) > 1


def test_a_multipart_body_strategy_is_built_once_per_generation_mode(monkeypatch):
    assert memos._build_form is not None, "schemathesis renamed _build_form_strategy_with_encoding: see memos.py"
    built = []
    build = memos._build_form

    def counting(*args):
        built.append(args[3])  # the generation mode
        return build(*args)

    monkeypatch.setattr(memos, "_build_form", counting)
    schema = vendor_schema("altum", "altum-labelling.yaml")
    assert _hypothesis._build_form_strategy_with_encoding is memos.form_strategy  # routed for the process
    operation = schema["/labelling/img"]["POST"]
    drawn = []

    @settings(max_examples=30, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def positive(case):
        drawn.append(case)

    @settings(max_examples=30, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case):
        drawn.append(case)

    positive()
    negative()
    assert len(drawn) >= 40
    assert sorted(built, key=str) == sorted([GenerationMode.POSITIVE, GenerationMode.NEGATIVE], key=str)
    assert len(schema.__dict__[memos.FORMS_ATTRIBUTE]) == 2


def test_a_changed_generation_configuration_builds_the_body_again(monkeypatch):
    built = []
    monkeypatch.setattr(memos, "_build_form", lambda *args: built.append(args) or object())
    schema = vendor_schema("altum", "altum-labelling.yaml")
    operation = schema["/labelling/img"]["POST"]
    parameter = operation.body.items[0]
    config = schema.config.generation_for(operation=operation, phase="fuzzing")
    first = memos.form_strategy(parameter, operation, config, GenerationMode.POSITIVE)
    assert memos.form_strategy(parameter, operation, config, GenerationMode.POSITIVE) is first
    other = schemathesis.Config.from_dict({"generation": {"allow-x00": False}}).projects.default.generation
    assert other != config
    assert memos.form_strategy(parameter, operation, other, GenerationMode.POSITIVE) is not first
    assert memos.form_strategy(parameter, operation, config, GenerationMode.POSITIVE, object()) is not first
    assert len(built) == 3


# Full profile where a vendor's contract run is short (its multipart uploads are what the form memo serves),
# smoke where the full one would take most of a minute twice.
PROFILES = {"altum": "full", "imagerecognize": "full", "identifai": "smoke", "huawei": "smoke"}


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_memos_change_no_generated_case(vendor, tmp_path):
    prints = {}
    for variant, extra in (("with", {}), ("without", {"IMGCONF_TEST_NO_MEMOS": "1"})):
        target = tmp_path / f"{variant}.txt"
        env = clean_env(PYTEST_PLUGINS="case_prints", IMGCONF_TEST_CASE_PRINTS=str(target), **extra)
        out = tmp_path / variant
        out.mkdir()
        result = imgconf(
            "run",
            "--vendor",
            vendor,
            "--profile",
            PROFILES[vendor],
            "-k",
            "test_contract",
            "-q",
            "--no-history",
            out=out,
            env=env,
        )
        assert result.code == 0, result.output
        prints[variant] = target.read_text().splitlines()
    assert len(prints["with"]) > 20
    assert prints["with"] == prints["without"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_auth_warnings_left_uncomputed_are_none_and_a_configured_scheme_is_still_warned_of(vendor):
    """schemathesis' pytest plugin works out every schema warning to emit those about configured OpenAPI auth:
    none for a schema as a run loads it, and the very same warning either way where a scheme is configured."""
    for spec in registry.get(vendor).specs:
        schema = vendor_schema(vendor, spec.path.name)
        assert schemathesis_plugin.emit_openapi_auth_warnings is memos.auth_warnings  # routed for the process
        assert not schema.config.auth.all_openapi_schemes
        assert emitted(memos._emit_auth_warnings, schema) == [] == emitted(memos.auth_warnings, schema)
        configured = contract.from_spec(
            spec.path.name, schemathesis.Config.from_dict({"auth": {"openapi": {"NoSuchScheme": {"api_key": "x"}}}})
        )
        expected = emitted(memos._emit_auth_warnings, configured)
        assert expected and "NoSuchScheme" in expected[0]
        assert emitted(memos.auth_warnings, configured) == expected


def test_schemathesis_still_emits_its_auth_warnings_through_the_memo():
    """Fails when a schemathesis release renames `emit_openapi_auth_warnings` or stops calling it by its module
    name as it collects a schema's tests."""
    assert memos._emit_auth_warnings is not None
    assert "emit_openapi_auth_warnings(self.schema)" in inspect.getsource(schemathesis_plugin.SchemathesisCase.collect)


def emitted(emit, schema) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        emit(schema)
    return [str(warning.message) for warning in caught]


def test_a_case_passed_through_unchanged_is_drawn_as_it_is_and_never_hashed(monkeypatch):
    """`contract.unchanged` replaces `st.just(case)` in the suites' flatmap hooks: Hypothesis labels a `just` by
    its value's hash, and a schemathesis case hashes by preparing its whole request."""
    schema = vendor_schema("altum", "altum-labelling.yaml")
    operation = schema["/labelling/img"]["POST"]
    case = operation.Case(body={"image": b"\xff\xd8\xff\xe0"}, media_type="multipart/form-data")
    hashed: list[object] = []
    monkeypatch.setattr(type(case), "__hash__", lambda self: hashed.append(self) or 0)
    drawn: list[object] = []

    @settings(max_examples=3, database=None)
    @given(contract.unchanged(case))
    def draw(value: object) -> None:
        drawn.append(value)

    draw()
    assert drawn and all(value is case for value in drawn)
    assert not hashed


def test_a_mutation_order_is_built_once_per_candidate_list_and_only_for_a_plain_key():
    built = []

    def build(items, unique_by):
        built.append(tuple(items))
        return object()

    orders = memos._RememberedOrders(build)

    def by_name():  # one lambda expression, a new function object each call, as in schemathesis
        return lambda fn: fn.__name__

    def by_name_and(suffix):
        return lambda fn: fn.__name__ + suffix

    first = orders(["a", "b"], unique_by=by_name())
    assert orders(["a", "b"], unique_by=by_name()) is first
    assert orders(["b", "a"], unique_by=by_name()) is not first
    assert orders(["a", "b"], unique_by=by_name_and("!")) is not first  # a closure: built afresh each time
    assert orders(["a", "b"], unique_by=by_name_and("!")) is not first
    assert len(built) == 4


def test_schemathesis_still_orders_its_mutations_through_the_memo():
    """Fails when a schemathesis release renames `ordered` or stops calling it by its module name."""
    contract.from_spec("identifai.yaml")
    assert isinstance(mutations.ordered, memos._RememberedOrders)
    source = inspect.getsource(mutations.MutationContext._apply_one_at_target)
    assert "ordered(candidates" in source


WARM_THEN_FORK = """
import json, os, sys, warnings
from hypothesis.strategies._internal import recursive
from imgconf.runner import selftest
import imgconf.cli

if sys.argv[1] == "warm":
    selftest.warm(["altum"])
validated = []
recursive.RecursiveStrategy.do_validate = lambda self: validated.append(repr(self)[:40])
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        imgconf.cli.main(["run", "--vendor", "altum", "-k", "test_contract", "--no-history", "--out", sys.argv[2]])
    except SystemExit as done:
        with open(os.path.join(sys.argv[2], "child.json"), "w") as out:
            json.dump({"code": done.code, "validated": validated}, out)
    os._exit(0)
os.waitpid(pid, 0)
"""


@pytest.mark.parametrize("warm", [True, False], ids=["forked-from-warm", "fresh"])
def test_a_run_forked_from_the_warm_process_does_not_validate_the_any_json_strategy_again(tmp_path, warm):
    """The selftest's warm process (and the tests' fork server) validates schemathesis' arbitrary-JSON strategy
    once: every forked run had parsed lambdas' sources to format its repr (~0.3 s a run). The fresh case shows
    that a run does validate it, so the warm case can fail."""
    done = subprocess.run(
        [sys.executable, "-c", WARM_THEN_FORK, "warm" if warm else "cold", str(tmp_path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    child = json.loads((tmp_path / "child.json").read_text())
    assert child["code"] == 0, done.stderr[-2000:]
    assert bool(child["validated"]) is not warm, child["validated"]
