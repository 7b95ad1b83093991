"""One entry point from a raw document to an article, whatever its kind.

Kept free of orchestration so worker processes can import and run it on
plain data, and tests can call it on strings. Its records are plain (not
slotted) dataclasses because they cross process boundaries by pickle.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pathlib import Path

from extractors.decoding import RejectedInput
from extractors.html_extraction import extract_html
from extractors.model import Article
from extractors.near_duplicates import story_signature
from extractors.signatures import article_id, content_hash
from extractors.stored_files import read_document, source_uri
from extractors.text_cleaning import clean_text, line_key
from extractors.urls import canonical_url, page_url
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


@dataclass(frozen=True)
class ScannedDocument:
    """A stored file read and fingerprinted, or the reason it could not be."""

    source_uri: str
    kind: str = ""
    text: str = ""
    content_hash: str = ""
    line_keys: frozenset[str] = frozenset()
    """Keys of the dump's lines, for cross-document recurrence (text dumps only)."""
    error: str | None = None
    unchanged: bool = False
    """The content is what the warehouse already holds: text and keys are left out."""


def scan_many(files: Sequence[tuple[str, str | None]]) -> list[ScannedDocument]:
    """Read, decode and fingerprint (path, stored content hash or None) pairs before cleaning."""
    return [scan_document(Path(path), stored_hash) for path, stored_hash in files]


def scan_document(path: Path, stored_hash: str | None = None) -> ScannedDocument:
    """One file's scan; content equal to `stored_hash` comes back as unchanged, without its text."""
    uri = source_uri(path)
    try:
        raw = read_document(path)
    except RejectedInput as exc:
        return ScannedDocument(uri, error=str(exc))
    except Exception as exc:  # an unreadable file must not sink the batch
        return ScannedDocument(uri, error=f"{type(exc).__name__}: {exc}")
    digest = content_hash(raw.text)
    if digest == stored_hash:
        return ScannedDocument(uri, raw.kind, content_hash=digest, unchanged=True)
    keys = frozenset(filter(None, map(line_key, raw.text.split("\n")))) if raw.kind == "text" else frozenset()
    return ScannedDocument(uri, raw.kind, raw.text, digest, keys)


def extract_article(kind: str, text: str, recurring: Collection[str] = frozenset(), url: str | None = None) -> Article:
    if kind == "html":
        return extract_html(text, url)
    return clean_text(text, recurring=recurring)


def extract_many(
    documents: Sequence[tuple[str, str]], recurring: Collection[str] = frozenset()
) -> list[ExtractionResult]:
    """Extract (kind, text) pairs in order, turning each document's error into a result."""
    return [extract_checked(kind, text, recurring) for kind, text in documents]


def extract_checked(
    kind: str, text: str, recurring: Collection[str] = frozenset(), url: str | None = None
) -> ExtractionResult:
    """One document's article and story signature, or the reason there is none (never an exception)."""
    try:
        article = extract_article(kind, text, recurring, url)
    except Exception as exc:  # a broken page must not sink the batch
        return ExtractionResult(None, f"{type(exc).__name__}: {exc}")
    words = word_count(article.body)
    if words < MIN_BODY_WORDS:
        return ExtractionResult(None, f"no story text found: {words} words read as story, {MIN_BODY_WORDS} needed")
    return ExtractionResult(article, signature=tuple(story_signature(article.body)))


@dataclass(frozen=True)
class PageExtraction:
    """A fetched page as an article, under the identity its own canonical link gives it."""

    canonical_url: str
    article_id: str
    content_hash: str
    """Of the extracted title and body, not the HTML: ads and timestamps change every fetch."""
    result: ExtractionResult


def extract_pages(pages: Sequence[tuple[str, str]]) -> list[PageExtraction]:
    """Extract fetched (final URL, HTML) pairs in order: article, canonical identity, fingerprint."""
    extracted = []
    for url, html in pages:
        address = page_url(url, html)
        canonical = canonical_url(address)
        result = extract_checked("html", html, url=address)
        article = result.article
        digest = ""
        if article is not None:
            article.url = address
            digest = content_hash(f"{article.title or ''}\n{article.body}")
        extracted.append(PageExtraction(canonical, article_id(canonical), digest, result))
    return extracted
