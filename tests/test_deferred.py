"""imgconf.testing.deferred: a test's documented examples and coverage cases are drawn when it is called.

That they are the very cases schemathesis draws at collection, in the same order, is tests/test_memos.py's
(every case a run sends, with this module and without it).
"""

from __future__ import annotations

import inspect
import json

from schemathesis.generation.hypothesis import builder

from conftest import clean_env, imgconf
from imgconf import emulator
from imgconf.testing import deferred

DRIFT = "identifai.auth-not-enforced"  # caught by the first request of identifAI's suites


def draws(tmp_path, name: str, *args: str, eager: bool = False) -> dict[str, int]:
    counts = tmp_path / f"{name}.json"
    env = clean_env(PYTEST_PLUGINS="example_draws", IMGCONF_TEST_EXAMPLE_DRAWS=str(counts))
    if eager:
        env["IMGCONF_TEST_EAGER"] = "1"
    out = tmp_path / name
    out.mkdir()
    result = imgconf(
        "run", "--vendor", "identifai", "--profile", "smoke", "--no-history", "-q", *args, out=out, env=env
    )
    assert result.code in (0, 1), result.output
    return json.loads(counts.read_text())


def test_a_run_draws_no_example_while_collecting_and_one_that_stops_early_draws_only_what_it_reached(tmp_path):
    eager = draws(tmp_path, "eager", "--dry-run", eager=True)
    assert eager["at_collection"] > 10  # identifAI documents an example for most of its operations
    listed = draws(tmp_path, "listed", "--dry-run")
    assert listed == {"at_collection": 0, "in_all": 0}
    drift = next(item for item in emulator.catalogue() if item.name == DRIFT)
    stopped = draws(tmp_path, "stopped", "--drift", DRIFT, *(f"--stop-on-rule={rule}" for rule in drift.breaks))
    assert stopped["at_collection"] == 0
    assert stopped["in_all"] < eager["at_collection"]


def test_schemathesis_still_draws_through_the_functions_deferred_routes():
    """Fails when a schemathesis release renames `add_examples` or `add_coverage`, or stops calling them by
    their module names from `create_test`: runs would draw at collection again."""
    assert deferred._add_examples is not None and deferred._add_coverage is not None
    source = inspect.getsource(builder.create_test)
    assert "add_examples(" in source and "add_coverage(" in source
    routed = builder.add_examples, builder.add_coverage  # as this process has them (a suite may be loaded)
    deferred.uninstall()
    try:
        assert builder.add_examples is deferred._add_examples
        deferred.install()
        assert builder.add_examples.__wrapped__ is deferred._add_examples
        assert builder.add_coverage.__wrapped__ is deferred._add_coverage
        deferred.install()  # idempotent: not wrapped twice
        assert builder.add_examples.__wrapped__ is deferred._add_examples
    finally:
        builder.add_examples, builder.add_coverage = routed
