"""One suite run's state: options, targets (started on first use), the recorder and the collector.

The pytest plugin creates it in `pytest_configure`, before any suite module
is imported, so module-level code (schemathesis schemas, hypothesis
settings) can read the run's profile and seed through `SuiteSession.current()`.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from imgconf.errors import ImgconfError, TargetUnreachable
from imgconf.runner import profiles, targets
from imgconf.runner.profiles import Profile
from imgconf.testing.transport import Recorder

if TYPE_CHECKING:
    from imgconf.testing.client import ApiClient
    from imgconf.testing.collector import Collector
    from imgconf.testing.imageserver import ImageServer


@dataclass
class SuiteOptions:
    target: targets.TargetSpec
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

    @classmethod
    def from_values(
        cls,
        *,
        target: str | None,
        vendors: list[str] | None,
        profile: str | None,
        seed: int | None,
        drifts: list[str] | None,
        **rest: Any,
    ) -> SuiteOptions:
        """Options from flags, falling back to IMGCONF_* environment variables, then defaults."""
        from imgconf import vendors as registry

        target_value = target or os.environ.get("IMGCONF_TARGET") or "emulator"
        vendor_ids = vendors or [v for v in os.environ.get("IMGCONF_VENDORS", "").split(",") if v]
        selected = [vendor.id for vendor in registry.select(vendor_ids)]
        drift_names = drifts or [d for d in os.environ.get("IMGCONF_DRIFT", "").split(",") if d]
        grouped: dict[str, frozenset[str]] = {}
        if drift_names:
            from imgconf import emulator

            grouped = emulator.resolve_drifts(drift_names)
        seed_value = seed if seed is not None else int(os.environ.get("IMGCONF_SEED", "0") or 0)
        return cls(
            target=targets.parse(target_value),
            vendors=selected,
            profile=profiles.get(profile or os.environ.get("IMGCONF_PROFILE") or "smoke"),
            seed=seed_value,
            drifts=grouped,
            **rest,
        )


class SuiteSession:
    _current: ClassVar[SuiteSession | None] = None

    def __init__(self, options: SuiteOptions) -> None:
        from imgconf.testing.collector import Collector

        self.options = options
        self.recorder = Recorder()
        self.collector: Collector = Collector(self)
        self._stack = ExitStack()
        self._targets: dict[str, targets.VendorTarget] | None = None
        self._failure: ImgconfError | None = None
        self._image_server: ImageServer | None = None
        self._reachable: dict[str, str | None] = {}

    # -- the current session --------------------------------------------------------------------

    @classmethod
    def current(cls) -> SuiteSession:
        if cls._current is None:
            raise RuntimeError("no imgconf suite session: run the suites with `imgconf run` or `pytest suites/`")
        return cls._current

    def activate(self) -> None:
        SuiteSession._current = self

    def close(self) -> None:
        if self._image_server is not None:
            self._image_server.close()
        self._stack.close()
        if SuiteSession._current is self:
            SuiteSession._current = None

    # -- targets --------------------------------------------------------------------------------

    def settings(self) -> targets.RunSettings:
        return targets.RunSettings(
            budget=self.options.budget,
            drifts=self.options.drifts,
            emulator_options=self.options.emulator_options,
            allow_mutations=self.options.allow_mutations,
            config_path=self.options.config_path,
        )

    def targets(self) -> dict[str, targets.VendorTarget]:
        """Every selected vendor, reachable; started on first use and kept for the session."""
        if self._failure is not None:
            raise self._failure
        if self._targets is None:
            from imgconf import vendors as registry

            try:
                self._targets = self._stack.enter_context(
                    targets.resolve(
                        self.options.target, registry.select(self.options.vendors), self.settings(), self.recorder
                    )
                )
            except ImgconfError as exc:
                self._failure = exc
                raise
        return self._targets

    def target(self, vendor: str) -> targets.VendorTarget:
        resolved = self.targets()[vendor]
        if not resolved.local:
            if vendor not in self._reachable:
                try:
                    for url in set(resolved.urls.values()):
                        targets.check_reachable(url)
                    self._reachable[vendor] = None
                except TargetUnreachable as exc:
                    self._reachable[vendor] = exc.message
            if self._reachable[vendor] is not None:
                raise TargetUnreachable(f"{vendor}: {self._reachable[vendor]}")
        return resolved

    def client(self, vendor: str) -> ApiClient:
        from imgconf.testing.client import ApiClient

        return ApiClient(self.target(vendor))

    @property
    def image_server(self) -> ImageServer:
        from imgconf.testing.imageserver import ImageServer

        if self._image_server is None:
            self._image_server = ImageServer()
        return self._image_server
