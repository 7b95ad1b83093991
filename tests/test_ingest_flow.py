"""The ingest_stored flow end to end: a real Prefect API, a real DuckDB file, real files."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import duckdb
import pytest
from prefect import flow

from extractors.documents import Document
from extractors.stored_files import discover, source_uri
from flows.ingest_stored import ingest_stored
from flows.pipeline import run_pipeline
from flows.stages import recorded_run

pytestmark = pytest.mark.usefixtures("prefect_api")


def _rows(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _counts(summary: dict) -> tuple:
    return tuple(summary[k] for k in ("n_seen", "n_new", "n_updated", "n_unchanged", "n_duplicates", "n_failed"))


def test_seeds_land_then_rerun_changes_nothing(seeds_copy, db_path):
    first = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert first["status"] == "completed"
    assert _counts(first) == (5, 5, 0, 0, 0, 0)
    before = _rows(db_path, "SELECT article_id, content_hash, body, first_seen_at FROM articles ORDER BY 1")
    segments_before = _rows(db_path, "SELECT count(*) FROM boilerplate_segments")[0][0]
    assert len(before) == 5 and all(body for _, _, body, _ in before)
    assert segments_before > 0

    second = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert _counts(second) == (5, 0, 0, 5, 0, 0)
    assert _rows(db_path, "SELECT article_id, content_hash, body, first_seen_at FROM articles ORDER BY 1") == before
    assert _rows(db_path, "SELECT count(*) FROM boilerplate_segments")[0][0] == segments_before
    runs = _rows(db_path, "SELECT status, n_new, n_unchanged, prefect_flow_run_id FROM ingest_runs ORDER BY started_at")
    assert [(s, n, u) for s, n, u, _ in runs] == [("completed", 5, 0), ("completed", 0, 5)]
    assert all(prefect_id for *_, prefect_id in runs)


def test_edited_file_updates_its_row(seeds_copy, db_path):
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    target = sorted(seeds_copy.glob("*.txt"))[0]
    (aid, first_seen), = _rows(db_path, "SELECT article_id, first_seen_at FROM articles WHERE source_uri = ?",
                              [target.absolute().as_uri()])
    text = target.read_text(encoding="utf-8")
    anchor = "Russian officials argue that"
    assert anchor in text
    added = "An added paragraph: negotiators met again on Friday, officials said, without a breakthrough.\n\n"
    target.write_text(text.replace(anchor, added + anchor), encoding="utf-8")
    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert _counts(summary) == (5, 0, 1, 4, 0, 0)
    body, still_first_seen, n = _rows(
        db_path, "SELECT body, first_seen_at, (SELECT count(*) FROM articles) FROM articles WHERE article_id = ?", [aid])[0]
    assert added.strip() in body
    assert still_first_seen == first_seen and n == 5


def test_identical_copy_is_linked_not_cleaned_again(seeds_copy, db_path):
    original = sorted(seeds_copy.glob("*.txt"))[0]
    (seeds_copy / "zz_copy").mkdir()
    copy = seeds_copy / "zz_copy" / "same_story.txt"
    shutil.copy(original, copy)
    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert _counts(summary) == (6, 6, 0, 0, 1, 0)
    rows = _rows(db_path, "SELECT source_uri, article_id, duplicate_of, title FROM articles WHERE content_hash ="
                          " (SELECT content_hash FROM articles WHERE source_uri = ?) ORDER BY source_uri",
                 [original.absolute().as_uri()])
    (orig_uri, orig_id, orig_dup, title), (copy_uri, copy_id, copy_dup, copy_title) = rows
    assert orig_dup is None and copy_dup == orig_id and copy_title == title
    assert copy_uri == copy.absolute().as_uri()
    assert _rows(db_path, "SELECT count(*) FROM boilerplate_segments WHERE article_id = ?", [copy_id])[0][0] == 0


def test_bad_inputs_become_failures_and_the_rest_lands(seeds_copy, db_path):
    bad = seeds_copy / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "photo.html").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with (bad / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (bad / "slides.pptx").write_bytes(b"PK\x03\x04")
    (bad / "deleted.txt").symlink_to(bad / "was-here-when-listed.txt")  # listed, gone when read
    (bad / "menu_only.txt").write_text("Home\nNews\nSport\nMenu\n", encoding="utf-8")
    legacy = ("Le gouvernement a présenté mercredi un projet de réforme. Les syndicats ont réagi très vivement "
              "à cette annonce, jugée précipitée par l'opposition.\n\nLe débat reprendra à l'Assemblée "
              "la semaine prochaine, a précisé le ministre.\n")
    (bad / "legacy_latin1.txt").write_bytes(legacy.encode("cp1252"))

    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert summary["status"] == "completed"
    assert (summary["n_seen"], summary["n_new"], summary["n_failed"]) == (13, 6, 7)
    reasons = dict(_rows(db_path, "SELECT regexp_extract(source_uri, '[^/]+$'), error FROM failures"))
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "PNG" in reasons["photo.html"]
    assert "over the" in reasons["huge.txt"]
    assert "unsupported file type .pptx" in reasons["slides.pptx"]
    assert "dangling symbolic link -> " in reasons["deleted.txt"]
    assert "no story text" in reasons["menu_only.txt"]
    (body,), = _rows(db_path, "SELECT body FROM articles WHERE source_uri LIKE '%legacy_latin1.txt'")
    assert "présenté mercredi" in body and "précisé le ministre" in body
    (status,), = _rows(db_path, "SELECT status FROM entity_runs JOIN articles USING (article_id)"
                                " WHERE source_uri LIKE '%legacy_latin1.txt'")
    assert status == "done"  # French has its own pipeline
    assert _rows(db_path, "SELECT count(*) FROM articles WHERE source_uri LIKE '%/corpus/0%'")[0][0] == 5


def test_html_pages_go_through_trafilatura(tmp_path, db_path):
    """Real pages from fundus-eval (MIT), saved as .html and .html.gz."""
    pages = Path(__file__).parent / "fixtures" / "html"
    corpus = tmp_path / "pages"
    shutil.copytree(pages, corpus)
    summary = ingest_stored(paths=[str(corpus)], db=str(db_path))
    assert summary["n_failed"] == 0 and summary["n_new"] == len(list(pages.iterdir()))
    rows = _rows(db_path, "SELECT extractor, title, word_count, published_at FROM articles")
    # APNews_3 is a 95-word wire brief (its headline, repeated above it in the markup, is cut as `title`)
    assert all(extractor == "trafilatura" and title and words > 80 for extractor, title, words, _ in rows)
    assert all(published is not None for *_, published in rows)
    assert _rows(db_path, "SELECT reason, count(*) FROM boilerplate_segments GROUP BY reason ORDER BY reason") == [
        ("punctuation", 1), ("title", 1)]


def test_each_run_publishes_a_summary_and_a_failures_table(seeds_copy, db_path):
    (seeds_copy / "empty.txt").write_bytes(b"")
    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    artifact = flow_run_artifact(summary["prefect_flow_run_id"], "ingest-stored-summary")
    assert artifact["type"] == "markdown"
    assert "| 6 | 5 | 0 | 0 | 0 | 0 | 1 |" in artifact["data"]
    assert "Kremlin ERUPTS Over Trump’s Backdoor Diplomacy!" in artifact["data"]
    assert "empty.txt | read | empty document" in artifact["data"]
    assert str(db_path) in artifact["data"]
    assert all(f"| {stage} |" in artifact["data"] for stage in ("read", "extract", "entities", "load"))
    table = flow_run_artifact(summary["prefect_flow_run_id"], "ingest-stored-failures")
    assert table["type"] == "table"
    (failure,) = json.loads(table["data"])
    assert failure["source"].endswith("empty.txt") and failure["stage"] == "read"
    assert failure["reason"].startswith("empty document")


def flow_run_artifact(flow_run_id: str, key: str) -> dict:
    """The artifact `key` of one flow run, read back through the Prefect API."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client.request(  # the typed read_artifacts of this client version sends nulls (422)
            "POST", "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [flow_run_id]}}},
        )
    (artifact,) = response.json()
    return artifact


def _seed_uri(seeds_copy: Path, prefix: str) -> str:
    return next(seeds_copy.glob(f"{prefix}_*.txt")).absolute().as_uri()


def test_french_articles_get_entities_and_a_language_without_a_pipeline_is_recorded_as_skipped(tmp_path, db_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "fr.txt").write_text(
        "Le président Emmanuel Macron a reçu le chancelier Olaf Scholz à Paris lundi pour parler de l'Ukraine.\n\n"
        "Les deux dirigeants ont promis une aide supplémentaire à Kyiv, a indiqué l'Élysée dans un communiqué "
        "publié dans la soirée.\n", encoding="utf-8")
    (corpus / "de.txt").write_text(
        "Bundeskanzler Olaf Scholz hat am Montag in Berlin den französischen Präsidenten Emmanuel Macron "
        "empfangen.\n\nDie beiden Politiker sprachen über die Lage in der Ukraine und über neue Hilfen für "
        "das Land, teilte die Bundesregierung am Abend mit.\n", encoding="utf-8")
    ingest_stored(paths=[str(corpus)], db=str(db_path))
    runs = dict(_rows(db_path, "SELECT a.language, r.status FROM entity_runs r JOIN articles a USING (article_id)"))
    assert runs == {"fr": "done", "de": "skipped: no NER pipeline for language de"}
    names = {name for (name,) in _rows(db_path, "SELECT e.name FROM entity_mentions m JOIN entities e USING (entity_id)"
                                                " JOIN articles a USING (article_id) WHERE a.language = 'fr'")}
    assert {"Emmanuel Macron", "Olaf Scholz", "Paris"} <= names


def test_entities_and_quotes_of_the_seeds(seeds_copy, db_path):
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    people = {
        "Dmitry Peskov": "000", "Yulia Svyrydenko": "000", "Sam Greene": "001", "Scott Bessent": "001",
        "Tammy Bruce": "002", "Kirill Dmitriev": "004",
    }
    for name, seed in people.items():
        rows = _rows(db_path, "SELECT e.label FROM entity_mentions m JOIN entities e USING (entity_id)"
                              " JOIN articles a USING (article_id) WHERE e.name = ? AND a.source_uri = ?",
                     [name, _seed_uri(seeds_copy, seed)])
        assert rows and {label for (label,) in rows} == {"PERSON"}, name
    (zelenskyy,) = _rows(db_path, "SELECT DISTINCT entity_id FROM entity_mentions WHERE text IN ('Zelensky', 'Zelenskyy')")
    assert _rows(db_path, "SELECT n_articles FROM entities WHERE entity_id = ?", zelenskyy)[0][0] == 5
    assert len(_rows(db_path, "SELECT DISTINCT entity_id FROM entity_mentions WHERE text IN ('Kiev', 'Kyiv')")) == 1
    # "Emmanuel Macron" stands in seed 002 only inside a "Read also:" teaser: furniture is never read for entities.
    assert not _rows(db_path, "SELECT * FROM entity_mentions JOIN articles USING (article_id)"
                              " WHERE text LIKE '%Macron%' AND source_uri = ?", [_seed_uri(seeds_copy, "002")])
    quotes = _rows(db_path, "SELECT speaker, quote FROM quotes")
    assert ("Dmitry Peskov", "a peace agreement must be concluded with Ukraine, not with America") in quotes
    # The gazetteer's places and institutions are entities of the articles that name them, with ids to join on.
    linked = _rows(db_path, "SELECT e.name, e.geonames_id, e.country_code, e.wikidata_id FROM entities e"
                            " JOIN entity_mentions m USING (entity_id) JOIN articles a USING (article_id)"
                            " WHERE a.source_uri = ? AND e.name IN ('Kyiv', 'Donetsk')"
                            " UNION SELECT e.name, e.geonames_id, e.country_code, e.wikidata_id FROM entities e"
                            " JOIN entity_mentions m USING (entity_id) JOIN articles a USING (article_id)"
                            " WHERE a.source_uri = ? AND e.name = 'Pentagon' ORDER BY 1",
                     [_seed_uri(seeds_copy, "003"), _seed_uri(seeds_copy, "002")])
    assert linked == [("Donetsk", 709717, "UA", None), ("Kyiv", 703448, "UA", None), ("Pentagon", None, "US", "Q11208")]


def test_entity_counts_follow_reingestion_and_unchanged_articles_cost_no_ner(seeds_copy, db_path):
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    before = _rows(db_path, "SELECT name, n_mentions, n_articles FROM entities ORDER BY name")
    runs_before = _rows(db_path, "SELECT count(*) FROM entity_runs")[0][0]
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert _rows(db_path, "SELECT name, n_mentions, n_articles FROM entities ORDER BY name") == before
    assert _rows(db_path, "SELECT count(*) FROM entity_runs")[0][0] == runs_before == 5

    target = next(seeds_copy.glob("002_*.txt"))
    target.write_text(target.read_text(encoding="utf-8").replace("Tammy Bruce", "The spokeswoman")
                      .replace("Bruce", "She"), encoding="utf-8")
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    assert not _rows(db_path, "SELECT * FROM entities WHERE name = 'Tammy Bruce' AND n_mentions > 0")
    recount = _rows(db_path, "SELECT e.name FROM entities e LEFT JOIN (SELECT entity_id, count(*) n FROM"
                             " entity_mentions GROUP BY ALL) m USING (entity_id) WHERE e.n_mentions <> coalesce(m.n, 0)")
    assert recount == []


@flow(name="ingest_stopped_mid_listing")
def _ingest_stopped_as_prefect_would_report_it(paths: list[str], db: str) -> None:
    """An ingest whose input listing is stopped by Ctrl-C after two files, where what surfaces is another
    error (as when Prefect is interrupted while it sets up a task run and raises "Task run is not set")."""
    files = list(discover(paths))

    def documents():
        for i, path in enumerate(files):
            if i == 2:
                try:
                    signal.raise_signal(signal.SIGINT)
                except KeyboardInterrupt:
                    raise ValueError("Task run is not set") from None
            yield Document(source_uri(path), kind="")

    with recorded_run("ingest_stored", db, None) as record:
        run_pipeline(record, documents(), batch_size=1, workers=1, entities=False, total=len(files))


def test_a_stop_that_surfaces_as_another_error_is_still_a_stop(seeds_copy, db_path):
    with pytest.raises(KeyboardInterrupt, match="Task run is not set"):
        _ingest_stopped_as_prefect_would_report_it(paths=[str(seeds_copy)], db=str(db_path))
    (status, seen), = _rows(db_path, "SELECT status, n_seen FROM ingest_runs")
    assert status == "interrupted"
    assert _rows(db_path, "SELECT count(*) FROM articles")[0][0] == seen == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the driver put Ctrl-C back

    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path), workers=1, entities=False)
    assert (summary["n_new"], summary["n_unchanged"]) == (4, 1)
