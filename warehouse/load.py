"""The batch load: everything one batch changes, upserted in one transaction.

Every batch lands in one transaction (articles, their cut furniture, their
line keys, entities, story links, failures and the run's counters
together), so a run killed at any point leaves whole batches or nothing,
and a rerun finishes the job: what landed is recognised by its content hash
and skipped.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from extractors.entity_resolution import entity_id
from extractors.gazetteer import lookup
from extractors.words import word_count
from warehouse.backends import begin_write, commit, rollback, upsert
from warehouse.frames import frames, strings
from warehouse.lookups import stored_hashes
from warehouse.records import CleanedDocument, DuplicateDocument, LoadBatch, SourceState
from warehouse.stories import link_near_duplicates

SOURCE_COLUMNS = (
    "url", "kind", "requested_url", "discovered_from", "article_id", "etag", "last_modified", "body_hash",
    "last_status", "last_outcome", "last_error", "last_fetched_at", "last_changed_at", "consecutive_failures",
    "first_seen_at",
)
ARTICLE_COLUMNS = (
    "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at",
    "published_on", "published_utc_offset", "published_date_only", "section", "language", "body", "word_count",
    "content_hash", "duplicate_of", "extractor", "duplicate_kind", "decode_note",
)


def load_batch(con: duckdb.DuckDBPyConnection, run_id: str, batch: LoadBatch) -> LoadBatch:
    """Upsert one batch and bump the run's counters, all or nothing; return the batch as it landed.

    What is new, edited or unchanged is settled again inside the transaction
    (`records.settle`), so two overlapping runs that extracted the same
    documents never write them twice or count them twice: the second finds them landed.
    """
    begin_write(con)
    try:
        settling = [d.article_id for d in (*batch.cleaned, *batch.duplicates)]
        batch = batch.settled(stored_hashes(con, settling)) if settling else batch
        con.execute("CREATE OR REPLACE TEMP TABLE touched (entity_id VARCHAR)")
        if batch.cleaned:
            _upsert_cleaned(con, run_id, batch.cleaned)
            link_near_duplicates(con, batch.cleaned)
        if batch.duplicates:
            _upsert_duplicates(con, run_id, batch.duplicates)
        if batch.unchanged_ids:
            with frames(con, seen=pd.DataFrame({"article_id": batch.unchanged_ids})):
                con.execute(
                    "UPDATE articles SET last_seen_at = now()::TIMESTAMP"
                    " WHERE article_id IN (SELECT article_id FROM seen)"
                )
        if batch.failures:
            failed = pd.DataFrame(
                [(run_id, f.source_uri, f.stage, f.error) for f in batch.failures],
                columns=["run_id", "source_uri", "stage", "error"],
            )
            with frames(con, failed=failed):
                con.execute("INSERT INTO failures SELECT *, now()::TIMESTAMP FROM failed")
        if batch.sources:
            _upsert_sources(con, batch.sources)
        if batch.robots:
            robots = pd.DataFrame({"site": strings(batch.robots), "body": strings(batch.robots.values())})
            with frames(con, robots=robots):
                upsert(con, "robots_txt", "site", ["site", "body", "fetched_at"],
                       "SELECT site, body, now()::TIMESTAMP AS fetched_at FROM robots",
                       {"body": "excluded.body", "fetched_at": "excluded.fetched_at"})
        con.execute(
            """
            UPDATE ingest_runs SET n_seen = n_seen + ?, n_new = n_new + ?, n_updated = n_updated + ?,
                   n_unchanged = n_unchanged + ?, n_failed = n_failed + ?, n_duplicates = n_duplicates + ?,
                   n_not_modified = n_not_modified + ?, n_skipped = n_skipped + ?
            WHERE run_id = ?
            """,
            [batch.n_seen, batch.n_new, batch.n_updated, len(batch.unchanged_ids),
             len(batch.failures), len(batch.duplicates), batch.n_not_modified, len(batch.skipped), run_id],
        )
        _recount_touched_entities(con)
        con.execute("DROP TABLE touched")
        commit(con)
    except BaseException:  # an interrupt (Ctrl-C, SIGTERM) too: the batch lands whole or not at all
        rollback(con)
        raise
    return batch


def _published_as_stated(article) -> tuple:
    """The page's own publication day, its UTC offset in minutes (None if it stated none), date-only flag."""
    at = article.published_at
    if at is None:
        return None, None, None
    offset = at.utcoffset()
    return at.date(), None if offset is None else int(offset.total_seconds() // 60), article.published_date_only


def _upsert_cleaned(con: duckdb.DuckDBPyConnection, run_id: str, cleaned: list[CleanedDocument]) -> None:
    rows = pd.DataFrame(
        [
            (
                doc.article_id, doc.source_uri, a.url, a.site, a.title, a.subtitle, list(a.authors),
                a.published_at, *_published_as_stated(a), a.section, a.language, a.body,
                word_count(a.body) if doc.word_count is None else doc.word_count,
                doc.content_hash,
                None, a.extractor, None, doc.decode_note,
            )
            for doc in cleaned
            for a in (doc.article,)
        ],
        columns=list(ARTICLE_COLUMNS),
    )
    rows["published_at"] = pd.to_datetime(rows["published_at"], utc=True)  # naive (no stated offset) as UTC
    rows["published_utc_offset"] = rows["published_utc_offset"].astype("Int32")
    rows["published_date_only"] = rows["published_date_only"].astype("boolean")
    rows["duplicate_of"] = rows["duplicate_of"].astype("string")
    rows["duplicate_kind"] = rows["duplicate_kind"].astype("string")
    rows["decode_note"] = rows["decode_note"].astype("string")
    # Column-wise construction: pandas infers nothing per row, which matters at 100k+ rows a batch.
    segments = pd.DataFrame({
        "article_id": [doc.article_id for doc in cleaned for _ in doc.article.cut],
        "position": pd.array([s.position for doc in cleaned for s in doc.article.cut], dtype="int32"),
        "text": [s.text for doc in cleaned for s in doc.article.cut],
        "reason": [s.reason for doc in cleaned for s in doc.article.cut],
    })
    lines = pd.DataFrame({
        "article_id": [doc.article_id for doc in cleaned if doc.line_keys],
        "line_keys": [sorted(doc.line_keys) for doc in cleaned if doc.line_keys],
    })
    rewritten = pd.DataFrame({"article_id": strings(doc.article_id for doc in cleaned if not doc.is_new)})
    with frames(con, rows=rows, segments=segments, lines=lines, rewritten=rewritten):
        _upsert_articles(con, run_id, "rows")
        if not rewritten.empty:
            _forget_children(con, "rewritten")
        con.execute("INSERT INTO boilerplate_segments SELECT * FROM segments")
        _insert_entities(con, [doc for doc in cleaned if doc.entity_status is not None])
        if not lines.empty:
            con.execute("INSERT INTO document_lines SELECT * FROM lines")
            upsert(con, "line_key_docs", "line_key", ["line_key", "n_docs"],
                   "SELECT line_key, count(*) AS n_docs FROM (SELECT unnest(line_keys) AS line_key FROM lines) GROUP BY ALL",
                   {"n_docs": "line_key_docs.n_docs + excluded.n_docs"})


def _upsert_duplicates(con: duckdb.DuckDBPyConnection, run_id: str, duplicates: list[DuplicateDocument]) -> None:
    """A duplicate gets its own row with the original's extracted fields, not a second cleaning.

    It links to the original's story (the original may itself be a near copy of an earlier one).
    """
    links = pd.DataFrame({
        "article_id": strings(d.article_id for d in duplicates),
        "source_uri": strings(d.source_uri for d in duplicates),
        "url": strings(d.url for d in duplicates),
        "content_hash": strings(d.content_hash for d in duplicates),
        "duplicate_of": strings(d.duplicate_of for d in duplicates),
    })
    own = {"article_id": "l.article_id", "source_uri": "l.source_uri", "content_hash": "l.content_hash",
           "url": "coalesce(l.url, o.url)",
           "duplicate_of": "coalesce(o.duplicate_of, o.article_id)", "duplicate_kind": "'identical'"}
    copied = ", ".join(f"{own.get(c, 'o.' + c)} AS {c}" for c in ARTICLE_COLUMNS)
    with frames(con, links=links):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE duplicate_rows AS SELECT {copied}"
            " FROM links l JOIN articles o ON o.article_id = l.duplicate_of"
        )
    _forget_children(con, "duplicate_rows")
    _upsert_articles(con, run_id, "duplicate_rows")
    con.execute("DROP TABLE duplicate_rows")


def _upsert_sources(con: duckdb.DuckDBPyConnection, sources: list[SourceState]) -> None:
    """Remember each fetch: validators for the next conditional request, status, failure streak."""
    latest = {s.url: s for s in sources}  # one row per URL: the batch's last fetch of it wins
    frame = pd.DataFrame({
        "url": strings(latest),
        "kind": strings(s.kind for s in latest.values()),
        "requested_url": strings(s.requested_url for s in latest.values()),
        "discovered_from": strings(s.discovered_from for s in latest.values()),
        "article_id": strings(s.article_id for s in latest.values()),
        "etag": strings(s.etag for s in latest.values()),
        "last_modified": strings(s.last_modified for s in latest.values()),
        "body_hash": strings(s.body_hash for s in latest.values()),
        "last_status": pd.array([s.status for s in latest.values()], dtype="Int32"),
        "last_outcome": strings(s.outcome for s in latest.values()),
        "last_error": strings(s.error for s in latest.values()),
        "last_fetched_at": pd.to_datetime([s.fetched_at for s in latest.values()]),
    })
    fetched_now = "excluded.last_outcome = 'fetched'"  # in the updates, `sources.x` is the stored value
    with frames(con, fetched=frame):
        upsert(
            con, "sources", "url", SOURCE_COLUMNS,
            """
            SELECT url, kind, requested_url, discovered_from, article_id, etag, last_modified, body_hash,
                   last_status, last_outcome, last_error, last_fetched_at,
                   CASE WHEN last_outcome = 'fetched' THEN last_fetched_at END AS last_changed_at,
                   CASE WHEN last_outcome = 'failed' THEN 1 ELSE 0 END AS consecutive_failures,
                   last_fetched_at AS first_seen_at
            FROM fetched
            """,
            {
                "kind": "excluded.kind", "requested_url": "excluded.requested_url",
                "discovered_from": "coalesce(excluded.discovered_from, sources.discovered_from)",
                "article_id": "coalesce(excluded.article_id, sources.article_id)",
                "etag": f"CASE WHEN {fetched_now} THEN excluded.etag ELSE sources.etag END",
                "last_modified": f"CASE WHEN {fetched_now} THEN excluded.last_modified ELSE sources.last_modified END",
                "body_hash": f"CASE WHEN {fetched_now} THEN excluded.body_hash ELSE sources.body_hash END",
                "last_changed_at": f"CASE WHEN {fetched_now} AND excluded.body_hash IS DISTINCT FROM sources.body_hash"
                                   " THEN excluded.last_fetched_at ELSE sources.last_changed_at END",
                "last_status": "excluded.last_status", "last_outcome": "excluded.last_outcome",
                "last_error": "excluded.last_error", "last_fetched_at": "excluded.last_fetched_at",
                "consecutive_failures": "CASE WHEN excluded.last_outcome = 'failed'"
                                        " THEN sources.consecutive_failures + 1 ELSE 0 END",
            },
        )


GAZETTEER_LABELS = frozenset({"GPE", "LOC", "FAC", "ORG"})
"""Labels whose entities take the gazetteer's identifiers (a person named "Jordan" is no country)."""


def _insert_entities(con: duckdb.DuckDBPyConnection, docs: list[CleanedDocument]) -> None:
    """Add the batch's mentions, quotes and new entities; the entities they touch are recounted at commit."""
    if not docs:
        return
    mentions = [(d.article_id, m) for d in docs for m in d.mentions]
    quotes = [(d.article_id, q) for d in docs for q in d.quotes]
    entities = sorted({(m.entity_id, m.key, m.name, m.label) for _, m in mentions})
    places = [lookup(name) if label in GAZETTEER_LABELS else None for _, _, name, label in entities]
    tables = {
        "ran": pd.DataFrame({"article_id": strings(d.article_id for d in docs),
                             "status": strings(d.entity_status for d in docs)}),
        "new_mentions": pd.DataFrame({
            "article_id": strings(aid for aid, _ in mentions),
            "entity_id": strings(m.entity_id for _, m in mentions),
            "text": strings(m.text for _, m in mentions),
            "label": strings(m.label for _, m in mentions),
            "raw_label": strings(m.raw_label for _, m in mentions),
            "start_char": pd.array([m.start_char for _, m in mentions], dtype="int32"),
            "end_char": pd.array([m.end_char for _, m in mentions], dtype="int32"),
            "in_title": pd.array([m.in_title for _, m in mentions], dtype="bool"),
        }),
        "new_entities": pd.DataFrame({
            **{name: strings(e[i] for e in entities) for i, name in enumerate(["entity_id", "key", "name", "label"])},
            "geonames_id": pd.array([p.geonames_id if p else None for p in places], dtype="Int64"),
            "country_code": strings(p.country_code if p else None for p in places),
            "wikidata_id": strings(p.wikidata_id if p else None for p in places),
        }),
        "new_quotes": pd.DataFrame({
            "article_id": strings(aid for aid, _ in quotes),
            "quote": strings(q.quote for _, q in quotes),
            "speaker": strings(q.speaker for _, q in quotes),
            "speaker_entity_id": strings(entity_id(q.speaker_key) if q.speaker_key else None for _, q in quotes),
            "start_char": pd.array([q.start_char for _, q in quotes], dtype="int32"),
            "end_char": pd.array([q.end_char for _, q in quotes], dtype="int32"),
            "speaker_role": strings(q.speaker_role for _, q in quotes),
        }),
    }
    with frames(con, **tables):
        con.execute("INSERT INTO touched SELECT DISTINCT entity_id FROM new_mentions")
        con.execute("INSERT INTO entity_mentions SELECT * FROM new_mentions")
        con.execute("INSERT INTO quotes BY NAME SELECT * FROM new_quotes")
        con.execute("INSERT INTO entity_runs SELECT * FROM ran")
        upsert(con, "entities", "entity_id",
               ["entity_id", "key", "name", "label", "aliases", "n_mentions", "n_articles", "n_stories",
                "geonames_id", "country_code", "wikidata_id"],
               "SELECT entity_id, key, name, label, []::VARCHAR[] AS aliases, 0 AS n_mentions, 0 AS n_articles,"
               " 0 AS n_stories, geonames_id, country_code, wikidata_id FROM new_entities", None)
        con.execute(  # an entity stored before the gazetteer (migration 5) takes its ids when next mentioned
            "UPDATE entities SET geonames_id = n.geonames_id, country_code = n.country_code, wikidata_id = n.wikidata_id"
            " FROM (SELECT entity_id, any_value(geonames_id) AS geonames_id, any_value(country_code) AS country_code,"
            " any_value(wikidata_id) AS wikidata_id FROM new_entities"
            " WHERE coalesce(geonames_id::VARCHAR, country_code, wikidata_id) IS NOT NULL GROUP BY entity_id) n"
            " WHERE entities.entity_id = n.entity_id"
            " AND coalesce(entities.geonames_id::VARCHAR, entities.country_code, entities.wikidata_id) IS NULL"
        )


def _recount_touched_entities(con: duckdb.DuckDBPyConnection) -> None:
    """Counts, aliases and label vote of every entity whose mentions (or their stories) this transaction changed.

    `n_stories` counts each story once: near copies of one wire story are one story, not several.
    """
    con.execute(
        """
        UPDATE entities SET n_mentions = coalesce(s.n_mentions, 0), n_articles = coalesce(s.n_articles, 0),
               n_stories = coalesce(s.n_stories, 0), aliases = coalesce(s.aliases, []),
               label = coalesce(s.label, entities.label)
        FROM (SELECT DISTINCT entity_id FROM touched) t LEFT JOIN (
            SELECT m.entity_id, count(*) AS n_mentions, count(DISTINCT m.article_id) AS n_articles,
                   count(DISTINCT coalesce(a.duplicate_of, m.article_id)) AS n_stories,
                   list(DISTINCT m.text ORDER BY m.text) AS aliases, mode(m.label) AS label
            FROM entity_mentions m JOIN articles a USING (article_id)
            WHERE m.entity_id IN (SELECT entity_id FROM touched) GROUP BY m.entity_id
        ) s USING (entity_id)
        WHERE entities.entity_id = t.entity_id
        """
    )


def _forget_children(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Drop everything derived from articles about to be rewritten: audit segments, line keys
    (uncounted), mentions (their entities marked for a recount), quotes, entity runs and story signatures."""
    con.execute(
        f"INSERT INTO touched SELECT DISTINCT entity_id FROM entity_mentions"
        f" WHERE article_id IN (SELECT article_id FROM {relation})"
    )
    con.execute(
        f"""
        UPDATE line_key_docs SET n_docs = n_docs - old.n
        FROM (SELECT line_key, count(*) AS n FROM (
                SELECT unnest(line_keys) AS line_key FROM document_lines
                WHERE article_id IN (SELECT article_id FROM {relation})) GROUP BY ALL) AS old
        WHERE line_key_docs.line_key = old.line_key
        """
    )
    for table in ("boilerplate_segments", "document_lines", "entity_mentions", "quotes", "entity_runs",
                  "story_signatures", "story_bands"):
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM {relation})")


def _upsert_articles(con: duckdb.DuckDBPyConnection, run_id: str, relation: str) -> None:
    columns = ", ".join(ARTICLE_COLUMNS)
    updates = {c: f"excluded.{c}" for c in ARTICLE_COLUMNS if c != "article_id"}
    upsert(
        con, "articles", "article_id", [*ARTICLE_COLUMNS, "first_seen_at", "last_seen_at", "updated_at", "run_id"],
        f"SELECT {columns}, now()::TIMESTAMP AS first_seen_at, now()::TIMESTAMP AS last_seen_at,"
        f" now()::TIMESTAMP AS updated_at, ?::VARCHAR AS run_id FROM {relation}",
        {**updates, "last_seen_at": "excluded.last_seen_at", "updated_at": "excluded.updated_at",
         "run_id": "excluded.run_id"},
        [run_id],
    )
