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


def run_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    cursor = con.execute("SELECT * FROM ingest_runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def run_failures(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str]]:
    """(source, stage, reason) of every input the run could not land."""
    return con.execute(
        "SELECT source_uri, stage, error FROM failures WHERE run_id = ? ORDER BY source_uri", [run_id]
    ).fetchall()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
