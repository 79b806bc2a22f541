"""The HTML reference, as a reader gets it: complete, offline, and usable in a real browser at 1280 px.

The browser half opens every page in headless Debian Chromium driven by playwright (never `playwright
install`: the browser is the system's), checks that every operation, status, error code and rule of the spec
is on the page, that nothing is logged to the console as an error, and that no table or code block is wider
than the page; it writes a screenshot beside each page, in docs/site/, so a person can look.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, make_outcome
from imgconf import docs, paths, specs
from imgconf.report.history import History
from imgconf.report.outcome import Finding, State, VendorOutcome

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SPECS = sorted(paths.specs_dir().glob("*.yaml"))


def expected(spec: specs.Spec) -> dict[str, Any]:
    """What a page must show: operations with their statuses, error codes, rule ids."""
    operations: dict[str, tuple[str, list[str]]] = {}
    for template, item in spec.raw["paths"].items():
        for method, definition in item.items():
            if method in specs.HTTP_METHODS:
                operations[f"{method.upper()} {template}"] = (
                    docs.reference.anchor(method, template),
                    [str(status) for status in definition["responses"]],
                )
    codes = {str(row["code"]) for row in spec.raw.get("x-error-codes", [])}
    codes |= {
        str(example.value["error_code"])
        for example in spec.examples()
        if isinstance(example.value, dict) and "error_code" in example.value
    }
    return {"operations": operations, "codes": codes, "rules": set(spec.rules)}


@pytest.fixture(scope="module")
def site() -> Path:
    """The site as `imgconf docs` writes it, in docs/site/ (git-ignored) or $IMGCONF_DOCS_SITE."""
    out = Path(os.environ.get("IMGCONF_DOCS_SITE", ROOT / "docs" / "site"))
    docs.write_site(out)
    return out


# -- without a browser -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SPECS, ids=lambda path: path.stem)
def test_every_page_holds_its_whole_spec(site: Path, path: Path) -> None:
    html = (site / f"{path.stem}.html").read_text(encoding="utf-8")
    want = expected(specs.load(path))
    for label, (anchor, statuses) in want["operations"].items():
        section = html.split(f'id="{anchor}"', 1)[1].split('<section class="op"', 1)[0]
        assert label.split(" ", 1)[1] in section, label
        for status in statuses:
            assert f'id="{anchor}-{status}"' in section, f"{label}: status {status} missing"
    for code in want["codes"]:
        assert f'id="code-{code}"' in html, f"error code {code} missing from the table"
    for rule in want["rules"]:
        assert f'id="rule-{rule}"' in html, rule


def test_the_site_is_self_contained_and_cites_no_file_outside_the_repo(site: Path) -> None:
    for page in site.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html), f"{page.name} loads something"
        assert "seeds/" not in html and "research/" not in html, page.name


def test_every_link_within_a_page_resolves(site: Path) -> None:
    """Rules, assumptions, errata, operations and schemes are cross-linked; no link points at nothing."""
    for page in site.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        ids = set(re.findall(r'id="([^"]+)"', html))
        dangling = {target for target in re.findall(r'href="#([^"]+)"', html) if target not in ids}
        assert not dangling, f"{page.name}: {sorted(dangling)}"
        for target in re.findall(r'href="([a-z-]+\.html)"', html):
            assert (site / target).exists(), f"{page.name} links to {target}"


def test_banners_are_words_not_json(site: Path) -> None:
    huawei = (site / "huawei-image-tagging.html").read_text(encoding="utf-8")
    assert "sales stopped on 2026-06-30; the service is expected offline on 2026-12-30" in huawei
    assert "{&#34;stops-selling" not in huawei and '{"stops-selling' not in huawei
    assert "Deprecated by the vendor" in (site / "altum-labelling.html").read_text(encoding="utf-8")


def test_huawei_auth_steps_and_error_bodies_render(site: Path) -> None:
    html = (site / "huawei-image-tagging.html").read_text(encoding="utf-8")
    assert "X-Subject-Token header is the token" in html and "String to sign" in html
    reference = docs.reference.build(specs.load(specs.spec_path("huawei-image-tagging.yaml")))
    v2 = next(op for op in reference.operations if op.path.startswith("/v2/"))
    for response in v2.responses:
        if response.status != "200":
            paths_ = {row.path for body in response.bodies for row in body.shape.rows}
            assert {"error_code", "error_msg"} <= paths_, f"{response.status} shows no error body"
    assert "requests.post(" in v2.python and "X-Auth-Token" in v2.curl


def test_verdicts_from_the_history_are_shown_per_operation(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    finding = Finding(
        vendor="altum",
        operation="POST /labelling/url",
        check="x",
        rule={"id": "altum.auth.enforced", "text": "", "category": "auth", "basis": "documented"},
        title="t",
        message="m",
        test="altum/test_behaviour.py::t",
        kind="behaviour",
    )
    vendor = VendorOutcome("altum", "Altum", State.NON_CONFORMANT, 0.5, [], 1, 3, {"passed": 1}, [])
    report = make_outcome(vendor, [finding])
    History(history).record(report, None)
    before = history.read_bytes()
    docs.write_site(tmp_path / "site", ["altum"], history)
    html = (tmp_path / "site" / "altum-labelling.html").read_text(encoding="utf-8")
    section = html.split('id="post-labelling-url"', 1)[1]
    assert "non-conformant" in section and "2026-12-01T10:00:00" in section and "altum.auth.enforced" in section
    assert history.read_bytes() == before, "the history is only read"


# -- in a browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


WIDER_THAN_THE_PAGE = """() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll("table, pre"))
    .filter(el => el.getBoundingClientRect().right > width + 1 || el.scrollWidth > el.clientWidth + 1)
    .map(el => el.outerHTML.slice(0, 120));
}"""


@pytest.mark.parametrize("name", ["index", *(path.stem for path in SPECS)])
def test_each_page_in_chromium(site: Path, browser: Any, name: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Nothing may leave the machine: every request but the page's own file is refused and reported.
    outside: list[str] = []
    page.route(
        re.compile(r"^(?!file:).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    page.goto((site / f"{name}.html").resolve().as_uri())
    text = page.inner_text("body")
    if name != "index":
        want = expected(specs.load(paths.specs_dir() / f"{name}.yaml"))
        for label, (anchor, statuses) in want["operations"].items():
            section = page.inner_text(f"#{anchor}")
            assert label in " ".join(section.split()), label
            for status in statuses:
                assert page.locator(f"#{anchor}-{status}").count() == 1, f"{label} {status}"
        missing = [item for item in sorted(want["codes"] | want["rules"]) if item not in text]
        assert not missing, f"not on the page: {missing}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    assert page.evaluate(WIDER_THAN_THE_PAGE) == []
    page.screenshot(path=str(site / f"{name}.png"))
    if name != "index":  # the pages are long (identifAI's is ~170,000 px): a shot of each part, not one of all
        first = next(iter(want["operations"].values()))[0]
        for part, selector in (("operation", f"#{first}"), ("errors", "#errors"), ("rules", "#rules")):
            page.locator(selector).scroll_into_view_if_needed()
            page.evaluate(f"() => document.querySelector('{selector}').scrollIntoView()")
            page.screenshot(path=str(site / f"{name}-{part}.png"))
    page.close()
    assert errors == [], errors
    assert outside == [], outside


@pytest.mark.parametrize("path", SPECS, ids=lambda path: path.stem)
def test_the_markdown_page_is_as_complete(path: Path) -> None:
    """docs/api/ shows what the site shows: every parameter, example, response header, code and rule."""
    spec = specs.load(path)
    page = docs.render(spec)
    reference = docs.reference.build(spec)
    for operation in reference.operations + reference.webhooks:
        assert f"`{operation.label}`" in page
        for parameter in operation.parameters:
            assert f"`{parameter.name}`" in page, f"{operation.label}: parameter {parameter.name}"
        for response in operation.responses:
            assert f"#### {response.status}" in page
            for header in response.headers:
                assert f"`{header.name}`" in page
            for body in [*response.bodies, *operation.request]:
                for example in body.examples:
                    assert example.text in page, f"{operation.label}: example {example.name}"
        for sample in operation.samples:
            assert sample.source in page
    for code in expected(spec)["codes"] | set(spec.rules):
        assert f"`{code}`" in page, code
    assert "(oneOf" not in page and "length ≤ 0, any" not in page


def test_imgconf_docs_writes_the_markdown_and_the_site_where_told(cli: Any, tmp_path: Path) -> None:
    """Outside the checkout: under reports/docs/, never a docs/ of the folder it runs in; --out, --site and
    --no-site move or skip them."""
    result = cli("docs", "--vendor", "altum")
    assert result.code == 0, result.output
    assert (tmp_path / "reports" / "docs" / "api" / "altum-labelling.md").is_file()
    assert (tmp_path / "reports" / "docs" / "site" / "index.html").is_file()
    assert not (tmp_path / "docs").exists()
    assert "wrote reports/docs/site/altum-labelling.html" in result.stdout
    moved = cli("docs", "--vendor", "altum", "--out", "md", "--site", "html")
    assert moved.code == 0, moved.output
    assert (tmp_path / "md" / "README.md").is_file() and (tmp_path / "html" / "index.html").is_file()
    only = cli("docs", "--vendor", "altum", "--out", "md2", "--no-site")
    assert only.code == 0 and "html" not in only.stdout and (tmp_path / "md2" / "altum-labelling.md").is_file()


def test_the_markdown_index_is_current() -> None:
    page = ROOT / "docs" / "api" / "README.md"
    assert page.read_text(encoding="utf-8") == docs.index(docs.references()), "regenerate with `imgconf docs`"
