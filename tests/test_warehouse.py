"""The warehouse on a real DuckDB file: migrations, idempotent upserts, atomic batches."""

import datetime as dt
from dataclasses import replace
import socket

import duckdb
import pytest

from extractors.model import Article, CutSegment
from warehouse import store
from warehouse.queries import read_only, run_query
from warehouse.schema import LATEST_VERSION, current_version


def _article(title="Title", body="First paragraph here.\n\nSecond one.") -> Article:
    return Article(
        body=body, title=title, authors=["Ann Author"], published_at=dt.datetime(2025, 5, 2),
        language="en", extractor="text-rules", cut=[CutSegment(7, "Menu", "menu")],
    )


def _cleaned(aid="a1", digest="h1", is_new=True, **kw) -> store.CleanedDocument:
    return store.CleanedDocument(aid, f"file:///{aid}.txt", digest, _article(**kw), is_new, frozenset({"menu"}))


def test_connect_creates_and_versions_the_schema(db_path):
    con = store.connect(db_path)
    assert current_version(con) == LATEST_VERSION
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"articles", "boilerplate_segments", "ingest_runs", "failures", "schema_version"} <= tables
    con.close()
    con = store.connect(db_path)  # a second connect migrates nothing twice
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == LATEST_VERSION


def test_contract_columns_exist(db_path):
    con = store.connect(db_path)
    columns = {r[0] for r in con.execute("DESCRIBE articles").fetchall()}
    assert {
        "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at", "section",
        "language", "body", "word_count", "content_hash", "duplicate_of", "first_seen_at", "last_seen_at", "run_id",
    } <= columns
    assert dict(con.execute("SELECT column_name, data_type FROM information_schema.columns"
                            " WHERE table_name = 'articles'").fetchall())["authors"] == "VARCHAR[]"


def test_loading_the_same_batch_twice_keeps_one_row_and_one_audit_trail(db_path):
    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)
    store.load_batch(con, run, store.LoadBatch(cleaned=[_cleaned()]))
    store.load_batch(con, run, store.LoadBatch(cleaned=[_cleaned(title="Edited", is_new=False)]))
    assert con.execute("SELECT count(*), any_value(title) FROM articles").fetchone() == (1, "Edited")
    assert con.execute("SELECT count(*) FROM boilerplate_segments").fetchone()[0] == 1
    summary = store.finish_run(con, run, "completed")
    assert (summary["n_new"], summary["n_updated"], summary["status"]) == (1, 1, "completed")


def test_duplicate_copies_the_original_and_links_to_it(db_path):
    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)
    store.load_batch(con, run, store.LoadBatch(
        cleaned=[_cleaned()], duplicates=[store.DuplicateDocument("a2", "file:///a2.txt", "h1", "a1", True)]))
    rows = con.execute("SELECT article_id, duplicate_of, title, body FROM articles ORDER BY article_id").fetchall()
    assert rows[1][:2] == ("a2", "a1") and rows[0][2:] == rows[1][2:]
    assert store.originals_by_content(con, ["h1"]) == {"h1": "a1"}
    assert con.execute("SELECT count(*) FROM boilerplate_segments WHERE article_id = 'a2'").fetchone()[0] == 0


def test_a_failing_batch_leaves_nothing_behind(db_path):
    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)
    # The duplicate row violates NOT NULL content_hash, after the article insert has run.
    broken = store.LoadBatch(
        cleaned=[_cleaned()],
        duplicates=[store.DuplicateDocument("a9", "file:///a9.txt", None, "a1", True)],
        failures=[store.Failure("file:///x", "read", "r")],
    )
    with pytest.raises(duckdb.Error):
        store.load_batch(con, run, broken)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM failures").fetchone()[0] == 0
    assert con.execute("SELECT n_seen FROM ingest_runs").fetchone()[0] == 0


def test_recurring_line_keys_count_distinct_documents(db_path):
    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)
    docs = [store.CleanedDocument(f"d{i}", f"file:///d{i}", f"h{i}", _article(), True, frozenset({"menu", f"own{i}"}))
            for i in range(2)]
    store.load_batch(con, run, store.LoadBatch(cleaned=docs))
    assert store.recurring_line_keys(con, {"d9": frozenset({"menu", "own0", "new"})}, 3) == {"menu"}
    # A stored document's own new version replaces its old line keys instead of adding to them.
    assert store.recurring_line_keys(con, {"d0": frozenset({"menu"})}, 3) == frozenset()


def test_interrupted_runs_are_marked_when_the_next_run_starts(db_path):
    con = store.connect(db_path)
    con.execute("INSERT INTO ingest_runs (run_id, flow_name, started_at, status, pid, hostname)"
                " VALUES ('dead', 'x', now()::TIMESTAMP, 'running', 999999999, ?)", [socket.gethostname()])
    store.begin_run(con, "test", None)
    assert con.execute("SELECT status FROM ingest_runs WHERE run_id = 'dead'").fetchone()[0] == "interrupted"


def test_queries_are_read_only(db_path):
    store.connect(db_path).close()
    columns, rows = run_query(db_path, "SELECT 42 AS answer")
    assert (columns, rows) == (["answer"], [(42,)])
    with read_only(db_path) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM articles")


def test_read_only_on_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")


def test_line_key_counts_follow_edits_and_duplicates(db_path):
    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)

    def doc(aid, keys, is_new):
        return store.CleanedDocument(aid, f"file:///{aid}", f"h-{aid}-{sorted(keys)}", _article(), is_new, frozenset(keys))

    store.load_batch(con, run, store.LoadBatch(cleaned=[doc("d0", {"menu", "a"}, True), doc("d1", {"menu"}, True)]))
    store.load_batch(con, run, store.LoadBatch(cleaned=[doc("d0", {"menu", "b"}, False)]))
    counts = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs").fetchall())
    assert (counts["menu"], counts["a"], counts["b"]) == (2, 0, 1)
    # d1 becomes a copy of d0: its own line keys no longer count.
    store.load_batch(con, run, store.LoadBatch(
        duplicates=[store.DuplicateDocument("d1", "file:///d1", "h-d0-['b', 'menu']", "d0", False)]))
    counts = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs").fetchall())
    assert counts["menu"] == 1
    assert con.execute("SELECT count(*) FROM document_lines").fetchone()[0] == 1


def test_rewriting_an_article_drops_its_old_mentions_and_recounts(db_path):
    from extractors.entity_resolution import ResolvedMention

    con = store.connect(db_path)
    run = store.begin_run(con, "test", None)
    greene = ResolvedMention("Greene", "PERSON", 0, 6, False, "Sam Greene", "PERSON", "sam grene")
    with_entities = replace(_cleaned("a1", "h1"), entity_status="done", mentions=(greene, greene))
    store.load_batch(con, run, store.LoadBatch(cleaned=[with_entities, _cleaned("a2", "h2")]))
    assert con.execute("SELECT n_mentions, n_articles FROM entities").fetchone() == (2, 1)
    # a1 now holds a copy of a2: what was extracted from its old text goes, and Sam Greene is recounted.
    store.load_batch(con, run, store.LoadBatch(
        duplicates=[store.DuplicateDocument("a1", "file:///a1.txt", "h2", "a2", False)]))
    assert con.execute("SELECT n_mentions, n_articles FROM entities").fetchone() == (0, 0)
    assert con.execute("SELECT count(*) FROM entity_mentions").fetchone()[0] == 0
