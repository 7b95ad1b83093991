"""Flow `ingest_warc`: web archives (.warc, .warc.gz; Common Crawl's CC-NEWS) into the warehouse.

The archives stream through the one pipeline (flows.pipeline): records are
read one at a time (memory stays flat whatever the archive's size) and a
batch lands while the next is read and extracted. Only HTML responses with
status 200 become articles, under their target URI (canonicalised) with the
WARC-Date as fetch time; other responses are counted as skipped, unreadable
records are `failures` rows. A rerun over the same archives changes nothing
(every page is recognised by its content hash), and a run that was stopped
resumes: what landed is unchanged, the rest lands.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from extractors.decoding import DEFAULT_MAX_BYTES
from extractors.warc import RecordFilter, archive_files, archive_time, selected_hosts, warc_documents
from flows import settings
from flows.pipeline import run_pipeline
from flows.stages import recorded_run

DEFAULT_BATCH_SIZE = settings.DEFAULTS.warc_batch_size


@flow(name="ingest_warc")
def ingest_warc(
    paths: list[str] | None = None,
    db: str | None = None,
    hosts: list[str] | None = None,
    hosts_file: str | None = None,
    since: str | None = None,
    until: str | None = None,
    languages: list[str] | None = None,
    max_record_bytes: int = DEFAULT_MAX_BYTES,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
    lock_wait: float | None = None,
) -> dict:
    """Ingest the HTML pages of WARC files (files, or folders searched recursively for .warc/.warc.gz).

    `hosts`, `hosts_file` (one per line, # comments): keep only these hosts and their subdomains.
    `since`, `until`: keep records whose WARC-Date falls in this range (ISO dates or times, UTC;
    a date alone for `until` means the whole day). `languages`: keep only articles in these
    languages (ISO 639-1 codes). `max_record_bytes`: larger records are failures.
    """
    with recorded_run("ingest_warc", db, lock_wait) as record:
        keep = RecordFilter(selected_hosts(hosts, Path(hosts_file) if hosts_file else None),
                            archive_time(since) if since else None, archive_time(until, end=True) if until else None)
        documents = (document for archive in archive_files(paths or [])
                     for document in warc_documents(archive, keep, max_record_bytes))
        run_pipeline(record, documents, batch_size=batch_size, workers=workers, entities=entities,
                     languages=frozenset(languages) if languages else None)
    return record.summary
