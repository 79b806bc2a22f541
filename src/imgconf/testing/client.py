"""What a suite holds to talk to one vendor: requests with chosen credentials, validated against the spec."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import pytest
import requests
from hypothesis import strategies as st

from imgconf import checks as vendor_checks
from imgconf.report import wording
from imgconf.targets import Connection
from imgconf.testing import contract, strategies
from imgconf.testing.context import active
from imgconf.testing.contract import RESPONSE_CHECKS
from imgconf.testing.imageserver import ImageServer
from imgconf.vendors.base import AuthScheme

DEFAULT_TIMEOUT = 60.0

Auth = str | Mapping[str, str] | None


class SchemeAuth(requests.auth.AuthBase):
    """requests' auth hook, applying a vendor scheme (a header, a form field, a signature) at send time."""

    def __init__(self, scheme: AuthScheme, credentials: Mapping[str, str]) -> None:
        self.scheme = scheme
        self.credentials = credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self.scheme.apply(request, self.credentials)
        return request


def tag(exc: BaseException, response: requests.Response) -> None:
    """Mark a failure with the exchange it judged, so its finding shows that exchange as evidence."""
    exchange = getattr(response, "imgconf_exchange", None)
    if exchange is not None and getattr(exc, "imgconf_exchange", None) is None:
        exc.imgconf_exchange = exchange  # type: ignore[attr-defined]


@contextmanager
def judging(response: requests.Response) -> Iterator[None]:
    """Any failure raised inside is about `response`: for assertions on answers a fixture obtained earlier."""
    try:
        yield
    except BaseException as exc:
        tag(exc, response)
        raise


class RunParts(Protocol):
    """What a client needs of its run: the image server, and a per-run memo for a vendor's own helpers."""

    @property
    def image_server(self) -> ImageServer: ...

    @property
    def memo(self) -> dict[str, Any]: ...

    def reaches_callback(self, connection: Connection) -> bool: ...


class ApiClient:
    def __init__(self, target: Connection, run: RunParts) -> None:
        self.target = target
        self.run = run
        self.vendor = target.vendor
        self.session = target.session

    @property
    def kind(self) -> str:
        return self.target.target.name

    def with_credentials(self, credentials: Mapping[str, str]) -> ApiClient:
        """A client for the same target and session (budget, recording, host guard) with other credentials."""
        return ApiClient(dataclasses.replace(self.target, credentials=dict(credentials)), self.run)

    @property
    def local(self) -> bool:
        """The run may drive the target as hard as the emulator (the emulator, or a `--thorough` URL target)."""
        return self.target.local

    @property
    def reaches_callback(self) -> bool:
        """The target can download from the suite's image server and call its webhook receiver (probed once)."""
        return self.run.reaches_callback(self.target)

    @property
    def thorough(self) -> bool:
        """Every rule the target can answer runs: account changes, rate limits provoked on purpose."""
        return self.target.target.thorough

    def needs_callback(self, what: str) -> None:
        """Skip, as not checked on this target, a test that needs the target to reach the callback address."""
        if not self.reaches_callback:
            pytest.skip(f"{wording.NOT_CHECKED_CALLBACK}: {what}")

    def role_lacking(self, response: requests.Response, role: Callable[[requests.Response], str | None]) -> str | None:
        """What the answer says the operator's key lacks (`role`: the vendor module's reading of an answer, its
        words for what is missing, or None): a key the README asks for and the operator did not give, never a
        finding of the vendor's. Always None on the emulator, whose keys are the suites' own: there such an answer
        is judged like any other."""
        return role(response) if self.target.target.operator_credentials else None

    def lacking_role(
        self, response: requests.Response, role: Callable[[requests.Response], str | None]
    ) -> requests.Response:
        """Skip, as not checked, a test whose answer says the operator's key lacks a role it needs (`role_lacking`)."""
        reason = self.role_lacking(response, role)
        if reason is not None:
            pytest.skip(f"{wording.NOT_CHECKED_CREDENTIAL}: {reason}")
        return response

    @property
    def credentials(self) -> Mapping[str, str]:
        return self.target.credentials

    def url(self, path: str) -> str:
        found = self.vendor.spec_for("POST", path) or self.vendor.spec_for("GET", path)
        base = self.target.url_for(found[0].path.name) if found else self.target.base_url
        return base + path

    def auth(self, auth: Auth) -> SchemeAuth | None:
        if auth is None or auth == "none":
            return None
        if auth == "valid":
            return SchemeAuth(self.vendor.auth, self.credentials)
        if auth == "invalid":
            return SchemeAuth(self.vendor.auth, self.vendor.auth.invalid(self.credentials))
        if isinstance(auth, Mapping):
            return SchemeAuth(self.vendor.auth, auth)
        raise ValueError(f"auth must be 'valid', 'invalid', 'none' or credentials, not {auth!r}")

    def request(self, method: str, path: str, *, auth: Auth = "valid", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        return self.session.request(method, self.url(path), auth=self.auth(auth), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    # -- images by URL -------------------------------------------------------------------------

    def publish(self, data: bytes, fmt: str = "jpeg") -> str:
        """A URL the target can download `data` from (the suite's image server, at the callback address)."""
        if not self.reaches_callback:
            raise RuntimeError("this target cannot download from this machine; use image_urls()")
        return self.run.image_server.publish(data, fmt)

    def missing_image_url(self) -> str:
        """A URL that leads nowhere the target can download from."""
        if self.reaches_callback:
            return self.run.image_server.missing()
        return "https://imgconf.invalid/missing.jpg"

    def image_urls(self, formats: tuple[str, ...] = ("jpeg", "png")) -> st.SearchStrategy[str]:
        """Usable image URLs: generated images where the target reaches the callback, else the configured ones."""
        if self.reaches_callback:
            return st.sampled_from(formats).flatmap(
                lambda fmt: strategies.image_bytes((fmt,)).map(lambda data: self.publish(data, fmt))
            )
        return st.sampled_from(self.target.image_urls)

    # -- conformance ----------------------------------------------------------------------------

    def _located(self, response: requests.Response) -> tuple[Any, Any, str]:
        request = response.request
        path = urlsplit(request.url or "").path
        found = self.vendor.spec_for(request.method or "GET", path)
        if found is None:
            raise AssertionError(f"{request.method} {path} is not an operation of {self.vendor.id}")
        return found[0], found[1], path

    def operation(self, response: requests.Response) -> Any:
        """The schemathesis operation a response answered."""
        spec, operation, _ = self._located(response)
        return contract.schema(self.vendor.id, spec.path.name)[operation.path][operation.method]

    def path_parameters(self, response: requests.Response) -> dict[str, str]:
        """The path parameters the request's URL filled into its operation's template."""
        _, operation, path = self._located(response)
        names = re.findall(r"\{([^}]+)\}", operation.path)
        match = operation.pattern.fullmatch(path)
        return {name: unquote(value) for name, value in zip(names, match.groups(), strict=True)} if match else {}

    def validate(self, response: requests.Response) -> requests.Response:
        """Hold a response to the spec (status, content type, headers, schema) and to the vendor's checks."""
        case = self.operation(response).Case(path_parameters=self.path_parameters(response))
        try:
            case.validate_response(response, checks=[*RESPONSE_CHECKS, *vendor_checks.checks_for(self.vendor.id)])
        except BaseException as exc:
            tag(exc, response)
            raise
        return response

    def call_and_validate(self, case: Any, role: Callable[[requests.Response], str | None] | None = None) -> Any:
        """Send a generated case through the guarded session and run every enabled check on the answer.

        `role`: the vendor module's reading of an answer that says the key lacks a role (`lacking_role`), looked
        at before the checks, which would take the documented refusal of a positive case for a rejection."""
        spec = self.vendor.spec_for(case.method, case.formatted_path)
        base = self.target.url_for(spec[0].path.name) if spec else self.target.base_url
        extra: dict[str, Any] = {"auth": self.auth("valid")} if self.vendor.auth.at_send_time else {}
        response = case.call(base_url=base, session=self.session, timeout=DEFAULT_TIMEOUT, **extra)
        if role is not None:
            self.lacking_role(response, role)
        try:
            case.validate_response(response, additional_checks=vendor_checks.checks_for(self.vendor.id))
        except BaseException as exc:
            tag(exc, response)
            raise
        return response


def current_client(vendor: str) -> ApiClient:
    """The vendor's client, for code schemathesis calls on a test's behalf (hooks), where no fixture reaches."""
    state = active()
    return ApiClient(state.connection(vendor), state)
