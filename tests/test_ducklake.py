"""The DuckLake backend on the machine's real PostgreSQL: same schema and rows as the file, many writers, kills.

Each test gets its own catalog database (dropped afterwards) and its own
Parquet data folder; runs are real flow runs against the session's Prefect API.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
from postgres import scratch_database
from run_output import read_until_batches_loaded, run_at_once

from flows.ingest_stored import ingest_stored
from test_cli import NEWSFLOW, ROOT, _varied_corpus
from warehouse import backends, connection, host_leases, schema
from warehouse.export import PUBLIC_TABLES

pytestmark = pytest.mark.usefixtures("prefect_api")

VOLATILE_COLUMNS = {"run_id", "prefect_flow_run_id", "pid", "hostname", "epoch"}
"""Columns that differ between two honest runs (with every TIMESTAMP column): who ran, and when."""


@pytest.fixture
def lake(tmp_path, monkeypatch) -> str:
    """A fresh DuckLake warehouse spec: catalog in a new PostgreSQL database, Parquet under tmp_path."""
    monkeypatch.setenv(backends.DATA_PATH_ENV, str(tmp_path / "lake-data"))
    with scratch_database() as name:
        yield f"ducklake:postgres:dbname={name} host=127.0.0.1 user=postgres"
        backends.forget_lakes()


def _lake_rows(lake: str, sql: str) -> list[tuple]:
    con = connection.connect(lake, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, dict[str, str]]:
    """Every table and view of a catalog's main schema, with the type of each column a query of it returns.
    (DESCRIBE, not information_schema: a file's view keeps the columns it had when created there. By name,
    not position: a column a lake retyped by copy comes last.)"""
    names = [name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main'",
        [catalog]).fetchall()]
    return {name: {column: data_type for column, data_type, *_ in
                   con.execute(f"DESCRIBE SELECT * FROM {catalog}.{name}").fetchall()} for name in names}


def _differences_query(relations: dict[str, dict[str, str]]) -> str:
    """One query: for each relation, the rows one warehouse has and the other has not (as a multiset)."""
    parts = []
    for name, columns in sorted(relations.items()):
        kept = ", ".join(f'"{c}"' for c, t in sorted(columns.items())
                         if c not in VOLATILE_COLUMNS and not t.startswith("TIMESTAMP"))
        if not kept:  # write_epoch: how many writes, not what they wrote
            continue
        parts.append(
            f"SELECT '{name}' AS relation, (SELECT count(*) FROM (SELECT {kept} FROM file.{name}"
            f" EXCEPT ALL SELECT {kept} FROM lake.{name})) + (SELECT count(*) FROM (SELECT {kept} FROM lake.{name}"
            f" EXCEPT ALL SELECT {kept} FROM file.{name})) AS differing, (SELECT count(*) FROM lake.{name}) AS n_rows"
        )
    return " UNION ALL ".join(parts)


def test_seeds_into_ducklake_give_the_same_schema_and_rows_as_into_the_file(seeds_copy, db_path, lake):
    for warehouse in (str(db_path), lake):
        summary = ingest_stored(paths=[str(seeds_copy)], db=warehouse)
        assert (summary["status"], summary["n_new"], summary["n_failed"]) == ("completed", 5, 0)

    con = backends.lake_connection(lake)
    try:
        con.execute(f"ATTACH '{db_path}' AS file (READ_ONLY)")
        file_relations, lake_relations = _relations(con, "file"), _relations(con, "lake")
        # Every table and view the migrations make, same columns, same types (the file has the search
        # index's tables besides: fts needs macros and indexes, which DuckLake has not).
        assert set(PUBLIC_TABLES) <= set(lake_relations)
        assert lake_relations == {name: file_relations.get(name) for name in lake_relations}
        differing = con.execute(_differences_query(lake_relations)).fetchall()
    finally:
        con.close()
    assert [(name, n) for name, n, _ in differing if n] == []
    populated = {name for name, _, n_rows in differing if n_rows}
    assert {"articles", "boilerplate_segments", "entities", "entity_mentions", "quotes", "story_signatures",
            "line_key_docs", "ingest_runs", "v_stories"} <= populated


def test_the_latest_migration_brings_an_older_lake_up_to_date(lake, monkeypatch):
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:-1])
    older = backends.lake_connection(lake)
    assert schema.migrate(older) == schema.LATEST_VERSION - 1
    monkeypatch.undo()
    assert schema.migrate(older) == schema.LATEST_VERSION
    older.close()
    assert _lake_rows(lake, "SELECT max(version), count(*) FROM schema_version") == [
        (schema.LATEST_VERSION, len(schema.MIGRATIONS))]


def _check_exactly_once(lake: str, n_docs: int) -> None:
    """Each document once, nothing derived twice, and every count equal to the rows it counts."""
    assert _lake_rows(lake, "SELECT count(*), count(DISTINCT article_id), count(DISTINCT source_uri) FROM articles") == [
        (n_docs, n_docs, n_docs)]
    assert _lake_rows(lake, "SELECT count(*) FROM (SELECT article_id, position FROM boilerplate_segments"
                            " GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    assert _lake_rows(lake, "SELECT count(*), count(DISTINCT article_id) FROM story_signatures") == [(n_docs, n_docs)]
    assert _lake_rows(lake, "SELECT count(*) FROM (SELECT entity_id FROM entities GROUP BY ALL HAVING count(*) > 1)"
                      ) == [(0,)]
    assert _lake_rows(lake, """
        SELECT count(*) FROM line_key_docs d FULL JOIN (
            SELECT line_key, count(*) AS n FROM (SELECT unnest(line_keys) AS line_key FROM document_lines) GROUP BY ALL
        ) c USING (line_key) WHERE coalesce(d.n_docs, 0) <> coalesce(c.n, 0)""") == [(0,)]
    assert _lake_rows(lake, """
        SELECT count(*) FROM entities e FULL JOIN (
            SELECT entity_id, count(*) AS n FROM entity_mentions GROUP BY ALL) m USING (entity_id)
        WHERE coalesce(e.n_mentions, 0) <> coalesce(m.n, 0)""") == [(0,)]


def test_two_ingest_processes_at_once_on_one_lake_land_each_document_once(tmp_path, lake, prefect_api_url):
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 24)
    connection.connect(lake).close()  # created and migrated: the race under test is the loads'
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url, PREFECT_LOGGING_LEVEL="WARNING")
    command = NEWSFLOW + ["ingest", str(corpus), "--warehouse", lake, "--batch-size", "3", "--workers", "1", "--json"]
    outputs = run_at_once([command, command], timeout=400, cwd=ROOT, env=env)
    assert [status for status, _, _ in outputs] == [0, 0], [err[-3000:] for _, _, err in outputs]

    runs_table = _lake_rows(lake, "SELECT status, n_seen, n_new, n_updated, n_unchanged FROM ingest_runs")
    assert [r[:2] for r in runs_table] == [("completed", 24)] * 2
    assert sum(r[2] for r in runs_table) == 24 and sum(r[3] for r in runs_table) == 0
    assert sum(r[4] for r in runs_table) == 24
    _check_exactly_once(lake, 24)
    assert _lake_rows(lake, "SELECT count(*) > 0 FROM entity_mentions") == [(True,)]


def test_a_worker_killed_mid_batch_leaves_whole_batches_and_a_rerun_lands_everything_once(tmp_path, lake):
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 30)
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_LOGGING_LEVEL="INFO")
    env.pop("PREFECT_API_URL", None)  # its own ephemeral API, as a lone worker's run would have
    process = subprocess.Popen(
        NEWSFLOW + ["ingest", str(corpus), "--warehouse", lake, "--batch-size", "3", "--workers", "1",
                    "--no-entities"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        loaded = read_until_batches_loaded(process, 2, timeout=300)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert loaded >= 2, "the run never loaded two batches"

    landed = _lake_rows(lake, "SELECT count(*) FROM articles")[0][0]
    (run_seen, status), = _lake_rows(lake, "SELECT n_seen, status FROM ingest_runs")
    assert status == "running" and landed == run_seen and landed % 3 == 0 and 6 <= landed < 30

    summary = ingest_stored(paths=[str(corpus)], db=lake, batch_size=3, entities=False)
    assert (summary["n_new"], summary["n_unchanged"], summary["n_failed"]) == (30 - landed, landed, 0)
    _check_exactly_once(lake, 30)
    statuses = [s for (s,) in _lake_rows(lake, "SELECT status FROM ingest_runs ORDER BY started_at")]
    assert statuses == ["interrupted", "completed"]


def test_cli_reads_fetches_and_exports_a_lake(web, tmp_path, lake, prefect_api_url):
    from test_ingest_web import _serve_pages

    urls = _serve_pages(web, ["APNews_0.html.gz", "Reuters_0.html.gz"])
    web.route("/robots.txt", "User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url, NEWSFLOW_WAREHOUSE=lake)

    def newsflow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(NEWSFLOW + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    for _ in range(2):  # the second fetch sends validators and stores them again: the sources upsert both ways
        fetched = newsflow("fetch", *urls, "--allow-private", "--delay", "0.01", "--no-entities")
        assert fetched.returncode == 0, fetched.stderr[-3000:]
    assert _lake_rows(lake, "SELECT count(*), count(DISTINCT url) FROM articles") == [(2, 2)]
    assert _lake_rows(lake, "SELECT count(*), count(DISTINCT url), min(last_status) FROM sources"
                            " WHERE kind = 'page'") == [(2, 2, 304)]
    assert _lake_rows(lake, "SELECT count(*) FROM robots_txt") == [(1,)]
    catalog = host_leases.politeness_database(lake)
    with host_leases.HostLeases(catalog, turn_lapse=1) as leases:  # the fetches took the pool's turns there
        assert leases.next_at(urlsplit(urls[0]).netloc) is not None

    query = newsflow("sql", "SELECT count(*) AS n FROM unique_articles", "--format", "csv")
    assert (query.returncode, query.stdout.split()) == (0, ["n", "2"]), query.stderr
    exported = newsflow("export", "--out", str(tmp_path / "snapshot"))
    assert exported.returncode == 0, exported.stderr
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'snapshot' / 'articles.parquet'}'").fetchone() == (2,)
