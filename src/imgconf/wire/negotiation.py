"""Content negotiation as the vendors' frameworks do it: which representation an Accept header asks for."""

from __future__ import annotations


def wants_json(accept: str | None) -> bool:
    """Laravel's wantsJson(): Accept's most preferred media type is JSON (x-assumption identifai-accept-default)."""
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
    first = min(ranked)[2]
    return "/json" in first or "+json" in first
