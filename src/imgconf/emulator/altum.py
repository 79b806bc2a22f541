"""Altum AI Photo Labelling, emulated: API Gateway in front of a FastAPI app on pydantic v1.

The layering is what the documented bodies reveal, and it decides the order
of the checks: the gateway answers a missing key (403), an oversized body
(413) and throttling (429) before the application sees the request; the
application answers an unknown key (401), validation (422) and bad images
(400). Labels are drawn from the image's SHA-256, so the same bytes always
get the same answer.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgconf import images
from imgconf.emulator import decoding
from imgconf.emulator.bodies import BodyTooLarge, Malformed, declared_too_large, parse_json, read_limited, stream_form
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.drift import Category, Drift
from imgconf.emulator.fetch import DownloadFailed, UrlFetcher
from imgconf.emulator.middleware.disturbances import Disturbances
from imgconf.emulator.middleware.latency import SlowEveryNth
from imgconf.emulator.randomness import content_rng, percent

VENDOR = "altum"
DEFAULT_CREDENTIALS: tuple[dict[str, str], ...] = ({"api_key": "altum-emulator-key"},)

PAYLOAD_LIMIT = 10 * 1024 * 1024  # API Gateway's (x-assumption altum-payload-limit)
SCENE_THRESHOLD = 70.0  # Scene_Class2 at or below it ("equal to or below 70%", one of three wordings)

UNAUTHORIZED = {"Output": "Please use https://api.altum.ai or visit https://mopsus.altum.ai to make your request."}
MISSING_TOKEN = {"message": "Missing Authentication Token"}
BAD_FORMAT = {"detail": "Please upload an image with one of the following formats: .jpg, .jpeg or .png"}
BAD_URL = {"detail": "The URL is not valid"}
PARSE_ERROR = {"detail": "There was an error parsing the body"}

ROOMS = ("living_room", "kitchen", "bathroom", "bedroom", "other_room")
SUBROOMS = ("hall_corridor", "room", "scullery")
SCENES = ("facade", "view", "street", "balcony-garden", "building_part", "no_building")

DOCUMENTED_EXAMPLE_URL = "https://cloud.funda.nl/valentina_media/149/998/977_1440x960.jpg"

DRIFTS: tuple[Drift, ...] = (
    Drift(
        "altum.confidence-as-number",
        Category.TYPE_CHANGED,
        'A serializer change sends confidences as JSON numbers (99.99) instead of strings ("99.99").',
        ("altum.result.confidence",),
    ),
    Drift(
        "altum.output-renamed",
        Category.FIELD_RENAMED,
        "The result wrapper is renamed from Output to output in a refactor.",
        ("altum.result.wrapper",),
    ),
    Drift(
        "altum.auth-not-enforced",
        Category.AUTH,
        "A gateway misconfiguration stops checking x-api-key: anyone can call the API.",
        ("altum.auth.enforced", "altum.auth.missing-key", "altum.auth.invalid-key"),
    ),
    Drift(
        "altum.422-pydantic-v2",
        Category.ERROR_SHAPE,
        "The service moves to pydantic v2: 422 bodies become "
        "{type: 'missing', loc, msg: 'Field required', input, url}.",
        ("altum.errors.422-shape", "altum.request.missing-field"),
    ),
    Drift(
        "altum.room-class-widened",
        Category.ENUM_WIDENED,
        "A new model version reports room classes outside the documented vocabulary (garage).",
        ("altum.result.room-class",),
    ),
    Drift(
        "altum.bad-format-415",
        Category.STATUS_CHANGED,
        "Uploads that are not JPEG or PNG are answered 415 instead of the documented 400.",
        ("altum.request.image-format", "altum.status.documented"),
    ),
    Drift(
        "altum.result-as-text",
        Category.CONTENT_TYPE,
        "Results are sent with Content-Type text/plain (a framework upgrade lost the JSON response class).",
        ("altum.transport.json",),
    ),
    Drift(
        "altum.scene2-always",
        Category.SEMANTICS,
        "The 70% rule is dropped: every outdoor result carries a second scene class.",
        ("altum.result.scene-threshold",),
    ),
    Drift(
        "altum.latency",
        Category.LATENCY,
        "A tail-latency regression: one answer in 25 takes over a second (a cold model container).",
        ("altum.transport.latency",),
    ),
    Drift(
        "altum.nondeterministic",
        Category.STATE,
        "Inference becomes non-deterministic (dropout left on): the same photo gets different labels.",
        ("altum.result.deterministic",),
    ),
)


def documented_fixtures() -> dict[str, bytes]:
    """The docs' example URL serves a photo of its advertised size (1440x960 JPEG)."""
    return {DOCUMENTED_EXAMPLE_URL: images.render(1440, 960, seed=977, fmt="jpeg")}


class AltumEmulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.keys = {creds["api_key"] for creds in (*DEFAULT_CREDENTIALS, *config.credentials) if "api_key" in creds}
        self.fetcher = UrlFetcher(documented_fixtures(), max_bytes=PAYLOAD_LIMIT)
        # Requests per key per minute window; None leaves throttling off.
        self.rate_per_minute: int | None = config.option("rate_per_minute", None)
        self._windows: dict[tuple[str, int], int] = defaultdict(int)
        self._jitter = itertools.count()

    # -- the gateway ------------------------------------------------------------------------

    def gateway(self, request: Request) -> Response | None:
        """What API Gateway answers before the application runs, or None to pass the request on."""
        key = request.headers.get("x-api-key")
        if key is None and not self.config.drifting("altum.auth-not-enforced"):
            return self.json(MISSING_TOKEN, 403)
        if self.rate_per_minute is not None and key is not None:
            window = (key, int(self.config.clock() // 60))
            self._windows[window] += 1
            if self._windows[window] > self.rate_per_minute:
                return self.json({"message": "Too Many Requests"}, 429)
        return None

    def authorised(self, request: Request) -> bool:
        return self.config.drifting("altum.auth-not-enforced") or request.headers.get("x-api-key") in self.keys

    # -- endpoints ----------------------------------------------------------------------------

    def admitted(self, request: Request) -> Response | None:
        """The answer that stops a request before its body is read (gateway, declared size), or None."""
        refused = self.gateway(request)
        if refused is not None:
            return refused
        if declared_too_large(request, PAYLOAD_LIMIT):
            return self.too_large()
        return None

    async def label_upload(self, request: Request) -> Response:
        """The form is parsed as it streams in and the image part spooled, never the whole body held twice."""
        refused = self.admitted(request)
        if refused is not None:
            return refused
        try:
            form = await stream_form(request, PAYLOAD_LIMIT)
        except BodyTooLarge:
            return self.too_large()
        except Malformed:
            return self.json(PARSE_ERROR, 400) if self.authorised(request) else self.json(UNAUTHORIZED, 401)
        try:
            if not self.authorised(request):
                return self.json(UNAUTHORIZED, 401)
            field = form.get("image")
            if field is None:
                return self.missing_image()
            data = await field.read() if isinstance(field, UploadFile) else str(field).encode()
        finally:
            await form.close()
        return await self.labelled(data, bad_image=BAD_FORMAT)

    async def body(self, request: Request) -> bytes | Response:
        """A body read whole (at most 10 MB), or the gateway's or the key check's answer."""
        try:
            body = await read_limited(request, PAYLOAD_LIMIT)
        except BodyTooLarge:
            return self.too_large()
        if not self.authorised(request):
            return self.json(UNAUTHORIZED, 401)
        return body

    def missing_image(self) -> Response:
        return self.validation_error(["body", "image"], "field required", "value_error.missing")

    def too_large(self) -> Response:
        return self.json({"message": "Request Too Long"}, 413)

    async def label_url(self, request: Request) -> Response:
        refused = self.admitted(request)
        if refused is not None:
            return refused
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        try:
            document = parse_json(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            text = body.decode("utf-8", "replace")
            error = exc if isinstance(exc, json.JSONDecodeError) else json.JSONDecodeError("Invalid encoding", text, 0)
            ctx = {"msg": error.msg, "doc": text, "pos": error.pos, "lineno": error.lineno, "colno": error.colno}
            return self.validation_error(["body", error.pos], str(error), "value_error.jsondecode", ctx)
        except Malformed:
            # FastAPI answers any other failure of its body parser so (x-assumption altum-malformed-body).
            return self.json(PARSE_ERROR, 400)
        if not isinstance(document, dict):
            return self.validation_error(["body"], "value is not a valid dict", "type_error.dict")
        if "url" not in document:
            return self.validation_error(["body", "url"], "field required", "value_error.missing")
        url = _pydantic_v1_str(document["url"])
        if url is None:
            if document["url"] is None:
                return self.validation_error(
                    ["body", "url"], "none is not an allowed value", "type_error.none.not_allowed"
                )
            return self.validation_error(["body", "url"], "str type expected", "type_error.str")
        try:
            data = await self.fetcher.fetch(url)
        except DownloadFailed:
            return self.json(BAD_URL, 400)
        return await self.labelled(data, bad_image=BAD_URL)

    async def unknown_route(self, request: Request, exc: Exception | None = None) -> Response:
        """API Gateway answers undefined methods and paths like a missing key (x-assumption altum-unknown-routes).

        Also the app's 405 handler: a method no route lists (QUERY, say) gets this answer, not Starlette's text.
        """
        return self.json(MISSING_TOKEN, 403)

    # -- answers ------------------------------------------------------------------------------

    async def labelled(self, data: bytes, bad_image: dict[str, str]) -> Response:
        try:
            decoded = await decoding.decode(data)
        except images.NotAnImage:
            return self.bad_format(bad_image)
        if decoded.format not in ("jpeg", "png"):
            return self.bad_format(bad_image)
        output = self.label(data)
        wrapper = "output" if self.config.drifting("altum.output-renamed") else "Output"
        if self.config.drifting("altum.result-as-text"):
            return Response(json.dumps({wrapper: output}), 200, media_type="text/plain")
        return self.json({wrapper: output}, 200)

    def bad_format(self, body: dict[str, str]) -> Response:
        status = 415 if self.config.drifting("altum.bad-format-415") and body is BAD_FORMAT else 400
        return self.json(body, status)

    def label(self, data: bytes) -> dict[str, Any]:
        """The documented Output shape, drawn from the image's hash."""
        salt = f"{next(self._jitter)}" if self.config.drifting("altum.nondeterministic") else ""
        rng = content_rng(data, salt)
        image_class = rng.choices(("indoor", "outdoor", "other"), weights=(45, 45, 10))[0]
        output: dict[str, Any] = {
            "Image_Class": image_class,
            "ConfidencePercent_Image_Class": percent(rng, 55, 100) if image_class == "other" else percent(rng, 90, 100),
        }
        if image_class == "indoor":
            self._rooms(rng, output)
        elif image_class == "outdoor":
            self._scenes(rng, output)
        if self.config.drifting("altum.confidence-as-number"):
            return output
        return {key: str(value) if key.startswith("ConfidencePercent_") else value for key, value in output.items()}

    def _rooms(self, rng: random.Random, output: dict[str, Any]) -> None:
        room = rng.choice(ROOMS)
        if self.config.drifting("altum.room-class-widened") and rng.random() < 0.5:
            room = "garage"
        output["Room_Class"] = room
        output["ConfidencePercent_Room_Class"] = percent(rng, 40, 100)
        if room == "other_room":
            output["Room_Subclass"] = rng.choice(SUBROOMS)
            output["ConfidencePercent_Room_Subclass"] = percent(rng, 40, 100)

    def _scenes(self, rng: random.Random, output: dict[str, Any]) -> None:
        first, second = rng.sample(SCENES, 2)
        confidence = percent(rng, 30, 100)
        output["Scene_Class1"] = first
        output["ConfidencePercent_Scene_Class1"] = confidence
        if confidence <= SCENE_THRESHOLD or self.config.drifting("altum.scene2-always"):
            output["Scene_Class2"] = second
            output["ConfidencePercent_Scene_Class2"] = percent(rng, 1, max(1.0, min(confidence, 100 - confidence)))

    def validation_error(self, loc: list[Any], msg: str, kind: str, ctx: dict[str, Any] | None = None) -> Response:
        if self.config.drifting("altum.422-pydantic-v2"):
            item: dict[str, Any] = {
                "type": kind.split(".")[-1],
                "loc": loc,
                "msg": msg[:1].upper() + msg[1:],
                "input": None,
                "url": f"https://errors.pydantic.dev/2.5/v/{kind.split('.')[-1]}",
            }
        else:
            item = {"loc": loc, "msg": msg, "type": kind}
            if ctx is not None:
                item["ctx"] = ctx
        return self.json({"detail": [item]}, 422)

    @staticmethod
    def json(body: Any, status: int) -> Response:
        return JSONResponse(body, status)


def _pydantic_v1_str(value: Any) -> str | None:
    """pydantic v1's `str` field: strings pass, numbers (and so booleans) are coerced, the rest is refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"]


def create_app(config: EmulatorConfig | None = None) -> SlowEveryNth:
    config = config or EmulatorConfig()
    emulator = AltumEmulator(config)
    app = Starlette(
        routes=[
            Route("/labelling/img", emulator.label_upload, methods=["POST"]),
            Route("/labelling/url", emulator.label_url, methods=["POST"]),
            Route("/{path:path}", emulator.unknown_route, methods=ALL_METHODS),
        ],
        exception_handlers={405: emulator.unknown_route},
    )
    disturbed = Disturbances(
        app, config, throttled={"message": "Too Many Requests"}, failing={"message": "Internal server error"}
    )
    return SlowEveryNth(disturbed, config, "altum.latency")
