"""`imgconf docs`: the specs as Markdown pages and as a self-contained HTML site."""

from __future__ import annotations

import os
from pathlib import Path

import click

from imgconf import docs, paths


def default_base() -> Path:
    """The checkout's docs/ when run inside the checkout (the committed pages), else reports/docs/: run
    anywhere else, `imgconf docs` never overwrites a docs/ folder that belongs to someone else."""
    checkout = paths.checkout()
    here = Path.cwd().resolve()
    if checkout is not None and here.is_relative_to(checkout):
        return Path(os.path.relpath(checkout / "docs", here))
    return Path("reports") / "docs"


@click.command("docs")
@click.option("--vendor", "vendors", multiple=True, help="Only this vendor (repeatable; default: all).")
@click.option(
    "--out",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder for the Markdown pages (default reports/docs/api; the checkout's docs/api when run inside it).",
)
@click.option(
    "--site",
    "site_out",
    default=None,
    type=click.Path(path_type=Path),
    help="Folder for the HTML site, index.html and one page per API (default reports/docs/site; the "
    "checkout's docs/site when run inside it).",
)
@click.option("--no-site", is_flag=True, help="Write the Markdown pages only.")
@click.option(
    "--history",
    default="reports/history.sqlite",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Run history whose latest verdicts the site shows per operation (skipped when the file is absent).",
)
def command(vendors: tuple[str, ...], out: Path | None, site_out: Path | None, no_site: bool, history: Path) -> None:
    """Render every spec (operations, parameters, bodies, responses, examples, error codes, auth, rules,
    errata, assumptions) as Markdown pages and as an offline HTML reference."""
    base = default_base()
    out = out or base / "api"
    site_out = site_out or base / "site"
    for path in docs.write(out, list(vendors)):
        click.echo(f"wrote {path}")
    if not no_site:
        for path in docs.write_site(site_out, list(vendors), history if history.is_file() else None):
            click.echo(f"wrote {path}")
