"""Where the warehouse lives: the embedded DuckDB file, or a DuckLake catalog on PostgreSQL with Parquet data.

A warehouse is named by one string (`--warehouse`, $NEWSFLOW_WAREHOUSE):
a file path for the embedded default, or `ducklake:postgres:dbname=...
host=... user=...` for a DuckLake whose catalog is a PostgreSQL database and
whose data are Parquet files under a data path (`--data-path`,
$NEWSFLOW_DATA_PATH; needed when the lake is created, then remembered by the
catalog). Both hold the same schema; the lake drops what DuckLake cannot
keep (primary keys, indexes), so the loads keep keys unique themselves: every
write transaction bumps the one row of `write_epoch`, which makes any two
concurrent writes conflict, and the loser re-settles and retries (see
`committed`).

DuckDB extensions come from their PyPI wheels and are LOADed by file path
(a bare `LOAD ducklake` would look under ~/.duckdb); nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

DUCKLAKE_PREFIX = "ducklake:"
LAKE_ALIAS = "lake"
DATA_PATH_ENV = "NEWSFLOW_DATA_PATH"

INLINING_ROW_LIMIT = 200
"""Writes of at most this many rows (a run's counters, a few sources) stay in the catalog instead of
making one tiny Parquet file each; bulk batches still go to Parquet."""

COMMIT_ATTEMPTS = 12
"""Tries of one write before it fails: with backoff up to MAX_BACKOFF, about half a minute of contention."""
MAX_BACKOFF = 4.0

T = TypeVar("T")


class CommitConflict(RuntimeError):
    """Other writers kept winning the commit past COMMIT_ATTEMPTS tries; nothing of this write landed."""


def is_ducklake(location: str | os.PathLike) -> bool:
    return str(location).startswith(DUCKLAKE_PREFIX)


def describe(location: str | os.PathLike) -> str:
    """How a summary names the warehouse: the absolute file path, or the DuckLake spec as given."""
    return str(location) if is_ducklake(location) else str(Path(location).absolute())


def extension_path(name: str) -> str:
    """The extension file inside its PyPI wheel (duckdb-extension-NAME) for this DuckDB version."""
    module = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"DuckDB extension {name} is not installed: pip install duckdb-extension-{name.replace('_', '-')}")
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"{module} has no build for DuckDB {duckdb.__version__} (looked for {path})")
    return str(path)


@dataclass(frozen=True, slots=True)
class _Lake:
    instance: duckdb.DuckDBPyConnection
    lock: threading.Lock


_lakes: dict[tuple[str, str | None], _Lake] = {}
_lakes_lock = threading.Lock()


def lake_connection(location: str, data_path: str | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection to the DuckLake, its default catalog set to the lake.

    One DuckDB instance per process and lake holds the attachment (loading
    the extensions costs a second or more); each job gets its own cursor of
    it, with its own transaction, temp tables and registered frames.
    """
    data_path = data_path or os.environ.get(DATA_PATH_ENV) or None
    key = (location, data_path)
    with _lakes_lock:
        lake = _lakes.get(key)
        if lake is None:
            lake = _Lake(_attach(location, data_path), threading.Lock())
            _lakes[key] = lake
    with lake.lock:
        con = lake.instance.cursor()
    con.execute(f"USE {LAKE_ALIAS}")
    return con


def _attach(location: str, data_path: str | None) -> duckdb.DuckDBPyConnection:
    instance = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    catalog = location.removeprefix(DUCKLAKE_PREFIX)
    if catalog.startswith("postgres:"):
        instance.execute(f"LOAD '{_quoted(extension_path('postgres_scanner'))}'")
    instance.execute(f"LOAD '{_quoted(extension_path('ducklake'))}'")
    options = [f"DATA_INLINING_ROW_LIMIT {INLINING_ROW_LIMIT}"]
    if data_path:
        Path(data_path).mkdir(parents=True, exist_ok=True)
        options.append(f"DATA_PATH '{_quoted(str(Path(data_path).absolute()) + os.sep)}'")
    attach = f"ATTACH '{_quoted(location)}' AS {LAKE_ALIAS} ({', '.join(options)})"
    try:
        try:
            instance.execute(attach)
        except duckdb.Error as exc:  # two workers creating one new lake: the loser attaches what the winner made
            if "Failed to initialize DuckLake" not in str(exc) or "already exists" not in str(exc):
                raise
            instance.execute(attach)
    except duckdb.Error as exc:
        instance.close()
        if "data_path is not set" in str(exc):
            raise RuntimeError(
                f"{location} holds no DuckLake yet: name where its Parquet files go with --data-path DIR "
                f"(or ${DATA_PATH_ENV})"
            ) from exc
        raise
    return instance


def forget_lakes() -> None:
    """Close every cached lake instance (tests that drop their catalog database call this first)."""
    with _lakes_lock:
        for lake in _lakes.values():
            lake.instance.close()
        _lakes.clear()


def is_commit_conflict(error: BaseException) -> bool:
    """DuckLake refused a commit because another writer committed a conflicting snapshot first."""
    return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()


def begin_write(con: duckdb.DuckDBPyConnection) -> None:
    """Begin a write transaction that conflicts with any concurrent one.

    DuckLake lets two inserts into one table both commit, which would double
    a document two workers extracted at once; two updates of one row do not,
    so every write bumps `write_epoch` (the DuckDB file's lock admits one
    writer anyway).
    """
    con.begin()
    con.execute("UPDATE write_epoch SET epoch = epoch + 1")


def commit(con: duckdb.DuckDBPyConnection) -> None:
    """Commit a write transaction, timed into `stats` (on a lake this is where the snapshot enters the catalog)."""
    started = time.perf_counter()
    try:
        con.commit()
    finally:
        stats.commits += 1
        stats.commit_seconds += time.perf_counter() - started


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless a failed commit ended the transaction already (as DuckLake's conflicting one does)."""
    try:
        con.rollback()
    except duckdb.TransactionException as exc:
        if "no transaction is active" not in str(exc):
            raise


@dataclass(slots=True)
class CommitStats:
    """What this process's writes cost: for bench/scale.py and the retry warnings."""

    writes: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    """Time in successful write jobs (the batch's SQL and its catalog commit)."""
    commits: int = 0
    commit_seconds: float = 0.0
    """Time in the `commits` of batch loads (`commit`), conflicting ones included: the catalog's part."""


stats = CommitStats()


def committed(
    open_connection: Callable[[], duckdb.DuckDBPyConnection],
    job: Callable[[duckdb.DuckDBPyConnection], T],
    on_retry: Callable[[str], None] | None = None,
    attempts: int = COMMIT_ATTEMPTS,
) -> T:
    """Run a write job on a fresh connection, again (after a jittered backoff) when its commit conflicts.

    The job must be re-runnable: it begins its transaction, re-reads what it
    depends on (the batch load re-settles new / unchanged / copy against what
    landed) and commits; a conflicted attempt left nothing behind.
    """
    attempt = 1
    while True:
        started = time.perf_counter()
        con = open_connection()
        try:
            result = job(con)
            stats.writes += 1
            stats.seconds += time.perf_counter() - started
            return result
        except duckdb.Error as exc:
            if not is_commit_conflict(exc):
                raise
            stats.conflicts += 1
            if attempt == attempts:
                raise CommitConflict(f"gave up after {attempts} conflicting commits: {exc}") from exc
        finally:
            con.close()
        pause = random.uniform(0, min(MAX_BACKOFF, 0.05 * 2 ** attempt))
        if on_retry is not None:
            on_retry(f"commit conflict with another writer (try {attempt} of {attempts}); retrying in {pause:.2f} s")
        time.sleep(pause)
        attempt += 1


def upsert(
    con: duckdb.DuckDBPyConnection, table: str, key: str, columns: Sequence[str], rows: str,
    updates: Mapping[str, str] | None, parameters: Sequence = (),
) -> None:
    """Insert `rows` (a query yielding `columns` in order) into `table`; a row whose `key` is stored
    already gets `updates` (None: it is left as stored).

    In the update expressions `excluded.col` is the incoming value and
    `<table>.col` the stored one. The DuckDB file keeps its primary key and
    index, so this is INSERT ... ON CONFLICT (an index probe per row); a lake
    has neither, so it is a MERGE joined on the key.
    """
    names = ", ".join(columns)
    if on_lake(con):
        matched = "DO NOTHING" if updates is None else "UPDATE SET " + ", ".join(f"{c} = {e}" for c, e in updates.items())
        values = ", ".join(f"excluded.{c}" for c in columns)
        con.execute(
            f"MERGE INTO {table} USING ({rows}) AS excluded ON {table}.{key} = excluded.{key}"
            f" WHEN MATCHED THEN {matched} WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})",
            list(parameters),
        )
    else:
        action = "DO NOTHING" if updates is None else "DO UPDATE SET " + ", ".join(f"{c} = {e}" for c, e in updates.items())
        con.execute(f"INSERT INTO {table} ({names}) {rows} ON CONFLICT ({key}) {action}", list(parameters))


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether this connection's default catalog is a DuckLake."""
    return con.execute(
        "SELECT type = 'ducklake' FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]


def _quoted(text: str) -> str:
    return text.replace("'", "''")
