"""A pytest plugin for tests/test_deferred.py: counts the documented examples a run draws, and when.

Loaded into `imgconf run`'s in-process pytest through `PYTEST_PLUGINS=example_draws` (this folder is on the
tests' fork server's path). It counts schemathesis' `generate_one` calls (one per documented example) and
writes, to the file `IMGCONF_TEST_EXAMPLE_DRAWS` names, how many were made by the end of collection and by
the end of the run. With `IMGCONF_TEST_EAGER=1` the run draws them at collection, as schemathesis alone does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from schemathesis.generation.hypothesis import examples

from imgconf.testing import deferred

OUT = Path(os.environ["IMGCONF_TEST_EXAMPLE_DRAWS"])
COUNTS = {"at_collection": 0, "in_all": 0}
_generate_one = examples.generate_one


def _counted(*args: Any, **kwargs: Any) -> Any:
    COUNTS["in_all"] += 1
    return _generate_one(*args, **kwargs)


examples.generate_one = _counted

if os.environ.get("IMGCONF_TEST_EAGER") == "1":
    deferred.install = lambda: None  # type: ignore[assignment]
    deferred.uninstall()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    COUNTS["at_collection"] = COUNTS["in_all"]


def pytest_unconfigure(config: pytest.Config) -> None:
    OUT.write_text(json.dumps(COUNTS))
