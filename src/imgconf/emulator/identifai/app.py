"""identifAI, emulated: a Laravel API with asynchronous jobs, a cache, webhooks, overrides, credits and throttling.

The order of the checks is Laravel's: authentication (401), the partner gate
(403), throttling (429), then the body, read with a bound while it streams in,
then validation (400, the first error as {"error": ...}), credits, and finally
the job. Every answer that carries a result goes through `present`, the one
place where drifts that change results are applied.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from imgconf import images
from imgconf.emulator.common import BodyTooLarge, DownloadFailed, SlowEveryNth, UrlFetcher, read_limited, with_body
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.identifai import analysis, delivery, drifts, media
from imgconf.emulator.identifai.limits import RateLimiter
from imgconf.emulator.identifai.store import (
    PENDING,
    PRICINGS,
    Account,
    Job,
    Lifecycle,
    Store,
    partner_record,
    seed_users,
)

# Which account each credential field of the module's defaults (or of --credential) opens.
ROLES = {
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
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
UPLOAD_FIELD = {"image": "image", "video": "video", "audio": "audio"}
FRAMES = (5, 10, 30)
KEY_FRAME_METHODS = ("iframes", "iframe", "flow", "color")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

UNSUPPORTED = "The uploaded file format is not supported."
TOO_LARGE = "The uploaded file exceeds the maximum allowed size of 50Mb."
DOWNLOAD_FAILED = "The file could not be downloaded."
NO_CREDITS = "Not enough credits to perform the operation."

# Public sample files the suites' live runs use; the emulator answers them with its own bytes, offline.
FIXTURE_IMAGE_URL = "https://www.w3schools.com/html/pic_trulli.jpg"
FIXTURE_VIDEO_URL = "https://www.w3schools.com/html/mov_bbb.mp4"
FIXTURE_AUDIO_URL = "https://www.w3schools.com/html/horse.mp3"


class Invalid(Exception):
    """A validation failure: the message is the first error, as the API reports it."""


@dataclass(frozen=True)
class Submission:
    data: bytes
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
        except Invalid as exc:
            return self.invalid(str(exc))
        except DownloadFailed:
            return self.json({"error": DOWNLOAD_FAILED}, 400)
        finally:
            await form.close()
        return self.start(request, account, kind, submission)

    async def read_form(self, request: Request, kind: str, by_url: bool) -> FormData:
        """The submitted fields, read with a bound while the body streams in (never an unbounded buffer).

        Images and speech (50 MB) are read into memory first; videos (5 GB) are parsed as they stream, their
        file spooled to disk by the multipart parser. A body that does not parse counts as an empty form.
        """
        if kind == "video" and not by_url:
            return await self.stream_form(request, media.VIDEO_LIMIT + FORM_SLACK)
        limit = SMALL_BODY if by_url else media.limit_for(kind) + FORM_SLACK
        body = await read_limited(request, limit)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                document = json.loads(body or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError):
                return FormData()
            return FormData([(k, _text(v)) for k, v in document.items()] if isinstance(document, dict) else [])
        try:
            return await with_body(request, body).form()
        except (MultiPartException, HTTPException, AssertionError, ValueError):
            return FormData()

    async def stream_form(self, request: Request, limit: int) -> FormData:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return FormData()

        async def bounded() -> Any:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                yield chunk

        try:
            return await MultiPartParser(request.headers, bounded()).parse()
        except (MultiPartException, HTTPException, ValueError):
            return FormData()

    async def parse_submission(self, form: FormData, kind: str, by_url: bool) -> Submission:
        if by_url:
            url = _field(form, "file_url")
            if url is None:
                raise Invalid("The file_url field is required.")
            if not _is_url(url):
                raise Invalid("The file_url field must be a valid URL.")
            data = None
            name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
        else:
            field = UPLOAD_FIELD[kind]
            part = form.get(field)
            if part is None or (isinstance(part, str) and not part.strip()):
                raise Invalid(f"The {field} field is required.")
            if not isinstance(part, UploadFile):
                raise Invalid(f"The {field} field must be a file.")
            data = await part.read()
            name = part.filename or field
        options, extra = _options(form, kind)
        if data is None:
            data = await self.fetchers[kind].fetch(url)
        if not media.accepts(kind, media.sniff(data)):
            raise Invalid(UNSUPPORTED)
        if len(data) > media.limit_for(kind):
            raise Invalid(TOO_LARGE)
        return Submission(data, name, extra["ref_id"], extra["webhook_url"], extra["no_cache"], options)

    def start(self, request: Request, account: Account, kind: str, submission: Submission) -> Response:
        digest = analysis.digest(submission.data)
        key = self.store.cache_key(account, kind, digest, submission.options)
        cached = self.store.cached(key)
        if cached is not None and not submission.no_cache:
            if self.config.drifting(drifts.WEBHOOK_CACHED) and delivery.deliverable(submission.webhook_url):
                self.watch(cached, submission.webhook_url)
            return self.submitted(request, cached.identifier)
        cost = submission.options.frames if kind == "video" else 1
        if not self.store.charge(account, cost):
            return self.json({"error": NO_CREDITS}, 400)
        result, size = self.analyse(kind, submission, digest)
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
            self.watch(job, submission.webhook_url)
        return self.submitted(request, job.identifier)

    @staticmethod
    def analyse(kind: str, submission: Submission, digest: str) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
        if kind == "image":
            try:
                decoded = images.decode(submission.data)
            except images.NotAnImage:
                return None, None
            return analysis.image_result(digest, submission.options, decoded.width, decoded.height), (
                decoded.width,
                decoded.height,
            )
        if kind == "video":
            return analysis.video_result(digest, submission.options), None
        return analysis.audio_result(digest, media.clip_info(submission.data).seconds), None

    def submitted(self, request: Request, identifier: str) -> Response:
        if self.config.drifting(drifts.TEXT_IGNORED) or _wants_json(request.headers.get("accept")):
            return self.json({"identifier": identifier}, 200)
        return PlainTextResponse(identifier, 200)

    # -- the lifecycle and webhooks ------------------------------------------------------------------

    def watch(self, job: Job, url: str | None) -> None:
        """Deliver the job's result to `url` when it finishes (at once if it has)."""
        if job.finished:
            delivery.post_later(url or "", self.present(job))
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
            label = _field(form, "classification")
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
        """A body without files (JSON or form), read with a bound: Laravel merges both into its input."""
        body = await read_limited(request, SMALL_BODY)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                document = json.loads(body or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError):
                return FormData()
            if not isinstance(document, dict):
                return FormData()
            return FormData([(key, _text(value)) for key, value in document.items() if value is not None])
        try:
            return await with_body(request, body).form()
        except (MultiPartException, HTTPException, AssertionError, ValueError):
            return FormData()

    # -- partner routes ----------------------------------------------------------------------------

    async def partner_users(self, request: Request) -> Response:
        account = self.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        query = request.query_params
        try:
            pricing_id = _integer(query.get("pricing_id"), "pricing_id")
            per_page = _integer(query.get("per_page"), "per_page", minimum=1)
            page = _integer(query.get("page"), "page", minimum=1) or 1
            direction = query.get("direction") or "asc"
            if direction not in ("asc", "desc"):
                raise Invalid("The selected direction is invalid.")
        except Invalid as exc:
            return self.invalid(str(exc))
        users = list(self.store.users.values())
        search = (query.get("search") or "").strip().lower()
        if search:
            users = [user for user in users if search in user["name"].lower() or search in user["email"].lower()]
        if pricing_id is not None:
            users = [user for user in users if (user.get("pricing") or {}).get("id") == pricing_id]
        order = query.get("order") or "id"
        field = order if order in ("id", "name", "email", "created_at", "updated_at", "heuristic") else "id"
        users.sort(key=lambda user: str(user[field]) if field != "id" else user["id"], reverse=direction == "desc")
        return self.json(_paginate(users, per_page, page, str(request.url.replace(query=""))), 200)

    async def partner_save_user(self, request: Request) -> Response:
        account = self.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        try:
            form = await self.small_form(request)
        except BodyTooLarge:
            return self.invalid("The name field is required.")
        try:
            user_id = _integer(_field(form, "id", keep_null_word=False), "id")
            existing = self.store.users.get(user_id) if user_id is not None else None
            fields = self.validate_user(form, existing)
        except Invalid as exc:
            return self.invalid(str(exc))
        if user_id is not None and existing is None:
            return self.not_found()
        now = self.store.timestamp()
        with self.store.locked():
            if existing is None:
                user_id = max([221, *self.store.users]) + 1
                existing = {
                    **partner_record(),
                    "id": user_id,
                    "created_at": now,
                    "email_verified_at": now,
                    "balance": None,
                    "readonly": None,
                    "partner": partner_record(),
                }
            existing.update(fields, updated_at=now)
            self.store.users[existing["id"]] = existing
        return self.json({"data": existing}, 200)

    def validate_user(self, form: FormData, existing: dict[str, Any] | None) -> dict[str, Any]:
        name = _field(form, "name")
        if name is None:
            raise Invalid("The name field is required.")
        email = _field(form, "email")
        if email is None:
            raise Invalid("The email field is required.")
        if not EMAIL.match(email):
            raise Invalid("The email field must be a valid email address.")
        taken = any(
            user["email"].lower() == email.lower() and (existing is None or user["id"] != existing["id"])
            for user in self.store.users.values()
        )
        if taken:
            raise Invalid("The email has already been taken.")
        heuristic = _field(form, "heuristic")
        if heuristic is None:
            raise Invalid("The heuristic field is required.")
        if heuristic not in analysis.HEURISTICS:
            raise Invalid("The selected heuristic is invalid.")
        pricing_id = _integer(_field(form, "pricing_id"), "pricing_id")
        if pricing_id is None:
            raise Invalid("The pricing_id field is required.")
        pricing = next((dict(item) for item in PRICINGS if item["id"] == pricing_id), None)
        if pricing is None:
            raise Invalid("The selected pricing_id is invalid.")
        fields: dict[str, Any] = {"name": name, "email": email, "heuristic": heuristic, "pricing": pricing}
        for flag in ("readonly", "newsletter", "save_files"):
            value = _boolean(form, flag)
            if flag == "readonly" and value is not None:
                fields["readonly"] = value
        return fields

    async def partner_send_email(self, request: Request) -> Response:
        account = self.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        try:
            form = await self.small_form(request)
            user_id = _integer(_field(form, "id"), "id")
            if user_id is None:
                raise Invalid("The id field is required.")
        except BodyTooLarge:
            return self.invalid("The id field is required.")
        except Invalid as exc:
            return self.invalid(str(exc))
        user = self.store.users.get(user_id)
        if user is None:
            return self.not_found()
        return self.json({"data": user}, 200)

    async def partner_pricings(self, request: Request) -> Response:
        account = self.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        return self.json({"data": [dict(item) for item in PRICINGS]}, 200)

    async def unknown_route(self, request: Request) -> Response:
        return self.not_found()

    # -- answers -----------------------------------------------------------------------------------

    def invalid(self, message: str) -> Response:
        """A validation failure: 400 with the first error (Laravel's default 422 under a drift)."""
        return self.json({"error": message}, 422 if self.config.drifting(drifts.VALIDATION_422) else 400)

    def not_found(self) -> Response:
        return self.json({"error": "Not Found"}, 404)

    @staticmethod
    def json(body: Any, status: int) -> Response:
        return JSONResponse(body, status)


# -- helpers ---------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _field(form: FormData, name: str, keep_null_word: bool = True) -> str | None:
    """A text field as Laravel sees it: trimmed, and empty means absent (ConvertEmptyStringsToNull)."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    value = value.strip()
    if not value or (not keep_null_word and value.lower() == "null"):
        return None
    return value


def _boolean(form: FormData, name: str) -> bool | None:
    value = _field(form, name)
    if value is None:
        return None
    parsed = BOOLEANS.get(value.lower())
    if parsed is None:
        raise Invalid(f"The {name} field must be true or false.")
    return parsed


def _integer(value: str | None, name: str, minimum: int | None = None) -> int | None:
    if value is None or value == "":
        return None
    if not re.fullmatch(r"[+-]?\d+", value.strip()):
        raise Invalid(f"The {name} field must be an integer.")
    number = int(value)
    if minimum is not None and number < minimum:
        raise Invalid(f"The {name} field must be at least {minimum}.")
    return number


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


def _options(form: FormData, kind: str) -> tuple[analysis.Options, dict[str, Any]]:
    """The documented options, in the order the pages list them; the first invalid one is reported."""
    values: dict[str, Any] = {}
    ref_id = _field(form, "ref_id")
    flags = {
        "image": ("with_morphing", "with_tampering", "with_heatmap"),
        "video": ("key_frames", "with_morphing", "with_tampering"),
        "audio": (),
    }[kind]
    if kind == "video":
        frames = _field(form, "frames")
        if frames is not None:
            if frames not in {str(count) for count in FRAMES}:
                raise Invalid("The selected frames is invalid.")
            values["frames"] = int(frames)
    for flag in flags:
        value = _boolean(form, flag)
        if value is not None:
            values[flag] = value
    if kind == "video":
        method = _field(form, "key_frames_method")
        if method is not None:
            if method not in KEY_FRAME_METHODS:
                raise Invalid("The selected key_frames_method is invalid.")
            values["key_frames_method"] = method
    webhook_url = _field(form, "webhook_url")
    no_cache = bool(_boolean(form, "no_cache"))
    value = _boolean(form, "prevent_c2pa_forces")
    if value is not None:
        values["prevent_c2pa_forces"] = value
    if kind == "image":
        value = _boolean(form, "with_nsfw")
        if value is not None:
            values["with_nsfw"] = value
    return analysis.Options(**values), {"ref_id": ref_id, "webhook_url": webhook_url, "no_cache": no_cache}


def _wants_json(accept: str | None) -> bool:
    """Laravel's wantsJson(): the most preferred type of Accept is JSON (x-assumption identifai-accept-default)."""
    if not accept:
        return False
    ranked = []
    for position, item in enumerate(accept.split(",")):
        parts = [part.strip() for part in item.split(";")]
        quality = 1.0
        for parameter in parts[1:]:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, position, parts[0].lower()))
    if not ranked:
        return False
    first = min(ranked)[2]
    return "/json" in first or "+json" in first


def _paginate(users: list[dict[str, Any]], per_page: int | None, page: int, base: str) -> dict[str, Any]:
    """The documented subset of Laravel's LengthAwarePaginator."""
    total = len(users)
    size = per_page if per_page is not None else max(total, 100)
    last_page = max(1, -(-total // size))
    start = (page - 1) * size
    data = users[start : start + size]
    following = None
    if page < last_page:
        following = f"{base}?page={page + 1}" + (f"&per_page={per_page}" if per_page is not None else "")
    return {
        "current_page": page,
        "data": data,
        "from": start + 1 if data else None,
        "last_page": last_page,
        "next_page_url": following,
        "per_page": size,
        "to": start + len(data) if data else None,
        "total": total,
    }


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


class RequestLog:
    """An ASGI wrapper that appends one JSON line per request (arrival time, method, path, status, key role).

    For tests that prove a client kept to the rate limits; the key itself is never written, only its role.
    """

    def __init__(self, app: ASGIApp, path: str, emulator: IdentifaiEmulator) -> None:
        self.app = app
        self.path = path
        self.emulator = emulator
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = self.emulator.config.clock()
        status: dict[str, int] = {}

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)  # type: ignore[arg-type]
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        account = self.emulator.store.account(headers.get("x-api-key"))
        line = {
            "t": arrived,
            "method": scope["method"],
            "path": scope["path"],
            "status": status.get("code"),
            "role": account.role if account else None,
        }
        with self.lock, open(self.path, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(line) + "\n")


LIST_PATHS = frozenset(
    {"/api/classifications", "/api/classifications_image", "/api/classifications_video", "/api/classifications_audio"}
)


class SlowLookups:
    """The latency drift, scoped to the result lists: `SlowEveryNth` counts and slows only those requests.

    A lost index slows lookups, not uploads; and a run sends far fewer list requests than requests in all,
    so the drifted run stays short while any ten consecutive lookups still meet one slow answer.
    """

    def __init__(self, app: ASGIApp, config: EmulatorConfig) -> None:
        self.app = app
        self.slow = SlowEveryNth(app, config, drifts.LATENCY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in LIST_PATHS:
            await self.slow(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def build(config: EmulatorConfig, default_credentials: tuple[dict[str, str], ...]) -> tuple[ASGIApp, IdentifaiEmulator]:
    emulator = IdentifaiEmulator(config, default_credentials)
    submit = emulator.submit_endpoint
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
        Route("/api/partner/users", emulator.partner_users, methods=["GET"]),
        Route("/api/partner/user", emulator.partner_save_user, methods=["POST"]),
        Route("/api/partner/send_creation_email", emulator.partner_send_email, methods=["POST"]),
        Route("/api/partner/pricings", emulator.partner_pricings, methods=["GET"]),
        Route("/{path:path}", emulator.unknown_route, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    app: ASGIApp = Starlette(routes=routes)
    log = config.option("request_log", None)
    if log:
        app = RequestLog(app, str(log), emulator)
    return app, emulator
