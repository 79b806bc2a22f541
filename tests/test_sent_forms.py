"""A negative upload whose mutation is lost on the wire is no finding; one that reaches the wire still is.

identifAI's faithful emulator answered `with_heatmap: []` beside an image (no `with_heatmap` part is sent
at all: a valid request) with 200, and schemathesis' `negative_data_rejection` reported it, because its
as-sent judgement gives up on any body holding a file (testing/sent_forms.py). Seed 0's smoke run met it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, find, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi import checks as openapi_checks
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.transport.serialization import Binary

from imgconf import images
from imgconf.emulator import identifai as emulator
from imgconf.emulator.config import EmulatorConfig
from imgconf.targets.asgi import InThreadASGIAdapter
from imgconf.testing import contract, sent_forms

PNG = images.render(16, 16, seed=1, fmt="png")
KEY = emulator.DEFAULT_CREDENTIALS[0]["api_key"]
BASE = "http://identifai.test"


def _only_the_body_is_negative(case: Any) -> bool:
    components = case.meta.components
    return (
        isinstance(case.body, dict)
        and case.meta.is_negative_at(ParameterLocation.BODY)
        and not any(where != ParameterLocation.BODY and part.mode.is_negative for where, part in components.items())
    )


@pytest.fixture(scope="module")
def operation() -> Any:
    """identifAI's image upload, as the runs load it (which installs the judgement under test)."""
    return contract.from_spec("identifai.yaml")["/api/classification"]["POST"]


@pytest.fixture(scope="module")
def upload_case(operation) -> Any:
    """A negative case of identifAI's image upload, drawn by schemathesis (so it carries its negative label)."""
    quick = settings(database=None, max_examples=500, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    return find(
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), _only_the_body_is_negative, settings=quick
    )


@pytest.fixture(scope="module")
def session() -> requests.Session:
    app = emulator.create_app(EmulatorConfig(options={"rate_limits": False}))
    mounted = requests.Session()
    mounted.mount(BASE, InThreadASGIAdapter(app))
    return mounted


def _judged(case: Any, session: requests.Session, body: dict[str, Any]) -> tuple[int, AcceptedNegativeData | None]:
    """The emulator's status for `body` sent as the negative case, and the check's failure, if any."""
    case.body, case.headers = body, {"X-Api-Key": KEY}
    response = case.call(session=session, base_url=BASE)
    try:
        case.validate_response(response, checks=[negative_data_rejection])
    except BaseException as raised:  # schemathesis groups its failures
        failures = [e for e in getattr(raised, "exceptions", [raised]) if isinstance(e, AcceptedNegativeData)]
        if not failures:
            raise
        return response.status_code, failures[0]
    return response.status_code, None


@pytest.mark.parametrize("image", [PNG, Binary(PNG)], ids=["bytes", "Binary"])
def test_a_mutation_lost_beside_an_upload_is_no_finding(upload_case, session, image):
    """An empty list sends no part: the request is valid, the faithful emulator accepts it, and that is right."""
    sent_forms.install()
    status, failure = _judged(upload_case, session, {"image": image, "with_heatmap": [], "ref_id": 5})
    assert status == 200
    assert failure is None


def test_without_the_extension_schemathesis_reports_the_valid_upload(upload_case, session, monkeypatch):
    """The extension is what forgives it: schemathesis' own judgement gives up on the file and the check fails."""
    monkeypatch.setattr(openapi_checks, "_form_body_is_valid_as_sent", sent_forms._judge)
    status, failure = _judged(upload_case, session, {"image": PNG, "with_heatmap": []})
    assert status == 200
    assert failure is not None


def test_an_invalid_field_beside_an_upload_is_still_judged_invalid(operation):
    """`with_heatmap=maybe` is on the wire: the judgement must not forgive it (the vendor must refuse it)."""
    sent_forms.install()
    for body, valid in (
        ({"image": Binary(PNG), "with_heatmap": "maybe"}, False),
        ({"image": PNG, "with_heatmap": "maybe"}, False),
        ({"image": PNG, "with_heatmap": "1"}, True),
        ({"image": Binary(PNG), "with_heatmap": []}, True),
    ):
        case = operation.Case(body=body, media_type="multipart/form-data")
        prepared = requests.Request(
            "POST",
            BASE + "/api/classification",
            files={"image": ("p.png", PNG, "image/png")},
            data={name: value for name, value in body.items() if name != "image" and value != []},
        ).prepare()
        response = SimpleNamespace(request=prepared)
        assert sent_forms.judge_files_as_text(response, case, "multipart/form-data") is valid, body
        assert case.body["image"] is body["image"]  # the case keeps what it sent


def test_runs_judge_uploads_with_the_extension():
    contract.from_spec("identifai.yaml")
    assert sent_forms._judge is not None, "schemathesis renamed its as-sent judgement: look at sent_forms again"
    assert openapi_checks._form_body_is_valid_as_sent is sent_forms.judge_files_as_text
