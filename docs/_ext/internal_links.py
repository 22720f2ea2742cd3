"""Internal link check of the built site, offline: every relative link and ``#anchor`` in the HTML pages points
at a file that was built and an id that exists in it; every relative link of the repository's README.md points
at a file of the repository. A broken one is a warning, so ``sphinx-build -W`` fails the build.

External links (``http(s)://``, ``mailto:``) are not checked: the build runs without internet.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sphinx.application import Sphinx
from sphinx.util import logging

log = logging.getLogger(__name__)
SKIPPED_DIRS = ("_static", "_sources", "_modules", "_images", "_downloads")
README_LINK = re.compile(r"\]\(([^)\s]+)\)")


class _Page(HTMLParser):
    """The ids of a page and its links (``href`` of ``a``, ``src`` of ``img``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name"):
            if values.get(key):
                self.ids.add(values[key] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "img" and values.get("src"):
            self.links.append(values["src"] or "")


def _external(link: str) -> bool:
    return bool(urlsplit(link).scheme) or link.startswith("//")


def broken_links(outdir: Path) -> list[str]:
    """'page: link (why)' for every internal link of the built HTML that does not resolve."""
    pages: dict[Path, _Page] = {}
    for path in sorted(outdir.rglob("*.html")):
        if any(part in SKIPPED_DIRS for part in path.relative_to(outdir).parts):
            continue
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = page
    problems = []
    for path, page in pages.items():
        for link in page.links:
            if _external(link):
                continue
            parts = urlsplit(link)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            where = f"{path.relative_to(outdir.resolve())}: {link}"
            if not target.exists():
                problems.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _ids_of(target)
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{where} (no anchor #{parts.fragment})")
    return problems


def _ids_of(path: Path) -> set[str]:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page.ids


def broken_readme_links(readme: Path) -> list[str]:
    """Relative links of README.md whose file does not exist in the repository."""
    problems = []
    for link in README_LINK.findall(readme.read_text(encoding="utf-8")):
        if _external(link) or link.startswith("#"):
            continue
        if not (readme.parent / unquote(urlsplit(link).path)).exists():
            problems.append(f"README.md: {link} (no such file)")
    return problems


def check(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    readme = Path(app.srcdir).parent / "README.md"
    problems = broken_links(Path(app.outdir)) + (broken_readme_links(readme) if readme.exists() else [])
    for problem in problems:
        log.warning("broken internal link: %s", problem, type="internal_links")
    log.info("internal links: %s", f"{len(problems)} broken" if problems else "all resolve")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", check)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
