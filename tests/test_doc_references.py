"""References from the code to the documentation resolve inside the repository.

The code cites its rules as ``docs/<page>.md#<anchor>`` (GitHub-style heading anchors). These tests check that each
such page and heading exists, that the relative links between the docs pages resolve too, and that nothing in
``src/`` still points to notes kept outside the repository (DESIGN.md, standards.md, anchors.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOCS = ROOT / "docs"

# A docs page cited from the code, with an optional anchor: docs/rules/water.md#main-pollutants
DOC_REF = re.compile(r"docs/[\w./-]+?\.md(?:#[\w-]+)?")
# Notes outside the repository; "docs/..." paths are not matched.
OUTSIDE_REF = re.compile(r"(?<![\w/])(?:\.\./shared/)?(?:DESIGN|standards|anchors)\.md")
# A Markdown link target inside docs: [text](target)
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen.

    >>> github_slug('Cities and districts ("点位平均法")')
    'cities-and-districts-点位平均法'
    >>> github_slug("`qingshan import long` — users' own hourly data (CSV or XLSX)")
    'qingshan-import-long--users-own-hourly-data-csv-or-xlsx'
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (headings inside fenced code do not count; repeats get -1, -2 …)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else HEADING.match(line)
        if m:
            slug = github_slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken(ref: str, base: Path) -> str | None:
    """Why ``ref`` (``path[#anchor]`` relative to ``base``) does not resolve, or None when it does."""
    path, _, anchor = ref.partition("#")
    target = (base / path).resolve() if path else None
    if target is not None and not target.exists():
        return f"no file {path}"
    if anchor and target is not None and target.suffix == ".md" and anchor not in anchors(target):
        return f"no heading #{anchor} in {path}"
    return None


def src_files() -> Iterator[Path]:
    yield from sorted(SRC.rglob("*.py"))


def test_doc_references_in_src_resolve() -> None:
    refs = [(f, m.group(0)) for f in src_files() for m in DOC_REF.finditer(f.read_text(encoding="utf-8"))]
    assert refs, "expected the code to cite docs/ pages"
    bad = [f"{f.relative_to(ROOT)}: {ref}: {why}" for f, ref in refs if (why := broken(ref, ROOT))]
    assert not bad, "\n".join(bad)


def test_links_between_docs_pages_resolve() -> None:
    bad = []
    for page in sorted(DOCS.rglob("*.md")):
        for m in MD_LINK.finditer(page.read_text(encoding="utf-8")):
            target = m.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, mailto: … are not checked here
                continue
            if target.startswith("#"):
                why = None if target[1:] in anchors(page) else f"no heading {target}"
            else:
                why = broken(target, page.parent)
            if why:
                bad.append(f"{page.relative_to(ROOT)}: {target}: {why}")
    assert not bad, "\n".join(bad)


def test_the_checker_reports_a_missing_page_and_a_missing_heading() -> None:
    assert broken("docs/design.md#time", ROOT) is None
    assert broken("docs/design.md#no-such-heading", ROOT) == "no heading #no-such-heading in docs/design.md"
    assert broken("docs/no-such-page.md", ROOT) == "no file docs/no-such-page.md"


def test_no_reference_to_notes_outside_the_repository() -> None:
    hits = [
        f"{f.relative_to(ROOT)}:{i}: {line.strip()}"
        for f in src_files()
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE_REF.search(line)
    ]
    assert not hits, "\n".join(hits)
