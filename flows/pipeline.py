"""The one ingest driver: documents of any source into the warehouse, pipelined over batches.

Every flow (stored files, fetched pages, WARC records) hands `run_pipeline`
an iterator of `extractors.documents.Document` records. Per batch:

    scan     decode, identity (canonical URL or file URI), content hash
    decide   new / unchanged / identical copy, once, against the warehouse and the batches in flight
    extract  article and story signature                                  (worker processes)
    entities NER, canonical entities, quotes                              (optional)
    load     one transaction

While the workers extract batch k, this process reads, scans and decides
batch k+1, queues its extraction behind batch k's (so the workers never wait
for this process), then loads batch k. Scanning is done here, not in the
workers: it costs a fraction of a millisecond for a text dump (a few for a
large page) against several for extraction, and a scan queued in the workers
would wait behind the batch they are extracting. So a re-run over unchanged
inputs ships no text anywhere and starts no worker processes: the pool is
started by the first batch with enough to extract. Each stage returns a new
value and leaves its input as it was. Tasks work on batches because
Prefect's per-task overhead would dominate one-task-per-article at scale.

For callers (the CLI):
- progress: `with reporting(callback): flow(...)` calls `callback(done, total, failures)` after each batch
  lands: inputs settled so far, the number of inputs when the source knows it (else None), failures so far;
- interrupts: a KeyboardInterrupt, or SIGTERM while the driver runs (turned into `Interrupted`, a
  KeyboardInterrupt), rolls back the batch being loaded, records the run `interrupted` and propagates;
  batches that landed stay, and a rerun finishes the job without duplicates. An error raised after a stop
  signal came (Prefect, stopped while it sets up a task run, raises its own) is a stop too.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from extractors.dispatch import extract_many
from extractors.documents import Document, ScannedDocument, scan
from extractors.text_cleaning import RECURRING_MIN_DOCS
from flows.stages import RunRecord, chunked, find_entities, in_pool, load_batch, retry_unless_locked, worker_pool
from warehouse import connection, lookups
from warehouse.records import CleanedDocument, DuplicateDocument, Failure, LoadBatch, SourceState, settle

ProgressHook = Callable[[int, int | None, int], None]
"""callback(done, total or None, failures so far)."""

_progress: ContextVar[ProgressHook | None] = ContextVar("newsflow_progress", default=None)


class Interrupted(KeyboardInterrupt):
    """SIGTERM as an exception: it stops a run the way Ctrl-C does."""


@contextmanager
def reporting(callback: ProgressHook) -> Iterator[None]:
    """Have the runs started inside this block report their progress to `callback`."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """Turn SIGTERM into `Interrupted` while the block runs, and tell (the event yielded) that Ctrl-C or
    SIGTERM came (main thread only: signals go there).

    Prefect puts its own SIGTERM handler in place for a flow run, so this one goes on top. A Ctrl-C handler of
    the caller's (the CLI's stop watchdog, which bounds how long stopping takes) hears of the signal first.
    The event lets the driver tell a stop from a failure when Prefect, interrupted while it sets up a task
    run, raises its own error in place of the KeyboardInterrupt ("Task run is not set").
    """
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return
    ctrl_c = signal.getsignal(signal.SIGINT)

    def on_ctrl_c(signum, frame):
        stopping.set()
        (ctrl_c if callable(ctrl_c) else signal.default_int_handler)(signum, frame)

    def on_sigterm(signum, frame):
        stopping.set()
        if callable(ctrl_c) and ctrl_c is not signal.default_int_handler:
            ctrl_c(signum, frame)
        raise Interrupted(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, on_sigterm), signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield stopping
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])


@dataclass(frozen=True)
class Pending:
    """A scanned document whose content is new to the warehouse: it must be extracted."""

    scanned: ScannedDocument
    is_new: bool


@dataclass(frozen=True)
class DecidedBatch:
    """A batch after the decision: what to extract, and what is settled without extraction."""

    pending: tuple[Pending, ...]
    recurring: frozenset[str]
    """Line keys frequent enough across documents to be furniture (text dumps)."""
    settled: LoadBatch

    def without_texts(self) -> DecidedBatch:
        """This batch as the driver keeps it once it has gone to extraction: identities, hashes and line
        keys, not the texts (a page's text is up to a few MB; the workers have their own copy)."""
        pending = tuple(replace(p, scanned=replace(p.scanned, text="")) for p in self.pending)
        return replace(self, pending=pending)


def run_pipeline(
    record: RunRecord, documents: Iterable[Document], *, batch_size: int, workers: int | None, entities: bool,
    total: int | None = None, languages: frozenset[str] | None = None,
) -> None:
    """Ingest `documents` (any source) into the run's warehouse.

    `total`: how many documents, when the source knows. `languages`: keep only articles in these
    languages (ISO 639-1); the others are extracted (language is known only then) and counted as skipped.
    """
    record.on_progress, record.total = _progress.get(), total
    pool: Executor | None = None
    in_flight: DecidedBatch | None = None
    extracting: PrefectFuture | None = None
    failed_ids: frozenset[str] = frozenset()

    def land(decided: DecidedBatch, extracted: LoadBatch) -> frozenset[str]:
        failed = failed_ids | {p.scanned.article_id for p in decided.pending} - {c.article_id for c in extracted.cleaned}
        linked = without_orphans(extracted, failed)
        if entities:
            with record.stage("entities"):
                linked = find_entities(quote(linked), quote(record.warehouse), quote(pool))
        with record.stage("load"):
            load_batch(quote(linked), quote(record))
        return failed

    with stop_signals() as stopping:
        try:
            # quote(): Prefect would otherwise walk every document of a batch to track dependencies.
            for batch in chunked(documents, batch_size):
                with record.stage("read"):
                    decided = decide_batch(quote(batch), quote(record.warehouse), quote(in_flight))
                del batch  # its raw bytes: decided holds what is left to extract
                if pool is None:
                    pool = worker_pool(workers, len(decided.pending), entities)
                next_extracting = extract_batch.submit(quote(decided), quote(pool), languages)
                if extracting is not None:
                    failed_ids = land(in_flight, _extracted(extracting, record))
                in_flight, extracting = decided.without_texts(), next_extracting
            if extracting is not None:
                land(in_flight, _extracted(extracting, record))
        except Exception as exc:
            if stopping.is_set():  # a stop that Prefect reported as an error of its own
                raise Interrupted(f"stopped ({exc})") from exc
            raise
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)


@task(name="decide-batch", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_locked,
      cache_policy=NO_CACHE)
def decide_batch(
    documents: list[Document], warehouse: connection.Warehouse, in_flight: DecidedBatch | None
) -> DecidedBatch:
    """Scan a batch and decide, once, what each document is: failed, unchanged, a copy, or new content.

    `in_flight` is the previous batch, still being extracted and not loaded:
    its documents count as known for copies and line recurrence.
    """
    failures: list[Failure] = []
    unchanged: list[str] = []
    duplicates: list[DuplicateDocument] = []
    sources: list[SourceState] = []
    pending: list[Pending] = []
    n_not_modified = 0
    skipped: list[str] = []
    readable = []
    for doc in documents:
        if doc.skipped is not None:
            skipped.append(doc.skipped)
            continue
        if doc.error is not None:
            failures.append(Failure(doc.source_uri, doc.error_stage, doc.error))
        elif doc.fetch is not None and doc.fetch.outcome == "not_modified":
            n_not_modified += 1
            unchanged.extend([doc.fetch.known_article_id] if doc.fetch.known_article_id else [])
        else:
            readable.append(doc)
            continue
        sources.extend(_source_rows(doc, doc.fetch.known_article_id if doc.fetch else None))
    scans = [scan(doc) for doc in readable]
    good = [s for s in scans if s.error is None]
    with warehouse.reading() as con:
        stored = lookups.stored_hashes(con, [s.article_id for s in good])
        originals = lookups.originals_by_content(con, [s.content_hash for s in good])
    first_of_content = {p.scanned.content_hash: p.scanned.article_id for p in in_flight.pending} if in_flight else {}
    in_batch: set[str] = set()
    for scanned in scans:
        doc = scanned.document
        if scanned.error is not None:
            failures.append(Failure(doc.source_uri, scanned.error_stage, scanned.error))
            sources.extend(_source_rows(doc, None))
            continue
        aid, digest = scanned.article_id, scanned.content_hash
        outcome = settle(aid, digest, stored)
        if outcome == "unchanged" or aid in in_batch:  # in_batch: two inputs that declare one page
            unchanged.append(aid)
            sources.extend(_source_rows(doc, aid, digest))
            continue
        in_batch.add(aid)
        original = originals.get(digest) or first_of_content.get(digest)
        if original and original != aid:
            duplicates.append(DuplicateDocument(aid, scanned.identity_uri, digest, original, outcome == "new",
                                                scanned.address))
            sources.extend(_source_rows(doc, aid, digest))
            continue
        first_of_content.setdefault(digest, aid)
        pending.append(Pending(scanned, outcome == "new"))
    unloaded = [*(in_flight.pending if in_flight else []), *pending]
    recurring: frozenset[str] = frozenset()
    if any(p.scanned.line_keys for p in pending):  # pages have no line keys: no connection for them
        batch_lines = {p.scanned.article_id: p.scanned.line_keys for p in unloaded if p.scanned.line_keys}
        with warehouse.reading() as con:
            recurring = lookups.recurring_line_keys(con, batch_lines, RECURRING_MIN_DOCS)
    settled = LoadBatch(duplicates=duplicates, unchanged_ids=unchanged, failures=failures, sources=sources,
                        n_not_modified=n_not_modified, skipped=skipped)
    return DecidedBatch(tuple(pending), recurring, settled)


@task(name="extract-batch", cache_policy=NO_CACHE)
def extract_batch(decided: DecidedBatch, pool: Executor | None, languages: frozenset[str] | None = None) -> LoadBatch:
    """Extract every pending document (in worker processes when there are enough): a new batch to load."""
    triples = [(p.scanned.kind, p.scanned.text, p.scanned.address) for p in decided.pending]
    results = in_pool(pool, extract_many, triples, decided.recurring)
    cleaned: list[CleanedDocument] = []
    failures: list[Failure] = []
    sources: list[SourceState] = []
    skipped: list[str] = []
    for pending, result in zip(decided.pending, results):
        scanned = pending.scanned
        if languages is not None and result.article is not None and result.article.language not in languages:
            skipped.append(f"language {result.article.language or 'unknown'} not selected")
            continue
        extracted = result.article is not None
        sources.extend(_source_rows(scanned.document, scanned.article_id if extracted else None, scanned.content_hash))
        if not extracted:
            failures.append(Failure(scanned.document.source_uri, "extract", result.error or "no article"))
            continue
        cleaned.append(CleanedDocument(
            scanned.article_id, scanned.identity_uri, scanned.content_hash, result.article, pending.is_new,
            scanned.line_keys, signature=result.signature, decode_note=scanned.decode_note,
            word_count=result.word_count,
        ))
    settled = decided.settled
    return replace(settled, cleaned=cleaned, failures=[*settled.failures, *failures],
                   sources=[*settled.sources, *sources], skipped=[*settled.skipped, *skipped])


def without_orphans(load: LoadBatch, failed_ids: frozenset[str]) -> LoadBatch:
    """A copy of a document that failed in this run has nothing to link to: it fails too."""
    orphans = [d for d in load.duplicates if d.duplicate_of in failed_ids]
    if not orphans:
        return load
    return replace(
        load,
        duplicates=[d for d in load.duplicates if d.duplicate_of not in failed_ids],
        failures=[*load.failures, *(Failure(d.source_uri, "extract", "identical to a document that failed")
                                    for d in orphans)],
    )


def _extracted(extracting: PrefectFuture, record: RunRecord) -> LoadBatch:
    """Wait for a batch's extraction; the wait is what the pipeline could not hide behind reading and loading."""
    with record.stage("extract"):
        return extracting.result()


def _source_rows(doc: Document, article: str | None, content_hash: str | None = None) -> list[SourceState]:
    """The `sources` row of a fetched page (none for stored files and archive records)."""
    fetch = doc.fetch
    if fetch is None:
        return []
    return [SourceState(
        url=fetch.canonical, kind="page", requested_url=fetch.requested_url, outcome=fetch.outcome,
        fetched_at=doc.fetched_at, status=fetch.status, error=fetch.error, etag=fetch.etag,
        last_modified=fetch.last_modified, body_hash=content_hash, article_id=article,
        discovered_from=fetch.discovered_from,
    )]
