"""Readers and writers together: a user's process holding the warehouse file, and two runs at once.

Every run here is a real flow run against the session's Prefect API; the
other processes are real processes holding real DuckDB locks. Every wait is
bounded.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from run_output import run_at_once

from flows.ingest_stored import ingest_stored
from test_cli import NEWSFLOW, ROOT, _varied_corpus
from test_ingest_flow import _rows
from warehouse import connection

pytestmark = pytest.mark.usefixtures("prefect_api")

SHELL = """
import sys, time, duckdb
path, read_only, seconds = sys.argv[1], sys.argv[2] == "ro", float(sys.argv[3])
wait_for_articles = int(sys.argv[4])
deadline = time.monotonic() + 120
while True:  # like a user opening the file: it may take a moment while a load commits
    try:
        con = duckdb.connect(path, read_only=read_only)
        if con.execute("SELECT count(*) FROM articles").fetchone()[0] >= wait_for_articles:
            break
        con.close()  # too early for this test: let the run go on
    except duckdb.IOException:
        pass
    if time.monotonic() > deadline:
        raise SystemExit("never got the file")
    time.sleep(0.05)
print("locked", flush=True)
time.sleep(seconds)
released = con.execute("SELECT now()::TIMESTAMP").fetchone()[0]
print(released.isoformat(), flush=True)
"""


def _start_shell(db: Path, mode: str, seconds: float, once_articles: int = 0) -> subprocess.Popen:
    """Another process (a DuckDB shell, a notebook) that opens the warehouse as soon as it holds
    `once_articles` articles, and keeps it `seconds`; it prints "locked" when it has it."""
    return subprocess.Popen([sys.executable, "-c", SHELL, str(db), mode, str(seconds), str(once_articles)],
                            stdout=subprocess.PIPE, text=True)


def _open_shell(db: Path, mode: str, seconds: float) -> subprocess.Popen:
    shell = _start_shell(db, mode, seconds)
    assert shell.stdout.readline().strip() == "locked"
    return shell


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_a_run_waits_for_a_process_holding_the_file_and_then_lands_everything(seeds_copy, db_path, mode):
    connection.connect(db_path).close()
    shell = _open_shell(db_path, mode, 2.0)
    try:
        summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path), lock_wait=60)
        released = dt.datetime.fromisoformat(shell.communicate(timeout=60)[0].strip())
    finally:
        shell.kill()
    assert (summary["status"], summary["n_new"], summary["n_failed"]) == ("completed", 5, 0)
    assert summary["started_at"] >= released, "the run wrote while the other process held the file"
    assert _rows(db_path, "SELECT count(*) FROM articles") == [(5,)]


def test_a_lock_held_past_the_limit_fails_the_run_whole_batches_stay_and_the_next_run_finishes(
    tmp_path, db_path, prefect_api_url
):
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 40)
    connection.connect(db_path).close()
    # A user opens the file once the first batch has landed, and keeps it 8 s: past the run's 2 s limit.
    shell = _start_shell(db_path, "rw", 8.0, once_articles=4)
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url, PREFECT_LOGGING_LEVEL="INFO")
    run = subprocess.Popen(
        NEWSFLOW + ["ingest", str(corpus), "--db", str(db_path), "--batch-size", "4", "--workers", "1",
                    "--lock-wait", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        output = run.communicate(timeout=180)[0]
        assert shell.stdout.readline().strip() == "locked"
        assert run.returncode == 2, output[-4000:]
    finally:
        run.kill()
        shell.kill()
        shell.wait(timeout=30)
    assert "locked by python" in output and f"PID {shell.pid}" in output
    landed = _rows(db_path, "SELECT count(*) FROM articles")[0][0]
    status, seen = _rows(db_path, "SELECT status, n_seen FROM ingest_runs")[0]
    assert status == "failed" and seen == landed and landed % 4 == 0 and 4 <= landed < 40, output[-4000:]

    summary = ingest_stored(paths=[str(corpus)], db=str(db_path), batch_size=4, entities=False)
    assert (summary["status"], summary["n_new"], summary["n_unchanged"]) == ("completed", 40 - landed, landed)
    assert _rows(db_path, "SELECT count(*), count(DISTINCT source_uri) FROM articles") == [(40, 40)]


def test_two_runs_at_once_never_write_a_document_twice(tmp_path, db_path, prefect_api_url):
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 40)
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url)
    command = NEWSFLOW + ["ingest", str(corpus), "--db", str(db_path), "--batch-size", "4", "--workers", "1",
                          "--json", "--lock-wait", "120"]
    outputs = run_at_once([command, command], timeout=300, cwd=ROOT, env=env)
    assert [status for status, _, _ in outputs] == [0, 0], [err[-2000:] for _, _, err in outputs]

    runs_table = _rows(db_path, "SELECT status, n_seen, n_new, n_updated, n_unchanged FROM ingest_runs")
    assert [r[:2] for r in runs_table] == [("completed", 40)] * 2
    assert sum(r[2] for r in runs_table) == 40 and sum(r[3] for r in runs_table) == 0
    assert _rows(db_path, "SELECT count(*), count(DISTINCT source_uri) FROM articles") == [(40, 40)]
    # Nothing derived from an article was written twice, and every count matches its rows.
    assert _rows(db_path, "SELECT count(*) FROM (SELECT article_id, position FROM boilerplate_segments"
                          " GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    assert _rows(db_path, "SELECT count(*) FROM (SELECT article_id, start_char FROM entity_mentions"
                          " GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    assert _rows(db_path, "SELECT count(*) FROM story_signatures") == [(40,)]
    assert _rows(db_path, """
        SELECT count(*) FROM line_key_docs d FULL JOIN (
            SELECT line_key, count(*) AS n FROM (SELECT unnest(line_keys) AS line_key FROM document_lines) GROUP BY ALL
        ) c USING (line_key) WHERE coalesce(d.n_docs, 0) <> coalesce(c.n, 0)""") == [(0,)]
    assert _rows(db_path, """
        SELECT count(*) FROM entities e LEFT JOIN (
            SELECT entity_id, count(*) AS n FROM entity_mentions GROUP BY ALL) m USING (entity_id)
        WHERE e.n_mentions <> coalesce(m.n, 0)""") == [(0,)]
