"""What schemathesis works out again for every case, worked out once per loaded schema.

Each memo here replaces a computation whose answer cannot change while a schema is loaded (imgconf never
updates a loaded schema's configuration, and the media-type strategies are registered before any schema
is built), so a run draws exactly the cases it drew without them: tests/test_memos.py compares every
generated case of every vendor's contract tests with the memos and without, and each memo's answer with
the one schemathesis computes.

- `checks_config_for`, `generation_for` and `phases_for`: schemathesis merges the run's, the phase's and the
  operation's configuration layers afresh on every response and every case (`from_hierarchy`, with a filter
  match per `[[operations]]` section: ~200 µs a case on identifAI and ~290 µs on Huawei's tagging spec, 4% of a
  full contract run for the checks), and the phases several times per operation while a run collects (each
  test, identifAI's state machine: 11% of a selftest's identifAI drift run that stops at its first finding).
- the strategy of a multipart body whose parts name a media type (`encoding`, Altum's and imagerecognize's
  image uploads, identifAI's): `_build_form_strategy_with_encoding` builds the whole body strategy (the schema
  turned into a strategy, negative mutations and syntax fuzzing wrapped around it, then validated on its first
  draw) on every draw, where every other body's strategy is cached on its `OpenApiBody`. Built once per
  (body, generation mode), Altum's and imagerecognize's contract tests take 22% less time (measured,
  interleaved, in one warm process).
- an object's `fixed_dictionaries` over its required and drawn optional keys: built and validated afresh on
  every draw of every JSON object (`_RememberedFixedDictionaries`); one per key set and child strategies,
  97% of them found again (Altum 229 of 236, Huawei 2,084 of 2,163 in a full run).
- the order a negative case tries its mutation operators in (`ordered`): a new `st.lists` over the candidate
  operators on every mutation, keyed by a fresh `lambda` Hypothesis' own strategy cache cannot match, then
  checked for cacheability and validated (7% of identifAI's smoke run); one per candidate list.

And one answer schemathesis works out only to throw away: its pytest plugin computes every schema warning it
knows as it collects a schema's tests (each operation's deserializers, regexes, unresolvable references and
unvalidatable responses: 10% of the CPU of a selftest's drift run that stops at its first finding) to emit
one kind, configured OpenAPI auth schemes the spec lacks. imgconf configures none (its auth provider signs
each case), so there is nothing to warn of; where a scheme is configured, schemathesis' own function runs.
"""

from __future__ import annotations

from typing import Any

from schemathesis.generation.jsonschema import context as jsonschema_context
from schemathesis.generation.jsonschema import strategy as jsonschema_strategy
from schemathesis.pytest import plugin as schemathesis_plugin
from schemathesis.specs.openapi import _hypothesis
from schemathesis.specs.openapi.negative import mutations

# The `ProjectConfig` methods that merge a run's, a phase's and an operation's configuration layers.
MERGED = ("checks_config_for", "generation_for", "phases_for")

# Where a schema keeps its multipart body strategies: (id of the body, generation mode) -> what they were
# built for, and the strategy.
FORMS_ATTRIBUTE = "_imgconf_form_strategies"

# None where a schemathesis release has renamed it: runs work as before, only without this memo (and
# tests/test_memos.py fails, so that the memo is looked at again).
_build_form: Any = getattr(_hypothesis, "_build_form_strategy_with_encoding", None)
_ordered: Any = getattr(mutations, "ordered", None)
_anything_for: Any = getattr(jsonschema_strategy, "_anything_for", None)
_Alphabet: Any = getattr(jsonschema_context, "Alphabet", None)
_emit_auth_warnings: Any = getattr(schemathesis_plugin, "emit_openapi_auth_warnings", None)


def remember_merged_config(config: Any) -> None:
    """Each (operation, phase)'s merged checks, generation and phases configuration, merged once per schema.

    An operation's layers are chosen by its label (method and path), which is the key, with the phase where
    the method takes one (`phases_for` does not). `ProjectConfig` keeps an instance `__dict__` (its base
    declares no slots): the instance attribute shadows the method.
    """
    for name in MERGED:
        compute = getattr(config, name)
        memo: dict[tuple[str | None, tuple[tuple[str, Any], ...]], Any] = {}

        def remembered(
            *, operation: Any = None, compute: Any = compute, memo: dict[Any, Any] = memo, **phase: Any
        ) -> Any:
            key = (None if operation is None else operation.label, tuple(phase.items()))
            found = memo.get(key)
            if found is None:
                found = memo[key] = compute(operation=operation, **phase)
            return found

        setattr(config, name, remembered)


def form_strategy(
    parameter: Any,
    operation: Any,
    generation_config: Any,
    generation_mode: Any,
    constants_value_source: Any = None,
) -> Any:
    """`_build_form_strategy_with_encoding`, built once per body and generation mode on the operation's schema.

    A strategy is reused only for the very body and constants pool it was built with, and an equal generation
    configuration (what the builder closes over); anything else builds afresh and replaces it.
    """
    forms: dict[tuple[int, Any], tuple[Any, Any, Any, Any]] = operation.schema.__dict__.setdefault(FORMS_ATTRIBUTE, {})
    key = (id(parameter), generation_mode)
    found = forms.get(key)
    if (
        found is not None
        and found[0] is parameter
        and found[1] is constants_value_source
        and found[2] == generation_config
    ):
        return found[3]
    built = _build_form(parameter, operation, generation_config, generation_mode, constants_value_source)
    forms[key] = (parameter, constants_value_source, generation_config, built)
    return built


def remember_form_strategies() -> None:
    """Route schemathesis' multipart body builder through `form_strategy` (for the process; idempotent)."""
    if _build_form is not None:
        _hypothesis._build_form_strategy_with_encoding = form_strategy


class _RememberedFixedDictionaries:
    """`hypothesis.strategies` as schemathesis' JSON Schema strategies see it, `fixed_dictionaries` remembered.

    An object schema's strategy draws its optional keys, then builds `fixed_dictionaries` over the required and
    chosen keys' strategies, on every draw; Hypothesis validates each new strategy on its first draw, walking
    every child to tell whether it can be empty (Huawei's tagging bodies: 8% of its contract tests). The same
    keys over the very same child strategies give the same strategy, so one is built per combination and kept
    while its children live (they are held by it, so an id is never reused under a kept key).
    """

    def __init__(self, strategies: Any, limit: int = 4096) -> None:
        self._strategies = strategies
        self._limit = limit
        self._built: dict[tuple[tuple[Any, int], ...], Any] = {}

    def __getattr__(self, name: str) -> Any:
        # Looked up once, then found on the instance: schemathesis reaches for `st.*` while it draws, too.
        found = getattr(self._strategies, name)
        setattr(self, name, found)
        return found

    def fixed_dictionaries(self, mapping: Any, *, optional: Any = None) -> Any:
        if optional is not None or not isinstance(mapping, dict):
            return self._strategies.fixed_dictionaries(mapping, optional=optional)
        key = tuple((name, id(value)) for name, value in mapping.items())
        found = self._built.get(key)
        if found is None:
            if len(self._built) >= self._limit:
                self._built.clear()
            found = self._built[key] = self._strategies.fixed_dictionaries(mapping)
        return found


def remember_object_strategies() -> None:
    """Route schemathesis' JSON Schema strategies through `_RememberedFixedDictionaries` (idempotent)."""
    if not isinstance(jsonschema_strategy.st, _RememberedFixedDictionaries):
        # A stand-in for the module: every other attribute is hypothesis.strategies' own.
        jsonschema_strategy.st = _RememberedFixedDictionaries(jsonschema_strategy.st)  # type: ignore[assignment]


class _RememberedOrders:
    """`ordered` (schemathesis' strategy for a random order of mutation operators), one per candidate list.

    schemathesis calls it with `unique_by=lambda fn: fn.__name__`, a new function object each time, so no two
    calls share a key in Hypothesis' strategy cache. Two functions of the same code, globals and no closure
    or defaults compute the same thing, so the key is the candidates and that code; anything else (a closure,
    a default) builds afresh.
    """

    def __init__(self, build: Any, limit: int = 1024) -> None:
        self._build = build
        self._limit = limit
        self._built: dict[tuple[Any, ...], Any] = {}

    def __call__(self, items: Any, unique_by: Any = None) -> Any:
        if unique_by is None:  # schemathesis' own default (`ident`), never what it passes
            return self._build(items)
        code = getattr(unique_by, "__code__", None)
        if code is None or unique_by.__closure__ or unique_by.__defaults__ or unique_by.__kwdefaults__:
            return self._build(items, unique_by=unique_by)
        try:
            key = (tuple(items), code, id(unique_by.__globals__))
            found = self._built.get(key)
        except TypeError:  # an unhashable candidate
            return self._build(items, unique_by=unique_by)
        if found is None:
            if len(self._built) >= self._limit:
                self._built.clear()
            found = self._built[key] = self._build(items, unique_by=unique_by)
        return found


def remember_mutation_orders() -> None:
    """Route schemathesis' mutation order through `_RememberedOrders` (idempotent)."""
    if _ordered is not None and not isinstance(mutations.ordered, _RememberedOrders):
        mutations.ordered = _RememberedOrders(_ordered)


def auth_warnings(schema: Any) -> None:
    """schemathesis' `emit_openapi_auth_warnings`, called only where it could warn: OpenAPI auth configured."""
    if schema.config.auth.all_openapi_schemes:
        _emit_auth_warnings(schema)


def warn_of_auth_only_when_configured() -> None:
    """Route the pytest plugin's auth warnings through `auth_warnings` (for the process; idempotent)."""
    if _emit_auth_warnings is not None:
        schemathesis_plugin.emit_openapi_auth_warnings = auth_warnings


def validate_any_json() -> None:
    """Validate, in a process that forks runs (the selftest's warm one; a run's own, before it forks its
    workers), schemathesis' arbitrary-JSON strategy each run would validate.

    It is built once per alphabet and kept (`_anything_for`, an lru_cache), and Hypothesis validates it on its
    first draw in each process: `st.recursive` formats its base's repr eagerly, and that repr describes each
    lambda by parsing its source file. ~0.3 s of every forked run (a Huawei smoke run, measured with py-spy),
    done once here instead; a fork inherits the validated strategy and the parsed lambdas. Validating draws
    nothing, so no run's cases change. The alphabets are those of schemathesis' default generation config,
    with and without NUL.
    """
    if _anything_for is None or _Alphabet is None:  # renamed in a schemathesis release: the runs validate it
        return
    for allow_x00 in (True, False):
        _anything_for(_Alphabet(allow_x00=allow_x00)).validate()
