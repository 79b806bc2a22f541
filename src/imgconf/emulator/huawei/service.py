"""Huawei Cloud Image Tagging and IAM, emulated as one app: gateway, platform and service in their order.

A tagging request meets the layers in the order their error codes reveal: the gateway (APIG) routes
it (404 APIG.0101), reads at most 12 MB of body while it streams in (413 APIG.0201), authenticates it
(401 APIG.0301) and throttles it when asked to (429 APIG.0308); the ModelArts platform checks that the
project is the caller's (400 ModelArts.4203/0212); the service (AIS) checks the body and the image and
answers the tags. IAM sits beside it on the same app, as both specs are served from one base URL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from imgconf import images
from imgconf.emulator.bodies import BodyTooLarge, json_text, read_limited
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.fetch import DownloadFailed, UrlFetcher
from imgconf.emulator.huawei import answers, tagging
from imgconf.emulator.huawei.accounts import Directory
from imgconf.emulator.huawei.answers import Answers, RequestIds
from imgconf.emulator.huawei.gateway import Caller, Gateway
from imgconf.emulator.huawei.iam import Iam
from imgconf.emulator.middleware.disturbances import Disturbances
from imgconf.emulator.middleware.latency import SlowEveryNth

BODY_LIMIT = 12 * 1024 * 1024  # "requests whose body size is less than 12 MB" (seed §3.3)
FETCH_LIMIT = 12 * 1024 * 1024  # downloads over 10 MB are refused as AIS.0504, past 12 MB they fail
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]
# API Explorer's example OBS URL: the emulator serves it an image of its own, as it would be a real object.
DOCUMENTED_URL = "https://BucketName.obs.myhuaweicloud.com/ObjectName"


def documented_fixtures() -> dict[str, bytes]:
    return {DOCUMENTED_URL: images.render(640, 480, seed=5028, fmt="jpeg")}


class HuaweiEmulator:
    def __init__(self, config: EmulatorConfig, credentials: tuple[Mapping[str, str], ...]) -> None:
        self.config = config
        self.answers = Answers(config)
        self.directory = Directory(credentials, config.clock)
        self.gateway = Gateway(config, self.directory)
        self.iam = Iam(self.directory, self.gateway, self.answers)
        self.fetcher = UrlFetcher(documented_fixtures(), max_bytes=FETCH_LIMIT)
        self.rate_per_minute: int | None = config.option("rate_per_minute", None)
        # An account that has not subscribed to the service in this region (option `unsubscribed`): ModelArts
        # answers every tagging call 4204 once the project is the caller's, to rehearse an operator's set-up.
        self.unsubscribed = bool(config.option("unsubscribed", False))
        self._windows: dict[tuple[str, int], int] = defaultdict(int)

    # -- the gateway ------------------------------------------------------------------------------

    async def _read(self, request: Request) -> bytes | Response:
        try:
            return await read_limited(request, BODY_LIMIT)
        except BodyTooLarge:
            return self.answers.gateway(request, answers.TOO_LARGE)

    def _throttled(self, request: Request, caller: Caller) -> Response | None:
        if self.rate_per_minute is None:
            return None
        now = self.config.clock()
        window = (caller.account.domain_name, int(now // 60))
        self._windows[window] += 1
        if self._windows[window] > self.rate_per_minute:
            # The 429 carries Retry-After (§6.1): delay-seconds to the next window (x-assumption huawei-retry-after).
            wait = max(1, math.ceil(60 - now % 60))
            return self.answers.gateway(
                request, answers.THROTTLED, self.rate_per_minute, headers={"Retry-After": str(wait)}
            )
        return None

    # -- Image Tagging ----------------------------------------------------------------------------

    async def tag_v1(self, request: Request) -> Response:
        return await self._tag(request, tagging.V1, project_id=None)

    async def tag_v2(self, request: Request) -> Response:
        return await self._tag(request, tagging.V2, project_id=request.path_params["project_id"])

    async def _tag(self, request: Request, version: tagging.Version, project_id: str | None) -> Response:
        body = await self._read(request)
        if isinstance(body, Response):
            return body
        caller = self.gateway.authenticate(request, body)
        if not isinstance(caller, Caller):
            return self.answers.unauthorized(request, caller.reason)
        throttled = self._throttled(request, caller)
        if throttled is not None:
            return throttled
        refused = self._project_refusal(request, caller, project_id)
        if refused is not None:
            return self.answers.service(refused)
        if self.unsubscribed:
            return self.answers.service(answers.NOT_SUBSCRIBED)
        if not tagging.declares_json(request.headers.get("content-type")):
            return self.answers.service(answers.BAD_JSON)
        try:
            text = json_text(body)
        except UnicodeDecodeError:
            return self.answers.service(answers.BAD_JSON)
        del body  # the text is what is parsed: an image's 10 MB is not also held as the body's bytes
        parsed = tagging.parse(text, version)
        if not isinstance(parsed, tagging.TaggingRequest):
            return self.answers.service(parsed)
        data = await self._image(parsed)
        if isinstance(data, tuple):
            return self.answers.service(data)
        decoded = await tagging.check_image(data)
        if isinstance(decoded, tuple):
            return self.answers.service(decoded)
        chosen = tagging.select(tagging.candidates(data, decoded), parsed, self.config)
        return self.answers.json(tagging.render(chosen, parsed, version, self.config), 200)

    @staticmethod
    def _project_refusal(request: Request, caller: Caller, project_id: str | None) -> tagging.Error | None:
        """The ModelArts platform: a project-scoped token, and only the caller's own project."""
        account = caller.account
        if caller.via_token:
            if caller.token_project is None:
                return answers.NOT_PROJECT_TOKEN
            allowed = caller.token_project
        else:
            header = request.headers.get("x-project-id")
            if header is not None and header != account.project_id:
                return answers.NO_PERMISSION
            allowed = account.project_id
        if project_id is not None and project_id != allowed:
            return answers.NO_PERMISSION
        return None

    async def _image(self, parsed: tagging.TaggingRequest) -> bytes | tagging.Error:
        if parsed.image:
            return tagging.decode_base64(parsed.image)
        problem = tagging.url_error(parsed.url)
        if problem is not None:
            return problem
        try:
            return await self.fetcher.fetch(parsed.url)
        except DownloadFailed:
            return answers.DOWNLOAD_FAILED

    # -- IAM ----------------------------------------------------------------------------------------

    async def issue_token(self, request: Request) -> Response:
        body = await self._read(request)
        return body if isinstance(body, Response) else self.iam.issue(request, body)

    async def list_projects(self, request: Request) -> Response:
        body = await self._read(request)
        return body if isinstance(body, Response) else self.iam.projects(request, body)

    # -- everything else ----------------------------------------------------------------------------

    async def unknown_route(self, request: Request, exc: Exception | None = None) -> Response:
        """Also the app's 405 handler: a method no route lists (QUERY) is no API either (huawei-unknown-routes)."""
        if request.url.path.startswith("/v3/"):
            return self.answers.keystone(404, "The resource could not be found.")
        return self.answers.gateway(request, answers.NO_SUCH_API)


def create_app(config: EmulatorConfig, credentials: tuple[Mapping[str, str], ...]) -> SlowEveryNth:
    emulator = HuaweiEmulator(config, credentials)
    app = Starlette(
        routes=[
            Route("/v1.0/image/tagging", emulator.tag_v1, methods=["POST"]),
            Route("/v2/{project_id}/image/tagging", emulator.tag_v2, methods=["POST"]),
            Route("/v3/auth/tokens", emulator.issue_token, methods=["POST"]),
            Route("/v3/projects", emulator.list_projects, methods=["GET"]),
            Route("/{path:path}", emulator.unknown_route, methods=ALL_METHODS),
        ],
        exception_handlers={405: emulator.unknown_route},
    )
    disturbed = Disturbances(
        app,
        config,
        throttled={"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached"},
        failing={"error_code": "APIG.0203", "error_msg": "Backend unavailable"},
    )
    return SlowEveryNth(RequestIds(disturbed, config), config, "huawei.latency")
