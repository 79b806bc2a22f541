"""The partner routes: users of the partnership (listed as a Laravel paginator), their creation and update, the
creation email, and the pricing plans. Only partner keys pass (x-assumption identifai-partner-403).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from imgconf.emulator.bodies import BodyTooLarge
from imgconf.emulator.identifai.analysis import HEURISTICS
from imgconf.emulator.identifai.forms import Invalid, boolean, field, integer
from imgconf.emulator.identifai.store import PRICINGS, Account, Store, partner_record

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
ORDERABLE = ("id", "name", "email", "created_at", "updated_at", "heuristic")


class Host(Protocol):
    """What the partner routes take from the app that mounts them: its store, its gate and its answers.

    A protocol rather than the app's class, so that this module sits below `app`, which imports it.
    """

    store: Store

    def gate(self, request: Request, partner: bool = False) -> Account | Response: ...

    async def small_form(self, request: Request) -> FormData: ...

    def invalid(self, message: str) -> Response: ...

    def not_found(self) -> Response: ...

    def json(self, body: Any, status: int) -> Response: ...


class PartnerRoutes:
    def __init__(self, emulator: Host) -> None:
        self.emulator = emulator

    async def users(self, request: Request) -> Response:
        account = self.emulator.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        query = request.query_params
        try:
            pricing_id = integer(query.get("pricing_id"), "pricing_id")
            per_page = integer(query.get("per_page"), "per_page", minimum=1)
            page = integer(query.get("page"), "page", minimum=1) or 1
            direction = query.get("direction") or "asc"
            if direction not in ("asc", "desc"):
                raise Invalid("The selected direction is invalid.")
        except Invalid as exc:
            return self.emulator.invalid(str(exc))
        users = list(self.emulator.store.users.values())
        search = (query.get("search") or "").strip().lower()
        if search:
            users = [user for user in users if search in user["name"].lower() or search in user["email"].lower()]
        if pricing_id is not None:
            users = [user for user in users if (user.get("pricing") or {}).get("id") == pricing_id]
        order = query.get("order") or "id"
        field = order if order in ORDERABLE else "id"
        users.sort(key=lambda user: str(user[field]) if field != "id" else user["id"], reverse=direction == "desc")
        return self.emulator.json(paginate(users, per_page, page, str(request.url.replace(query=""))), 200)

    async def save_user(self, request: Request) -> Response:
        account = self.emulator.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        try:
            form = await self.emulator.small_form(request)
        except BodyTooLarge:
            return self.emulator.invalid("The name field is required.")
        try:
            user_id = integer(field(form, "id", keep_null_word=False), "id")
            existing = self.emulator.store.users.get(user_id) if user_id is not None else None
            fields = self.validate_user(form, existing)
        except Invalid as exc:
            return self.emulator.invalid(str(exc))
        if user_id is not None and existing is None:
            return self.emulator.not_found()
        now = self.emulator.store.timestamp()
        with self.emulator.store.locked():
            if existing is None:
                user_id = max([221, *self.emulator.store.users]) + 1
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
            self.emulator.store.users[existing["id"]] = existing
        return self.emulator.json({"data": existing}, 200)

    def validate_user(self, form: FormData, existing: dict[str, Any] | None) -> dict[str, Any]:
        name = field(form, "name")
        if name is None:
            raise Invalid("The name field is required.")
        email = field(form, "email")
        if email is None:
            raise Invalid("The email field is required.")
        if not EMAIL.match(email):
            raise Invalid("The email field must be a valid email address.")
        taken = any(
            user["email"].lower() == email.lower() and (existing is None or user["id"] != existing["id"])
            for user in self.emulator.store.users.values()
        )
        if taken:
            raise Invalid("The email has already been taken.")
        heuristic = field(form, "heuristic")
        if heuristic is None:
            raise Invalid("The heuristic field is required.")
        if heuristic not in HEURISTICS:
            raise Invalid("The selected heuristic is invalid.")
        pricing_id = integer(field(form, "pricing_id"), "pricing_id")
        if pricing_id is None:
            raise Invalid("The pricing_id field is required.")
        pricing = next((dict(item) for item in PRICINGS if item["id"] == pricing_id), None)
        if pricing is None:
            raise Invalid("The selected pricing_id is invalid.")
        fields: dict[str, Any] = {"name": name, "email": email, "heuristic": heuristic, "pricing": pricing}
        for flag in ("readonly", "newsletter", "save_files"):
            value = boolean(form, flag)
            if flag == "readonly" and value is not None:
                fields["readonly"] = value
        return fields

    async def send_creation_email(self, request: Request) -> Response:
        account = self.emulator.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        try:
            form = await self.emulator.small_form(request)
            user_id = integer(field(form, "id"), "id")
            if user_id is None:
                raise Invalid("The id field is required.")
        except BodyTooLarge:
            return self.emulator.invalid("The id field is required.")
        except Invalid as exc:
            return self.emulator.invalid(str(exc))
        user = self.emulator.store.users.get(user_id)
        if user is None:
            return self.emulator.not_found()
        return self.emulator.json({"data": user}, 200)

    async def pricings(self, request: Request) -> Response:
        account = self.emulator.gate(request, partner=True)
        if isinstance(account, Response):
            return account
        return self.emulator.json({"data": [dict(item) for item in PRICINGS]}, 200)


def paginate(users: list[dict[str, Any]], per_page: int | None, page: int, base: str) -> dict[str, Any]:
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
