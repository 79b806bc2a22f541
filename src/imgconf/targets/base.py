"""What every kind of target gives the suites: a `Connection` per vendor, and the `Target` protocol itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from imgconf.errors import UsageError
from imgconf.report.outcome import RunKind
from imgconf.vendors.base import Vendor
from imgconf.wire.guard import Guard
from imgconf.wire.recorder import Recorder

# Our assumption, not a vendor's word (identifAI documents webhooks, not how soon they come): a webhook that
# has not arrived 0.8 s after the answer to its request is not coming.
WEBHOOK_GRACE_S = 0.8


@dataclass
class RunSettings:
    """What the runner asks of a target for one run."""

    budget: int | None = None  # None: the default for the kind
    drifts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    emulator_options: Mapping[str, Any] = field(default_factory=dict)
    allow_mutations: bool = False
    config_path: Path | None = None
    record: bool = False
    timeout: float | None = None  # per-request timeout on network targets (default: the target's)
    # Requests a thorough run of a URL target may send per vendor (the profile's need; `budget` wins).
    thorough_budget: int | None = None


@dataclass
class Connection:
    """A vendor, reachable: base URL per spec file, credentials, and the guarded session to use."""

    vendor: Vendor
    target: Target
    urls: dict[str, str]
    credentials: dict[str, str]
    session: requests.Session
    guard: Guard
    image_urls: tuple[str, ...]
    drifts: frozenset[str] = frozenset()
    allow_mutations: bool = False
    # The target can download from the suite's image server and call its webhook receiver (the callback
    # address); starts as the target says, and turns False for the run when the one probe finds it cannot.
    reaches_callback: bool = False

    def __post_init__(self) -> None:
        self.reaches_callback = self.reaches_callback or self.target.reaches_loopback

    @property
    def local(self) -> bool:
        """The run may drive the target as hard as the emulator: full sweeps, no pacing, shrinking."""
        return not self.target.metered

    @property
    def paced(self) -> bool:
        return self.target.paced

    @property
    def webhook_grace_s(self) -> float:
        return self.target.webhook_grace_s

    @property
    def preflighted(self) -> bool:
        """The vendor's first request is its preflight: on a metered target (a replay too, which answers it from
        the cassette as it was recorded), or one that holds the operator's credentials."""
        return self.target.metered or self.target.operator_credentials

    @property
    def base_url(self) -> str:
        return next(iter(self.urls.values()))

    def url_for(self, spec_file: str) -> str:
        return self.urls.get(spec_file, self.base_url)


class Target(Protocol):
    """One kind of target. `connect` makes every vendor reachable for the length of a `with` block."""

    # The report's name for the kind (`target.kind` in report.json); never compared outside targets/.
    name: str
    # It can download from the suite's callback address (image server, webhook receiver): the emulator,
    # or a URL target on loopback or given `--callback-url`.
    reaches_loopback: bool
    # Every request costs the operator (quota, money, rate limits): small budgets, pacing, no shrinking,
    # reduced sweeps. The emulator is not; neither is a URL target run `--thorough`.
    metered: bool
    # `imgconf run --workers auto` may run its vendors in processes of their own at once: nothing the
    # operator watches (a vendor account, a callback address, a cassette) is reached from two processes.
    parallel: bool
    # It can be given drift profiles (only an emulator can).
    drifts_allowed: bool
    # Its credentials come from the operator (environment or imgconf.toml), and can be refused.
    operator_credentials: bool
    # Traffic to it keeps the vendor's documented rates in real time (a replay answers at once instead).
    paced: bool
    # Every rule it can answer is run as on the emulator (a `--thorough` URL target; the emulator itself):
    # account changes allowed, documented rate limits provoked on purpose.
    thorough: bool
    # The base URL the suite's image server and webhook receiver are advertised at, or None.
    callback: str | None
    # The slowest answer the latency rules allow, in seconds (None: the spec's `x-latency-budget-s`).
    latency_budget_s: float | None
    # How long after an answer a webhook sent for that request may still be on its way: a test that must see
    # none arrive waits this long. The emulator sends them before it answers (0); a vendor's delivery time is
    # undocumented, so elsewhere it is our assumption, `WEBHOOK_GRACE_S`.
    webhook_grace_s: float

    def describe(self) -> str: ...

    def key(self, urls: Mapping[str, str]) -> str:
        """What history compares runs by: runs on the same key are runs on the same target."""
        ...

    def run_kind(self, drifts: Mapping[str, frozenset[str]]) -> RunKind: ...

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        """Where each spec of `vendor` would be sent (for `--dry-run`); nothing is started."""
        ...

    def preload(self, vendors: list[Vendor]) -> None:
        """Import what `connect` will need for these vendors and is not imported with the targets (an emulator's
        apps). The preflight calls it in the process that forks a run's workers, so they share it."""
        ...

    def starting(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[None]:
        """Begin, for the length of the block, what `connect` will need that is slow to come up (a served
        emulator's process), so that it comes up while pytest starts; `connect` inside the block uses it.
        Nothing is sent. A kind with nothing slow to start returns `contextlib.nullcontext()`."""
        ...

    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> AbstractContextManager[dict[str, Connection]]: ...


class ObservedTraffic:
    """Traffic someone else sent (a recording, an application through `imgconf proxy`), held to the specs.

    Nothing is ever sent to it: it names where the exchanges came from, so the outcome has a target like any
    run. A subclass says where (`origin`, `describe`, `key`, `run_kind`) and why nothing can be sent (`refusal`).
    """

    name: str
    reaches_loopback = False
    metered = False
    drifts_allowed = False
    operator_credentials = False
    paced = False
    thorough = False
    parallel = False
    callback: str | None = None
    latency_budget_s: float | None = None
    webhook_grace_s = WEBHOOK_GRACE_S
    refusal = "nothing can be sent to traffic that was observed"

    @property
    def origin(self) -> str:
        raise NotImplementedError

    def planned_urls(self, vendor: Vendor) -> dict[str, str]:
        return {name: self.origin for name in vendor.spec_files}

    def preload(self, vendors: list[Vendor]) -> None:
        return None  # nothing is connected to

    def starting(self, vendors: list[Vendor], settings: RunSettings) -> AbstractContextManager[None]:
        return nullcontext()

    @contextmanager
    def connect(
        self, vendors: list[Vendor], settings: RunSettings, recorder: Recorder
    ) -> Iterator[dict[str, Connection]]:
        raise UsageError(self.refusal)
        yield {}
