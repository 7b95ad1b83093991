"""What every ingest flow shares: the run's bookkeeping, the entity and load stages, worker pools.

A flow reads and writes the warehouse in short connections (see
`connection.Warehouse`), so a user's DuckDB shell or notebook gets turns between
batches; each flow run records itself in `ingest_runs` under its Prefect
flow run id and publishes two artifacts: a markdown summary and a table of
its failures.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import groupby, islice, repeat

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from extractors.entities import ner_available
from extractors.entity_workers import analyse, pool_context
from extractors.entity_resolution import canonical_entities
from extractors.quotes import extract_quotes
from flows import lifetime, settings
from flows.chunking import guided_chunks
from flows.search_upkeep import keep_search_current
from warehouse import backends, connection, lookups, runs
from warehouse import load as batch_load
from warehouse.records import LoadBatch

POOL_THRESHOLD = 40
"""Fewer documents than this in a step are handled in-process: starting workers costs more."""
FINISH_LOCK_WAIT = 15.0
"""How long a failed run waits to record its end (even when its limit was shorter: the lock that
stopped it may be about to go); past it the next run marks it interrupted."""


@dataclass(slots=True)
class RunRecord:
    """A flow run as the warehouse and the Prefect UI see it."""

    flow_name: str
    warehouse: connection.Warehouse
    run_id: str = ""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    new_titles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Lines for the artifact that are not counts (e.g. "feed X: 304 not modified")."""
    summary: dict = field(default_factory=dict)
    """The run's row of `ingest_runs` once it has ended, with its duration and warehouse path."""
    n_done: int = 0
    """Inputs settled so far (landed, unchanged, linked or failed), for progress reports."""
    n_failed: int = 0
    on_progress: Callable[[int, int | None, int], None] | None = None
    total: int | None = None

    skipped: Counter[str] = field(default_factory=Counter)
    """Inputs left out on purpose, by reason (noted in the summary artifact)."""

    def landed(self, batch: LoadBatch) -> None:
        """Count a batch that landed and report progress: (done, total if known, failures so far)."""
        self.n_done += batch.n_seen + len(batch.skipped)
        self.n_failed += len(batch.failures)
        self.skipped.update(batch.skipped)
        if self.on_progress is not None:
            self.on_progress(self.n_done, self.total, self.n_failed)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage of the run for the summary artifact (stages overlap when pipelined)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def recorded_run(flow_name: str, db: str | None, lock_wait: float | None) -> Iterator[RunRecord]:
    """Register a run in `ingest_runs`, and on the way out record how it ended and publish its artifacts.

    The run is 'completed' when its body returns, 'interrupted' when a
    KeyboardInterrupt (or SIGTERM turned into one) stops it, and 'failed' when
    it raises anything else (the exception goes on, so Prefect marks the flow run failed with it).
    """
    logger = get_run_logger()
    defaults = settings.current()
    warehouse = connection.Warehouse(
        db or defaults.db, defaults.lock_wait if lock_wait is None else lock_wait, logger.warning
    )
    record = RunRecord(flow_name, warehouse)
    started = time.perf_counter()
    record.run_id = warehouse.write(lambda con: runs.begin_run(con, flow_name, _prefect_run_id()))
    status = "failed"
    try:
        yield record
        with record.stage("search-index"):
            record.notes.append(keep_search_current(record.warehouse))
        status = "completed"
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM as `pipeline.Interrupted`: the batch in flight rolled back
        status = "interrupted"
        raise
    finally:
        try:
            finish_wait = warehouse.lock_wait if status == "completed" else FINISH_LOCK_WAIT
            summary, failures = replace(warehouse, lock_wait=finish_wait).write(
                lambda con: (runs.finish_run(con, record.run_id, status), runs.run_failures(con, record.run_id)))
        except connection.WarehouseLocked as exc:
            logger.error("could not record the end of run %s: %s", record.run_id, exc)
            if status == "completed":
                raise  # everything landed, but the run must not look done: the next run marks it interrupted
        else:
            summary["seconds"] = round(time.perf_counter() - started, 2)
            summary["db"] = backends.describe(warehouse.path)
            summary["stage_seconds"] = {name: round(seconds, 2) for name, seconds in record.stage_seconds.items()}
            record.summary = summary
            _publish_artifacts(record, summary, failures)


def retry_unless_locked(task, task_run, state) -> bool:
    """Retry a flaky step, but not one whose lock wait already ran to the run's limit."""
    return not isinstance(state.data, connection.WarehouseLocked)


@task(name="find-entities", cache_policy=NO_CACHE)
def find_entities(load: LoadBatch, warehouse: connection.Warehouse, pool: Executor | None) -> LoadBatch:
    """NER, canonical entities and quotes for the batch's freshly cleaned articles (never for unchanged ones).

    Returns a new batch whose cleaned documents carry their mentions and quotes.
    """
    if not load.cleaned:
        return load
    cleaned = list(load.cleaned)
    eligible = sorted((i for i, d in enumerate(cleaned) if ner_available(d.article.language)),
                      key=lambda i: cleaned[i].article.language)
    analysed = []
    for language, group in groupby(eligible, key=lambda i: cleaned[i].article.language):
        docs = [(cleaned[i].article.title, cleaned[i].article.body) for i in group]
        analysed += in_pool(pool, analyse, docs, language)
    with warehouse.reading() as con:
        known = lookups.known_entities(con)
    resolved = canonical_entities([mentions for mentions, _ in analysed], known)
    for i, doc in enumerate(cleaned):
        cleaned[i] = replace(doc, entity_status=f"skipped: no NER pipeline for language {doc.article.language}")
    for i, article_mentions, (_, cues) in zip(eligible, resolved, analysed):
        doc = cleaned[i]
        quotes = extract_quotes(doc.article.body, article_mentions, cues, language=doc.article.language)
        cleaned[i] = replace(doc, entity_status="done", mentions=tuple(article_mentions), quotes=tuple(quotes))
    return replace(load, cleaned=cleaned)


@task(name="load-batch", cache_policy=NO_CACHE)
def load_batch(load: LoadBatch, record: RunRecord) -> LoadBatch:
    """Land the batch in one transaction, holding the write lock only for it; return the batch as it landed.

    No task retry: waiting for the lock (with backoff, up to the run's
    limit) is the retry, and a batch that cannot land is left for the next run whole.
    """
    landed = record.warehouse.write(lambda con: batch_load.load_batch(con, record.run_id, load))
    record.new_titles.extend(d.article.title for d in landed.cleaned if d.article.title)
    record.landed(landed)
    get_run_logger().info(
        "loaded batch: %d new, %d updated, %d unchanged, %d duplicates, %d failed",
        landed.n_new, landed.n_updated, len(landed.unchanged_ids), len(landed.duplicates), len(landed.failures),
    )
    return landed


def worker_pool(workers: int | None, n_items: int, entities: bool) -> Executor | None:
    """Worker processes for CPU-bound extraction and NER, or None when the work is too small to pay for them.

    With entities, workers fork from a server holding the loaded NER model, which they share
    (`entity_workers.pool_context`); without, they are spawned bare, so a run that never uses the
    model neither loads it nor holds its memory.
    """
    n = workers or os.cpu_count() or 1
    if n_items < POOL_THRESHOLD or n < 2:
        return None
    context = pool_context() if entities else multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(n, mp_context=context, initializer=lifetime.worker_initializer,
                               initargs=(os.getpid(),))


def in_pool(pool: Executor | None, work: Callable, items: list, *shared) -> list:
    """Run `work` over items in chunks on the worker processes (or here, without a pool), in order.

    Once the workers are up, even a small step goes to them: run here, it would take the GIL and a core
    from the driver, which is reading and loading the batches around it."""
    if pool is None or len(items) < 2:
        return work(items, *shared)
    chunks = pool.map(work, guided_chunks(items), *(repeat(value) for value in shared))
    return [result for chunk in chunks for result in chunk]


def chunked(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _publish_artifacts(record: RunRecord, summary: dict, failures: list[tuple[str, str, str]]) -> None:
    key = record.flow_name.replace("_", "-")
    create_markdown_artifact(
        key=f"{key}-summary", markdown=summary_markdown(record, summary, failures),
        description=f"{record.flow_name} run {record.run_id}",
    )
    create_table_artifact(
        key=f"{key}-failures",
        table=[{"source": uri, "stage": stage, "reason": error} for uri, stage, error in failures],
        description=f"Inputs that did not land in run {record.run_id}, with the reason",
    )


def summary_markdown(record: RunRecord, summary: dict, failures: list[tuple[str, str, str]]) -> str:
    lines = [
        f"# {record.flow_name}: {summary['status']}",
        f"Warehouse: `{summary['db']}`, run `{summary['run_id']}`, {summary['seconds']} s",
        "",
        "| seen | new | updated | unchanged | not modified (304) | duplicates | failed |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary['n_seen']} | {summary['n_new']} | {summary['n_updated']} | {summary['n_unchanged']}"
        f" | {summary['n_not_modified']} | {summary['n_duplicates']} | {summary['n_failed']} |",
    ]
    if record.stage_seconds:
        lines += ["", "## Time per stage", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.2f} |" for name, seconds in record.stage_seconds.items()]
    skips = [f"{n} skipped: {reason}" for reason, n in record.skipped.most_common()]
    if record.notes or skips:
        lines += ["", "## Notes", *[f"- {note}" for note in [*record.notes, *skips]]]
    if record.new_titles:
        lines += ["", "## New or updated articles", *[f"- {t}" for t in record.new_titles[:50]]]
        if len(record.new_titles) > 50:
            lines.append(f"- ... and {len(record.new_titles) - 50} more")
    if failures:
        lines += ["", "## Failures", "| source | stage | reason |", "|---|---|---|"]
        lines += [f"| {uri} | {stage} | {error} |" for uri, stage, error in failures[:100]]
        if len(failures) > 100:
            lines.append(f"\n... and {len(failures) - 100} more in the failures table artifact")
    return "\n".join(lines)


def _prefect_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None
