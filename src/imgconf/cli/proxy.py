"""`imgconf proxy`: put imgconf between an application and a vendor, and hold every exchange to the spec."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from imgconf.cli import output
from imgconf.errors import UsageError
from imgconf.proxy.relay import Upstream
from imgconf.proxy.server import serve
from imgconf.proxy.session import ProxyRun, vendor_or_fail
from imgconf.redact import REDACTOR


@click.command("proxy")
@click.option("--vendor", "vendor_id", required=True, help="The vendor whose API the application calls.")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    help="Where to forward (repeatable; default: the vendor's documented servers). Reverse-proxy requests go to "
    "the first; forward-proxy requests to the one whose host they name.",
)
@click.option("--listen", default="127.0.0.1:8780", show_default=True, help="HOST:PORT the proxy listens on.")
@click.option("--out", default="reports", show_default=True, type=click.Path(path_type=Path))
@click.option(
    "--flush-every", default=5.0, show_default=True, type=click.FloatRange(min=0.01), help="Minutes per report."
)
@click.option("--record", is_flag=True, help="Write each window's redacted cassette beside its report.")
@click.option("--history", "history_path", type=click.Path(path_type=Path), help="Default <out>/history.sqlite.")
@click.option("--no-history", is_flag=True, help="Neither read nor record run history.")
@click.option("--keep-host", is_flag=True, help="Forward the Host header as sent (reverse mode rewrites it).")
@click.option("--ready-file", type=click.Path(path_type=Path), hidden=True)
def command(
    vendor_id: str,
    upstreams: tuple[str, ...],
    listen: str,
    out: Path,
    flush_every: float,
    record: bool,
    history_path: Path | None,
    no_history: bool,
    keep_host: bool,
    ready_file: Path | None,
) -> int:
    """Relay an application's traffic to a vendor unchanged, and report what breaks the contract.

    Point the application's base URL at the proxy (or name it as the application's HTTP proxy, for
    requests signed for the vendor's host). Every exchange is checked off the request path; a report is
    written every --flush-every minutes and on SIGINT/SIGTERM, after which the command exits 0.
    """
    console = output.console()
    vendor = vendor_or_fail(vendor_id)
    targets = list(dict.fromkeys(upstreams or vendor.live_urls().values()))
    if not targets:
        raise UsageError(f"{vendor.id} documents no server: give --upstream")
    for url in targets:
        Upstream.parse(url)  # a URL that is not one is a usage error, before anything starts
    run = ProxyRun(
        vendor,
        targets[0],
        out,
        flush_every * 60,
        history_path=None if no_history else (history_path or out / "history.sqlite"),
        record=record,
        command=REDACTOR.text(shlex.join(["imgconf", *sys.argv[1:]])),
        announce=lambda line: console.print(line, highlight=False),
        also=tuple(targets[1:]),
    )
    serve(run, listen, keep_host=keep_host, announce=run.announce, ready_file=ready_file)
    return 0
