"""The warehouse on a real DuckDB file: migrations, idempotent upserts, atomic batches."""

import datetime as dt
from dataclasses import replace
import socket

import duckdb
import pytest

from extractors.model import Article, CutSegment
from warehouse import connection, lookups, runs
from warehouse import load as batch_load
from warehouse.records import CleanedDocument, DuplicateDocument, Failure, LoadBatch, SourceState
from warehouse.queries import read_only, run_query
from warehouse.schema import LATEST_VERSION, current_version


def _article(title="Title", body="First paragraph here.\n\nSecond one.") -> Article:
    return Article(
        body=body, title=title, authors=["Ann Author"], published_at=dt.datetime(2025, 5, 2),
        language="en", extractor="text-rules", cut=[CutSegment(7, "Menu", "menu")],
    )


def _cleaned(aid="a1", digest="h1", is_new=True, **kw) -> CleanedDocument:
    return CleanedDocument(aid, f"file:///{aid}.txt", digest, _article(**kw), is_new, frozenset({"menu"}))


def test_connect_creates_and_versions_the_schema(db_path):
    con = connection.connect(db_path)
    assert current_version(con) == LATEST_VERSION
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"articles", "boilerplate_segments", "ingest_runs", "failures", "schema_version"} <= tables
    con.close()
    con = connection.connect(db_path)  # a second connect migrates nothing twice
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == LATEST_VERSION


def test_contract_columns_exist(db_path):
    con = connection.connect(db_path)
    columns = {r[0] for r in con.execute("DESCRIBE articles").fetchall()}
    assert {
        "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at", "section",
        "language", "body", "word_count", "content_hash", "duplicate_of", "first_seen_at", "last_seen_at", "run_id",
    } <= columns
    assert dict(con.execute("SELECT column_name, data_type FROM information_schema.columns"
                            " WHERE table_name = 'articles'").fetchall())["authors"] == "VARCHAR[]"


def test_an_edit_rewrites_the_row_and_keeps_one_audit_trail(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    batch_load.load_batch(con, run, LoadBatch(cleaned=[_cleaned()]))
    batch_load.load_batch(con, run, LoadBatch(cleaned=[_cleaned(digest="h2", title="Edited", is_new=False)]))
    assert con.execute("SELECT count(*), any_value(title) FROM articles").fetchone() == (1, "Edited")
    assert con.execute("SELECT count(*) FROM boilerplate_segments").fetchone()[0] == 1
    summary = runs.finish_run(con, run, "completed")
    assert (summary["n_new"], summary["n_updated"], summary["status"]) == (1, 1, "completed")


def test_a_batch_another_run_already_landed_counts_as_unchanged_not_new(db_path):
    """Two overlapping runs that extracted the same file: the second load finds it landed."""
    con = connection.connect(db_path)
    first, second = runs.begin_run(con, "test", None), runs.begin_run(con, "test", None)
    batch_load.load_batch(con, first, LoadBatch(cleaned=[_cleaned()]))
    batch_load.load_batch(con, second, LoadBatch(cleaned=[_cleaned(title="Same text, extracted again")]))
    assert con.execute("SELECT count(*), any_value(title) FROM articles").fetchone() == (1, "Title")
    assert con.execute("SELECT count(*) FROM boilerplate_segments").fetchone()[0] == 1
    summary = runs.finish_run(con, second, "completed")
    assert (summary["n_new"], summary["n_updated"], summary["n_unchanged"]) == (0, 0, 1)


def test_duplicate_copies_the_original_and_links_to_it(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    batch_load.load_batch(con, run, LoadBatch(
        cleaned=[_cleaned()], duplicates=[DuplicateDocument("a2", "file:///a2.txt", "h1", "a1", True)]))
    rows = con.execute("SELECT article_id, duplicate_of, title, body FROM articles ORDER BY article_id").fetchall()
    assert rows[1][:2] == ("a2", "a1") and rows[0][2:] == rows[1][2:]
    assert lookups.originals_by_content(con, ["h1"]) == {"h1": "a1"}
    assert con.execute("SELECT count(*) FROM boilerplate_segments WHERE article_id = 'a2'").fetchone()[0] == 0


def test_a_failing_batch_leaves_nothing_behind(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    # The duplicate row violates NOT NULL content_hash, after the article insert has run.
    broken = LoadBatch(
        cleaned=[_cleaned()],
        duplicates=[DuplicateDocument("a9", "file:///a9.txt", None, "a1", True)],
        failures=[Failure("file:///x", "read", "r")],
    )
    with pytest.raises(duckdb.Error):
        batch_load.load_batch(con, run, broken)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM failures").fetchone()[0] == 0
    assert con.execute("SELECT n_seen FROM ingest_runs").fetchone()[0] == 0


def test_recurring_line_keys_count_distinct_documents(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    docs = [CleanedDocument(f"d{i}", f"file:///d{i}", f"h{i}", _article(), True, frozenset({"menu", f"own{i}"}))
            for i in range(2)]
    batch_load.load_batch(con, run, LoadBatch(cleaned=docs))
    assert lookups.recurring_line_keys(con, {"d9": frozenset({"menu", "own0", "new"})}, 3) == {"menu"}
    # A stored document's own new version replaces its old line keys instead of adding to them.
    assert lookups.recurring_line_keys(con, {"d0": frozenset({"menu"})}, 3) == frozenset()


def test_interrupted_runs_are_marked_when_the_next_run_starts(db_path):
    con = connection.connect(db_path)
    con.execute("INSERT INTO ingest_runs (run_id, flow_name, started_at, status, pid, hostname)"
                " VALUES ('dead', 'x', now()::TIMESTAMP, 'running', 999999999, ?)", [socket.gethostname()])
    runs.begin_run(con, "test", None)
    assert con.execute("SELECT status FROM ingest_runs WHERE run_id = 'dead'").fetchone()[0] == "interrupted"


def test_queries_are_read_only(db_path):
    connection.connect(db_path).close()
    columns, rows = run_query(db_path, "SELECT 42 AS answer")
    assert (columns, rows) == (["answer"], [(42,)])
    with read_only(db_path) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM articles")


def test_read_only_on_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")


def test_line_key_counts_follow_edits_and_duplicates(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)

    def doc(aid, keys, is_new):
        return CleanedDocument(aid, f"file:///{aid}", f"h-{aid}-{sorted(keys)}", _article(), is_new, frozenset(keys))

    batch_load.load_batch(con, run, LoadBatch(cleaned=[doc("d0", {"menu", "a"}, True), doc("d1", {"menu"}, True)]))
    batch_load.load_batch(con, run, LoadBatch(cleaned=[doc("d0", {"menu", "b"}, False)]))
    counts = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs").fetchall())
    assert (counts["menu"], counts["a"], counts["b"]) == (2, 0, 1)
    # d1 becomes a copy of d0: its own line keys no longer count.
    batch_load.load_batch(con, run, LoadBatch(
        duplicates=[DuplicateDocument("d1", "file:///d1", "h-d0-['b', 'menu']", "d0", False)]))
    counts = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs").fetchall())
    assert counts["menu"] == 1
    assert con.execute("SELECT count(*) FROM document_lines").fetchone()[0] == 1


def test_rewriting_an_article_drops_its_old_mentions_and_recounts(db_path):
    from extractors.entity_resolution import ResolvedMention

    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    greene = ResolvedMention("Greene", "PERSON", 0, 6, False, "Sam Greene", "PERSON", "sam grene")
    with_entities = replace(_cleaned("a1", "h1"), entity_status="done", mentions=(greene, greene))
    batch_load.load_batch(con, run, LoadBatch(cleaned=[with_entities, _cleaned("a2", "h2")]))
    assert con.execute("SELECT n_mentions, n_articles FROM entities").fetchone() == (2, 1)
    # a1 now holds a copy of a2: what was extracted from its old text goes, and Sam Greene is recounted.
    batch_load.load_batch(con, run, LoadBatch(
        duplicates=[DuplicateDocument("a1", "file:///a1.txt", "h2", "a2", False)]))
    assert con.execute("SELECT n_mentions, n_articles FROM entities").fetchone() == (0, 0)
    assert con.execute("SELECT count(*) FROM entity_mentions").fetchone()[0] == 0


STORY = " ".join(
    f"Sentence {i} of the wire story reports that the council voted {i} times on the harbour plan." for i in range(40)
)
OTHER = " ".join(f"Line {i}: the striker scored {i} goals for the visiting side this season." for i in range(40))


def _story(aid: str, body: str, published: dt.datetime | None) -> CleanedDocument:
    from extractors.near_duplicates import story_signature

    article = Article(body=body, title=aid, published_at=published, language="en")
    return CleanedDocument(aid, f"https://{aid}.example/story", f"hash-{aid}", article, True,
                                 signature=tuple(story_signature(body)))


def _stories(con) -> dict[str, tuple[str | None, str | None]]:
    return {aid: (dup, kind) for aid, dup, kind in
            con.execute("SELECT article_id, duplicate_of, duplicate_kind FROM articles").fetchall()}


@pytest.mark.parametrize("order", ["earliest first", "earliest last"])
def test_near_copies_link_to_the_earliest_article_whatever_the_order(db_path, order):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    early = _story("early", STORY, dt.datetime(2025, 3, 1, 8))
    late = _story("late", "Sign up for our newsletter. " + STORY.replace("harbour", "port", 2) + " Photo: AP", dt.datetime(2025, 3, 1, 12))
    other = _story("other", OTHER, dt.datetime(2025, 3, 1, 9))
    batches = [[early], [late, other]] if order == "earliest first" else [[late, other], [early]]
    for batch in batches:
        batch_load.load_batch(con, run, LoadBatch(cleaned=batch))
    assert _stories(con) == {"early": (None, None), "late": ("early", "near"), "other": (None, None)}
    stories = dict(con.execute("SELECT story_id, n_copies FROM v_stories").fetchall())
    assert stories == {"early": 2, "other": 1}


def test_an_identical_copy_of_a_near_copy_joins_the_same_story(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    batch_load.load_batch(con, run, LoadBatch(cleaned=[
        _story("early", STORY, dt.datetime(2025, 3, 1)), _story("late", STORY + " Updated.", dt.datetime(2025, 3, 2)),
    ]))
    batch_load.load_batch(con, run, LoadBatch(
        duplicates=[DuplicateDocument("copy", "file:///copy.txt", "hash-late", "late", True)]))
    assert _stories(con)["copy"] == ("early", "identical")
    assert con.execute("SELECT n_copies FROM v_stories WHERE story_id = 'early'").fetchone()[0] == 3


def test_sources_keep_validators_and_count_failure_streaks(db_path):
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    now = dt.datetime(2025, 3, 1, 12)

    def fetch(outcome, **kw):
        state = SourceState("https://news.example/feed", "feed", "https://www.news.example/feed?utm_source=x",
                                  outcome, now, **kw)
        batch_load.load_batch(con, run, LoadBatch(sources=[state]))
        return con.execute("SELECT etag, last_modified, last_status, last_outcome, consecutive_failures"
                           " FROM sources").fetchone()

    assert fetch("fetched", status=200, etag='"v1"', last_modified="Sat, 01 Mar 2025 10:00:00 GMT") == (
        '"v1"', "Sat, 01 Mar 2025 10:00:00 GMT", 200, "fetched", 0)
    assert fetch("not_modified", status=304) == ('"v1"', "Sat, 01 Mar 2025 10:00:00 GMT", 304, "not_modified", 0)
    assert fetch("failed", status=500, error="HTTP 500")[2:] == (500, "failed", 1)
    assert fetch("failed", error="timed out")[3:] == ("failed", 2)
    assert fetch("fetched", status=200, etag='"v2"')[::4] == ('"v2"', 0)


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_lock(db_path, seconds: float):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db_path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_writer_waits_for_another_process_and_names_it(db_path):
    connection.connect(db_path).close()
    holder = _hold_lock(db_path, 1.5)
    heard: list[str] = []
    try:
        with connection.writing(db_path, wait_seconds=30, on_wait=heard.append) as con:
            assert holder.poll() is not None, "the write connection opened while the other process held the file"
            con.execute("SELECT count(*) FROM articles").fetchone()
    finally:
        holder.kill()
        holder.wait()
    assert heard and f"PID {holder.pid}" in heard[0]


def test_a_writer_gives_up_after_its_limit_with_who_held_the_file(db_path):
    connection.connect(db_path).close()
    holder = _hold_lock(db_path, 60)
    try:
        with pytest.raises(connection.WarehouseLocked, match=f"PID {holder.pid}"):
            with connection.writing(db_path, wait_seconds=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("order", ["copy last", "copy first"])
def test_an_entity_in_two_copies_of_one_story_counts_one_story(db_path, order):
    from extractors.entity_resolution import ResolvedMention

    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    council = ResolvedMention("council", "ORG", 30, 37, False, "Harbour Council", "ORG", "harbour council")
    early = replace(_story("early", STORY, dt.datetime(2025, 3, 1)), entity_status="done", mentions=(council,))
    copy = replace(_story("copy", "Newsletter: sign up. " + STORY, dt.datetime(2025, 3, 2)),
                   entity_status="done", mentions=(council,))
    other = replace(_story("other", OTHER, dt.datetime(2025, 3, 1)), entity_status="done", mentions=(council,))
    batches = [[early], [copy, other]] if order == "copy last" else [[copy, other], [early]]
    for batch in batches:
        batch_load.load_batch(con, run, LoadBatch(cleaned=batch))
    assert con.execute("SELECT n_mentions, n_articles, n_stories FROM entities").fetchone() == (3, 3, 2)


def test_published_at_keeps_the_stated_instant_offset_and_day(db_path):
    """Kommersant states 20:28:12+03:00; Taipei Times 00:00+08:00 is 15 October 16:00 UTC; a date-only page stays a day."""
    con = connection.connect(db_path)
    run = runs.begin_run(con, "test", None)
    msk, taipei = dt.timezone(dt.timedelta(hours=3)), dt.timezone(dt.timedelta(hours=8))
    stated = {
        "kommersant": (dt.datetime(2025, 5, 14, 20, 28, 12, tzinfo=msk), False),
        "taipei": (dt.datetime(2024, 10, 16, 0, 0, tzinfo=taipei), False),
        "day": (dt.datetime(2024, 10, 16), True),
        "none": (None, False),
    }
    docs = [
        CleanedDocument(aid, f"file:///{aid}", aid, replace(_article(body=f"Story {aid} text."), published_at=at,
                                                              published_date_only=only), True, frozenset())
        for aid, (at, only) in stated.items()
    ]
    batch_load.load_batch(con, run, LoadBatch(cleaned=docs))
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT article_id, strftime(published_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), published_on,"
        " published_utc_offset, published_date_only FROM articles").fetchall()}
    assert rows["kommersant"] == ("2025-05-14 17:28:12", dt.date(2025, 5, 14), 180, False)
    assert rows["taipei"] == ("2024-10-15 16:00:00", dt.date(2024, 10, 16), 480, False)
    assert rows["day"] == ("2024-10-16 00:00:00", dt.date(2024, 10, 16), None, True)
    assert rows["none"] == (None, None, None, None)
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'articles'"
                       " AND column_name = 'published_at'").fetchone()[0] == "TIMESTAMP WITH TIME ZONE"


def test_migration_keeps_the_day_of_rows_stored_before_offsets(tmp_path):
    """A warehouse from before migration 6 held the page's day at midnight: it keeps that day, flagged date-only."""
    from warehouse.schema import MIGRATIONS, migrate

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)")
    for number, description, sql in MIGRATIONS[:5]:
        con.execute(sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [number, description])
    con.execute("INSERT INTO articles (article_id, source_uri, published_at, content_hash, first_seen_at, last_seen_at,"
                " updated_at, run_id) VALUES ('a', 'file:///a', TIMESTAMP '2024-10-16 00:00:00', 'h', now(), now(),"
                " now(), 'r')")
    con.execute("SET TimeZone = 'Asia/Taipei'")  # the migration must not read the old day in the machine's zone
    migrate(con)
    assert con.execute("SELECT published_on, published_date_only, published_utc_offset,"
                       " strftime(published_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM articles").fetchone() == (
        dt.date(2024, 10, 16), True, None, "2024-10-16 00:00")


def test_writes_keep_small_row_groups_so_a_checkpoint_rewrites_little(tmp_path):
    """A plain DuckDB connection merges a table into 122,880-row groups at checkpoint, and each later load's
    checkpoint rewrites the whole group; newsflow's load connections keep groups of LOAD_ROW_GROUP_ROWS."""
    path = tmp_path / "news.duckdb"
    for start in (0, 5000):  # two connections, each checkpointing on close
        con = connection.connect(path)
        con.execute("CREATE TABLE IF NOT EXISTS scratch (i INTEGER)")
        con.execute(f"INSERT INTO scratch SELECT range FROM range({start}, {start + 5000})")
        con.close()
    con = connection.connect(path, read_only=True)
    groups = con.execute("SELECT row_group_id, max(count) FROM pragma_storage_info('scratch')"
                         " WHERE column_id = 0 GROUP BY ALL").fetchall()
    assert len(groups) >= 10000 // connection.LOAD_ROW_GROUP_ROWS
    assert max(rows for _, rows in groups) <= connection.LOAD_ROW_GROUP_ROWS
