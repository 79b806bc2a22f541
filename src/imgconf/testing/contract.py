"""Schemathesis, configured for a vendor: the spec, its toml, the run's profile, auth and image strategies.

A suite's contract test is three lines:

    schema = contract.schema("altum", "altum-labelling.yaml")

    @schema.parametrize()
    @contract.settings()
    def test_contract(case, api):
        api.call_and_validate(case)

Each vendor's `suites/<vendor>/schemathesis.toml` holds what is particular to
it (expected statuses, checks that do not apply); this module adds what the
run decides (seed, examples per operation, phases) on top.
"""

from __future__ import annotations

import copy
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from imgconf import paths, specs
from imgconf.testing import deferred, memos, sent_forms, strategies
from imgconf.testing.context import active, sized

# The checks any single response can be held to, without knowing how its request was generated.
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

_media_types_registered = False


def register_image_media_types() -> None:
    """Real JPEG and PNG bytes wherever a spec's multipart encoding names those media types."""
    global _media_types_registered
    if _media_types_registered:
        return
    schemathesis.openapi.media_type("image/jpeg", strategies.image_bytes(("jpeg",)))
    schemathesis.openapi.media_type("image/png", strategies.image_bytes(("png",)))
    _media_types_registered = True


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Checks that need the stateful phase, OPTIONS probes or a session of their own do nothing useful here;
# a vendor's toml may switch any of them back on (ignored_auth excepted: see below).
DEFAULTS: dict[str, Any] = {
    "checks": {
        "use_after_free": {"enabled": False},
        "ensure_resource_availability": {"enabled": False},
        "object_level_authorization": {"enabled": False},
        "allow_header_conformance": {"enabled": False},
    },
}


def examples_per_operation() -> int:
    """The profile's generated cases per operation; a few on a metered vendor, where the budget goes to the rules."""
    profile = active().options.profile
    return sized(profile.max_examples, min(3, profile.max_examples))


def config_for(vendor: str) -> dict[str, Any]:
    """Defaults, then the vendor's `schemathesis.toml`, then what the run decides."""
    options = active().options
    path: Path = paths.suites_dir() / vendor / "schemathesis.toml"
    base = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    profile = options.profile
    run: dict[str, Any] = {
        "seed": options.seed,
        "generation": {
            "database": "none",
            "max-examples": examples_per_operation(),
        },
        "phases": {
            "coverage": {"enabled": profile.coverage, "unexpected-methods": []},
            "stateful": {"enabled": False},
        },
        # ignored_auth re-sends every accepted case twice through a session of its own, past the run's
        # budget, pacing, recording and host guard; the suites test each operation's auth matrix instead.
        "checks": {"ignored_auth": {"enabled": False}},
    }
    if options.target.metered:
        # Shrinking re-sends failing requests many times: too expensive against a metered vendor.
        run["generation"]["no-shrink"] = True
    return _merge(_merge(DEFAULTS, base), run)


def from_spec(spec_file: str, config: schemathesis.Config | None = None) -> Any:
    """schemathesis' schema of a spec, from the document imgconf has already read and validated.

    `from_path` would parse the file again (0.3 s a spec, every run); a copy of imgconf's document, read the
    way schemathesis reads YAML (see `specs.parse_yaml`), with the file's location for its relative $refs, is
    the same schema.
    """
    spec = specs.load(specs.spec_path(spec_file))
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(spec.raw), config=config)
    loaded.location = spec.path.absolute().as_uri()
    memos.remember_merged_config(loaded.config)
    memos.remember_form_strategies()
    memos.remember_object_strategies()
    memos.remember_mutation_orders()
    memos.warn_of_auth_only_when_configured()
    deferred.install()
    sent_forms.install()
    return loaded


def schema(vendor: str, spec_file: str) -> Any:
    """The vendor's spec loaded into schemathesis, with credentials and the cell recorder attached.

    Loaded once per run (kept on the run's state), while pytest imports the suite module; the auth provider
    and the hook find the run they work for when schemathesis calls them, during a test.
    """
    register_image_media_types()
    state = active()
    key = (vendor, spec_file)
    if key in state.schemas:
        return state.schemas[key]
    config = schemathesis.Config.from_dict(config_for(vendor))
    loaded = from_spec(spec_file, config)

    @loaded.auth()
    class _Credentials:
        # Called while schemathesis collects explicit examples too, before any reachability check: only the
        # credentials are needed here, the target's reachability is the test fixture's business.
        def get(self, case: Any, context: Any) -> dict[str, str]:
            return dict(active().connections()[vendor].credentials)

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            active().connections()[vendor].vendor.auth.apply_to_case(case, data)

    def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
        collector = active().collector
        for result in results:
            collector.cell(vendor, case.operation.label, result.name, result.failure is None)

    loaded.hook(after_validate)
    state.schemas[key] = loaded
    return loaded


def settings(**overrides: Any) -> hypothesis.settings:
    """Hypothesis settings for a contract test: no example database, no deadline, the run's budget."""
    values: dict[str, Any] = {
        "max_examples": examples_per_operation(),
        "database": None,
        "deadline": None,
        "suppress_health_check": list(HealthCheck),
        "print_blob": False,
    }
    values.update(overrides)
    return hypothesis.settings(**values)


@cache
def plain_schema(spec_file: str) -> Any:
    """A spec in schemathesis without a run around it: for validating recorded traffic (`imgconf validate`)."""
    return from_spec(spec_file)


def unchanged(case: Case) -> st.SearchStrategy[Case]:
    """`st.just(case)` for a suite's `flatmap_case` hook, without hashing the case.

    Hypothesis labels a `just` by its value's hash, and schemathesis hashes a case by preparing its whole
    request (a multipart body encoded again, every case of every operation the hook passes through unchanged:
    3-4% of a contract run). A `just(None)` mapped to the case draws the same nothing under a fixed label.
    """
    return st.just(None).map(lambda _: case)
