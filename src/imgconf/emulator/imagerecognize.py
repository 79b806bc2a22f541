"""imagerecognize.com, emulated: one PHP-style script behind a web server, with a quota and a cache per key.

What the docs reveal shapes it. `/api/v2/` is a directory URL (the 300 text points at its trailing slash),
so the server redirects `/api/v2` with a 301 and a POST that follows it arrives empty. Fields come from the
form (POST) or the query (GET), files from the form's file parts, which is why the documented Python sample
works although it names its file part "file" with no content type: formats are judged by their bytes.
The checks run in the spec's order (x-assumption imagerecognize-check-order), so a refused request never
costs quota. Results are drawn from the image's SHA-256 and the analysis type, so the same bytes always get
the same answer; the parameters only filter it.

Options (`EmulatorConfig.option`): `quota` (starting quota of every key, default 5000) and `http_status`
(`mirror`, the default, or `always-200`; x-assumption imagerecognize-status-mirror). A credential mapping
may carry its own `quota`; its `exhausted_apikey` is a key with none left.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from imgconf import images
from imgconf.emulator import decoding
from imgconf.emulator.bodies import BodyTooLarge, Malformed, bounded_int, stream_form
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.drift import Category, Drift
from imgconf.emulator.middleware.disturbances import Disturbances
from imgconf.emulator.middleware.latency import SlowEveryNth
from imgconf.emulator.randomness import content_rng

VENDOR = "imagerecognize"
DEFAULT_CREDENTIALS: tuple[dict[str, str], ...] = (
    {"apikey": "imagerecognize-emulator-key", "exhausted_apikey": "imagerecognize-emulator-spent-key"},
)

DEFAULT_QUOTA = 5000
MAX_IMAGE = 50 * 1024 * 1024  # "Max size is 50Mb", as MiB (x-assumption imagerecognize-size-limit)
FORM_OVERHEAD = 64 * 1024  # what the form around a 50 MiB image may add before the server stops reading
ANALYSES = ("objects", "celebrities", "detect_faces", "detect_text", "nsfw")
PERCENT_FIELDS = {"objects": ("min_confidence",), "nsfw": ("nsfw_min_confidence",)}

MESSAGES = {
    300: "Invalid request, no data received",
    400: "APIkey missing",
    401: "APIkey invalid",
    402: "Quota limit reached",
    412: "Invalid file",
    413: "Image size too large",
    415: "Invalid file format",
    420: "Invalid type",
}

OBJECT_LABELS = (
    "Car", "Pedestrian", "Person", "Bicycle", "Dog", "Cat", "Tree", "Building", "Window", "Chair",
    "Table", "Bottle", "Cup", "Laptop", "Plant", "Road", "Sign", "Bird", "Boat", "Bus",
)  # fmt: skip
CELEBRITIES = ("Jane Example", "John Sample", "Alex Placeholder", "Maria Specimen", "Sam Fixture", "Lee Mockup")
NSFW_LABELS = (
    "Explicit Nudity", "Suggestive", "Violence", "Visually Disturbing", "Rude Gestures",
    "Drugs", "Tobacco", "Alcohol", "Gambling", "Hate Symbols",
)  # fmt: skip
WORDS = ("OPEN", "24", "HOURS", "EXIT", "STOP", "SALE", "CAFE", "PARKING", "NO", "ENTRY", "MAIN", "STREET")

DRIFTS: tuple[Drift, ...] = (
    Drift(
        "imagerecognize.confidence-as-string",
        Category.TYPE_CHANGED,
        'A backend port to a typed language sends confidences as strings ("99.87"), as the Java client models them.',
        ("imagerecognize.result.confidence",),
    ),
    Drift(
        "imagerecognize.status-message-renamed",
        Category.FIELD_RENAMED,
        "Someone 'fixes' the docs' inconsistency on the server: errors now carry message instead of status_message.",
        ("imagerecognize.errors.envelope",),
    ),
    Drift(
        "imagerecognize.type-widened",
        Category.ENUM_WIDENED,
        "The v3 engine reports data.type 'labels' for type=objects, a value outside the documented types.",
        ("imagerecognize.result.type",),
    ),
    Drift(
        "imagerecognize.errors-http-200",
        Category.STATUS_CHANGED,
        "A framework change answers every error with HTTP 200; only the body still says 400, 401, 402...",
        ("imagerecognize.status.mirrors-body", "imagerecognize.result.envelope"),
    ),
    Drift(
        "imagerecognize.error-data-array",
        Category.ERROR_SHAPE,
        "PHP's json_encode of an empty array: error bodies carry data: [] instead of data: null.",
        ("imagerecognize.errors.envelope",),
    ),
    Drift(
        "imagerecognize.json-as-html",
        Category.CONTENT_TYPE,
        "A server move loses the header() call: every answer goes out as text/html, PHP's default.",
        ("imagerecognize.transport.json",),
    ),
    Drift(
        "imagerecognize.auth-not-enforced",
        Category.AUTH,
        "The key check is skipped: requests without a key, or with an unknown one, are analysed.",
        ("imagerecognize.auth.enforced", "imagerecognize.auth.missing-key", "imagerecognize.auth.invalid-key"),
    ),
    Drift(
        "imagerecognize.max-labels-ignored",
        Category.SEMANTICS,
        "max_labels stops reaching the recogniser: every object found comes back.",
        ("imagerecognize.objects.max-labels",),
    ),
    Drift(
        "imagerecognize.min-confidence-ignored",
        Category.SEMANTICS,
        "min_confidence stops reaching the recogniser: objects below the threshold come back.",
        ("imagerecognize.objects.min-confidence",),
    ),
    Drift(
        "imagerecognize.quota-frozen",
        Category.STATE,
        "Billing breaks: the quota stops decreasing, so every answer reports the same quota.",
        ("imagerecognize.quota.decrement",),
    ),
    Drift(
        "imagerecognize.cache-stale",
        Category.STATE,
        "The cache is written once and never refreshed: type=cache returns the key's first result, not its latest.",
        ("imagerecognize.cache.latest",),
    ),
    Drift(
        "imagerecognize.latency",
        Category.LATENCY,
        "A tail-latency regression: one answer in 25 takes over a second (a cold recogniser).",
        ("imagerecognize.transport.latency",),
    ),
)


@dataclass
class Account:
    """One key's state: what is left of its quota, and its latest successful result (the cache)."""

    quota: int
    latest: dict[str, Any] | None = None
    first: dict[str, Any] | None = field(default=None, repr=False)


class ImageRecognizeEmulator:
    """The accounts (quota and cache per key) and the one script every version and method runs."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.http_status: str = str(config.option("http_status", "mirror"))
        default_quota = int(config.option("quota", DEFAULT_QUOTA))
        self.accounts: dict[str, Account] = {}
        for credentials in (*DEFAULT_CREDENTIALS, *config.credentials):
            quota = int(credentials.get("quota", default_quota))
            if credentials.get("apikey"):
                self.accounts.setdefault(credentials["apikey"], Account(quota))
            if credentials.get("exhausted_apikey"):
                self.accounts.setdefault(credentials["exhausted_apikey"], Account(0))
        # Whoever calls while the key check is skipped (drift auth-not-enforced) spends this account.
        self.anonymous = Account(default_quota)

    # -- the web server ---------------------------------------------------------------------------------

    async def directory_redirect(self, request: Request) -> Response:
        """`/api/v2` is a directory: 301 to `/api/v2/`, query kept (x-assumption imagerecognize-trailing-slash)."""
        return RedirectResponse(str(request.url.replace(path=request.url.path + "/")), status_code=301)

    async def endpoint(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                fields, files = await self.read_form(request)
            except BodyTooLarge:
                return self.error(413)
        else:
            fields, files = dict(request.query_params), {}
        return await self.script(request.method, fields, files)

    @staticmethod
    async def read_form(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
        """Form fields and file parts, as a PHP script sees $_POST and $_FILES (the last of a repeated name wins).

        The body is parsed as it streams in, file parts spooled to disk, so a request holds its image once.
        """
        try:
            form = await stream_form(request, MAX_IMAGE + FORM_OVERHEAD, max_part_size=MAX_IMAGE + FORM_OVERHEAD)
        except Malformed:
            return {}, {}
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        try:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if value.filename:  # an empty filename is "no file chosen" (PHP's UPLOAD_ERR_NO_FILE)
                        files[name] = await value.read()
                else:
                    fields[name] = value
        finally:
            await form.close()
        return fields, files

    # -- the script ---------------------------------------------------------------------------------------

    async def script(self, method: str, fields: dict[str, str], files: dict[str, bytes]) -> Response:
        """The checks in the spec's order (x-assumption imagerecognize-check-order); quota is spent last."""
        if not fields and not files:
            return self.error(300)
        account = self.account(fields.get("apikey"))
        if isinstance(account, Response):
            return account
        kind = fields.get("type")
        if kind != "cache" and (method == "GET" or kind not in ANALYSES):
            return self.error(420)
        if kind == "cache":
            # account.latest is the account's own copy, and an answer is rendered to bytes as it is built, so
            # nothing can reach the cache through it: no copy per read (a deepcopy was a quarter of this answer).
            return self.success(account.latest) if account.latest is not None else self.error(300)
        image = files.get("file")
        if image is None:
            return self.error(430, f"Missing parameter file for type {kind}")
        problem = parameter_problem(kind, fields)
        if problem is not None:
            return self.error(430, problem)
        if len(image) > MAX_IMAGE:
            return self.error(413)
        try:
            decoded = await decoding.decode(image)
        except images.NotAnImage:
            return self.error(412)
        if decoded.format not in ("jpeg", "png"):
            return self.error(415)
        if account.quota <= 0:
            return self.error(402)
        if not self.config.drifting("imagerecognize.quota-frozen"):
            account.quota -= 1
        data = self.analyse(kind, image, fields, account.quota)
        account.first = account.first or copy.deepcopy(data)
        account.latest = account.first if self.config.drifting("imagerecognize.cache-stale") else copy.deepcopy(data)
        return self.success(data)

    def account(self, key: str | None) -> Account | Response:
        if self.config.drifting("imagerecognize.auth-not-enforced"):
            return self.accounts.get(key or "", self.anonymous)
        if not key:
            return self.error(400)
        found = self.accounts.get(key)
        return found if found is not None else self.error(401)

    # -- the recognisers ----------------------------------------------------------------------------------

    def analyse(self, kind: str, image: bytes, fields: dict[str, str], quota: int) -> dict[str, Any]:
        """Every candidate is drawn from the image's bytes and the type; the parameters only filter them."""
        rng = content_rng(image, kind)
        if kind == "objects":
            entries = self.objects(rng, fields)
        elif kind == "celebrities":
            entries = [_entry(name, rng, 88, 100, boxes=1) for name in rng.sample(CELEBRITIES, rng.randint(0, 2))]
        elif kind == "detect_faces":
            entries = [_entry("Face", rng, 90, 100, boxes=1) for _ in range(rng.randint(0, 3))]
        elif kind == "detect_text":
            entries = _text(rng)
        else:
            threshold = bounded_int(fields["nsfw_min_confidence"])
            labels: list[dict[str, Any]] = [
                {"name": name, "confidence": _percent(rng, 0.5, 99.9)} for name in rng.sample(NSFW_LABELS, 4)
            ]
            entries = [label for label in labels if label["confidence"] >= threshold]
        if self.config.drifting("imagerecognize.confidence-as-string"):
            for entry in entries:
                entry["confidence"] = str(entry["confidence"])
        reported = "labels" if kind == "objects" and self.config.drifting("imagerecognize.type-widened") else kind
        return {"error": 0, "type": reported, "objects": entries, "quota": quota}

    def objects(self, rng: random.Random, fields: dict[str, str]) -> list[dict[str, Any]]:
        found = [_entry(name, rng, 50, 100, boxes=rng.randint(1, 3)) for name in rng.sample(OBJECT_LABELS, 12)]
        found.sort(key=lambda entry: entry["confidence"], reverse=True)
        if not self.config.drifting("imagerecognize.min-confidence-ignored"):
            found = [entry for entry in found if entry["confidence"] >= bounded_int(fields["min_confidence"])]
        if not self.config.drifting("imagerecognize.max-labels-ignored"):
            found = found[: bounded_int(fields["max_labels"])]
        return found

    # -- answers ------------------------------------------------------------------------------------------

    def success(self, data: dict[str, Any]) -> Response:
        return self.json({"status": 200, "message": "Success", "data": data}, 200)

    def error(self, status: int, message: str | None = None) -> Response:
        key = "message" if self.config.drifting("imagerecognize.status-message-renamed") else "status_message"
        data: list[Any] | None = [] if self.config.drifting("imagerecognize.error-data-array") else None
        body = {"status": status, key: message or MESSAGES[status], "data": data}
        mirrored = self.http_status == "mirror" and not self.config.drifting("imagerecognize.errors-http-200")
        return self.json(body, status if mirrored else 200)

    async def method_not_allowed(self, request: Request, exc: Exception) -> Response:
        """A method the script is not run for (QUERY, PUT...): 405 in the API's own envelope, not the server's text
        (x-assumption imagerecognize-method-not-allowed)."""
        response = self.json({"status": 405, "status_message": "Method Not Allowed", "data": None}, 405)
        response.headers["Allow"] = "GET, POST"
        return response

    def json(self, body: dict[str, Any], status: int) -> Response:
        if self.config.drifting("imagerecognize.json-as-html"):
            return Response(json.dumps(body, separators=(",", ":")), status, media_type="text/html")
        return JSONResponse(body, status)


def parameter_problem(kind: str, fields: dict[str, str]) -> str | None:
    """The 430 text for the first missing or out-of-range parameter of `kind`, or None when all are fine."""
    if kind == "objects":
        if fields.get("max_labels") is None:
            return "Missing parameter max_labels for type objects"
        if not _digits(fields["max_labels"]) or bounded_int(fields["max_labels"]) < 1:
            return "Invalid parameter max_labels: an integer greater than 0 is required"
    for name in PERCENT_FIELDS.get(kind, ()):
        if fields.get(name) is None:
            return f"Missing parameter {name} for type {kind}"
        if not _digits(fields[name]) or bounded_int(fields[name]) > 100:
            return f"Invalid parameter {name}: an integer from 0 to 100 is required"
    return None


def _digits(text: str) -> bool:
    """Integers as the API reads them: plain decimal digits (x-assumption imagerecognize-integer-fields)."""
    return text.isascii() and text.isdigit()


def _percent(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _box(rng: random.Random) -> dict[str, float]:
    """A box inside the unit square, in hundredths as the documented example prints them."""
    x, y = rng.randint(0, 95), rng.randint(0, 95)
    width, height = rng.randint(1, 100 - x), rng.randint(1, 100 - y)
    return {"x": x / 100, "y": y / 100, "width": width / 100, "height": height / 100}


def _entry(name: str, rng: random.Random, low: float, high: float, boxes: int) -> dict[str, Any]:
    return {
        "name": name,
        "confidence": _percent(rng, low, high - 0.01),
        "coordinates": [_box(rng) for _ in range(boxes)],
    }


def _text(rng: random.Random) -> list[dict[str, Any]]:
    """Lines first, then their words (Rekognition's text detection order), each with its own box."""
    lines = [rng.sample(WORDS, rng.randint(1, 3)) for _ in range(rng.randint(0, 3))]
    entries = [{"name": "LINE", "text": " ".join(words), **_scored(rng)} for words in lines]
    entries += [{"name": "WORD", "text": word, **_scored(rng)} for words in lines for word in words]
    return entries


def _scored(rng: random.Random) -> dict[str, Any]:
    return {"confidence": _percent(rng, 80, 99.99), "coordinates": [_box(rng)]}


def create_app(config: EmulatorConfig | None = None) -> SlowEveryNth:
    config = config or EmulatorConfig()
    emulator = ImageRecognizeEmulator(config)
    routes = []
    for version in ("v2", "v3"):
        routes.append(Route(f"/api/{version}/", emulator.endpoint, methods=["GET", "POST"]))
        routes.append(Route(f"/api/{version}", emulator.directory_redirect, methods=["GET", "POST"]))
    disturbed = Disturbances(
        Starlette(routes=routes, exception_handlers={405: emulator.method_not_allowed}),
        config,
        throttled={"status": 429, "status_message": "Too Many Requests", "data": None},
        failing={"status": 500, "status_message": "Internal Server Error", "data": None},
    )
    return SlowEveryNth(disturbed, config, "imagerecognize.latency")
