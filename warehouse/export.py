"""Parquet snapshots of the warehouse, for analyses that should not hold the live file.

A DuckDB file admits one writing process at a time, and a long notebook
session with the file open would make scheduled loads wait. A snapshot is
taken on a short read-only connection, written into a hidden folder beside
its target and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from warehouse.backends import is_ducklake
from warehouse.connection import reading

PUBLIC_TABLES = (
    "articles", "boilerplate_segments", "entities", "entity_mentions", "quotes", "sources", "ingest_runs", "failures",
)
"""The tables users query; internal bookkeeping (line keys, signatures, band keys, schema_version) stays out.
Every view is for users: all of them are exported, the ones added later included."""

SNAPSHOT_LOCK_WAIT = 30.0


def export_snapshot(db: str | os.PathLike, out: str | os.PathLike | None = None) -> tuple[Path, dict[str, int]]:
    """Write each public table and view to `<out>/<name>.parquet`; returns the folder and row counts."""
    base = Path("data") if is_ducklake(db) else Path(db).parent
    folder = Path(out) if out else base / "exports" / dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if folder.exists():
        raise FileExistsError(f"{folder} exists already: a snapshot is never written over another")
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts: dict[str, int] = {}
    try:
        with reading(db, SNAPSHOT_LOCK_WAIT) as con:
            views = [name for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY view_name"
            ).fetchall()]
            for name in (*PUBLIC_TABLES, *views):
                target = str(staging / f"{name}.parquet").replace("'", "''")
                con.execute(f"COPY (SELECT * FROM {name}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
                counts[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder, counts
