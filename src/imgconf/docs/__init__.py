"""`imgconf docs`: the specs rendered as a reference an integrator can work from, errata and assumptions included.

The specs are the most precise description of these APIs that exists; this turns each into a Markdown page
(what a repository viewer shows) and a self-contained HTML page (one per API plus an index, offline), both
drawn from one page model (`reference.build`), so neither can say what the contract does not. The HTML site
adds, when a run history exists, each operation's latest verdict per target.
"""

from __future__ import annotations

from pathlib import Path

from imgconf import specs
from imgconf import vendors as registry
from imgconf.docs import markdown, reference, site, verdicts
from imgconf.docs.page import Reference


def render(spec: specs.Spec) -> str:
    """The Markdown page of one spec (no history in it, so the committed pages stay reproducible)."""
    return markdown.render(reference.build(spec))


def references(vendor_ids: list[str] | None = None) -> list[Reference]:
    return [reference.build(spec) for vendor in registry.select(vendor_ids) for spec in vendor.specs]


def index(pages: list[Reference]) -> str:
    """docs/api/README.md: one line per page."""
    lines = ["# API documentation", "", "Rendered from the hand-written specs by `imgconf docs`.", ""]
    lines += [
        f"- [{page.title}]({page.slug}.md) — {page.vendor}, {len(page.operations)} operations, "
        f"{len(page.rules)} rules, {len(page.errata)} errata"
        for page in pages
    ]
    return "\n".join(lines) + "\n"


def write(out: Path, vendor_ids: list[str] | None = None) -> list[Path]:
    """docs/api/: one Markdown page per spec and a README index."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    pages = references(vendor_ids)
    for page in pages:
        target = out / f"{page.slug}.md"
        target.write_text(markdown.render(page), encoding="utf-8")
        written.append(target)
    (out / "README.md").write_text(index(pages), encoding="utf-8")
    return written


def write_site(out: Path, vendor_ids: list[str] | None = None, history: Path | None = None) -> list[Path]:
    """The HTML site: index.html and one page per spec, every asset inline."""
    out.mkdir(parents=True, exist_ok=True)
    pages = references(vendor_ids)
    for page in pages:
        page.verdicts = verdicts.latest(history, page.vendor, [op.label for op in page.operations])
    written = []
    for page in pages:
        target = out / f"{page.slug}.html"
        target.write_text(site.page(page, pages), encoding="utf-8")
        written.append(target)
    index = out / "index.html"
    index.write_text(site.index(pages), encoding="utf-8")
    return [index, *written]
