"""The operator's credentials and live settings: from the environment or the git-ignored `imgconf.toml`.

Never from flags, so they stay out of shell history; every value read is registered with the redactor
before it is used, so it can reach no report, log or cassette. The same file also holds defaults for the
commands' options (`[run]`, `[docs]`, `[emulator.serve]`...: see cli/config.py); it is found by
`config_file()`: `$IMGCONF_CONFIG`, else `./imgconf.toml`, else `$XDG_CONFIG_HOME/imgconf/imgconf.toml`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from imgconf.errors import CredentialsMissing, UsageError
from imgconf.redact import REDACTOR
from imgconf.vendors.base import Vendor

CONFIG_ENV = "IMGCONF_CONFIG"
CONFIG_FILE = "imgconf.toml"


def config_file() -> Path | None:
    """The imgconf.toml in force: `$IMGCONF_CONFIG` (which must exist), else the working directory's, else
    the user's under `$XDG_CONFIG_HOME` (default ~/.config); None when there is none."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        if not Path(named).is_file():
            raise UsageError(f"config file {named} does not exist (from ${CONFIG_ENV})")
        return Path(named)
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    for candidate in (Path(CONFIG_FILE), Path(xdg) / "imgconf" / CONFIG_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The git-ignored `imgconf.toml`: credentials and live settings that must not sit in the shell history."""
    if path is not None and not path.exists():
        raise UsageError(f"config file {path} does not exist")
    candidate = path or config_file()
    if candidate is None:
        return {}
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {candidate} is not valid TOML: {exc}") from None
    for section in data.get("vendors", {}).values():
        if not isinstance(section, dict):
            continue
        for key, value in section.items():
            if isinstance(value, str) and key not in ("image_urls",):
                REDACTOR.add_secret(value)
    return data


def vendor_section(config: Mapping[str, Any], vendor: Vendor) -> dict[str, Any]:
    section = config.get("vendors", {}).get(vendor.id, {})
    return section if isinstance(section, dict) else {}


TARGET_KEYS = ("thorough", "callback_url", "latency_budget_s")


def target_settings(config: Mapping[str, Any], urls: Iterable[str]) -> dict[str, Any]:
    """What `[targets."BASE-URL"]` sections of imgconf.toml say about a URL target.

    `thorough` and `callback_url` as the flags; `latency_budget_s`, the slowest answer the latency rules allow
    (default: the spec's `x-latency-budget-s`), for a deployment known to answer faster than a live vendor.

    A target of several base URLs takes a setting only when every one of its URLs' sections agrees on it,
    so one vendor's staging section cannot make another vendor's run thorough.
    """
    sections = config.get("targets", {})
    if not isinstance(sections, dict):
        raise UsageError("[targets] in imgconf.toml must be a table of base URLs")
    found: list[dict[str, Any]] = []
    for url in urls:
        section = sections.get(url.rstrip("/")) or sections.get(url.rstrip("/") + "/") or {}
        if not isinstance(section, dict):
            raise UsageError(f'[targets."{url}"] in imgconf.toml must be a table')
        unknown = sorted(set(section) - set(TARGET_KEYS))
        if unknown:
            keys = ", ".join(TARGET_KEYS)
            raise UsageError(f'[targets."{url}"] in imgconf.toml: unknown key {unknown[0]!r}; keys are {keys}')
        if "thorough" in section and not isinstance(section["thorough"], bool):
            raise UsageError(f'[targets."{url}"] thorough must be true or false')
        budget = section.get("latency_budget_s", 1)
        if isinstance(budget, bool) or not isinstance(budget, int | float) or budget <= 0:
            raise UsageError(f'[targets."{url}"] latency_budget_s must be a number of seconds, more than 0')
        found.append(section)
    if not found:
        return {}
    first = found[0]
    return {key: first[key] for key in TARGET_KEYS if key in first and all(s.get(key) == first[key] for s in found)}


def live_credentials(vendor: Vendor, config: Mapping[str, Any]) -> dict[str, str]:
    section = vendor_section(config, vendor)
    found: dict[str, str] = {}
    missing = []
    for credential in vendor.credentials:
        value = os.environ.get(credential.env) or section.get(credential.name)
        if value:
            found[credential.name] = str(value)
            if credential.secret:
                REDACTOR.add_secret(str(value), f"${credential.env}")
        elif not credential.optional:
            missing.append(credential.env)
    if missing:
        raise CredentialsMissing(
            f"{vendor.id}: set {', '.join(missing)} (or [vendors.{vendor.id}] in {CONFIG_FILE}) "
            "for a live or URL target"
        )
    return found


def live_image_urls(vendor: Vendor, config: Mapping[str, Any]) -> tuple[str, ...]:
    env = os.environ.get(vendor.image_urls_env)
    if env:
        return tuple(url.strip() for url in env.split(",") if url.strip())
    configured = vendor_section(config, vendor).get("image_urls")
    return tuple(configured) if configured else vendor.image_urls
