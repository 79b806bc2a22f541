"""What the suites and the runner know about a vendor, apart from its emulator.

A vendor is data: its spec files, how it authenticates, which environment
variables hold its credentials, what a live run must be careful about. The
suites import this (it is vendor knowledge); they never import the emulator.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import requests
from requests.structures import CaseInsensitiveDict

from imgconf import specs
from imgconf.specs import Operation, Rule, Spec
from imgconf.wire.pacer import RateLimit as RateLimit

if TYPE_CHECKING:
    from schemathesis import Case

Credentials = Mapping[str, str]


@dataclass(frozen=True)
class CredentialField:
    """One credential a live run needs, and the environment variable that holds it."""

    name: str
    env: str
    description: str = ""
    secret: bool = True
    optional: bool = False
    # A second key that a test uses on purpose (to be refused, locked or throttled), never the run's own: a
    # refusal of it is that test's rule, not the operator's account.
    spare: bool = False


class AuthScheme:
    """How credentials travel on a request. Subclasses cover header keys, form keys and signing.

    A scheme whose credentials depend on the final bytes (a signature) sets `at_send_time`: the contract
    tests then leave the case alone and authenticate each prepared request through `apply`.
    """

    at_send_time: bool = False

    def apply(self, request: requests.PreparedRequest, credentials: Credentials) -> None:
        """Authenticate a prepared request just before it is sent."""
        raise NotImplementedError

    def apply_to_case(self, case: Case, credentials: Credentials) -> None:
        """Put credentials on a schemathesis case, where its checks can see them (no-op for `at_send_time`)."""
        if not self.at_send_time:
            raise NotImplementedError

    def invalid(self, credentials: Credentials) -> dict[str, str]:
        """Well-formed credentials the vendor has never issued."""
        return {name: _lookalike(value) for name, value in credentials.items()}

    def schemathesis_config(self, credentials: Credentials, base_url: str) -> dict[str, dict[str, str]] | None:
        """Static `headers`/`parameters` tables with which plain `st run` can authenticate (selftest baseline);
        None when the scheme cannot be expressed that way."""
        return None


def _lookalike(value: str) -> str:
    """A random value with the shape of `value`, so that only its validity differs."""
    alphabet = (
        "0123456789abcdef"
        if all(c in "0123456789abcdef" for c in value.lower())
        else ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    )
    candidate = "".join(secrets.choice(alphabet) for _ in value) or "x"
    return candidate if candidate != value else _lookalike(value)


@dataclass(frozen=True)
class AccountRefusal:
    """A vendor's documented answer to a key whose account cannot be served, and what the operator can do."""

    status: int | None  # None: whichever HTTP status carries it
    phrase: str  # a phrase of its body
    remedy: str  # "top up its credits"


_PAGE_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title")


def is_web_page(body: bytes) -> bool:
    """Whether `body` is an HTML document, by how it begins (after a byte-order mark and blanks)."""
    start = body[:512].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    while start.startswith(b"<!--") and b"-->" in start:
        start = start.split(b"-->", 1)[1].lstrip()
    return start.startswith(_PAGE_START)


@dataclass(frozen=True)
class ApiKeyHeader(AuthScheme):
    """A static key in one request header, as the OpenAPI `apiKey`/`in: header` scheme says."""

    header: str
    credential: str = "api_key"

    def apply(self, request: requests.PreparedRequest, credentials: Credentials) -> None:
        request.headers[self.header] = credentials[self.credential]

    def apply_to_case(self, case: Case, credentials: Credentials) -> None:
        headers = CaseInsensitiveDict(case.headers or {})
        headers[self.header] = credentials[self.credential]
        case.headers = headers

    def schemathesis_config(self, credentials: Credentials, base_url: str) -> dict[str, dict[str, str]] | None:
        return {"headers": {self.header: credentials[self.credential]}}


@dataclass(frozen=True)
class Preflight:
    """A request whose answer tells an accepted credential from a refused one, and the refusal's statuses."""

    method: str
    path: str
    refused: frozenset[int]
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    data: Mapping[str, str] | None = None
    # The field of a JSON body that carries the status where the HTTP status may not (imagerecognize's
    # envelope, should the service answer its errors with HTTP 200): a refused status there is a refusal too.
    status_field: str | None = None

    def refusal(self, response: requests.Response) -> int | None:
        """The refused status the answer carries, in its HTTP status or its body's status field; else None."""
        if response.status_code in self.refused:
            return response.status_code
        if self.status_field is None:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        status = body.get(self.status_field) if isinstance(body, dict) else None
        return status if isinstance(status, int) and status in self.refused else None


@dataclass(frozen=True)
class CallbackProbe:
    """One request that makes the vendor download a URL: can the target reach the suite's callback address?

    Sent once per run, on a URL target given a callback address; if the image it names is never fetched,
    the rules that need the address are reported not checked instead of failing one by one.
    """

    method: str
    path: str
    field: str  # the request's URL field
    form: bool = False  # the URL goes in a form field; else in a JSON body
    # The vendor downloads the image before it answers (its answer holds the labels): an accepted answer with
    # nothing fetched is final. Else (an asynchronous job) the probe waits a few seconds for the download.
    fetches_before_answering: bool = False


@dataclass(frozen=True)
class Retirement:
    """The vendor's announced end of sale and end of service."""

    stops_selling: date | None
    offline: date
    source: str


@dataclass(frozen=True)
class Vendor:
    id: str
    title: str
    spec_files: tuple[str, ...]
    credentials: tuple[CredentialField, ...]
    auth: AuthScheme
    # Public image URLs a live vendor can download; overridable with IMGCONF_<ID>_IMAGE_URLS.
    image_urls: tuple[str, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()
    retirement: Retirement | None = None
    # Operations that change the account (partner users, overrides): skipped live unless allowed.
    mutating_operations: tuple[str, ...] = ()
    # Requests a live run may send by default (--budget and imgconf.toml override it). Small on purpose;
    # a vendor whose contract needs more (asynchronous jobs polled until done) says so here, and why.
    live_budget: int = 50
    # One cheap request a run on an operator's credential sends first: its documented refusal means the
    # credential was refused (credentials-rejected, exit 2), not that the vendor broke its contract.
    preflight: Preflight | None = None
    # The request that checks the callback address is reachable (None: the vendor takes no URL, or is
    # trusted to reach it).
    callback_probe: CallbackProbe | None = None
    # What the vendor's gateway answers a path it routes nowhere, where that is not a plain 404: its status
    # and a phrase of its body (a wrong target URL gets it on every request, the preflight included;
    # `not_the_api` tells it).
    unrouted: tuple[int, str] | None = None
    # The vendor's documented answers to a key whose account cannot be served (no credits or quota left, the
    # API not subscribed to): the operator's account to see to, not a contract the vendor broke.
    refusals: tuple[AccountRefusal, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def not_the_api(self, status: int | None, body: bytes) -> str | None:
        """How the answer says that this API is not what answered, named; else None.

        A 404 or the gateway's unrouted answer says there is no such path; a web page (an HTML document,
        not an error of the service: below 500, no 429) is what a web server, a parked domain or a
        single-page app's catch-all answers every path with. No vendor here answers a page: their bodies are
        JSON or nothing, even where imagerecognize may label JSON text/html, so the body is read, not the label.
        """
        if status == 404:
            return "404 Not Found"
        if self.unrouted is not None and status == self.unrouted[0] and self.unrouted[1].encode() in body:
            return f"{status} {self.unrouted[1]}"
        if status is not None and status < 500 and status != 429 and is_web_page(body):
            return f"a web page ({status})"
        return None

    def refused_account(self, status: int | None, body: bytes) -> AccountRefusal | None:
        """The documented refusal of the caller's account this answer is, if it is one."""
        if status is None:
            return None
        for refusal in self.refusals:
            if status == (refusal.status or status) and refusal.phrase.encode() in body:
                return refusal
        return None

    @cached_property
    def specs(self) -> tuple[Spec, ...]:
        return tuple(specs.load(specs.spec_path(name)) for name in self.spec_files)

    def spec_for(self, method: str, path: str) -> tuple[Spec, Operation] | None:
        for spec in self.specs:
            operation = spec.operation_for(method, path)
            if operation is not None:
                return spec, operation
        return None

    def rule(self, rule_id: str) -> Rule:
        for spec in self.specs:
            if rule_id in spec.rules:
                return spec.rules[rule_id]
        return self.specs[0].rule(rule_id)

    def rule_for_check(self, check: str, spec: Spec | None = None) -> Rule:
        return (spec or self.specs[0]).rule_for_check(check)

    @property
    def image_urls_env(self) -> str:
        return f"IMGCONF_{self.id.upper()}_IMAGE_URLS"

    def live_urls(self) -> dict[str, str]:
        """The documented server of each spec, keyed by spec file."""
        return {spec.path.name: spec.servers[0] for spec in self.specs if spec.servers}
