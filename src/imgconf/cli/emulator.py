"""`imgconf emulator serve`: the faithful emulators (or drifted ones) over real HTTP on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import click

from imgconf import emulator as registry
from imgconf.emulator import server
from imgconf.emulator.config import EmulatorConfig
from imgconf.emulator.fetch import is_loopback_host
from imgconf.errors import UsageError


@click.group("emulator")
def group() -> None:
    """Run the vendor emulators."""


def _options(values: tuple[str, ...]) -> dict[str, dict[str, object]]:
    grouped: dict[str, dict[str, object]] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        vendor, dot, name = key.partition(".")
        if not sep or not dot:
            raise UsageError(f"--option {item!r} is not VENDOR.KEY=VALUE")
        try:
            value: object = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        grouped.setdefault(vendor, {})[name] = value
    return grouped


def _credentials(values: tuple[str, ...]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for item in values:
        vendor, sep, rest = item.partition(":")
        if not sep:
            raise UsageError(f"--credential {item!r} is not VENDOR:NAME=VALUE[,NAME=VALUE]")
        pairs = dict(pair.split("=", 1) for pair in rest.split(",") if "=" in pair)
        grouped.setdefault(vendor, []).append(pairs)
    return grouped


@group.command("serve")
@click.option("--vendor", "vendors", multiple=True, help="Vendor to serve (repeatable; default: all).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=int,
    help="First port; vendors get consecutive ports. 0 picks free ports.",
)
@click.option("--drift", "drifts", multiple=True, help="Drift to switch on (repeatable; see `imgconf drift list`).")
@click.option("--option", "options", multiple=True, help="VENDOR.KEY=VALUE emulator option (repeatable).")
@click.option(
    "--credential",
    "credentials",
    multiple=True,
    help="Extra accepted credential, VENDOR:NAME=VALUE[,NAME=VALUE] (repeatable).",
)
@click.option("--fast", is_flag=True, help="Switch documented rate limits off (for quick local test runs).")
@click.option("--ready-file", type=click.Path(path_type=Path), default=None, hidden=True)
@click.option("--log-level", default="warning", show_default=True)
def serve(
    vendors: tuple[str, ...],
    host: str,
    port: int,
    drifts: tuple[str, ...],
    options: tuple[str, ...],
    credentials: tuple[str, ...],
    fast: bool,
    ready_file: Path | None,
    log_level: str,
) -> None:
    """Serve the emulators until interrupted. Each vendor listens on its own port, like its own host."""
    if not is_loopback_host(host):
        raise UsageError(f"the emulator serves on loopback only; {host!r} is not a loopback address")
    selected = list(vendors) or list(registry.all_emulators())
    for vendor in selected:
        registry.get(vendor)
    by_vendor = registry.resolve_drifts(drifts)
    extra = _options(options)
    creds = _credentials(credentials)
    configs = {
        vendor: EmulatorConfig(
            drifts=by_vendor.get(vendor, frozenset()),
            credentials=tuple(creds.get(vendor, [])),
            options={"rate_limits": not fast, **extra.get(vendor, {})},
        )
        for vendor in selected
    }
    unknown = set(by_vendor) - set(selected)
    if unknown:
        raise UsageError(f"drift given for {', '.join(sorted(unknown))}, which is not served")
    click.echo("imgconf emulator (Ctrl-C to stop); default credentials:", err=True)
    for vendor in selected:
        for item in registry.get(vendor).default_credentials[:1]:
            click.echo(f"  {vendor}: {', '.join(f'{k}={v}' for k, v in item.items())}", err=True)
    server.serve(
        selected,
        configs,
        host=host,
        port=port,
        ready_file=ready_file,
        log_level=log_level,
        announce=lambda line: click.echo(line, err=True),
    )
