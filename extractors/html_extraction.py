"""Saved HTML pages to articles, through trafilatura.

trafilatura finds the main content from the page structure; we ask for its
precision-oriented mode without comments, take its metadata (title, authors,
date via htmldate, site name), and map the result onto the same `Article`
the plain-text cleaner produces, so the warehouse sees one model.
"""

from __future__ import annotations

import datetime as dt
import re

import trafilatura

from extractors.language import detect_language
from extractors.model import Article

_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)


def extract_html(html: str, url: str | None = None) -> Article:
    """Extract the story and its metadata from one HTML page.

    Returns an article with an empty body when trafilatura finds no main
    content; the caller decides whether that is a failure.
    """
    document = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
    )
    if document is None:
        return Article(body="", url=url, extractor="trafilatura", language=html_language(html))
    paragraphs = [line.strip() for line in (document.text or "").split("\n")]
    body = "\n\n".join(p for p in paragraphs if p)
    return Article(
        body=body,
        title=document.title or None,
        subtitle=document.description or None,
        authors=split_authors(document.author),
        published_at=parse_iso_date(document.date),
        section=(document.categories or [None])[0],
        language=document.language or html_language(html) or detect_language(body),
        site=document.sitename or document.hostname or None,
        url=document.url or url,
        extractor="trafilatura",
    )


def html_language(html: str) -> str | None:
    """The page's declared language (`<html lang="en-GB">` -> "en")."""
    match = _HTML_LANG.search(html[:5000])
    return match.group(1).lower()[:2] if match else None


def split_authors(author_field: str | None) -> list[str]:
    """trafilatura joins several authors with "; "; give them back as a list."""
    if not author_field:
        return []
    return [name.strip() for name in author_field.split(";") if name.strip()]


def parse_iso_date(value: str | None) -> dt.datetime | None:
    """htmldate returns "YYYY-MM-DD"; anything else is treated as no date."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
