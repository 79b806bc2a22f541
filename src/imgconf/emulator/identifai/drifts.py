"""identifAI's drift profiles: regressions a Laravel service like this one could plausibly ship."""

from __future__ import annotations

from imgconf.emulator.drift import Category, Drift

IDENTIFIER_UUID = "identifai.identifier-uuid"
SCORES_PERCENT = "identifai.scores-as-percentages"
VERDICT_RENAMED = "identifai.verdict-renamed"
STATUS_PROCESSING = "identifai.status-processing"
VALIDATION_422 = "identifai.validation-422"
BARE_429 = "identifai.429-without-body"
TEXT_IGNORED = "identifai.text-plain-ignored"
AUTH_OFF = "identifai.auth-not-enforced"
LIST_LIMIT_OFF = "identifai.identifiers-limit-ignored"
WEBHOOK_CACHED = "identifai.webhook-for-cached"
NEVER_DONE = "identifai.never-done"
LATENCY = "identifai.latency"

DRIFTS: tuple[Drift, ...] = (
    Drift(
        IDENTIFIER_UUID,
        Category.TYPE_CHANGED,
        "Identifiers move to Laravel's HasUuids: submissions answer UUIDs instead of 64 hex characters.",
        ("identifai.submit.identifier",),
    ),
    Drift(
        SCORES_PERCENT,
        Category.TYPE_CHANGED,
        "A model upgrade reports scores and confidences as percentages (0-100) instead of fractions (0-1).",
        ("identifai.result.score-range",),
    ),
    Drift(
        VERDICT_RENAMED,
        Category.FIELD_RENAMED,
        "A resource refactor renames the main verdict of finished results from verdict to main_verdict.",
        ("identifai.result.done-complete",),
    ),
    Drift(
        STATUS_PROCESSING,
        Category.ENUM_WIDENED,
        'A queue rework reports in-flight jobs as status "processing", outside new/done/errored.',
        ("identifai.result.status",),
    ),
    Drift(
        VALIDATION_422,
        Category.STATUS_CHANGED,
        "The custom validation handler is lost: validation errors come back as Laravel's default 422, not 400.",
        (
            "identifai.status.documented",
            "identifai.request.accepted",
            "identifai.submit.missing-field",
            "identifai.submit.file-type",
            "identifai.submit.file-size",
            "identifai.submit.url-invalid",
            "identifai.override.request",
            "identifai.list.limit",
            "identifai.list.required",
        ),
    ),
    Drift(
        BARE_429,
        Category.ERROR_SHAPE,
        'A proxy in front of the API answers throttled requests itself: 429 with an empty body, not {"message": '
        '"Too Many Attempts."}.',
        ("identifai.errors.429-body",),
    ),
    Drift(
        TEXT_IGNORED,
        Category.CONTENT_TYPE,
        "Submissions always answer JSON: Accept: text/plain (and */*) is ignored.",
        ("identifai.submit.accept-text",),
    ),
    Drift(
        AUTH_OFF,
        Category.AUTH,
        "The routes fall out of the auth middleware group: requests without a valid X-Api-Key are served.",
        ("identifai.auth.enforced", "identifai.auth.unauthorized-body", "identifai.request.validation"),
    ),
    Drift(
        LIST_LIMIT_OFF,
        Category.SEMANTICS,
        "The max:100 rule on identifiers[] is dropped: any number of identifiers is accepted.",
        ("identifai.list.limit", "identifai.request.validation"),
    ),
    Drift(
        WEBHOOK_CACHED,
        Category.STATE,
        "Cached repeats call the webhook too, against the documented 'the webhook won't be called'.",
        ("identifai.webhook.not-for-cached",),
    ),
    Drift(
        NEVER_DONE,
        Category.STATE,
        "The queue worker is down: submissions are accepted and stay status new for ever.",
        ("identifai.async.completes",),
    ),
    Drift(
        LATENCY,
        Category.LATENCY,
        "A lookup regression (a lost database index): one result-list request in 25 takes over a second.",
        ("identifai.transport.latency",),
    ),
)
