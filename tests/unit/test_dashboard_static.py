"""Nothing the dashboard serves is fetched from another site: no template or static file names an outside
URL, the vendored files are the ones npm gave (pinned versions, licenses beside them), and the pages use
those exact files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
VENDOR = DASHBOARD / "static" / "vendor"
URL = re.compile(r"""(?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}[^\s"'<>)]*""", re.I)
# Names, not addresses: an XML namespace is never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1999/xhtml"}
LICENSE_COMMENT = re.compile(r"/\*!.*?\*/", re.S)  # a minified file's license banner
ATTRIBUTE = re.compile(
    r"""(?:href|src|action|srcset|formaction|poster|data|content)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
    re.I,
)
VENDORED = {
    "htmx-2.0.11.min.js": "htmx-2.0.11.LICENSE",
    "pico-2.1.1.min.css": "pico-2.1.1.LICENSE.md",
}


def outside_urls(text: str, *, is_vendored: bool = False) -> list[str]:
    """Every outside URL in a template or static file; a vendored file's license banner is left out."""
    if is_vendored:
        text = LICENSE_COMMENT.sub("", text)
    return [url for url in URL.findall(text) if url.rstrip("'\"") not in NAMESPACES]


def outside_references(page: str) -> list[str]:
    """Attributes and CSS in a rendered page that would make the browser fetch from another site."""
    return ATTRIBUTE.findall(page)


def served_files() -> list[Path]:
    return sorted(
        p
        for folder in ("templates", "static")
        for p in (DASHBOARD / folder).rglob("*")
        if p.is_file() and p.name != "SHA256SUMS" and "LICENSE" not in p.name
    )


@pytest.mark.parametrize("path", served_files(), ids=lambda p: str(p.relative_to(DASHBOARD)))
def test_no_template_or_static_file_names_an_outside_url(path: Path) -> None:
    assert outside_urls(path.read_text(encoding="utf-8"), is_vendored=path.parent == VENDOR) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('<link rel="stylesheet" href="https://cdn.example.org/pico.css">', ["https://cdn.example.org/pico.css"]),
        ("<script src=//unpkg.com/htmx.org></script>", ["//unpkg.com/htmx.org"]),
        ("@import url(http://fonts.example.com/x.css);", ["http://fonts.example.com/x.css"]),
        ('<svg xmlns="http://www.w3.org/2000/svg"></svg>', []),
        ('<a href="/cases/BLR-2026-000001">', []),
        ("/*! Pico CSS (https://picocss.com) */ a{}", ["https://picocss.com"]),
    ],
)
def test_the_check_finds_outside_urls(text: str, found: list[str]) -> None:
    assert outside_urls(text) == found


def test_a_license_banner_is_left_out_only_in_a_vendored_file() -> None:
    assert outside_urls("/*! Pico (https://picocss.com) */ a{}", is_vendored=True) == []
    assert outside_urls("/*! (https://a.example) */ a{background:url(https://b.example/x.png)}", is_vendored=True) == [
        "https://b.example/x.png"
    ]


@pytest.mark.parametrize(
    ("page", "is_outside"),
    [
        ('<script src="https://cdn.example.org/x.js"></script>', True),
        ("<img src='//evil.example/p.gif'>", True),
        ('<div style="background:url(https://x.example/a.png)">', True),
        ('<meta http-equiv="refresh" content="0;url=https://x.example">', False),  # not fetched as a resource
        ('<a href="/health.json">', False),
        ("<p>see https://example.org in the citizen's post</p>", False),  # text, not a reference
    ],
)
def test_the_page_check_finds_what_a_browser_would_fetch(page: str, is_outside: bool) -> None:
    assert bool(outside_references(page)) is is_outside


def test_the_vendored_files_are_those_npm_gave_with_their_licenses() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    sums = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert set(sums) == set(VENDORED) | set(VENDORED.values())
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, f"{name} changed since vendoring"
    assert (VENDOR / "htmx-2.0.11.min.js").read_text().startswith("var htmx=function()")
    assert "Pico CSS ✨ v2.1.1" in (VENDOR / "pico-2.1.1.min.css").read_text(encoding="utf-8")[:200]
    assert "Zero-Clause BSD" in (VENDOR / VENDORED["htmx-2.0.11.min.js"]).read_text()
    assert "MIT License" in (VENDOR / VENDORED["pico-2.1.1.min.css"]).read_text()


def test_the_layout_loads_the_vendored_files_that_exist() -> None:
    layout = (DASHBOARD / "templates" / "base.html").read_text(encoding="utf-8")
    referenced = re.findall(r'(?:href|src)="/static/([^"]+)"', layout)
    assert {"vendor/htmx-2.0.11.min.js", "vendor/pico-2.1.1.min.css", "dashboard.css"} <= set(referenced)
    assert all((DASHBOARD / "static" / path).is_file() for path in referenced)
