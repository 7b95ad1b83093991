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
from extractors.signatures import content_hash
from extractors.stored_files import read_document, source_uri
from extractors.text_cleaning import clean_text, line_key


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
            results.append(ExtractionResult(article, signature=tuple(story_signature(article.body))))
    return results
