"""Full-text search on real warehouse files: a 2,000-article corpus (tests/search_corpus.py) and the seeds."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import duckdb
import pytest

from flows.cli import main
from warehouse import search
from warehouse.connection import writing


def _search(db: Path, query: str, **filters) -> list[dict]:
    with duckdb.connect(str(db), read_only=True) as con:
        search.load_fts(con)
        relation = search.search(con, query, **filters)
        return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def _cli_json(capsys, *argv: str) -> list[dict]:
    assert main(["search", *argv, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    print(err, end="", file=sys.stderr)  # left for the test to read
    return json.loads(out)


def test_a_distinctive_phrase_finds_its_article_first(corpus_2k):
    hits = _search(corpus_2k.db, "cobalt refinery Kolwezi")
    assert hits[0]["article_id"] == corpus_2k.planted["cobalt"]
    assert hits[0]["title"] == "Kolwezi refinery ships first cobalt"
    assert "Kolwezi" in hits[0]["snippet"]


def test_an_inflected_form_finds_it_too(corpus_2k):
    hits = _search(corpus_2k.db, "refineries shipping ingot")  # the text says refinery, shipped, ingots
    assert hits[0]["article_id"] == corpus_2k.planted["cobalt"]


def test_copies_of_a_story_show_once_with_their_count(corpus_2k):
    hits = _search(corpus_2k.db, "Kolwezi")
    assert len(hits) == 1
    assert hits[0]["copies"] == 4  # the original, one edited copy, two identical copies
    edited_copy = corpus_2k.cobalt_copies[0]
    with duckdb.connect(str(corpus_2k.db), read_only=True) as con:
        copy_site = con.execute("SELECT site FROM articles WHERE article_id = ?", [edited_copy]).fetchone()[0]
    on_copy_site = _search(corpus_2k.db, "Kolwezi", site=copy_site)  # the story, as its copy on that site
    assert [(h["article_id"], h["copies"]) for h in on_copy_site] == [(edited_copy, 4)]


@pytest.mark.parametrize(("query", "key", "language"), [
    ("vendange Beaune", "vendanges", "fr"),      # French stemmer: vendanger / vendange
    ("Windparks Rügen", "windpark", "de"),       # German stemmer: Windparks / Windpark
    ("酪農家", "dairy", "ja"),                    # no spaces: Han and kana indexed one by one
])
def test_each_language_has_its_stemmer(corpus_2k, query, key, language):
    hits = _search(corpus_2k.db, query)
    assert hits[0]["article_id"] == corpus_2k.planted[key]
    assert _search(corpus_2k.db, query, language="en") == []
    assert _search(corpus_2k.db, query, language=language)[0]["article_id"] == corpus_2k.planted[key]


def test_phrases_keep_their_order_and_exclusions_exclude(corpus_2k):
    assert _search(corpus_2k.db, '"ingots to Antwerp"')[0]["article_id"] == corpus_2k.planted["cobalt"]
    assert _search(corpus_2k.db, '"Antwerp to ingots"') == []
    assert _search(corpus_2k.db, "Kolwezi -Antwerp") == []
    assert _search(corpus_2k.db, "the cobalt")[0]["article_id"] == corpus_2k.planted["cobalt"]  # stopwords drop out


def test_date_and_site_filters(corpus_2k):
    hits = _search(corpus_2k.db, "president", limit=None, since="2025-05-01", until="2025-05-10", site="www.ledger.example")
    assert hits
    for hit in hits:
        assert hit["site"] == "www.ledger.example"
        assert "2025-05-01" <= hit["published_at"].date().isoformat() <= "2025-05-10"


def test_cli_rows_carry_the_documented_columns(corpus_2k, capsys):
    rows = _cli_json(capsys, "Kolwezi refinery", "--db", str(corpus_2k.db))
    assert set(rows[0]) >= {"article_id", "source_uri", "url", "title", "published_at", "site", "score", "snippet"}
    assert main(["search", "Kolwezi", "--db", str(corpus_2k.db), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("article_id,source_uri,url,title,published_at,site")
    assert main(["search", "Kolwezi", "--db", str(corpus_2k.db)]) == 0
    table = capsys.readouterr().out
    assert " 1. Kolwezi refinery ships first cobalt" in table and "4 copies" in table and "(1 story)" in table


def test_no_match_exits_0_and_a_malformed_query_gets_a_clear_error(corpus_2k, capsys):
    assert _cli_json(capsys, "zyxwvut", "--db", str(corpus_2k.db)) == []
    for query, message in [('"peace talks', "unbalanced quote"), ("   ", "empty query"), ("-cobalt", "no words"),
                           ("cobalt -", "nothing after '-'")]:
        assert main(["search", "--db", str(corpus_2k.db), "--", query]) == 2
        assert message in capsys.readouterr().err


def test_search_reads_a_read_only_file(corpus_2k, tmp_path, capsys):
    db = tmp_path / "read-only.duckdb"
    shutil.copy(corpus_2k.db, db)
    db.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        rows = _cli_json(capsys, "Kolwezi", "--db", str(db))
    finally:
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert [r["article_id"] for r in rows] == [corpus_2k.planted["cobalt"]]


def test_the_sql_macro_works_from_a_plain_duckdb_connection(corpus_2k):
    with duckdb.connect(str(corpus_2k.db), read_only=True) as con:
        con.execute(search.load_statement())
        rows = con.execute(
            "SELECT article_id, copies FROM search_articles('cobalt ingots') WHERE site LIKE 'www.%' LIMIT 5"
        ).fetchall()
    assert rows[0] == (corpus_2k.planted["cobalt"], 4)


def test_an_index_behind_its_articles_is_reported_and_refreshed(corpus_2k, tmp_path, capsys):
    db = tmp_path / "edited.duckdb"
    shutil.copy(corpus_2k.db, db)
    with writing(db) as con:
        con.execute("UPDATE articles SET body = body || ' Quarrymen of Zanzibar.', content_hash = 'edited'"
                    " WHERE article_id = ?", [corpus_2k.planted["vendanges"]])
    with duckdb.connect(str(db), read_only=True) as con:
        assert search.stale_indexes(con) == {"fr": 1}
    assert _cli_json(capsys, "Zanzibar", "--db", str(db)) == []
    assert "behind the articles" in capsys.readouterr().err
    assert main(["search", "Zanzibar", "--db", str(db), "--reindex", "--format", "json"]) == 0
    assert [r["article_id"] for r in json.loads(capsys.readouterr().out)] == [corpus_2k.planted["vendanges"]]
    with writing(db) as con:
        again = search.refresh_index(con)
    assert not again.changed and set(again.unchanged) == {"de", "en", "fr", "other"}


def test_a_document_ingested_in_a_later_run_is_found_without_any_step(corpus_2k, tmp_path, prefect_api):
    from flows.ingest_stored import ingest_stored

    db = tmp_path / "later.duckdb"
    shutil.copy(corpus_2k.db, db)
    dump = tmp_path / "later" / "glacier.txt"
    dump.parent.mkdir()
    dump.write_text(
        "Glaciologists chart the retreat of the Perito Moreno glacier\n\n"
        "By Ana Souto\n\n"
        "Glaciologists from Mendoza measured the Perito Moreno glacier for a ninth season and found its front "
        "sixty metres behind last year's line, the steepest retreat in their records.\n\n"
        "The team used drones and sonar to map the calving face, which collapsed twice during the survey, "
        "sending blocks of ice the size of houses into Lago Argentino.\n\n"
        "Tour operators said visitor numbers rose despite the warnings, and the park extended its opening hours "
        "to handle the crowds that came to watch the ice fall.\n",
        encoding="utf-8",
    )
    summary = ingest_stored(paths=[str(dump.parent)], db=str(db), entities=False)
    assert summary["n_new"] == 1
    hits = _search(db, "glaciologist measuring Moreno")  # inflected: Glaciologists, measured
    assert hits[0]["source_uri"].endswith("glacier.txt")
    with duckdb.connect(str(db), read_only=True) as con:
        assert search.stale_indexes(con) == {}


def test_entity_filter_on_the_seeds(seeds_warehouse):
    everything = _search(seeds_warehouse, "Ukraine", limit=None)
    mentioning = _search(seeds_warehouse, "Ukraine", limit=None, entity="zelensky")  # an alias, any case
    with duckdb.connect(str(seeds_warehouse), read_only=True) as con:
        expected = {row[0] for row in con.execute(
            "SELECT DISTINCT m.article_id FROM entity_mentions m JOIN entities e USING (entity_id)"
            " WHERE list_contains(e.aliases, 'Zelensky')").fetchall()}
    assert expected and {h["article_id"] for h in mentioning} == expected
    assert len(everything) >= len(mentioning)


def test_parse_query():
    parsed = search.parse_query('minerals "peace talks" -Russia')
    assert (parsed.words, parsed.phrases, parsed.excluded) == ("minerals peace talks", ("peace talks",), ("Russia",))
    with pytest.raises(search.SearchQueryError, match="cannot exclude a phrase"):
        search.parse_query('deal -"peace talks"')


def test_the_extension_comes_from_the_wheel_for_this_duckdb():
    path = search.fts_extension_path()
    assert path.is_file() and f"v{duckdb.__version__}" in path.parts and "duckdb_extension_fts" in path.parts
    assert os.access(path, os.R_OK)


def test_search_and_report_have_help(capsys):
    for command in ("search", "report"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: newsflow {command}" in capsys.readouterr().out
