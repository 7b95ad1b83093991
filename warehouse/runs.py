"""The run ledger: each flow run's row in `ingest_runs` (begun, finished, summarised) and its failures."""

from __future__ import annotations

import os
import socket
import uuid

import duckdb

def begin_run(con: duckdb.DuckDBPyConnection, flow_name: str, prefect_flow_run_id: str | None) -> str:
    """Record a new run; runs left 'running' by a dead process on this host become 'interrupted'."""
    hostname = socket.gethostname()
    for run_id, pid in con.execute(
        "SELECT run_id, pid FROM ingest_runs WHERE status = 'running' AND hostname = ?", [hostname]
    ).fetchall():
        if pid is None or not _process_alive(pid):
            con.execute(
                "UPDATE ingest_runs SET status = 'interrupted' WHERE run_id = ?", [run_id]
            )
    run_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO ingest_runs (run_id, flow_name, started_at, status, prefect_flow_run_id, pid, hostname)"
        " VALUES (?, ?, now()::TIMESTAMP, 'running', ?, ?, ?)",
        [run_id, flow_name, prefect_flow_run_id, os.getpid(), hostname],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str) -> dict:
    con.execute(
        "UPDATE ingest_runs SET status = ?, finished_at = now()::TIMESTAMP WHERE run_id = ?",
        [status, run_id],
    )
    return run_summary(con, run_id)


def gather_shards(con: duckdb.DuckDBPyConnection, run_id: str, completed: list[str], tried: list[str]) -> None:
    """Give a sharded run's row the sum of its shards' rows (by Prefect flow run id) and links to every try.

    What each try landed counts (a failed try's whole batches stay, and its
    retry finds them unchanged); what was seen, failed or not modified comes
    from the completed tries; unchanged is the rest of what was seen.
    """
    con.execute(
        """
        UPDATE ingest_runs SET n_new = s.n_new, n_updated = s.n_updated, n_duplicates = s.n_duplicates,
               n_seen = s.n_seen, n_failed = s.n_failed, n_not_modified = s.n_not_modified,
               n_unchanged = s.n_seen - s.n_new - s.n_updated - s.n_failed, shard_flow_run_ids = ?
        FROM (SELECT coalesce(sum(n_new), 0) AS n_new, coalesce(sum(n_updated), 0) AS n_updated,
                     coalesce(sum(n_duplicates), 0) AS n_duplicates,
                     coalesce(sum(n_seen) FILTER (WHERE done), 0) AS n_seen,
                     coalesce(sum(n_failed) FILTER (WHERE done), 0) AS n_failed,
                     coalesce(sum(n_not_modified) FILTER (WHERE done), 0) AS n_not_modified
              FROM (SELECT *, list_contains(?::VARCHAR[], prefect_flow_run_id) AS done FROM ingest_runs
                    WHERE list_contains(?::VARCHAR[], prefect_flow_run_id))) s
        WHERE run_id = ?
        """,
        [tried, completed, tried, run_id],
    )


def run_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    cursor = con.execute("SELECT * FROM ingest_runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def run_failures(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str]]:
    """(source, stage, reason) of every input the run could not land."""
    return con.execute(
        "SELECT source_uri, stage, error FROM failures WHERE run_id = ? ORDER BY source_uri", [run_id]
    ).fetchall()


def failure_reasons(con: duckdb.DuckDBPyConnection, run_id: str, examples: int = 3) -> list[tuple[str, str, int, list[str]]]:
    """(stage, reason, count, a few example inputs) of the run's failures, the commonest reason first."""
    return con.execute(
        "SELECT stage, error, count(*) AS n, list(source_uri ORDER BY source_uri)[1:?] FROM failures"
        " WHERE run_id = ? GROUP BY stage, error ORDER BY n DESC, stage, error", [examples, run_id]
    ).fetchall()


def latest_run_of_process(con: duckdb.DuckDBPyConnection, pid: int, hostname: str | None = None) -> dict | None:
    """The latest run a process (on this host) started: how far a run got that stopped before it could say so."""
    row = con.execute(
        "SELECT run_id FROM ingest_runs WHERE pid = ? AND hostname = ? ORDER BY started_at DESC LIMIT 1",
        [pid, hostname or socket.gethostname()],
    ).fetchone()
    return run_summary(con, row[0]) if row else None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
