"""`imgconf docs`: the specs as Markdown pages and as a self-contained HTML site."""

from __future__ import annotations

from pathlib import Path

import click

from imgconf import docs


@click.command("docs")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable; default: all).")
@click.option(
    "--out",
    default="docs/api",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the Markdown pages.",
)
@click.option(
    "--site",
    "site_out",
    default="docs/site",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the HTML site (index.html and one page per API).",
)
@click.option("--no-site", is_flag=True, help="Write the Markdown pages only.")
@click.option(
    "--history",
    default="reports/history.sqlite",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Run history whose latest verdicts the site shows per operation (skipped when the file is absent).",
)
def command(vendors: tuple[str, ...], out: Path, site_out: Path, no_site: bool, history: Path) -> None:
    """Render every spec (operations, parameters, bodies, responses, examples, error codes, auth, rules,
    errata, assumptions) as Markdown pages and as an offline HTML reference."""
    for path in docs.write(out, list(vendors)):
        click.echo(f"wrote {path}")
    if not no_site:
        for path in docs.write_site(site_out, list(vendors), history if history.is_file() else None):
            click.echo(f"wrote {path}")
