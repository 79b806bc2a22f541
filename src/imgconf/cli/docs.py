"""`imgconf docs`: the specs as Markdown pages."""

from __future__ import annotations

from pathlib import Path

import click

from imgconf import docs


@click.command("docs")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable; default: all).")
@click.option("--out", default="docs/api", show_default=True, type=click.Path(path_type=Path))
def command(vendors: tuple[str, ...], out: Path) -> None:
    """Render every spec (operations, bodies, rules, errata, assumptions) as a Markdown page."""
    for path in docs.write(out, list(vendors)):
        click.echo(f"wrote {path}")
