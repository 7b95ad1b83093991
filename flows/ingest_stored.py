"""Flow `ingest_stored`: stored article files into the warehouse.

Per batch of files: read (decode and hash in worker processes; recognise
unchanged content and exact duplicates before any cleaning) -> clean (in
worker processes, both cores) -> find entities (NER, canonical entities,
quotes) -> load (one transaction). Tasks work on batches because Prefect's
per-task overhead would dominate one-task-per-article at scale.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice, repeat
from multiprocessing import get_context
from pathlib import Path

from duckdb import DuckDBPyConnection
from prefect import flow, get_run_logger, task
from prefect.futures import PrefectFuture
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from prefect.runtime import flow_run

from extractors.dispatch import extract_many, scan_many
from extractors.entities import extract_mentions, ner_available
from extractors.entity_resolution import canonical_entities
from extractors.quotes import extract_quotes
from extractors.signatures import article_id
from extractors.stored_files import discover, source_uri
from extractors.text_cleaning import RECURRING_MIN_DOCS
from warehouse import store

DEFAULT_BATCH_SIZE = 500
POOL_THRESHOLD = 40
"""Fewer documents than this to clean in a run are cleaned in-process: starting workers costs more."""


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
    load: store.LoadBatch = field(default_factory=store.LoadBatch)


@task(name="read-batch", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def read_batch(
    paths: Sequence[Path], con: DuckDBPyConnection, in_flight: PreparedBatch | None, pool: Executor | None
) -> PreparedBatch:
    """Decode and fingerprint a batch; only new or edited content goes on to cleaning.

    `in_flight` is the previous batch, still being cleaned and not yet loaded:
    its documents count as known for duplicates and line recurrence.
    """
    prepared = PreparedBatch()
    ids = [article_id(source_uri(p)) for p in paths]
    known = store.stored_hashes(con, ids)
    changed: list[PendingDocument] = []
    scans = _in_pool(pool, scan_many, [(str(p), known.get(aid)) for p, aid in zip(paths, ids)])
    for aid, scanned in zip(ids, scans):
        if scanned.error is not None:
            prepared.load.failures.append(store.Failure(scanned.source_uri, "read", scanned.error))
        elif scanned.unchanged:
            prepared.load.unchanged_ids.append(aid)
        else:
            changed.append(PendingDocument(
                aid, scanned.source_uri, scanned.kind, scanned.text, scanned.content_hash,
                aid not in known, scanned.line_keys,
            ))
    originals = store.originals_by_content(con, [c.content_hash for c in changed])
    first_in_batch = {d.content_hash: d.article_id for d in in_flight.pending} if in_flight else {}
    for doc in changed:
        original = originals.get(doc.content_hash) or first_in_batch.get(doc.content_hash)
        if original and original != doc.article_id:
            prepared.load.duplicates.append(
                store.DuplicateDocument(doc.article_id, doc.source_uri, doc.content_hash, original, doc.is_new)
            )
            continue
        first_in_batch[doc.content_hash] = doc.article_id
        prepared.pending.append(doc)
    unloaded = [*(in_flight.pending if in_flight else []), *prepared.pending]
    prepared.recurring = store.recurring_line_keys(
        con, {d.article_id: d.line_keys for d in unloaded if d.line_keys}, RECURRING_MIN_DOCS
    )
    return prepared


@task(name="clean-batch", cache_policy=NO_CACHE)
def clean_batch(prepared: PreparedBatch, pool: Executor | None) -> store.LoadBatch:
    """Extract every pending document, in worker processes when there are enough of them."""
    documents = [(d.kind, d.text) for d in prepared.pending]
    results = _in_pool(pool, extract_many, documents, prepared.recurring)
    load = prepared.load
    for doc, result in zip(prepared.pending, results):
        if result.article is None:
            load.failures.append(store.Failure(doc.source_uri, "extract", result.error or "no article"))
            continue
        load.cleaned.append(
            store.CleanedDocument(
                doc.article_id, doc.source_uri, doc.content_hash, result.article, doc.is_new, doc.line_keys
            )
        )
    return load


def _in_pool(pool: Executor | None, work, items: list, *shared) -> list:
    """Run `work` over items in chunks on the worker processes (or here, without a pool), in order."""
    if pool is None or len(items) < POOL_THRESHOLD:
        return work(items, *shared)
    chunks = pool.map(work, _chunks(items, 16), *(repeat(value) for value in shared))
    return [result for chunk in chunks for result in chunk]


def _fail_copies_of(load: store.LoadBatch, failed_ids: set[str]) -> None:
    """A copy of a document that failed in this run has nothing to link to: it fails too."""
    orphans = [d for d in load.duplicates if d.duplicate_of in failed_ids]
    for dup in orphans:
        load.failures.append(store.Failure(dup.source_uri, "extract", "identical to a document that failed"))
    load.duplicates = [d for d in load.duplicates if d.duplicate_of not in failed_ids]


@task(name="find-entities", cache_policy=NO_CACHE)
def find_entities(load: store.LoadBatch, con: DuckDBPyConnection, pool: Executor | None) -> None:
    """NER, canonical entities and quotes for the batch's freshly cleaned articles (never for unchanged ones)."""
    eligible = [i for i, d in enumerate(load.cleaned) if ner_available(d.article.language)]
    mentions = _in_pool(pool, extract_mentions, [(load.cleaned[i].article.title, load.cleaned[i].article.body)
                                                  for i in eligible])
    resolved = canonical_entities(mentions, store.known_entities(con))
    for i, doc in enumerate(load.cleaned):
        load.cleaned[i] = replace(doc, entity_status=f"skipped: no NER pipeline for language {doc.article.language}")
    for i, article_mentions in zip(eligible, resolved):
        doc = load.cleaned[i]
        quotes = extract_quotes(doc.article.body, article_mentions)
        load.cleaned[i] = replace(doc, entity_status="done", mentions=tuple(article_mentions), quotes=tuple(quotes))


@task(name="load-batch", retries=3, retry_delay_seconds=[1, 5, 15], cache_policy=NO_CACHE)
def load_batch(load: store.LoadBatch, run_id: str, con: DuckDBPyConnection) -> None:
    """Land the batch in one transaction (all or nothing, so a retry starts clean)."""
    store.load_batch(con, run_id, load)
    get_run_logger().info(
        "loaded batch: %d new, %d updated, %d unchanged, %d duplicates, %d failed",
        load.n_new, load.n_updated, len(load.unchanged_ids), len(load.duplicates), len(load.failures),
    )


@flow(name="ingest_stored")
def ingest_stored(
    paths: list[str] | None = None,
    db: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
) -> dict:
    """Ingest stored article files (.txt dumps, .html/.htm/.html.gz pages) into the warehouse.

    `entities=False` skips NER, entity resolution and quotes (a first bulk load can add them later).
    """
    paths = paths or ["data/seeds"]
    db = db or store.default_db()
    started = time.perf_counter()
    # One write connection for the run: each close checkpoints the file, which costs more than the load.
    con = store.connect(db)
    run_id = store.begin_run(con, "ingest_stored", _prefect_run_id())
    status = "failed"
    new_titles: list[str] = []
    pool: Executor | None = None
    in_flight: PreparedBatch | None = None
    cleaning: PrefectFuture | None = None
    failed_ids: set[str] = set()

    def land(prepared: PreparedBatch, load: store.LoadBatch) -> None:
        failed_ids.update({d.article_id for d in prepared.pending} - {c.article_id for c in load.cleaned})
        _fail_copies_of(load, failed_ids)
        if entities and load.cleaned:
            find_entities(quote(load), quote(con), quote(pool))
        load_batch(quote(load), run_id, quote(con))
        new_titles.extend(d.article.title for d in load.cleaned if d.article.title)

    try:
        # A pipeline: while workers clean batch k, this process reads batch k+1 and loads batch k-1.
        # quote(): Prefect would otherwise walk every document of a batch to track dependencies.
        for batch_paths in _chunks(discover(paths), batch_size):
            if pool is None and len(batch_paths) >= POOL_THRESHOLD and (workers or os.cpu_count() or 1) > 1:
                pool = ProcessPoolExecutor(workers or os.cpu_count(), mp_context=get_context("spawn"))
            prepared = read_batch(quote(batch_paths), quote(con), quote(in_flight), quote(pool))
            next_cleaning = clean_batch.submit(quote(prepared), quote(pool))
            if cleaning is not None:
                land(in_flight, cleaning.result())
            in_flight, cleaning = prepared, next_cleaning
        if cleaning is not None:
            land(in_flight, cleaning.result())
        status = "completed"
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        summary = store.finish_run(con, run_id, status)
        failures = con.execute(
            "SELECT source_uri, stage, error FROM failures WHERE run_id = ? ORDER BY source_uri", [run_id]
        ).fetchall()
        con.close()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["db"] = str(Path(db).absolute())
    create_markdown_artifact(
        key="ingest-stored-summary",
        markdown=_summary_markdown(summary, new_titles, failures),
        description=f"ingest_stored run {run_id}",
    )
    return summary


def _summary_markdown(summary: dict, new_titles: list[str], failures: list[tuple]) -> str:
    lines = [
        f"# ingest_stored: {summary['status']}",
        f"Warehouse: `{summary['db']}`, run `{summary['run_id']}`, {summary['seconds']} s",
        "",
        "| seen | new | updated | unchanged | duplicates | failed |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {summary['n_seen']} | {summary['n_new']} | {summary['n_updated']} | {summary['n_unchanged']}"
        f" | {summary['n_duplicates']} | {summary['n_failed']} |",
    ]
    if new_titles:
        lines += ["", "## New or updated articles", *[f"- {t}" for t in new_titles[:50]]]
        if len(new_titles) > 50:
            lines.append(f"- ... and {len(new_titles) - 50} more")
    if failures:
        lines += ["", "## Failures", "| file | stage | reason |", "|---|---|---|"]
        lines += [f"| {uri} | {stage} | {error} |" for uri, stage, error in failures[:100]]
    return "\n".join(lines)


def _prefect_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk

