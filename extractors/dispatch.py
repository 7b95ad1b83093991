"""One entry point from a raw document to an article, whatever its kind.

Kept free of orchestration so worker processes can import and run it on
plain data, and tests can call it on strings.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from extractors.html_extraction import extract_html
from extractors.model import Article
from extractors.text_cleaning import clean_text


MIN_BODY_WORDS = 10
"""Fewer words than this after extraction is a menu or an error page, not an article."""


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    """The article, or why there is none: one bad page never stops its batch."""

    article: Article | None
    error: str | None = None


def extract_article(kind: str, text: str, recurring: Collection[str] = frozenset()) -> Article:
    if kind == "html":
        return extract_html(text)
    return clean_text(text, recurring=recurring)


def extract_many(
    documents: Sequence[tuple[str, str]], recurring: Collection[str] = frozenset()
) -> list[ExtractionResult]:
    """Extract (kind, text) pairs in order, turning each document's error into a result."""
    results = []
    for kind, text in documents:
        try:
            article = extract_article(kind, text, recurring)
        except Exception as exc:  # a broken page must not sink the batch
            results.append(ExtractionResult(None, f"{type(exc).__name__}: {exc}"))
            continue
        words = len(article.body.split())
        if words < MIN_BODY_WORDS:
            results.append(ExtractionResult(None, f"no story text found in the document ({words} words left)"))
        else:
            results.append(ExtractionResult(article))
    return results
