"""The run a piece of suite code is working for, while pytest collects a suite module or runs a test.

Per-run state lives in `config.stash` (see plugin.py). Fixtures reach it through `request.config`; two
kinds of code cannot: module-level code of a suite (schemathesis' `@schema.parametrize()` and
`parametrize` lists are evaluated when pytest imports the module), and hooks schemathesis calls while
it draws a case. For them the plugin binds the stash's state here, from the stash, only for the length
of one module's collection or one test's run protocol, and unbinds it after; outside those it is unset
and `active()` says so. It is a context variable, not a global: two runs in one process (the selftest's
baseline beside a drift run, say) never see each other's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from imgconf.testing.state import RunState

_BOUND: ContextVar[RunState | None] = ContextVar("imgconf_run", default=None)


def active() -> RunState:
    state = _BOUND.get()
    if state is None:
        raise RuntimeError(
            "no imgconf run is collecting or running a test here: run the suites with `imgconf run` or "
            "`pytest suites/`, and reach the run from fixtures (request.config) outside of them"
        )
    return state


@contextmanager
def bound(state: RunState | None) -> Iterator[None]:
    token = _BOUND.set(state)
    try:
        yield
    finally:
        _BOUND.reset(token)


def sized(local: int, remote: int) -> int:
    """How many of something a test may spend: `local` as on the emulator, `remote` against a metered vendor."""
    return remote if active().options.target.metered else local
