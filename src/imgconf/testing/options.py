"""What one run was asked to do, checked before anything is sent.

Options come from `imgconf run`'s flags (or the suites' own pytest options when pytest runs them alone),
falling back to IMGCONF_* environment variables, then defaults. Every mistake an operator can make in them
(a budget below 1, an unknown vendor or drift, a target that is not a URL, a cassette that does not parse)
is a one-line `UsageError` here, before the first request.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgconf import emulator, targets
from imgconf import vendors as registry
from imgconf.errors import UsageError
from imgconf.report.outcome import Gate, RunKind
from imgconf.targets import ReplayTarget, Target
from imgconf.targets.credentials import load_config
from imgconf.testing import profiles
from imgconf.testing.profiles import Profile


@dataclass
class SuiteOptions:
    target: Target
    vendors: list[str]
    profile: Profile
    seed: int
    drifts: dict[str, frozenset[str]] = field(default_factory=dict)
    out: Path | None = None
    budget: int | None = None
    allow_mutations: bool = False
    emulator_options: dict[str, Any] = field(default_factory=dict)
    config_path: Path | None = None
    command: str = ""
    record: bool = False
    timeout: float | None = None
    # `--thorough` and `--callback-url` as given (the target holds what they mean for it).
    thorough: bool = False
    callback_url: str | None = None
    gate: Gate = field(default_factory=Gate)
    # Stop the run at the first finding that names one of these rules (the selftest's drift runs).
    stop_on_rules: frozenset[str] = frozenset()
    # `-k EXPR`: only the tests whose names match, as pytest selects them.
    keyword: str | None = None
    # What "never sent before" is drawn from (fresh media, new e-mail addresses): new every run, so a live
    # vendor's cache has never seen them; recorded in a cassette, so a replay draws the very same.
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def kind(self) -> RunKind:
        return self.target.run_kind(self.drifts)

    def settings(self) -> targets.RunSettings:
        return targets.RunSettings(
            budget=self.budget,
            drifts=self.drifts,
            emulator_options=self.emulator_options,
            allow_mutations=self.allow_mutations,
            config_path=self.config_path,
            record=self.record,
            timeout=self.timeout,
            thorough_budget=self.profile.thorough_budget,
        )

    @classmethod
    def from_values(
        cls,
        *,
        target: str | None,
        vendors: list[str] | None,
        profile: str | None,
        seed: int | None,
        drifts: list[str] | None,
        replay: Path | None = None,
        **rest: Any,
    ) -> SuiteOptions:
        """Options from flags, falling back to IMGCONF_* environment variables, then defaults.

        A replay takes its vendors, profile and seed from the cassette, so it sends the recorded requests.
        """
        target_value = target or os.environ.get("IMGCONF_TARGET") or "emulator"
        # Each item may be a comma-separated list: `--vendor altum,huawei`, IMGCONF_VENDORS=altum,huawei.
        vendor_ids = [v for item in (vendors or [os.environ.get("IMGCONF_VENDORS", "")]) for v in item.split(",") if v]
        if replay is not None:
            if target:
                raise UsageError("--replay answers from the cassette; it takes no --target")
            if rest.get("record"):
                raise UsageError("--record and --replay exclude each other")
        # imgconf.toml may make a URL target thorough (`[targets."URL"]`); read only for URL targets, so a
        # broken file in the working directory does not stop an emulator run.
        url_target = replay is None and target_value not in targets.NAMED
        config = load_config(rest.get("config_path")) if url_target else {}
        chosen = targets.parse(
            target_value,
            cassette=replay,
            thorough=bool(rest.get("thorough")),
            callback=rest.get("callback_url"),
            config=config,
            record=bool(rest.get("record")),
        )
        if isinstance(chosen, ReplayTarget):
            metadata = chosen.metadata
            recorded_vendors = metadata.get("vendors")
            vendor_ids = vendor_ids or (list(recorded_vendors) if isinstance(recorded_vendors, list) else [])
            recorded_profile = metadata.get("profile")
            profile = profile or (recorded_profile if isinstance(recorded_profile, str) else None)
            recorded_seed = metadata.get("seed")
            seed = seed if seed is not None else (recorded_seed if isinstance(recorded_seed, int) else None)
            recorded_nonce = metadata.get("nonce")
            if isinstance(recorded_nonce, str):
                rest.setdefault("nonce", recorded_nonce)
        selected = [vendor.id for vendor in registry.select(vendor_ids)]
        drift_names = [d for item in (drifts or [os.environ.get("IMGCONF_DRIFT", "")]) for d in item.split(",") if d]
        grouped = emulator.resolve_drifts(drift_names) if drift_names else {}
        if grouped and not chosen.drifts_allowed:
            raise UsageError("drifts change the emulator; use them with --target emulator or emulator-http")
        for vendor_id in grouped:
            if vendor_id not in selected:
                raise UsageError(f"drift for {vendor_id!r} given, but {vendor_id} is not among the vendors run")
        if rest.get("record") and not chosen.operator_credentials:
            raise UsageError("--record is for live and URL targets; emulator runs are reproduced by their seed")
        budget = rest.get("budget")
        if budget is not None and budget < 1:
            raise UsageError(f"--budget {budget}: a budget is a number of requests, at least 1")
        timeout = rest.get("timeout")
        if timeout is not None and timeout <= 0:
            raise UsageError(f"--timeout {timeout}: a timeout is a number of seconds, more than 0")
        seed_text = os.environ.get("IMGCONF_SEED", "0") or "0"
        if seed is None and not seed_text.lstrip("-").isdigit():
            raise UsageError(f"IMGCONF_SEED={seed_text!r} is not an integer")
        return cls(
            target=chosen,
            vendors=selected,
            profile=profiles.get(profile or os.environ.get("IMGCONF_PROFILE") or "smoke"),
            seed=seed if seed is not None else int(seed_text),
            drifts=grouped,
            **rest,
        )
