"""identifAI's state: accounts and their credits, jobs and their lifecycle, the cache, overrides, partner users.

A job is `new` until it has been read `polls_until_done` times or
`seconds_until_done` have passed (both options), then final (`done`, or
`errored` for a file that did not decode). Completion happens once, at the
first moment it is observed (a read, or the sweep a timer runs for jobs with
a webhook), and that moment is when the webhook fires. Everything is guarded
by one lock, because reads come from the event loop and sweeps from timers.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from imgconf.emulator.identifai.analysis import API_VERSION, Options

PENDING, DONE, ERRORED = "new", "done", "errored"
RESULT_URL = "https://app.identifai.net/classifications/{kind}/{identifier}"

PRICINGS = ({"id": 1, "name": "TestB", "sku": "testB"}, {"id": 2, "name": "TestAC", "sku": "testAC"})


@dataclass
class Account:
    """One API key's owner. Partners may use the partner routes; `throttled` accounts are always rate limited."""

    id: int
    role: str
    partner: bool
    credits: float
    throttled: bool = False


@dataclass
class Job:
    identifier: str
    kind: str  # image | video | audio
    owner: int
    hash: str
    name: str
    ref_id: str | None
    options: Options
    created: float
    analysis: dict[str, Any] | None  # None: the file did not decode, the job ends errored
    webhook_url: str | None = None
    size: tuple[int, int] | None = None  # an image's pixels, for its heatmap
    reads: int = 0
    finished: bool = False

    @property
    def final_status(self) -> str:
        return DONE if self.analysis is not None else ERRORED


@dataclass
class Lifecycle:
    polls_until_done: int = 1
    seconds_until_done: float = 2.0
    never_done: bool = False


@dataclass
class Store:
    clock: Callable[[], float]
    lifecycle: Lifecycle
    accounts: dict[str, Account] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    cache: dict[tuple[Any, ...], str] = field(default_factory=dict)
    generations: dict[tuple[Any, ...], int] = field(default_factory=dict)
    overrides: dict[tuple[int, str, str], str] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    uuid_identifiers: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self.lock:
            yield

    # -- accounts -------------------------------------------------------------------------------------

    def account(self, key: str | None) -> Account | None:
        return self.accounts.get(key) if key else None

    def charge(self, account: Account, cost: float) -> bool:
        with self.lock:
            if account.credits < cost:
                return False
            account.credits -= cost
            return True

    # -- submissions ----------------------------------------------------------------------------------

    def cache_key(self, account: Account, kind: str, digest: str, options: Options) -> tuple[Any, ...]:
        """What makes two submissions the same one (x-assumption identifai-cache-key): iframe is iframes."""
        method = "iframes" if options.key_frames_method == "iframe" else options.key_frames_method
        return (account.id, kind, digest, replace(options, key_frames_method=method))

    def cached(self, key: tuple[Any, ...]) -> Job | None:
        with self.lock:
            identifier = self.cache.get(key)
            return self.jobs.get(identifier) if identifier else None

    def new_identifier(self, key: tuple[Any, ...]) -> str:
        with self.lock:
            generation = self.generations.get(key, 0)
            self.generations[key] = generation + 1
        digest = hashlib.sha256(repr((*key, generation)).encode()).hexdigest()
        return str(uuid.UUID(digest[:32])) if self.uuid_identifiers else digest

    def add(self, key: tuple[Any, ...], job: Job) -> None:
        with self.lock:
            self.jobs[job.identifier] = job
            if job.analysis is not None:
                self.cache[key] = job.identifier

    def find(self, identifier: str, account: Account, kind: str) -> Job | None:
        job = self.jobs.get(identifier)
        if job is None or job.owner != account.id or job.kind != kind:
            return None
        return job

    # -- the lifecycle --------------------------------------------------------------------------------

    def due(self, job: Job) -> bool:
        if self.lifecycle.never_done:
            return False
        elapsed = self.clock() - job.created
        return job.reads > self.lifecycle.polls_until_done or elapsed >= self.lifecycle.seconds_until_done

    def observe(self, job: Job, read: bool) -> bool:
        """Count a read and settle the job if it is due; True when this call finished it."""
        with self.lock:
            if read:
                job.reads += 1
            if job.finished or not self.due(job):
                return False
            job.finished = True
            return True

    def sweep(self) -> list[Job]:
        """Finish every job that is due by time; the caller delivers their webhooks."""
        with self.lock:
            return [job for job in self.jobs.values() if not job.finished and self.observe(job, read=False)]

    def status(self, job: Job) -> str:
        return job.final_status if job.finished else PENDING

    # -- overrides ----------------------------------------------------------------------------------

    def owns_hash(self, account: Account, kind: str, digest: str) -> bool:
        return any(job.owner == account.id and job.kind == kind and job.hash == digest for job in self.jobs.values())

    def override(self, account: Account, kind: str, digest: str, label: str) -> None:
        with self.lock:
            self.overrides[(account.id, kind, digest)] = label

    def forced(self, job: Job) -> str | None:
        return self.overrides.get((job.owner, job.kind, job.hash))

    # -- rendering -----------------------------------------------------------------------------------

    def render(self, job: Job, *, list_item: bool = False) -> dict[str, Any]:
        """The result as GET answers it (the list answers put speech segments under details.clips)."""
        status = self.status(job)
        body: dict[str, Any] = {
            "hash": job.hash,
            "identifier": job.identifier,
            "api_version": API_VERSION if status != PENDING else None,
            "status": status,
            "errors": "The file could not be processed." if status == ERRORED else None,
            "name": job.name,
            "ref_id": job.ref_id,
            "result_url": RESULT_URL.format(kind=job.kind, identifier=job.identifier),
        }
        analysis = job.analysis if status == DONE else None
        if job.kind == "image":
            body.update({"c2pa": None, "has_heatmap": False})
        if analysis is None:
            empty: Any = {"images": [], "audios": []} if job.kind == "video" else []
            body.update({"verdict": None, "verdicts": [], "results": empty})
            if job.kind == "image":
                body["details"] = []
            if job.kind == "audio":
                body.update({"details": {"clips": []}} if list_item else {"chunk_details": []})
        else:
            extra = dict(analysis)
            if job.kind == "audio":
                chunks = extra.pop("chunk_details")
                extra.update({"details": {"clips": chunks}} if list_item else {"chunk_details": chunks})
            body.update(extra)
        body["force_classification"] = self.forced(job)
        return body

    # -- partner users -------------------------------------------------------------------------------

    def timestamp(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def partner_record() -> dict[str, Any]:
    """The partnership every partner key of the emulator belongs to (the documented example's partner)."""
    return {
        "id": 221,
        "name": "Partner",
        "email": "partner@identifai.emulator",
        "email_verified_at": "2025-03-03T11:22:49.000000Z",
        "address": None,
        "zip": None,
        "city": None,
        "country": None,
        "phone": None,
        "contact": None,
        "vat": None,
        "created_at": "2025-03-03T11:22:49.000000Z",
        "updated_at": "2025-03-03T13:27:06.000000Z",
        "balance": 0,
        "heuristic": "Average",
        "readonly": False,
        "pricing": dict(PRICINGS[1]),
        "partner": None,
    }


def seed_users() -> dict[int, dict[str, Any]]:
    """The partnership's first user, as the documented example shows it."""
    user = {
        **partner_record(),
        "id": 222,
        "name": "User",
        "email": "user@identifai.emulator",
        "email_verified_at": "2025-03-03T13:28:03.000000Z",
        "created_at": "2025-03-03T13:28:03.000000Z",
        "updated_at": "2025-03-12T09:32:43.000000Z",
        "heuristic": "AverageExcludeObsolete",
        "readonly": None,
        "pricing": dict(PRICINGS[0]),
        "partner": partner_record(),
    }
    return {222: user}
