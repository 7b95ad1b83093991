"""Opening the warehouse: migration on connect, short connections, waiting out other processes' locks.

The warehouse is a DuckDB file or a DuckLake (see `backends`). DuckDB admits
one writing process, or any number of read-only ones, per file, so every job
(a batch's load, a lookup) holds a connection only for itself and waits with
backoff while someone else holds the file. A DuckLake takes many writers at
once: a write whose commit conflicts with another's is run again instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse import backends
from warehouse.schema import migrate

T = TypeVar("T")


LOAD_ROW_GROUP_ROWS = 2048
"""Rows per row group in what batch loads write. A commit rewrites the table's last row group when the
connection checkpoints it on close, so with DuckDB's default (122,880 rows) each batch's load rewrote
every article body stored so far: a 64-article load's checkpoint took 72 ms at 6,000 articles, and grew
with the warehouse. At 2,048 it rewrites at most 2,048 rows, whatever the size. Jobs that build whole
tables (the search index) keep the default: in 2,048-row groups the index build over 5,000 articles took
twice the memory (1.16 GB) and half as long again."""

DEFAULT_LOCK_WAIT = 300.0
"""Seconds a load waits for another process (a user's DuckDB shell, a notebook) to free the file."""


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseLocked(RuntimeError):
    """Another process kept the warehouse file locked past the wait limit; nothing was written."""


_migrated_lakes: set[str] = set()
"""Lakes this process has migrated: a file is checked on each writable connect, a lake (a remote catalog) once."""


def connect(path: str | os.PathLike, read_only: bool = False,
            row_group_rows: int | None = LOAD_ROW_GROUP_ROWS) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (a file path or a `ducklake:` spec); a writable connection creates and migrates it.

    `row_group_rows`: rows per row group in what a writable file connection writes (None: DuckDB's default).
    """
    if backends.is_ducklake(path):
        if not read_only and str(path) not in _migrated_lakes:
            backends.committed(lambda: backends.lake_connection(str(path)), migrate)
            _migrated_lakes.add(str(path))
        return backends.lake_connection(str(path))
    path = Path(path)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `newsflow ingest` first")
        return _in_utc(duckdb.connect(str(path), read_only=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    if row_group_rows is None:
        con = duckdb.connect(str(path))
    else:
        con = duckdb.connect()
        escaped = str(path).replace("'", "''")
        con.execute(f"ATTACH '{escaped}' AS warehouse (ROW_GROUP_SIZE {row_group_rows})")
        con.execute("USE warehouse")
    con = _in_utc(con)
    migrate(con)
    return con


def _in_utc(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """TIMESTAMPTZ values (published_at) print and cast in UTC whatever the machine's zone, so exports and
    `::DATE` agree everywhere; the page's own day is published_on."""
    con.execute("SET TimeZone = 'UTC'")
    return con


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A warehouse file and how long its users wait for it: what a flow passes to its stages."""

    path: str
    lock_wait: float = DEFAULT_LOCK_WAIT
    on_wait: Callable[[str], None] | None = None

    def writing(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return writing(self.path, self.lock_wait, self.on_wait)

    def write(self, job: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run a write job (one transaction, re-runnable) on its own connection; on a DuckLake it runs
        again when another writer's commit conflicted with it."""
        return write(self.path, job, self.lock_wait, self.on_wait)

    def reading(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return reading(self.path, self.lock_wait, self.on_wait)


def writing(
    path: str | os.PathLike, wait_seconds: float = DEFAULT_LOCK_WAIT, on_wait: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A write connection held for one job that builds whole tables (the search index), so other processes get
    turns; in DuckDB's default row groups (see LOAD_ROW_GROUP_ROWS)."""
    return _held(path, False, wait_seconds, on_wait, row_group_rows=None)


def write(
    path: str | os.PathLike, job: Callable[[duckdb.DuckDBPyConnection], T], wait_seconds: float = DEFAULT_LOCK_WAIT,
    on_wait: Callable[[str], None] | None = None,
) -> T:
    """`Warehouse.write` for a path."""
    return backends.committed(lambda: open_waiting(path, False, wait_seconds, on_wait), job, on_wait)


def reading(
    path: str | os.PathLike, wait_seconds: float = DEFAULT_LOCK_WAIT, on_wait: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A read-only connection: it shares the file with other readers, never with a writer."""
    return _held(path, True, wait_seconds, on_wait)


@contextmanager
def _held(
    path: str | os.PathLike, read_only: bool, wait_seconds: float, on_wait: Callable[[str], None] | None,
    row_group_rows: int | None = LOAD_ROW_GROUP_ROWS,
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_waiting(path, read_only=read_only, wait_seconds=wait_seconds, on_wait=on_wait,
                       row_group_rows=row_group_rows)
    try:
        yield con
    finally:
        con.close()


def open_waiting(
    path: str | os.PathLike, read_only: bool, wait_seconds: float, on_wait: Callable[[str], None] | None = None,
    row_group_rows: int | None = LOAD_ROW_GROUP_ROWS,
) -> duckdb.DuckDBPyConnection:
    """Connect, waiting with backoff while another process holds the file's lock.

    DuckDB admits one writing process, or any number of read-only ones, per
    file. `on_wait` hears who holds the lock (about every 10 s); past
    `wait_seconds` the wait ends in `WarehouseLocked`.
    """
    started = time.monotonic()
    delay, last_report = 0.05, None
    while True:
        try:
            return connect(path, read_only=read_only, row_group_rows=row_group_rows)
        except duckdb.IOException as exc:
            holder = lock_holder(exc)
            waited = time.monotonic() - started
            if holder is None:
                raise
            if waited >= wait_seconds:
                raise WarehouseLocked(
                    f"warehouse {path} stayed locked by {holder} for {waited:.0f} s (limit {wait_seconds:g} s)"
                ) from exc
            if on_wait is not None and (last_report is None or waited - last_report >= 10):
                on_wait(f"warehouse {path} is locked by {holder}; waiting (up to {wait_seconds:g} s)")
                last_report = waited
            time.sleep(min(delay, wait_seconds - waited))
            delay = min(delay * 2, 2.0)


def lock_holder(error: Exception) -> str | None:
    """Who holds the file, from DuckDB's lock error ("python3.11 (PID 1234)"); None for other errors."""
    message = str(error)
    match = _LOCK_HOLDER.search(message)
    if match:
        return f"{Path(match['program']).name} (PID {match['pid']})"
    return "another process" if "Could not set lock" in message else None
