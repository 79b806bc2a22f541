"""How each layer answers: the gateway's APIG.* bodies, the service's AIS.* and ModelArts.* ones, IAM's Keystone ones.

Every error of the emulator is built here, so the drifts that change error bodies and statuses
(error_code dropped, a nested body, APIG.0301 as 400) act in one place. Request ids: a pure-ASGI
middleware gives every request one (`RequestIds`), puts it in the scope for the bodies that repeat it,
and adds the X-Request-Id header to every answer.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgconf.emulator.config import EmulatorConfig

REQUEST_ID_KEY = "imgconf.huawei.request_id"

# The gateway's codes, with the statuses of APIG's own table (the Image error table prints 400 for all).
NO_SUCH_API = ("APIG.0101", 404, "The API does not exist or has not been published in the environment")
TOO_LARGE = ("APIG.0201", 413, "Request entity too large")
THROTTLED = (
    "APIG.0308",
    429,
    "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:1 minute",
)
AUTH_PREFIX = "Incorrect IAM authentication information: "
NO_TOKEN = "x-auth-token not found"
DECRYPT_FAIL = "decrypt token fail"
TOKEN_EXPIRED = "token expires"
SIGNATURE_FAIL = "verify aksk signature fail"
UNKNOWN_AK = "Get secretKey failed,ak:***,err:ak not exist"
LOCKED = "AK access failed to reach the limit,forbidden"
SKEWED = "the X-Sdk-Date is more than 15 minutes away from the gateway's time"

# The service's (AIS) and the platform's (ModelArts) codes: always 400, as Table 6-2 prints.
BAD_JSON = ("AIS.0014", "The JSON format of the input data is incorrect.")
BAD_PARAMETER = ("AIS.0501", "The input parameter is invalid.")
BAD_FORMAT = ("AIS.0502", "The image format is not supported.")
DAMAGED = ("AIS.0503", "The image is damaged.")
BAD_SIZE = ("AIS.0504", "The image size does not meet requirements.")
NO_PERMISSION = ("ModelArts.4203", "No access permission.")
NOT_SUBSCRIBED = ("ModelArts.4204", "The API is not subscribed to.")
NOT_PROJECT_TOKEN = ("ModelArts.0212", "Invalid Token header. The Token not contain project item.")
BAD_URL = ("ModelArts.4601", "The external URL is invalid.")
DOWNLOAD_FAILED = ("ModelArts.4603", "The file failed to be downloaded from the external URL.")


def request_id(request: Request) -> str:
    return str(request.scope.get(REQUEST_ID_KEY, ""))


class Answers:
    """Error and result bodies, with the config's drifts applied."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config

    def json(self, body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
        if status == 200 and self.config.drifting("huawei.result-as-text"):
            return Response(json.dumps(body, ensure_ascii=False), status, headers, media_type="text/plain")
        return JSONResponse(body, status, headers)

    def _error_body(self, code: str, message: str) -> dict[str, Any]:
        if self.config.drifting("huawei.error-code-missing"):
            return {"error_msg": message}
        return {"error_code": code, "error_msg": message}

    def gateway(
        self,
        request: Request,
        error: tuple[str, int, str],
        *detail: object,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An APIG error: the gateway's status, and the request id in the body."""
        code, status, message = error
        body = {**self._error_body(code, message.format(*detail)), "request_id": request_id(request)}
        return self.json(body, status, headers)

    def unauthorized(self, request: Request, reason: str) -> Response:
        """APIG.0301, 401 (400 under the drift that follows the error table's misprint)."""
        status = 400 if self.config.drifting("huawei.auth-failure-400") else 401
        return self.gateway(request, ("APIG.0301", status, AUTH_PREFIX + reason))

    def service(self, error: tuple[str, str]) -> Response:
        """An AIS or ModelArts error: 400, {"error_code", "error_msg"}."""
        code, message = error
        if self.config.drifting("huawei.error-body-nested"):
            return self.json({"error": {"code": code, "message": message}}, 400)
        return self.json(self._error_body(code, message), 400)

    def keystone(self, status: int, message: str) -> Response:
        titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
        return self.json({"error": {"code": status, "message": message, "title": titles.get(status, "Error")}}, status)


class RequestIds:
    """Gives every request an id (in the scope) and every answer its X-Request-Id header."""

    def __init__(self, app: ASGIApp, config: EmulatorConfig) -> None:
        self.app = app
        self.strip = config.drifting("huawei.request-id-missing")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = uuid.uuid4().hex
        scope[REQUEST_ID_KEY] = value

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start" and not self.strip:
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", value.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)
