"""One entry point from a decoded document to an article, whatever its kind and source.

Kept free of orchestration so worker processes can import and run it on
plain data, and tests can call it on strings. Its records are plain (not
slotted) dataclasses because they cross process boundaries by pickle.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from extractors.documents import Document, scan
from extractors.html_extraction import extract_html
from extractors.model import Article
from extractors.near_duplicates import story_signature
from extractors.text_cleaning import clean_text
from extractors.words import word_count

MIN_BODY_WORDS = 10
"""Fewer words than this after extraction is a menu or an error page, not an article."""


@dataclass(frozen=True)
class ExtractionResult:
    """The article, or why there is none: one bad page never stops its batch."""

    article: Article | None
    error: str | None = None
    signature: tuple[int, ...] = ()
    """MinHash of the body (near_duplicates), computed here so workers pay for it, not the loader."""
    word_count: int = 0
    """Words of the body (`words.word_count`), counted here for the same reason."""


def extract_article(kind: str, text: str, recurring: Collection[str] = frozenset(), url: str | None = None) -> Article:
    if kind == "html":
        return extract_html(text, url)
    return clean_text(text, recurring=recurring)


def extract_many(
    documents: Sequence[tuple[str, str, str | None]], recurring: Collection[str] = frozenset()
) -> list[ExtractionResult]:
    """Extract (kind, text, canonical URL or None) triples in order, turning each document's error into a result."""
    return [extract_checked(kind, text, recurring, url) for kind, text, url in documents]


def extract_checked(
    kind: str, text: str, recurring: Collection[str] = frozenset(), url: str | None = None
) -> ExtractionResult:
    """One document's article and story signature, or the reason there is none (never an exception).

    A page with a URL keeps it as the article's `url`: the address it declares or came from, never a guessed one.
    """
    try:
        article = extract_article(kind, text, recurring, url)
    except Exception as exc:  # a broken page must not sink the batch
        return ExtractionResult(None, f"{type(exc).__name__}: {exc}")
    if url is not None:
        article.url = url
    words = word_count(article.body)
    if words < MIN_BODY_WORDS:
        return ExtractionResult(None, f"no story text found: {words} words read as story, {MIN_BODY_WORDS} needed")
    return ExtractionResult(article, signature=tuple(story_signature(article.body)), word_count=words)


def extract_documents(documents: Sequence[Document]) -> list[ExtractionResult]:
    """Scan and extract documents in one step, with no warehouse to consult: what the pipeline does to a
    document that is new (for benchmarks and quality scoring on the flows' exact path)."""
    results = []
    for scanned in map(scan, documents):
        if scanned.error is not None:
            results.append(ExtractionResult(None, scanned.error))
            continue
        results.append(extract_checked(scanned.kind, scanned.text, url=scanned.address))
    return results
