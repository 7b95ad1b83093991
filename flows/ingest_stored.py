"""Flow `ingest_stored`: stored article files into the warehouse, through the one pipeline (flows.pipeline)."""

from __future__ import annotations

from prefect import flow

from extractors.documents import Document
from extractors.stored_files import discover, source_uri
from flows import settings
from flows.listings import read_listing
from flows.pipeline import run_pipeline
from flows.stages import recorded_run

DEFAULT_BATCH_SIZE = settings.DEFAULTS.stored_batch_size


@flow(name="ingest_stored")
def ingest_stored(
    paths: list[str] | None = None,
    db: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    entities: bool = True,
    lock_wait: float | None = None,
    paths_file: str | None = None,
) -> dict:
    """Ingest stored article files (.txt dumps, .html/.htm/.html.gz pages) into the warehouse.

    `entities=False` skips NER, entity resolution and quotes (a first bulk load can add them later).
    `lock_wait`: seconds a load waits while another process holds the warehouse file (default 300).
    `paths_file`: a listing file of more paths, one per line (# comments allowed): a list too long for a flow
    run's parameters (flows.listings).
    """
    with recorded_run("ingest_stored", db, lock_wait) as record:
        listed = read_listing(paths, paths_file) if paths or paths_file else ["data/seeds"]
        files = list(discover(listed))
        documents = (Document(source_uri(path), kind="") for path in files)  # read when the pipeline scans them
        run_pipeline(record, documents, batch_size=batch_size, workers=workers, entities=entities, total=len(files))
    return record.summary
