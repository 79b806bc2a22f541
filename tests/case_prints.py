"""A pytest plugin for tests/test_memos.py: writes a fingerprint of every contract case a run sends.

Loaded into `imgconf run`'s in-process pytest through `PYTEST_PLUGINS=case_prints` (this folder is on the
tests' fork server's path). `IMGCONF_TEST_CASE_PRINTS` names the file; with `IMGCONF_TEST_NO_MEMOS=1` the run
loads its schemas without imgconf.testing.memos and draws examples at collection (no imgconf.testing.deferred),
as schemathesis alone would build, configure and draw them.
A fingerprint is the case's method, path, media type, headers, query and body, bytes as digests, and the
loopback ports of the run's own servers (which differ between runs) as PORT.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies
from schemathesis.generation.jsonschema import strategy as jsonschema_strategy
from schemathesis.pytest import plugin as schemathesis_plugin
from schemathesis.specs.openapi import _hypothesis
from schemathesis.specs.openapi.negative import mutations

from imgconf.testing import client, deferred, memos

OUT = Path(os.environ["IMGCONF_TEST_CASE_PRINTS"])
PRINTS: list[str] = []
LOOPBACK = re.compile(r"127\.0\.0\.1:\d+")

if os.environ.get("IMGCONF_TEST_NO_MEMOS") == "1":
    memos.remember_merged_config = lambda config: None  # type: ignore[assignment]
    memos.remember_form_strategies = lambda: None  # type: ignore[assignment]
    memos.remember_object_strategies = lambda: None  # type: ignore[assignment]
    memos.remember_mutation_orders = lambda: None  # type: ignore[assignment]
    memos.warn_of_auth_only_when_configured = lambda: None  # type: ignore[assignment]
    # A warm process may have routed them already.
    _hypothesis._build_form_strategy_with_encoding = memos._build_form
    jsonschema_strategy.st = strategies
    mutations.ordered = memos._ordered
    schemathesis_plugin.emit_openapi_auth_warnings = memos._emit_auth_warnings
    # Examples and coverage cases drawn at collection, as schemathesis draws them.
    deferred.install = lambda: None  # type: ignore[assignment]
    deferred.uninstall()


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "body") and hasattr(value, "content_types"):  # a multipart body with its parts' types
        return {"form": _plain(value.body), "content_types": _plain(value.content_types)}
    text = repr(value)
    return "NOT_SET" if " object at 0x" in text else LOOPBACK.sub("127.0.0.1:PORT", text)


_call_and_validate = client.ApiClient.call_and_validate


def _recorded(self: client.ApiClient, case: Any, **options: Any) -> Any:
    fields = [case.method, case.formatted_path, case.media_type, dict(case.headers or {}), case.query, case.body]
    PRINTS.append(json.dumps(_plain(fields), sort_keys=True))
    return _call_and_validate(self, case, **options)


client.ApiClient.call_and_validate = _recorded  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    OUT.write_text("\n".join(PRINTS))
