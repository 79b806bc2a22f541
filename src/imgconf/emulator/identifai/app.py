"""identifAI, emulated: a Laravel API with asynchronous jobs, a cache, webhooks, overrides, credits and throttling.

The order of the checks is Laravel's: authentication (401), the partner gate
(403), throttling (429), then the body, read with a bound while it streams in,
then validation (400, the first error as {"error": ...}), credits, and finally
the job. Every answer that carries a result goes through `present`, the one
place where drifts that change results are applied.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from imgconf import images
from imgconf.emulator import decoding
from imgconf.emulator.bodies import BodyTooLarge, Malformed, Spooled, inspect, read_limited, stream_form, with_body
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.fetch import DownloadFailed, UrlFetcher
from imgconf.emulator.identifai import analysis, delivery, drifts, forms, media
from imgconf.emulator.identifai.limits import RateLimiter
from imgconf.emulator.identifai.middleware import RequestLog
from imgconf.emulator.identifai.partner import PartnerRoutes
from imgconf.emulator.identifai.store import (
    PENDING,
    Account,
    Job,
    Lifecycle,
    Store,
    seed_users,
)
from imgconf.wire.negotiation import wants_json

# Which account each credential field of the module's defaults (or of --credential) opens.
ROLES: dict[str, dict[str, bool | float]] = {
    "api_key": {"partner": True},
    "user_api_key": {"partner": False},
    "spent_api_key": {"partner": False, "credits": 0.0},
    "throttled_api_key": {"partner": False, "throttled": True},
}
DEFAULT_CREDITS = 1_000_000.0
FORM_SLACK = 1024 * 1024  # room for the other fields of a multipart body around a file at its limit
SMALL_BODY = 1024 * 1024  # URL submissions, overrides and partner forms carry no file
URL_FETCH_LIMITS = {"image": media.IMAGE_LIMIT, "audio": media.AUDIO_LIMIT, "video": 256 * media.MB}
LABELS = ("human", "artificial")
UPLOAD_FIELD = {"image": "image", "video": "video", "audio": "audio"}

UNSUPPORTED = "The uploaded file format is not supported."
TOO_LARGE = "The uploaded file exceeds the maximum allowed size of 50Mb."
DOWNLOAD_FAILED = "The file could not be downloaded."
NO_CREDITS = "Not enough credits to perform the operation."

# Public sample files the suites' live runs use; the emulator answers them with its own bytes, offline.
FIXTURE_IMAGE_URL = "https://www.w3schools.com/html/pic_trulli.jpg"
FIXTURE_VIDEO_URL = "https://www.w3schools.com/html/mov_bbb.mp4"
FIXTURE_AUDIO_URL = "https://www.w3schools.com/html/horse.mp3"


@dataclass(frozen=True)
class Submission:
    """One submission. A video upload stays in its spooled file (`data` None): the analysis needs only its
    digest and first bytes, so a 5 GB upload never enters memory."""

    data: bytes | None
    file: Spooled
    name: str
    ref_id: str | None
    webhook_url: str | None
    no_cache: bool
    options: analysis.Options


def fixtures() -> dict[str, bytes]:
    return {
        FIXTURE_IMAGE_URL: images.render(600, 400, seed=1601, fmt="jpeg"),
        FIXTURE_VIDEO_URL: media.stub_mp4(seed=1602),
        FIXTURE_AUDIO_URL: media.stub_mp3(seed=1603),
    }


class IdentifaiEmulator:
    def __init__(self, config: EmulatorConfig, default_credentials: tuple[dict[str, str], ...]) -> None:
        self.config = config
        self.store = Store(
            clock=config.clock,
            lifecycle=Lifecycle(
                polls_until_done=int(config.option("polls_until_done", 1)),
                seconds_until_done=float(config.option("seconds_until_done", 2.0)),
                never_done=config.drifting(drifts.NEVER_DONE),
            ),
            uuid_identifiers=config.drifting(drifts.IDENTIFIER_UUID),
        )
        credits = float(config.option("credits", DEFAULT_CREDITS))
        for credentials in (*default_credentials, *config.credentials):
            for field, key in credentials.items():
                role = ROLES.get(field)
                if role is not None and key not in self.store.accounts:
                    self.store.accounts[key] = Account(
                        id=len(self.store.accounts) + 1,
                        role=field,
                        partner=bool(role.get("partner")),
                        credits=float(role.get("credits", credits)),
                        throttled=bool(role.get("throttled", False)),
                    )
        self.anonymous = Account(id=0, role="anonymous", partner=True, credits=credits)
        self.store.users = seed_users()
        self.rate_limits = bool(config.option("rate_limits", True))
        self.limiter = RateLimiter(config.clock)
        self.fetchers = {kind: UrlFetcher(fixtures(), max_bytes=limit) for kind, limit in URL_FETCH_LIMITS.items()}
        self.heatmaps: dict[str, bytes] = {}
        self.awaiting_webhook: set[str] = set()

    # -- the gate --------------------------------------------------------------------------------

    def gate(self, request: Request, partner: bool = False) -> Account | Response:
        """Authentication, the partner gate and throttling, in Laravel's middleware order."""
        key = request.headers.get("x-api-key")
        account = self.store.account(key)
        if account is None:
            if not self.config.drifting(drifts.AUTH_OFF):
                return self.json({"error": "Unauthorized"}, 401)
            account = self.anonymous
        if partner and not account.partner:
            return self.json({"error": "Forbidden"}, 403)
        if self.rate_limits or account.throttled:
            retry = self.limiter.admit(str(account.id), request.method)
            if retry is not None:
                return self.throttled(retry)
        self.sweep()
        return account

    def throttled(self, retry: int) -> Response:
        headers = {"Retry-After": str(retry)}
        if self.config.drifting(drifts.BARE_429):
            return Response(b"", 429, headers=headers, media_type="text/html")
        return JSONResponse({"message": "Too Many Attempts."}, 429, headers=headers)

    # -- submissions -------------------------------------------------------------------------------

    def submit_endpoint(self, kind: str, by_url: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.submit(request, kind, by_url)

        return endpoint

    async def submit(self, request: Request, kind: str, by_url: bool) -> Response:
        account = self.gate(request)
        if isinstance(account, Response):
            return account
        try:
            form = await self.read_form(request, kind, by_url)
        except BodyTooLarge:
            return self.invalid(TOO_LARGE)
        try:
            submission = await self.parse_submission(form, kind, by_url)
        except forms.Invalid as exc:
            return self.invalid(str(exc))
        except DownloadFailed:
            return self.json({"error": DOWNLOAD_FAILED}, 400)
        finally:
            await form.close()
        return await self.start(request, account, kind, submission)

    async def read_form(self, request: Request, kind: str, by_url: bool) -> FormData:
        """The submitted fields, read with a bound while the body streams in (never an unbounded buffer).

        Uploads are parsed as they stream, their file part spooled to disk by the multipart parser (memory:
        a chunk per request, plus the file itself once for an image or a clip, never for a video). URL
        submissions and JSON bodies carry no file and are read whole, up to 1 MB. A body that does not parse
        counts as an empty form.
        """
        is_json = request.headers.get("content-type", "").startswith("application/json")
        if by_url or is_json:
            limit = SMALL_BODY if by_url else media.limit_for(kind) + FORM_SLACK
            return await self.parse_body(request, await read_limited(request, limit))
        try:
            return await stream_form(request, media.limit_for(kind) + FORM_SLACK)
        except Malformed:
            return FormData()

    @staticmethod
    async def parse_body(request: Request, body: bytes) -> FormData:
        """A JSON or form body (Laravel merges both into its input); one that does not parse is an empty form."""
        if request.headers.get("content-type", "").startswith("application/json"):
            return forms.json_form(body)
        try:
            return await with_body(request, body).form()
        except (MultiPartException, HTTPException, AssertionError, ValueError, KeyError):
            return FormData()

    async def parse_submission(self, form: FormData, kind: str, by_url: bool) -> Submission:
        data: bytes | None = None
        spooled: Spooled | None = None
        url = ""
        if by_url:
            given = forms.field(form, "file_url")
            if given is None:
                raise forms.Invalid("The file_url field is required.")
            url = given
            if not forms.is_url(url):
                raise forms.Invalid("The file_url field must be a valid URL.")
            name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
        else:
            field = UPLOAD_FIELD[kind]
            part = form.get(field)
            if part is None or (isinstance(part, str) and not part.strip()):
                raise forms.Invalid(f"The {field} field is required.")
            if not isinstance(part, UploadFile):
                raise forms.Invalid(f"The {field} field must be a file.")
            # A video is never read whole, nor is a file over its kind's limit (refused below on its size):
            # a 50 MB upload read only to be refused held 50 MB for nothing.
            if kind == "video" or (part.size is not None and part.size > media.limit_for(kind)):
                spooled = await inspect(part)
            else:
                data = await part.read()
                spooled = Spooled.of(data)
            name = part.filename or field
        options, extra = forms.options(form, kind)
        if spooled is None:
            data = await self.fetchers[kind].fetch(url)
            spooled = Spooled.of(data)
        if not media.accepts(kind, media.sniff(spooled.head)):
            raise forms.Invalid(UNSUPPORTED)
        if spooled.size > media.limit_for(kind):
            raise forms.Invalid(TOO_LARGE)
        return Submission(data, spooled, name, extra["ref_id"], extra["webhook_url"], extra["no_cache"], options)

    async def start(self, request: Request, account: Account, kind: str, submission: Submission) -> Response:
        digest = submission.file.sha256
        key = self.store.cache_key(account, kind, digest, submission.options)
        cached = self.store.cached(key)
        if cached is not None and not submission.no_cache:
            if self.config.drifting(drifts.WEBHOOK_CACHED) and delivery.deliverable(submission.webhook_url):
                await self.watch(cached, submission.webhook_url)
            return self.submitted(request, cached.identifier)
        cost = submission.options.frames if kind == "video" else 1
        if not self.store.charge(account, cost):
            return self.json({"error": NO_CREDITS}, 400)
        result, size = await self.analyse(kind, submission, digest)
        job = Job(
            identifier=self.store.new_identifier(key),
            kind=kind,
            owner=account.id,
            hash=digest,
            name=submission.name,
            ref_id=submission.ref_id,
            options=submission.options,
            created=self.config.clock(),
            analysis=result,
            size=size,
        )
        self.store.add(key, job)
        if delivery.deliverable(submission.webhook_url):
            await self.watch(job, submission.webhook_url)
        return self.submitted(request, job.identifier)

    @staticmethod
    async def analyse(
        kind: str, submission: Submission, digest: str
    ) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
        if kind == "image":
            try:
                decoded = await decoding.decode(submission.data or b"")
            except images.NotAnImage:
                return None, None
            return analysis.image_result(digest, submission.options, decoded.width, decoded.height), (
                decoded.width,
                decoded.height,
            )
        if kind == "video":
            return analysis.video_result(digest, submission.options), None
        return analysis.audio_result(digest, media.clip_info(submission.data or b"").seconds), None

    def submitted(self, request: Request, identifier: str) -> Response:
        if self.config.drifting(drifts.TEXT_IGNORED) or wants_json(request.headers.get("accept")):
            return self.json({"identifier": identifier}, 200)
        return PlainTextResponse(identifier, 200)

    # -- the lifecycle and webhooks ------------------------------------------------------------------

    async def watch(self, job: Job, url: str | None) -> None:
        """Deliver the job's result to `url` when it finishes; one already finished, before the answer.

        Every webhook the emulator sends in answer to a request has arrived by the time the request's answer
        does (as on a read that finishes a job): a suite waiting to see that none comes needs no grace on an
        emulator (`Target.webhook_grace_s`), and a drift that sends one is seen at once, whatever the load.
        """
        if job.finished:
            await run_in_threadpool(delivery.post, url or "", self.present(job))
            return
        job.webhook_url = url
        self.awaiting_webhook.add(job.identifier)
        elapsed = self.config.clock() - job.created
        delay = max(0.0, self.store.lifecycle.seconds_until_done - elapsed) + 0.05
        timer = threading.Timer(delay, self.sweep)
        timer.daemon = True
        timer.start()

    def sweep(self) -> None:
        """Finish the watched jobs that are due by time, and call their webhooks."""
        if not self.awaiting_webhook:
            return
        for job in self.store.sweep():
            self.finished(job, later=True)

    def finished(self, job: Job, later: bool) -> Awaitable[None] | None:
        self.awaiting_webhook.discard(job.identifier)
        if not job.webhook_url:
            return None
        payload = self.present(job)
        if later:
            delivery.post_later(job.webhook_url, payload)
            return None
        return run_in_threadpool(delivery.post, job.webhook_url, payload)

    async def read(self, job: Job) -> None:
        """A read of the job: it may finish it, and then its webhook is delivered before the answer."""
        if self.store.observe(job, read=True):
            pending = self.finished(job, later=False)
            if pending is not None:
                await pending

    def present(self, job: Job, list_item: bool = False) -> dict[str, Any]:
        body = self.store.render(job, list_item=list_item)
        if self.config.drifting(drifts.STATUS_PROCESSING) and body["status"] == PENDING:
            body["status"] = "processing"
        if self.config.drifting(drifts.VERDICT_RENAMED) and body["status"] == "done" and "verdict" in body:
            body["main_verdict"] = body.pop("verdict")
        if self.config.drifting(drifts.SCORES_PERCENT):
            body = _percentages(body)
        return body

    # -- results -----------------------------------------------------------------------------------

    def result_endpoint(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            account = self.gate(request)
            if isinstance(account, Response):
                return account
            job = self.store.find(request.path_params["identifier"], account, kind)
            if job is None:
                return self.not_found()
            await self.read(job)
            return self.json(self.present(job), 200)

        return endpoint

    def list_endpoint(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            account = self.gate(request)
            if isinstance(account, Response):
                return account
            wanted = request.query_params.getlist("identifiers[]")
            if not wanted:
                return self.invalid("The identifiers field is required.")
            if len(wanted) > 100 and not self.config.drifting(drifts.LIST_LIMIT_OFF):
                return self.invalid("The identifiers field must not have more than 100 items.")
            found = []
            for identifier in dict.fromkeys(wanted):
                job = self.store.find(identifier, account, kind)
                if job is not None:
                    await self.read(job)
                    found.append(self.present(job, list_item=True))
            return self.json(found, 200)

        return endpoint

    async def heatmap(self, request: Request) -> Response:
        account = self.gate(request)
        if isinstance(account, Response):
            return account
        job = self.store.find(request.path_params["identifier"], account, "image")
        if job is None or job.size is None or not job.options.with_heatmap:
            return self.not_found()
        await self.read(job)
        if self.store.status(job) != "done":
            return self.not_found()
        if job.identifier not in self.heatmaps:
            self.heatmaps[job.identifier] = analysis.heatmap(job.hash, *job.size)
        return Response(self.heatmaps[job.identifier], 200, media_type="image/png")

    def override_endpoint(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            account = self.gate(request)
            if isinstance(account, Response):
                return account
            try:
                form = await self.small_form(request)
            except BodyTooLarge:
                return self.invalid("The classification field is required.")
            label = forms.field(form, "classification")
            if label is None:
                return self.invalid("The classification field is required.")
            if label not in LABELS:
                return self.invalid("The selected classification is invalid.")
            digest = request.path_params["hash"]
            if not self.store.owns_hash(account, kind, digest):
                return self.not_found()
            self.store.override(account, kind, digest, label)
            return self.json({"classification": label, "type": kind, "hash": digest}, 200)

        return endpoint

    async def small_form(self, request: Request) -> FormData:
        """A body without files (overrides, partner forms), read with a bound."""
        return await self.parse_body(request, await read_limited(request, SMALL_BODY))

    async def unknown_route(self, request: Request) -> Response:
        return self.not_found()

    async def method_not_allowed(self, request: Request, exc: Exception) -> Response:
        """A method no route takes (QUERY, say): Laravel's 405 in the API's JSON error shape, not Starlette's text
        (x-assumption identifai-method-not-allowed)."""
        headers = getattr(exc, "headers", None) or {}
        return JSONResponse({"error": "Method Not Allowed"}, 405, headers=dict(headers))

    # -- answers -----------------------------------------------------------------------------------

    def invalid(self, message: str) -> Response:
        """A validation failure: 400 with the first error (Laravel's default 422 under a drift)."""
        return self.json({"error": message}, 422 if self.config.drifting(drifts.VALIDATION_422) else 400)

    def not_found(self) -> Response:
        return self.json({"error": "Not Found"}, 404)

    @staticmethod
    def json(body: Any, status: int) -> Response:
        return JSONResponse(body, status)


def _percentages(node: Any) -> Any:
    """The scores-as-percentages drift: every score and confidence times 100."""
    if isinstance(node, dict):
        return {
            key: round(value * 100, 4)
            if key in ("score", "confidence") and isinstance(value, int | float) and not isinstance(value, bool)
            else _percentages(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_percentages(item) for item in node]
    return node


def build(config: EmulatorConfig, default_credentials: tuple[dict[str, str], ...]) -> tuple[ASGIApp, IdentifaiEmulator]:
    emulator = IdentifaiEmulator(config, default_credentials)
    submit = emulator.submit_endpoint
    partner = PartnerRoutes(emulator)
    routes = [
        Route("/api/classification", submit("image", False), methods=["POST"]),
        Route("/api/image_fromurl", submit("image", True), methods=["POST"]),
        Route("/api/classification_video", submit("video", False), methods=["POST"]),
        Route("/api/video_fromurl", submit("video", True), methods=["POST"]),
        Route("/api/classification_audio", submit("audio", False), methods=["POST"]),
        Route("/api/audio_fromurl", submit("audio", True), methods=["POST"]),
        Route("/api/classification/heatmap/{identifier}", emulator.heatmap, methods=["GET"]),
        Route("/api/classification_image/heatmap/{identifier}", emulator.heatmap, methods=["GET"]),
        Route("/api/classification/{hash}/override", emulator.override_endpoint("image"), methods=["POST"]),
        Route("/api/classification_video/{hash}/override", emulator.override_endpoint("video"), methods=["POST"]),
        Route("/api/classification/{identifier}", emulator.result_endpoint("image"), methods=["GET"]),
        Route("/api/classification_image/{identifier}", emulator.result_endpoint("image"), methods=["GET"]),
        Route("/api/classification_video/{identifier}", emulator.result_endpoint("video"), methods=["GET"]),
        Route("/api/classification_audio/{identifier}", emulator.result_endpoint("audio"), methods=["GET"]),
        Route("/api/classifications", emulator.list_endpoint("image"), methods=["GET"]),
        Route("/api/classifications_image", emulator.list_endpoint("image"), methods=["GET"]),
        Route("/api/classifications_video", emulator.list_endpoint("video"), methods=["GET"]),
        Route("/api/classifications_audio", emulator.list_endpoint("audio"), methods=["GET"]),
        Route("/api/partner/users", partner.users, methods=["GET"]),
        Route("/api/partner/user", partner.save_user, methods=["POST"]),
        Route("/api/partner/send_creation_email", partner.send_creation_email, methods=["POST"]),
        Route("/api/partner/pricings", partner.pricings, methods=["GET"]),
        Route("/{path:path}", emulator.unknown_route, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app: ASGIApp = Starlette(routes=routes, exception_handlers={405: emulator.method_not_allowed})
    log = config.option("request_log", None)
    if log:
        app = RequestLog(app, str(log), config.clock, emulator.store)
    return app, emulator
