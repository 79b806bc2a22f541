"""Today's date, overridable with IMGCONF_TODAY=YYYY-MM-DD so monitors' date logic (retirements) can be tested."""

from __future__ import annotations

import os
from datetime import date

from imgconf.errors import UsageError


def today() -> date:
    value = os.environ.get("IMGCONF_TODAY")
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"IMGCONF_TODAY={value!r} is not a date (YYYY-MM-DD)") from None
