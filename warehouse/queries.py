"""Read-only access for users and reports: short connections that never write.

DuckDB lets one process write a file while no other process holds it, so
readers connect read-only, run one query, and let go; while a load commits
they retry briefly instead of failing.
"""

from __future__ import annotations

import os

from warehouse.connection import reading

LOCK_RETRY_SECONDS = 10.0


def read_only(path: str | os.PathLike, wait_seconds: float = LOCK_RETRY_SECONDS):
    """A read-only connection, retried with backoff while another process holds the write lock."""
    return reading(path, wait_seconds)


def run_query(path: str | os.PathLike, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of one query, on a read-only connection."""
    with read_only(path) as con:
        cursor = con.execute(sql)
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()
