"""The reference as a self-contained HTML site: one page per spec and an index, every byte inline, offline.

Rendered with jinja2 (a dependency already) from templates/ beside this module; CSS and the few lines of
script live in the page itself, so the site opens from a file:// URL, is served by any static server, and
never asks a CDN for anything. The spec's prose is a small Markdown subset (code spans, emphasis, bullet
lists, bare URLs), turned into HTML here with everything else escaped.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from imgconf.docs.page import Reference

TEMPLATES = Path(__file__).with_name("templates")
_URL = re.compile(r"(https?://[^\s<>()\"'`]+[^\s<>()\"'`.,;:])")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_CROSS = re.compile(r"\b(x-assumption|x-errata) ([a-z0-9]+(?:-[a-z0-9]+)+)")
_TARGET = {"x-assumption": "assumption", "x-errata": "erratum"}
_EM = re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")


def _cross_link(match: re.Match[str]) -> str:
    """`x-assumption name` and `x-errata name` link to the entry on the same page."""
    kind, name = match.group(1), match.group(2)
    return f'{kind} <a href="#{_TARGET[kind]}-{name}">{name}</a>'


def inline(value: str) -> Markup:
    """One line of spec prose as HTML: escaped, with `code`, **strong**, *em* and links."""
    parts = _CODE.split(str(value))
    html = []
    for index, part in enumerate(parts):
        if index % 2:
            html.append(f"<code>{escape(part)}</code>")
            continue
        text = str(escape(part))
        text = _URL.sub(lambda match: f'<a href="{match.group(1)}">{match.group(1)}</a>', text)
        text = _CROSS.sub(_cross_link, text)
        text = _STRONG.sub(r"<strong>\1</strong>", text)
        text = _EM.sub(r"<em>\1</em>", text)
        html.append(text)
    return Markup("".join(html))


def breakable(value: str) -> Markup:
    """An identifier (a path, a rule id, an operation) escaped, with a break opportunity after each / . _ -,
    so that a narrow column wraps it between its parts instead of mid-word."""
    return Markup(re.sub(r"([/._-])", r"\1<wbr>", str(escape(value))))


def prose(value: str) -> Markup:
    """Paragraphs and bullet lists of spec prose."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", str(value or "").strip()):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if lines and all(line.startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{inline(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        elif lines:
            blocks.append(f"<p>{inline(' '.join(lines))}</p>")
    return Markup("".join(blocks))


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["inline"] = inline
    environment.filters["prose"] = prose
    environment.filters["wbr"] = breakable
    environment.globals["css"] = Markup((TEMPLATES / "site.css").read_text(encoding="utf-8"))
    environment.globals["script"] = Markup((TEMPLATES / "site.js").read_text(encoding="utf-8"))
    return environment


def page(reference: Reference, others: list[Reference]) -> str:
    return _environment().get_template("page.html.j2").render(ref=reference, pages=others)


def index(references: list[Reference]) -> str:
    return _environment().get_template("index.html.j2").render(pages=references)
