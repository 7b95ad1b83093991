"""Read-only access for users and reports: short connections that never write.

DuckDB lets one process write a file while no other process holds it, so
readers connect read-only, run one query, and let go; while a load commits
they retry briefly instead of failing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from warehouse.store import connect

LOCK_RETRY_SECONDS = 10.0


@contextmanager
def read_only(path: str | os.PathLike, wait_seconds: float = LOCK_RETRY_SECONDS) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection, retried with backoff while another process holds the write lock."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            con = connect(path, read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        yield con
    finally:
        con.close()


def run_query(path: str | os.PathLike, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one query, on a read-only connection."""
    with read_only(path) as con:
        cursor = con.execute(sql)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()
