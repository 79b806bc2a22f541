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
from imgconf.redact import REDACTOR
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
    record: bool = False
    dry_run: bool = False
    # Stop the run at the first finding that names one of these rules (the selftest's drift runs).
    stop_on_rules: frozenset[str] = frozenset()

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
        from imgconf import vendors as registry

        target_value = target or os.environ.get("IMGCONF_TARGET") or "emulator"
        vendor_ids = vendors or [v for v in os.environ.get("IMGCONF_VENDORS", "").split(",") if v]
        if replay is not None:
            from imgconf.runner import cassette

            if target:
                raise ImgconfError("--replay answers from the cassette; it takes no --target")
            if rest.get("record"):
                raise ImgconfError("--record and --replay exclude each other")
            metadata = cassette.load(replay).metadata
            vendor_ids = vendor_ids or list(metadata.get("vendors", []))
            profile = profile or metadata.get("profile")
            seed = seed if seed is not None else metadata.get("seed")
        selected = [vendor.id for vendor in registry.select(vendor_ids)]
        drift_names = drifts or [d for d in os.environ.get("IMGCONF_DRIFT", "").split(",") if d]
        grouped: dict[str, frozenset[str]] = {}
        if drift_names:
            from imgconf import emulator

            grouped = emulator.resolve_drifts(drift_names)
        seed_value = seed if seed is not None else int(os.environ.get("IMGCONF_SEED", "0") or 0)
        spec = targets.TargetSpec("replay", cassette=replay) if replay is not None else targets.parse(target_value)
        if rest.get("record") and spec.local:
            raise ImgconfError("--record is for live and URL targets; emulator runs are reproduced by their seed")
        return cls(
            target=spec,
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
        # An error that ends the whole run (missing credentials, say); the runner reports it as it is.
        self.fatal: ImgconfError | None = None
        self.cassette = None
        if options.record:
            from imgconf.runner.cassette import CassetteRecorder

            self.cassette = CassetteRecorder()
            self.recorder.listeners.append(self.cassette)

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
            record=self.options.record,
            dry_run=self.options.dry_run,
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
        if resolved.kind in ("live", "url"):
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

    def artifacts(self) -> dict[str, bytes]:
        """Files the run leaves beside its report: the redacted cassette when recording."""
        if self.cassette is None:
            return {}
        resolved = self._targets or {}
        metadata = {
            "imgconf": {"format": 1},
            "vendors": list(self.options.vendors),
            "target": self.options.target.describe(),
            "profile": self.options.profile.name,
            "seed": self.options.seed,
            "allow_mutations": self.options.allow_mutations,
            "urls": {
                vendor: {name: REDACTOR.url(url) for name, url in target.urls.items()}
                for vendor, target in resolved.items()
            },
            "image_urls": {vendor: list(target.image_urls) for vendor, target in resolved.items()},
        }
        return {"cassette.yaml": REDACTOR.text(self.cassette.serialize(metadata)).encode()}

    def client(self, vendor: str) -> ApiClient:
        from imgconf.testing.client import ApiClient

        return ApiClient(self.target(vendor))

    @property
    def image_server(self) -> ImageServer:
        from imgconf.testing.imageserver import ImageServer

        if self._image_server is None:
            self._image_server = ImageServer()
        return self._image_server


def sized(local: int, remote: int) -> int:
    """How many of something a test may spend: `local` against the emulator, `remote` against a metered vendor."""
    return local if SuiteSession.current().options.target.local else remote
