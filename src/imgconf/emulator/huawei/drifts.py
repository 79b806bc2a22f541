"""Huawei's drift profiles: regressions a gateway, a model or a serializer change could ship.

Each names the rules a run reports when it is on; the code that misbehaves asks
`config.drifting(name)` at the one place the behaviour changes.
"""

from __future__ import annotations

from imgconf.emulator.drift import Category, Drift

DRIFTS: tuple[Drift, ...] = (
    Drift(
        "huawei.v2-confidence-as-number",
        Category.TYPE_CHANGED,
        'v2 starts sending confidences as JSON numbers (92.38) like v1.0, not strings ("92.38"); '
        "the SDK would still parse them, so only a contract test notices.",
        ("huawei.v2.confidence-string",),
    ),
    Drift(
        "huawei.error-code-missing",
        Category.FIELD_RENAMED,
        "A new error serializer drops error_code: bodies carry only error_msg, and clients that branch on the code "
        "break.",
        ("huawei.errors.code",),
    ),
    Drift(
        "huawei.iam-token-header-dropped",
        Category.FIELD_RENAMED,
        "A proxy in front of IAM stops passing X-Subject-Token: POST /v3/auth/tokens still answers 201 with the "
        "token's description, but the token itself never reaches the client, and every token-mode call fails.",
        ("huawei.iam.headers", "huawei.iam.token-issued"),
    ),
    Drift(
        "huawei.v1-type-widened",
        Category.ENUM_WIDENED,
        "A model update adds a fourth v1.0 tag type, 'event', beside object, scene and concept.",
        ("huawei.v1.type",),
    ),
    Drift(
        "huawei.auth-failure-400",
        Category.STATUS_CHANGED,
        "The gateway answers APIG.0301 with 400, as the docs' error table misprints it, instead of 401.",
        ("huawei.errors.status",),
    ),
    Drift(
        "huawei.error-body-nested",
        Category.ERROR_SHAPE,
        'Service errors adopt IAM\'s Keystone shape: {"error": {"code": "AIS.0014", "message": ...}} '
        'instead of {"error_code", "error_msg"}.',
        ("huawei.errors.shape", "huawei.errors.code"),
    ),
    Drift(
        "huawei.result-as-text",
        Category.CONTENT_TYPE,
        "Successful answers are sent as text/plain (a gateway plugin rewrites the content type).",
        ("huawei.transport.json",),
    ),
    Drift(
        "huawei.signature-not-verified",
        Category.AUTH,
        "The gateway stops verifying AK/SK signatures: any Authorization naming a known AK gets in, "
        "whatever its signature, date or body (a security regression).",
        ("huawei.auth.signature", "huawei.auth.enforced", "huawei.auth.signing-rules", "huawei.auth.clock-skew"),
    ),
    Drift(
        "huawei.threshold-ignored",
        Category.SEMANTICS,
        "The threshold is no longer applied: tags below it (and below v2's default 60) come back.",
        ("huawei.result.threshold",),
    ),
    Drift(
        "huawei.limit-ignored",
        Category.SEMANTICS,
        "The limit is no longer applied: every tag above the threshold comes back, however many were asked for.",
        ("huawei.result.limit",),
    ),
    Drift(
        "huawei.expired-token-accepted",
        Category.STATE,
        "Token expiry is no longer checked: a token past its 24 hours is still accepted.",
        ("huawei.auth.token-expiry",),
    ),
    Drift(
        "huawei.lockout-never",
        Category.STATE,
        "The AK lockout never triggers: bad signatures can be tried without limit (brute force is open).",
        ("huawei.auth.lockout",),
    ),
    Drift(
        "huawei.request-id-missing",
        Category.FIELD_RENAMED,
        "A proxy in front of the gateway strips X-Request-Id: SDK exceptions lose their request id.",
        ("huawei.transport.request-id",),
    ),
    Drift(
        "huawei.latency",
        Category.LATENCY,
        "A tail-latency regression: one answer in 25 takes over a second (a cold inference container).",
        ("huawei.transport.latency",),
    ),
)
