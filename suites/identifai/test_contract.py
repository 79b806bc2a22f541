"""Schemathesis over every operation, then a stateful phase that follows the spec's links (submit, then poll).

Uploads carry real media (images of every accepted format, a Motion-JPEG AVI, a WAV clip), and half the
valid URL submissions carry a URL that really leads to a file. Operations that change a live account
(overrides, partner users) are left out unless the target allows mutations. Against live and staging
targets each operation is tried once: every request counts against the documented rate limits.
"""

import functools
import unittest
from typing import Any

import pytest
import schemathesis
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode

from imgconf.checks import checks_for
from imgconf.testing import active, contract, strategies
from imgconf.testing.client import current_client
from imgconf.vendors import identifai

SESSION = active()
LOCAL = not SESSION.options.target.metered

for media_type, fmt in (("image/gif", "gif"), ("image/webp", "webp"), ("image/tiff", "tiff")):
    schemathesis.openapi.media_type(media_type, strategies.image_bytes((fmt,), max_side=48))
schemathesis.openapi.media_type("video/x-msvideo", st.integers(0, 2**16).map(identifai.sample_avi))
schemathesis.openapi.media_type("audio/wav", st.integers(0, 2**16).map(lambda seed: identifai.sample_wav(seed, 1.0)))

schema = contract.schema("identifai", "identifai.yaml")


def _stateful_schema() -> Any:
    """The same spec and configuration with the stateful phase on: without it the state machine has no rules.

    Its requests go through the run's session (see Workflow), so they keep the budget, pacing and recording.
    """
    config = contract.config_for("identifai")
    config["phases"]["stateful"] = {"enabled": True}
    return contract.from_spec("identifai.yaml", schemathesis.Config.from_dict(config))


stateful = _stateful_schema()
if not (LOCAL or SESSION.options.allow_mutations):
    mutating = list(identifai.VENDOR.mutating_operations)
    schema = schema.exclude(name=mutating)
    stateful = stateful.exclude(name=mutating)

URL_ENDPOINTS = {"/api/image_fromurl": "image", "/api/video_fromurl": "video", "/api/audio_fromurl": "audio"}


def media_urls(api: Any, kind: str) -> st.SearchStrategy[str]:
    """URLs the target can download a file of `kind` from: loopback for the emulator, public samples live."""
    if kind == "image":
        return api.image_urls()
    if api.reaches_callback:
        make = identifai.sample_avi if kind == "video" else (lambda seed: identifai.sample_wav(seed, 1.0))
        return st.integers(0, 2**16).map(lambda seed: api.publish(make(seed), "bin"))
    return st.sampled_from(identifai.VENDOR.extra[f"{kind}_urls"])


def flatmap_case(context: Any, case: Any) -> Any:
    """Half the valid URL submissions carry a URL that really leads to a file of the right kind."""
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    kind = URL_ENDPOINTS.get(case.operation.path)
    if kind is None or not positive or not isinstance(case.body, dict):
        return contract.unchanged(case)
    api = current_client("identifai")

    def with_url(url: str) -> Any:
        case.body = {**case.body, "file_url": url}
        return case

    return st.one_of(contract.unchanged(case), media_urls(api, kind).map(with_url))


schema.hook(flatmap_case)
stateful.hook(flatmap_case)


# The aliases answer exactly as their main routes do: a few cases each are enough to see that they exist.
ALIASES = [
    "GET /api/classification_image/{identifier}",
    "GET /api/classifications_image",
    "GET /api/classification_image/heatmap/{identifier}",
]


# Live and staging: one generated case per operation, no replay of the spec's examples (test_examples sends them).
LIVE = {"max_examples": 1, "phases": [Phase.generate]}


@schema.exclude(name=ALIASES).parametrize()
@contract.settings(**({} if LOCAL else LIVE))
def test_contract(case, api):
    # A key that is not a partner's leaves the partner routes not checked on a live or staging target.
    api.call_and_validate(case, role=identifai.not_a_partner)


# `include` is ignored when the toml has per-operation sections (schemathesis 4.32.5), so the others are excluded.
OTHERS = [operation.label for operation in identifai.VENDOR.specs[0].operations if operation.label not in ALIASES]


@schema.exclude(name=OTHERS).parametrize()
@contract.settings(**({"max_examples": 3} if LOCAL else LIVE))
def test_contract_of_aliases(case, api):
    api.call_and_validate(case, role=identifai.not_a_partner)


@functools.cache
def workflow() -> Any:
    """The stateful phase's machine, built the first time its test runs: building it is schemathesis working out
    the links between 22 operations, a fifth of a short identifAI run, which a run that stops before the test
    (at a drift's first finding, on a refused key) or leaves it out (`-k`, `--dry-run`) never needs."""
    machine: Any = stateful.as_state_machine()
    # Reads of random identifiers start no workflow worth the steps (test_contract sends those): scenarios start
    # with a submission (or a partner user) and go on along the links.
    random_reads = [name for name in dir(machine) if name.startswith("RANDOM__GET_")]

    class Workflow(machine):  # type: ignore[misc,valid-type]
        """Submit, then poll and list what was submitted (the links), through the run's guarded session."""

        root_rules = frozenset(name for name in machine.root_rules if name not in random_reads)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            api = current_client("identifai")
            api.vendor.auth.apply_to_case(case, api.credentials)
            # JSON answers, so the links can read the identifier out of the body.
            headers = {**(case.headers or {}), "Accept": "application/json"}
            return {"base_url": api.target.url_for("identifai.yaml"), "session": api.session, "headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            # A partner step answered as to a key that is not a partner's (the operator's, on a live or staging
            # target) is not judged, and the workflow goes on with what the key may do; test_behaviour says why.
            if current_client("identifai").role_lacking(response, identifai.not_a_partner) is not None:
                return
            super().validate_response(response, case, additional_checks=checks_for("identifai"), **kwargs)

    for name in random_reads:
        setattr(Workflow, name, None)
    return Workflow


@pytest.mark.usefixtures("api")  # the vendor's client first, as every test: a refused key or an absent target skips it
class TestStateful(unittest.TestCase):
    """`Workflow.TestCase` as Hypothesis writes it (a unittest case running the machine with its settings), but
    with the machine built when the test runs rather than when the module is collected."""

    settings = contract.settings(
        **({"max_examples": 5, "stateful_step_count": 5} if LOCAL else {**LIVE, "stateful_step_count": 3})
    )

    def runTest(self) -> None:
        run_state_machine_as_test(workflow(), settings=self.settings)

    runTest.is_hypothesis_test = True  # type: ignore[attr-defined]
