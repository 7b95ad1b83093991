"""The Python API (`import newsflow`) on real warehouse files: the seeds ingested by the flow, and the 2,000-article corpus."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import newsflow
from warehouse.connection import writing
from warehouse.search import SearchQueryError


def _sql(db, query, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def test_open_needs_an_existing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `newsflow ingest` first"):
        newsflow.open(tmp_path / "missing.duckdb")


def test_articles(seeds_warehouse):
    wh = newsflow.open(seeds_warehouse)
    frame = wh.articles()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at", "section",
        "language", "word_count", "duplicate_of", "duplicate_kind", "extractor", "first_seen_at", "body"]
    assert len(frame) == 5
    dated = wh.articles(since="2025-05-02", until="2025-05-02")
    expected = _sql(seeds_warehouse, "SELECT count(*) FROM articles WHERE published_at::DATE = DATE '2025-05-02'")[0][0]
    assert len(dated) == expected > 0
    assert wh.articles(site="Newslooks")["site"].tolist() == ["Newslooks"]


def test_articles_leave_copies_out_unless_asked(corpus_2k):
    wh = newsflow.open(corpus_2k.db)
    site = "www.dailywire.example"
    assert len(wh.articles(site=site, copies=True)) == len(wh.articles(site=site)) + 2  # the two identical copies
    assert len(wh.articles(limit=7)) == 7


def test_search(corpus_2k):
    frame = newsflow.open(corpus_2k.db).search("cobalt ingots", limit=5)
    assert list(frame.columns) == ["article_id", "source_uri", "url", "title", "published_at", "site", "language",
                                   "score", "snippet", "copies", "story_id"]
    assert frame.loc[0, "article_id"] == corpus_2k.planted["cobalt"] and frame.loc[0, "copies"] == 4
    with pytest.raises(SearchQueryError):
        newsflow.open(corpus_2k.db).search('"cobalt')


def test_entity_and_its_timeline(seeds_warehouse):
    wh = newsflow.open(seeds_warehouse)
    zelensky = wh.entity("zelensky")  # an alias, any case
    assert zelensky.name.startswith("Volodymyr Zelensk") and zelensky.label == "PERSON"
    daily = zelensky.timeline(freq="D")
    assert list(daily.columns) == ["period", "articles", "mentions"]
    expected = _sql(seeds_warehouse,
                    "SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id)"
                    " WHERE m.entity_id = ? AND a.published_at IS NOT NULL", [zelensky.entity_id])[0][0]
    assert daily["mentions"].sum() == expected
    by_site = zelensky.timeline(freq="W", by="site")
    assert list(by_site.columns) == ["period", "site", "articles", "mentions"]
    assert by_site["mentions"].sum() == expected
    mentions = zelensky.mentions()
    assert len(mentions) == zelensky.n_mentions
    assert {"article_id", "text", "start_char", "end_char"} <= set(mentions.columns)
    with pytest.raises(LookupError, match="names containing it: Volodymyr"):
        wh.entity("Volodymyr")


def test_a_timeline_fills_empty_days(tmp_path, seeds_warehouse):
    import shutil

    db = tmp_path / "spread.duckdb"
    shutil.copy(seeds_warehouse, db)
    with writing(db) as con:  # spread the dated articles over a week
        con.execute("UPDATE articles SET published_at = TIMESTAMP '2025-05-01' + INTERVAL (hash(article_id) % 7) DAY"
                    " WHERE published_at IS NOT NULL")
    wh = newsflow.open(db)
    daily = wh.entity("Donald Trump").timeline(freq="D")
    days = pd.to_datetime(daily["period"])
    assert (days.diff().dropna() == pd.Timedelta(days=1)).all()
    assert daily["mentions"].sum() == _sql(db, "SELECT count(*) FROM entity_mentions m JOIN articles a USING (article_id)"
                                           " JOIN entities e USING (entity_id) WHERE e.name = 'Donald Trump'"
                                           " AND a.published_at IS NOT NULL")[0][0]


def test_quotes(seeds_warehouse):
    wh = newsflow.open(seeds_warehouse)
    everything = wh.quotes()
    assert list(everything.columns) == ["article_id", "title", "published_at", "site", "speaker", "speaker_role",
                                        "quote", "start_char", "end_char"]
    assert len(everything) == _sql(seeds_warehouse, "SELECT count(*) FROM quotes")[0][0]
    zelensky = wh.quotes(speaker="Zelensky")
    assert len(zelensky) > 0 and set(zelensky["speaker"]) == {wh.entity("Zelensky").name}
    assert len(wh.entity("Zelensky").quotes()) == len(zelensky)


def test_runs_and_failures(seeds_warehouse):
    wh = newsflow.open(seeds_warehouse)
    frame = wh.runs()
    assert {"run_id", "flow_name", "started_at", "status", "n_new", "n_failed", "seconds", "failures"} <= set(frame.columns)
    assert frame.loc[0, "status"] == "completed" and frame.loc[0, "n_new"] == 5 and frame.loc[0, "failures"] == 0
    assert list(wh.failures().columns) == ["run_id", "source_uri", "stage", "error", "occurred_at"]


def test_entities_stories_and_sql(corpus_2k, seeds_warehouse):
    top = newsflow.open(seeds_warehouse).entities(limit=3)
    assert list(top.columns) == ["entity_id", "name", "label", "aliases", "articles", "stories", "mentions"]
    assert len(top) == 3 and top["stories"].is_monotonic_decreasing
    wh = newsflow.open(corpus_2k.db)
    stories = wh.stories(min_copies=2)
    assert stories.loc[0, "story_id"] == corpus_2k.planted["cobalt"] and stories.loc[0, "n_copies"] == 4
    assert wh.sql("SELECT count(*) AS n FROM articles").loc[0, "n"] == corpus_2k.n_articles
    with pytest.raises(duckdb.Error):
        wh.sql("DELETE FROM articles")  # read-only


def test_calls_hold_no_connection(seeds_warehouse):
    wh = newsflow.open(seeds_warehouse)
    wh.articles()
    with writing(seeds_warehouse, wait_seconds=0.0) as con:  # would fail if the API still held the file
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
