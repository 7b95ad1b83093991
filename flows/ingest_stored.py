"""Flow `ingest_stored`: stored article files into the warehouse.

Per batch of files: read (decode and hash in worker processes; recognise
unchanged content and exact duplicates before any cleaning) -> clean (in
worker processes, both cores) -> find entities (NER, canonical entities,
quotes) -> load (one transaction). Tasks work on batches because Prefect's
per-task overhead would dominate one-task-per-article at scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from extractors.dispatch import extract_many, scan_many
from extractors.signatures import article_id
from extractors.stored_files import discover, source_uri
from extractors.text_cleaning import RECURRING_MIN_DOCS
from flows import settings
from flows.stages import (
    RunRecord, chunked, find_entities, in_pool, load_batch, recorded_run, retry_unless_locked, worker_pool,
)
from warehouse import connection, lookups
from warehouse.records import CleanedDocument, DuplicateDocument, Failure, LoadBatch

DEFAULT_BATCH_SIZE = settings.DEFAULTS.stored_batch_size


@dataclass(slots=True)
class PendingDocument:
    """A document whose content is new to the warehouse and must be extracted."""

    article_id: str
    source_uri: str
    kind: str
    text: str
    content_hash: str
    is_new: bool
    line_keys: frozenset[str]


@dataclass(slots=True)
class PreparedBatch:
    pending: list[PendingDocument] = field(default_factory=list)
    recurring: frozenset[str] = frozenset()
    load: LoadBatch = field(default_factory=LoadBatch)


@task(name="read-batch", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_unless_locked, cache_policy=NO_CACHE)
def read_batch(
    paths: Sequence[Path], warehouse: connection.Warehouse, in_flight: PreparedBatch | None, pool: Executor | None
) -> PreparedBatch:
    """Decode and fingerprint a batch; only new or edited content goes on to cleaning.

    `in_flight` is the previous batch, still being cleaned and not yet loaded:
    its documents count as known for duplicates and line recurrence.
    """
    prepared = PreparedBatch()
    ids = [article_id(source_uri(p)) for p in paths]
    with warehouse.reading() as con:
        known = lookups.stored_hashes(con, ids)
    changed: list[PendingDocument] = []
    scans = in_pool(pool, scan_many, [(str(p), known.get(aid)) for p, aid in zip(paths, ids)])
    for aid, scanned in zip(ids, scans):
        if scanned.error is not None:
            prepared.load.failures.append(Failure(scanned.source_uri, "read", scanned.error))
        elif scanned.unchanged:
            prepared.load.unchanged_ids.append(aid)
        else:
            changed.append(PendingDocument(
                aid, scanned.source_uri, scanned.kind, scanned.text, scanned.content_hash,
                aid not in known, scanned.line_keys,
            ))
    first_in_batch = {d.content_hash: d.article_id for d in in_flight.pending} if in_flight else {}
    with warehouse.reading() as con:
        originals = lookups.originals_by_content(con, [c.content_hash for c in changed])
        for doc in changed:
            original = originals.get(doc.content_hash) or first_in_batch.get(doc.content_hash)
            if original and original != doc.article_id:
                prepared.load.duplicates.append(
                    DuplicateDocument(doc.article_id, doc.source_uri, doc.content_hash, original, doc.is_new)
                )
                continue
            first_in_batch[doc.content_hash] = doc.article_id
            prepared.pending.append(doc)
        unloaded = [*(in_flight.pending if in_flight else []), *prepared.pending]
        prepared.recurring = lookups.recurring_line_keys(
            con, {d.article_id: d.line_keys for d in unloaded if d.line_keys}, RECURRING_MIN_DOCS
        )
    return prepared


@task(name="clean-batch", cache_policy=NO_CACHE)
def clean_batch(prepared: PreparedBatch, pool: Executor | None) -> LoadBatch:
    """Extract every pending document, in worker processes when there are enough of them."""
    documents = [(d.kind, d.text) for d in prepared.pending]
    results = in_pool(pool, extract_many, documents, prepared.recurring)
    load = prepared.load
    for doc, result in zip(prepared.pending, results):
        if result.article is None:
            load.failures.append(Failure(doc.source_uri, "extract", result.error or "no article"))
            continue
        load.cleaned.append(
            CleanedDocument(
                doc.article_id, doc.source_uri, doc.content_hash, result.article, doc.is_new, doc.line_keys,
                signature=result.signature,
            )
        )
    return load


def _cleaned(cleaning: PrefectFuture, record: RunRecord) -> LoadBatch:
    """Wait for a batch's cleaning; the wait is what the pipeline could not hide behind reading and loading."""
    with record.stage("clean"):
        return cleaning.result()


def _fail_copies_of(load: LoadBatch, failed_ids: set[str]) -> None:
    """A copy of a document that failed in this run has nothing to link to: it fails too."""
    orphans = [d for d in load.duplicates if d.duplicate_of in failed_ids]
    for dup in orphans:
        load.failures.append(Failure(dup.source_uri, "extract", "identical to a document that failed"))
    load.duplicates = [d for d in load.duplicates if d.duplicate_of not in failed_ids]


@flow(name="ingest_stored")
def ingest_stored(
    paths: list[str] | None = None,
    db: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
    lock_wait: float | None = None,
) -> dict:
    """Ingest stored article files (.txt dumps, .html/.htm/.html.gz pages) into the warehouse.

    `entities=False` skips NER, entity resolution and quotes (a first bulk load can add them later).
    `lock_wait`: seconds a load waits while another process holds the warehouse file (default 300).
    """
    with recorded_run("ingest_stored", db, lock_wait) as record:
        _ingest_files(paths or ["data/seeds"], record, batch_size, workers, entities)
    return record.summary


def _ingest_files(paths: list[str], record: RunRecord, batch_size: int, workers: int | None, entities: bool) -> None:
    pool: Executor | None = None
    in_flight: PreparedBatch | None = None
    cleaning: PrefectFuture | None = None
    failed_ids: set[str] = set()

    def land(prepared: PreparedBatch, load: LoadBatch) -> None:
        failed_ids.update({d.article_id for d in prepared.pending} - {c.article_id for c in load.cleaned})
        _fail_copies_of(load, failed_ids)
        if entities:
            with record.stage("entities"):
                find_entities(quote(load), quote(record.warehouse), quote(pool))
        with record.stage("load"):
            load_batch(quote(load), quote(record))

    try:
        # A pipeline: while workers clean batch k, this process reads batch k+1 and loads batch k-1.
        # quote(): Prefect would otherwise walk every document of a batch to track dependencies.
        for batch_paths in chunked(discover(paths), batch_size):
            if pool is None:
                pool = worker_pool(workers, len(batch_paths))
            with record.stage("read"):
                prepared = read_batch(quote(batch_paths), quote(record.warehouse), quote(in_flight), quote(pool))
            next_cleaning = clean_batch.submit(quote(prepared), quote(pool))
            if cleaning is not None:
                land(in_flight, _cleaned(cleaning, record))
            in_flight, cleaning = prepared, next_cleaning
        if cleaning is not None:
            land(in_flight, _cleaned(cleaning, record))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
