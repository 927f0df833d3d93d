"""Links between the documentation pages (issue 34, item 6): every relative link of the
README and of docs/ points to a file of the repository, and every #anchor to a heading
of its page as MyST names it (myst_heading_anchors = 3, GitHub's slugs).  The site build
does not check anchors (docs/conf.py suppresses myst.xref_missing for the links to
repository files), so a renamed heading would otherwise leave a dead link."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").rglob("*.md")
                                      if "_build" not in p.parts and "_generated" not in p.parts)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _text(page: Path) -> str:
    if page.parts[-2:] == ("_generated", "engines.md"):
        from simglass.engines import options_markdown
        return options_markdown()
    return page.read_text()


def _no_fences(text: str) -> str:
    return re.sub(r"(?ms)^(```|~~~).*?^\1", "", text)


def _prose(text: str) -> str:
    """The page without fenced code blocks and inline code."""
    return re.sub(r"`[^`\n]*`", "", _no_fences(text))


def _anchors(page: Path) -> set:
    from myst_parser.slugs import github_slugify, unique_slug
    found = []
    for line in _no_fences(_text(page)).splitlines():   # MyST's titles keep inline code
        m = re.match(r"(#{1,3}) (.+)", line)
        if m:
            found.append(unique_slug(github_slugify(m.group(2).replace("`", "").strip()), found))
    return set(found)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_exist(page):
    pytest.importorskip("myst_parser")
    anchors = {}
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z]+:", target):        # http(s), mailto
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        generated = dest.relative_to(ROOT).parts[:2] == ("docs", "_generated")
        assert generated or dest.exists(), f"{page.relative_to(ROOT)}: link to {target}: no such file"
        if anchor:
            assert dest.suffix == ".md", f"{page.relative_to(ROOT)}: anchor on a non-page link {target}"
            if dest not in anchors:
                anchors[dest] = _anchors(dest)
            assert anchor in anchors[dest], f"{page.relative_to(ROOT)}: link to {target}: no such heading"
