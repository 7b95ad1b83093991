"""Flows `ingest_urls` and `ingest_feeds`: pages, feeds and sitemaps from the web into the warehouse.

Fetching is polite and conditional (extractors.fetching): hosts in
parallel, one request at a time and a delay per host, 304s for what has not
changed. Results stream out of the fetcher into batches; while the fetcher
waits out the politeness delays, worker processes extract batch k and the
flow loads batch k-1, so extraction hides behind the waiting. A feed run
fetches its feeds and sitemaps first (sitemap indexes to a bounded depth),
then only the article URLs the warehouse has not ingested yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from extractors.decoding import RejectedInput, replacement_note
from extractors.documents import Document, Fetch
from extractors.feeds import parse_feed
from extractors.fetching import Fetcher, FetchPolicy, FetchRequest, FetchResult
from extractors.signatures import article_id
from extractors.urls import canonical_url
from flows import settings
from flows.listings import read_listing
from flows.pipeline import run_pipeline
from flows.stages import RunRecord, load_batch, recorded_run
from warehouse import host_leases, lookups
from warehouse.records import Failure, LoadBatch, SourceState

DEFAULT_BATCH_SIZE = settings.DEFAULTS.web_batch_size
DEFAULT_MAX_NEW_PAGES = settings.DEFAULTS.max_new_pages
_POLICY = FetchPolicy()
MAX_SITEMAP_DEPTH = 2
"""Sitemap index -> sitemap -> articles; deeper nesting is a loop or a trap."""


@dataclass(frozen=True)
class PageTarget:
    """An article URL to fetch: as given (what we request) and canonical (what identifies it)."""

    url: str
    canonical: str
    discovered_from: str | None = None
    published_at: dt.datetime | None = None


def fetch_policy(
    allow_private: bool, host_delay: float, host_concurrency: int, timeout: float, contact: str | None
) -> FetchPolicy:
    """The fetcher's policy for a run: the settings' (contact from $NEWSFLOW_CONTACT), then the run's parameters."""
    return settings.current().fetch_policy(
        allow_private=allow_private, host_delay=host_delay, host_concurrency=host_concurrency, total_timeout=timeout,
        read_timeout=min(_POLICY.read_timeout, timeout), connect_timeout=min(_POLICY.connect_timeout, timeout),
        contact=contact,
    )


@flow(name="ingest_urls")
def ingest_urls(
    urls: list[str] | None = None,
    urls_file: str | None = None,
    db: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
    allow_private: bool = False,
    host_delay: float = _POLICY.host_delay,
    host_concurrency: int = _POLICY.host_concurrency,
    timeout: float = _POLICY.total_timeout,
    contact: str | None = None,
    lock_wait: float | None = None,
    politeness_db: str | None = None,
) -> dict:
    """Fetch article pages (conditionally, politely), extract them and load them.

    `urls_file`: a text file of URLs, one per line (# comments allowed), added to `urls`.
    `allow_private`: permit loopback and private addresses (local tests; never for untrusted feeds).
    `host_delay`: least seconds between requests to one host, `host_concurrency` requests at once to
    one host; `timeout`: longest time for one request, body included. `contact`: URL in the User-Agent.
    `politeness_db`: a PostgreSQL database where every worker takes its turns at each host (a DuckLake on
    PostgreSQL uses its catalog's when none is given).
    """
    with recorded_run("ingest_urls", db, lock_wait) as record:
        targets, invalid = _targets(read_listing(urls, urls_file))
        _land(record, LoadBatch(failures=invalid))
        with _fetcher(record, fetch_policy(allow_private, host_delay, host_concurrency, timeout, contact),
                      politeness_db) as fetcher:
            _ingest_pages(record, fetcher, targets, batch_size, workers, entities)
    return record.summary


@flow(name="ingest_feeds")
def ingest_feeds(
    feeds: list[str] | None = None,
    feeds_file: str | None = None,
    db: str | None = None,
    max_new_pages: int = DEFAULT_MAX_NEW_PAGES,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
    allow_private: bool = False,
    host_delay: float = _POLICY.host_delay,
    host_concurrency: int = _POLICY.host_concurrency,
    timeout: float = _POLICY.total_timeout,
    contact: str | None = None,
    lock_wait: float | None = None,
    politeness_db: str | None = None,
) -> dict:
    """Fetch RSS/Atom/JSON feeds and sitemaps (conditionally), then ingest the article URLs new to the warehouse.

    The format is read from the content, so feeds and sitemaps (urlset, index,
    Google News, gzipped) can be mixed. `max_new_pages` bounds one run's article
    fetches, newest first; the rest wait for the next run.
    """
    with recorded_run("ingest_feeds", db, lock_wait) as record:
        feed_targets, invalid = _targets(read_listing(feeds, feeds_file))
        with _fetcher(record, fetch_policy(allow_private, host_delay, host_concurrency, timeout, contact),
                      politeness_db) as fetcher:
            with record.stage("feeds"):
                listed, feed_load = fetch_feeds(quote(fetcher), quote(record), feed_targets)
            feed_load.failures.extend(invalid)
            _land(record, feed_load)
            pages = _new_pages(record, listed, max_new_pages)
            _ingest_pages(record, fetcher, pages, batch_size, workers, entities)
    return record.summary


@contextmanager
def _fetcher(record: RunRecord, policy: FetchPolicy, politeness_db: str | None) -> Iterator[Fetcher]:
    """A fetcher for the run that knows the robots.txt files of recent runs, and stores the ones it fetched;
    on a DuckLake (or with `politeness_db`) it takes the pool's turns at each host (warehouse.host_leases)."""
    with record.warehouse.reading() as con:
        known = lookups.recent_robots(con)
    with (host_leases.shared_hosts(record.warehouse.path, politeness_db, policy.total_timeout) as shared,
          Fetcher(policy, known_robots=known, shared_hosts=shared) as fetcher):
        yield fetcher
        _land(record, LoadBatch(robots=dict(fetcher.fetched_robots)))


def _targets(urls: Sequence[str]) -> tuple[list[PageTarget], list[Failure]]:
    """One target per canonical URL (the first variant given is the one fetched); bad URLs become failures."""
    targets: dict[str, PageTarget] = {}
    invalid = []
    for url in urls:
        try:
            canonical = canonical_url(url)
        except ValueError as exc:
            invalid.append(Failure(url, "url", f"not an http(s) URL: {exc}"))
            continue
        targets.setdefault(canonical, PageTarget(url, canonical))
    return list(targets.values()), invalid


@task(name="fetch-feeds", cache_policy=NO_CACHE)
def fetch_feeds(
    fetcher: Fetcher, record: RunRecord, feeds: list[PageTarget]
) -> tuple[list[PageTarget], LoadBatch]:
    """Fetch and parse feeds and sitemaps (conditional GET), following sitemap indexes; list their articles."""
    load = LoadBatch()
    listed: dict[str, PageTarget] = {}
    seen = {feed.canonical for feed in feeds}
    level = feeds
    for depth in range(MAX_SITEMAP_DEPTH + 1):
        with record.warehouse.reading() as con:
            states = lookups.source_states(con, [feed.canonical for feed in level])
        by_url = {feed.url: feed for feed in level}
        requests = [FetchRequest(feed.url, "feed", *_validators(states.get(feed.canonical))) for feed in level]
        children: list[PageTarget] = []
        for result in fetcher.fetch_many(requests):
            feed = by_url[result.request.url]
            parsed = _read_feed(record, load, feed.canonical, result)
            if parsed is None:
                continue
            kind, entries, sitemaps = parsed
            load.sources.append(_source_state(feed.canonical, kind, result, body_hash=_body_hash(result)))
            for entry in entries:
                if canonical := _canonical_or_none(entry.url):
                    listed.setdefault(canonical, PageTarget(entry.url, canonical, feed.canonical, entry.published_at))
            for child in sitemaps if depth < MAX_SITEMAP_DEPTH else []:
                if (canonical := _canonical_or_none(child)) and canonical not in seen:
                    seen.add(canonical)
                    children.append(PageTarget(child, canonical))
        if not children:
            break
        level = children
    return list(listed.values()), load


def _canonical_or_none(url: str) -> str | None:
    """A listed URL's canonical form; None for what a feed may list but we never fetch (mailto:, junk)."""
    try:
        return canonical_url(url)
    except ValueError:
        return None


def _read_feed(record: RunRecord, load: LoadBatch, feed_url: str, result: FetchResult):
    """(kind, entries, child sitemaps) of one fetched feed; None for one that does not parse: its failure
    and its `sources` row (outcome "failed", the reason) land in `load`."""
    if result.outcome == "not_modified":
        load.n_not_modified += 1
        record.notes.append(f"{feed_url}: not modified (304)")
        return "feed", [], []
    if result.outcome != "fetched":
        load.failures.append(Failure(result.request.url, _fetch_stage(result), result.error or result.outcome))
        return "feed", [], []
    try:
        parsed = parse_feed(result.body, result.final_url, result.content_type)
    except RejectedInput as exc:
        load.failures.append(Failure(result.request.url, "parse", str(exc)))
        load.sources.append(replace(_source_state(feed_url, "feed", result), outcome="failed", error=str(exc)))
        return None
    kind = "sitemap" if parsed.kind in ("urlset", "sitemapindex") else "feed"
    note = f"{feed_url}: {parsed.kind}, {len(parsed.entries)} entries"
    if parsed.sitemaps:
        note += f", {len(parsed.sitemaps)} child sitemaps"
    if parsed.recovered:
        note += " (broken XML: entries recovered)"
    record.notes.append(note)
    return kind, parsed.entries, parsed.sitemaps


def _new_pages(record: RunRecord, listed: list[PageTarget], limit: int) -> list[PageTarget]:
    """The listed articles the warehouse has not ingested, newest first, at most `limit`."""
    with record.warehouse.reading() as con:
        known = lookups.ingested_urls(con, {t.canonical: article_id(t.canonical) for t in listed})
    fresh = [t for t in listed if t.canonical not in known]
    fresh.sort(key=lambda t: (t.published_at is None, -(t.published_at.timestamp() if t.published_at else 0)))
    if len(listed) != len(fresh):
        record.notes.append(f"{len(listed) - len(fresh)} listed articles already in the warehouse: not fetched again")
    if len(fresh) > limit:
        record.notes.append(f"{len(fresh) - limit} more new articles left for the next run (max_new_pages={limit})")
    return fresh[:limit]


def _ingest_pages(
    record: RunRecord, fetcher: Fetcher, targets: list[PageTarget], batch_size: int, workers: int | None,
    entities: bool,
) -> None:
    """Fetch the targets (conditionally) and stream the results through the one pipeline as documents."""
    if not targets:
        return
    with record.warehouse.reading() as con:
        states = lookups.source_states(con, [t.canonical for t in targets])
    by_url = {t.url: t for t in targets}
    requests = [FetchRequest(t.url, "page", *_validators(states.get(t.canonical))) for t in targets]
    with fetcher.fetch_many(requests) as stream:
        documents = (_page_document(result, by_url[result.request.url], states) for result in stream)
        run_pipeline(record, documents, batch_size=batch_size, workers=workers, entities=entities, total=len(targets))


def _page_document(result: FetchResult, target: PageTarget, states: dict[str, SourceState]) -> Document:
    """A fetch result as the pipeline's document; a failed fetch is a document with its error."""
    prior = states.get(target.canonical)
    fetch = Fetch(
        requested_url=result.request.url, canonical=target.canonical, outcome=result.outcome, status=result.status,
        error=result.error, etag=result.etag, last_modified=result.last_modified,
        discovered_from=target.discovered_from, known_article_id=prior.article_id if prior else None,
    )
    fetched_at = result.finished_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    failed = result.outcome not in ("fetched", "not_modified")
    return Document(
        target.url, "html", url=result.final_url, text=result.text if result.outcome == "fetched" else None,
        content_type=result.content_type, fetched_at=fetched_at, fetch=fetch,
        decode_note=replacement_note(result.replaced_bytes, result.encoding),
        error=(result.error or result.outcome) if failed else None, error_stage=_fetch_stage(result),
    )


def _land(record: RunRecord, load: LoadBatch) -> None:
    if not load.empty:
        with record.stage("load"):
            load_batch(quote(load), quote(record))


def _validators(state: SourceState | None) -> tuple[str | None, str | None]:
    """ETag and Last-Modified of the last successful fetch, for a conditional request."""
    return (state.etag, state.last_modified) if state else (None, None)


def _body_hash(result: FetchResult) -> str | None:
    return hashlib.sha256(result.body).hexdigest() if result.outcome == "fetched" else None


def _fetch_stage(result: FetchResult) -> str:
    return "robots" if result.outcome == "disallowed" else "fetch"


def _source_state(url: str, kind: str, result: FetchResult, body_hash: str | None = None) -> SourceState:
    fetched_at = result.finished_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return SourceState(
        url=url, kind=kind, requested_url=result.request.url, outcome=result.outcome, fetched_at=fetched_at,
        status=result.status, error=result.error, etag=result.etag, last_modified=result.last_modified,
        body_hash=body_hash,
    )
