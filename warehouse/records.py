"""What a batch's load takes: the documents extracted, linked, unchanged or failed, and what fetching taught.

Plain frozen records built by the flows' stages; `warehouse.load` lands a
`LoadBatch` in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from extractors.entity_resolution import ResolvedMention
from extractors.model import Article
from extractors.quotes import Quote

@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A document whose text was extracted in this run, new or edited."""

    article_id: str
    source_uri: str
    content_hash: str
    article: Article
    is_new: bool
    line_keys: frozenset[str] = frozenset()
    entity_status: str | None = None
    """What the entity stage did ("done", "skipped: language xx"); None when it did not run."""
    mentions: tuple[ResolvedMention, ...] = ()
    quotes: tuple[Quote, ...] = ()
    signature: tuple[int, ...] = ()
    """MinHash of the body, for finding other copies of the story (see near_duplicates)."""
    decode_note: str | None = None
    """Bytes lost in decoding (`articles.decode_note`), when any were."""
    word_count: int | None = None
    """Words of the body as the extraction counted them; None: the load counts them."""


@dataclass(frozen=True, slots=True)
class DuplicateDocument:
    """A document whose text equals an article already extracted; it is linked, not cleaned."""

    article_id: str
    source_uri: str
    content_hash: str
    duplicate_of: str
    is_new: bool
    url: str | None = None
    """Its own address (a copy served at another URL keeps that URL)."""


@dataclass(frozen=True, slots=True)
class Failure:
    source_uri: str
    stage: str
    error: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """What one fetch of a page, feed or sitemap taught us, for the next run's conditional request."""

    url: str
    """Canonical URL: the key, so URL variants share one row."""
    kind: str
    requested_url: str
    outcome: str
    """"fetched", "not_modified", "failed" or "disallowed"."""
    fetched_at: dt.datetime
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    article_id: str | None = None
    discovered_from: str | None = None


def settle(article_id: str, content_hash: str, stored: Mapping[str, str]) -> str:
    """"unchanged", "new" or "updated": whether a document changes the warehouse, given the stored hashes.

    The one rule. The pipeline applies it before extraction (so unchanged
    content costs no extraction) and the load applies it again inside its
    transaction, to the file as it is then: an overlapping run may have landed
    the same documents meanwhile, and they must not be written or counted twice.
    """
    if article_id not in stored:
        return "new"
    return "unchanged" if stored[article_id] == content_hash else "updated"


@dataclass(slots=True)
class LoadBatch:
    """Everything one batch changes, loaded in one transaction. Stages build new batches, never edit one."""

    cleaned: list[CleanedDocument] = field(default_factory=list)
    duplicates: list[DuplicateDocument] = field(default_factory=list)
    unchanged_ids: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    sources: list[SourceState] = field(default_factory=list)
    robots: dict[str, str] = field(default_factory=dict)
    """robots.txt texts fetched in this batch's run, by "scheme://host[:port]" ("" when there is none)."""
    n_not_modified: int = 0
    """Conditional requests answered 304 (feeds, sitemaps and pages)."""
    skipped: list[str] = field(default_factory=list)
    """Why each input left out on purpose was (not HTML, HTTP 404, host not selected, ...)."""

    @property
    def n_new(self) -> int:
        return sum(d.is_new for d in (*self.cleaned, *self.duplicates))

    @property
    def n_updated(self) -> int:
        return len(self.cleaned) + len(self.duplicates) - self.n_new

    @property
    def n_seen(self) -> int:
        return len(self.cleaned) + len(self.duplicates) + len(self.unchanged_ids) + len(self.failures)

    def settled(self, stored: Mapping[str, str]) -> LoadBatch:
        """This batch as the warehouse holding `stored` (article id -> content hash) would take it."""
        unchanged = list(self.unchanged_ids)

        def kept(documents: list) -> list:
            out = []
            for doc in documents:
                outcome = settle(doc.article_id, doc.content_hash, stored)
                if outcome == "unchanged":
                    unchanged.append(doc.article_id)
                else:
                    out.append(doc if doc.is_new == (outcome == "new") else replace(doc, is_new=outcome == "new"))
            return out

        cleaned, duplicates = kept(self.cleaned), kept(self.duplicates)
        return replace(self, cleaned=cleaned, duplicates=duplicates, unchanged_ids=unchanged)

    @property
    def empty(self) -> bool:
        return not (self.n_seen or self.sources or self.robots or self.n_not_modified or self.skipped)
