"""The one document record every source yields, and how a document becomes text and an identity.

Stored files, fetched pages (URLs, feed and sitemap articles) and WARC
records all reach the pipeline as a `Document`; nothing downstream knows
which source it came from. Its records are plain (not slotted) dataclasses
because they cross process boundaries by pickle.

Identity and content are the same rule for every source:
- a document with a URL (fetched, or a WARC record) is the article at its
  canonical URL (the one the page declares for itself, else the one it was
  fetched from); a stored file is the article at its file URI;
- `content_hash` is the SHA-256 of the document's decoded, normalised text
  (see `signatures.content_hash`), so the same bytes stored on disk, served
  on the web or archived in a WARC hash the same and are one story.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from extractors.decoding import DEFAULT_MAX_BYTES, RejectedInput, decode_bytes, replacement_note
from extractors.signatures import article_id, content_hash
from extractors.stored_files import read_document
from extractors.text_cleaning import line_key
from extractors.urls import canonical_url, page_url


@dataclass(frozen=True)
class Fetch:
    """How a web document was fetched: what the `sources` table keeps for the next conditional request."""

    requested_url: str
    canonical: str
    """The requested URL's canonical form: what the `sources` table keys the fetch by."""
    outcome: str
    """"fetched", "not_modified", "failed" or "disallowed"."""
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    discovered_from: str | None = None
    known_article_id: str | None = None
    """The article this URL gave last time (what a 304 leaves unchanged)."""


@dataclass(frozen=True)
class Document:
    """One input of any source, before decoding.

    Exactly one of `raw` (bytes as stored, served or archived) and `text`
    (already decoded) is set for a readable document; a stored file carries
    neither: the scan stage reads it. `error` set means the source could not deliver it,
    `skipped` that it chose not to (the run counts it, nothing else).
    """

    source_uri: str
    """Where the input came from, as a failure names it: a file URI, the requested URL, a WARC record's URI."""
    kind: str = "html"
    """"html" for pages, "text" for visible-text dumps; "" when the source does not know (a stored file)."""
    url: str | None = None
    """The page's address: as fetched, or a WARC record's target URI; None for a stored file."""
    raw: bytes | None = None
    text: str | None = None
    content_type: str = ""
    """HTTP Content-Type (its charset counts in decoding), when the document came with one."""
    fetched_at: dt.datetime | None = None
    """When the page was fetched or archived (WARC-Date); None for a stored file."""
    fetch: Fetch | None = None
    decode_note: str | None = None
    """What decoding lost, for `text` decoded by the source (the fetcher): see `decoding.replacement_note`."""
    error: str | None = None
    error_stage: str = "read"
    skipped: str | None = None
    """Why the source left this input out on purpose (a WARC record that is not HTML, not 200, filtered)."""


@dataclass(frozen=True)
class ScannedDocument:
    """A document decoded and fingerprinted, or the reason it could not be."""

    document: Document
    article_id: str = ""
    identity_uri: str = ""
    """What the article is stored under (`articles.source_uri`): canonical URL or file URI."""
    address: str | None = None
    """A page's address to store as `articles.url`: the URL it declares for itself, else the one it came from."""
    kind: str = ""
    text: str = ""
    content_hash: str = ""
    line_keys: frozenset[str] = frozenset()
    """Keys of a text dump's lines, for cross-document recurrence (text dumps only)."""
    decode_note: str | None = None
    """How many bytes did not fit the document's encoding and became U+FFFD, when any did."""
    error: str | None = None
    error_stage: str = "read"


def document_text(document: Document, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str, str | None]:
    """(kind, decoded text, decode note or None) of a document; raises `RejectedInput` with the reason.

    The one place documents are decoded: stored files through `stored_files.read_document`, archived
    and served bytes through `decoding.decode_bytes` with their HTTP Content-Type.
    """
    if document.text is not None:
        return document.kind, document.text, document.decode_note
    if document.raw is None:
        stored = read_document(_file_path(document.source_uri), max_bytes)
        return stored.kind, stored.text, replacement_note(stored.replaced_bytes, stored.encoding)
    decoded = decode_bytes(document.raw, kind=document.kind, content_type=document.content_type, max_bytes=max_bytes)
    return document.kind, decoded.text, decoded.note


def scan(document: Document) -> ScannedDocument:
    """Decode a document and give it its identity and fingerprint (never raises)."""
    if document.error is not None:
        return ScannedDocument(document, error=document.error, error_stage=document.error_stage)
    try:
        kind, text, note = document_text(document)
        address = page_url(document.url, text) if document.url else None
        identity = canonical_url(address) if address else document.source_uri
    except RejectedInput as exc:
        return ScannedDocument(document, error=str(exc))
    except Exception as exc:  # an unreadable input must not sink the batch
        return ScannedDocument(document, error=f"{type(exc).__name__}: {exc}")
    keys = frozenset(filter(None, map(line_key, text.split("\n")))) if kind == "text" else frozenset()
    slim = replace(document, raw=None, text=None)  # the bytes are not needed again: do not ship them back
    return ScannedDocument(slim, article_id(identity), identity, address, kind, text, content_hash(text), keys, note)


def _file_path(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path))
