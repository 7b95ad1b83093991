"""The warehouse schema, as an ordered list of migrations.

Each migration runs once, in its own transaction, and records its number in
`schema_version`; connecting to an older file brings it up to date. Add new
migrations at the end; never edit one that has shipped.

The same migrations build a DuckLake warehouse, less what DuckLake cannot
keep: primary keys and unique constraints are dropped (the loads keep their
keys unique, see `backends.upsert`) and indexes are not created.
"""

from __future__ import annotations

import re

import duckdb

from warehouse.backends import begin_write, on_lake, rollback

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "articles, audit of cut furniture, runs and failures",
        """
        CREATE TABLE articles (
            article_id    VARCHAR PRIMARY KEY,
            source_uri    VARCHAR NOT NULL,
            url           VARCHAR,
            site          VARCHAR,
            title         VARCHAR,
            subtitle      VARCHAR,
            authors       VARCHAR[],
            published_at  TIMESTAMP,
            section       VARCHAR,
            language      VARCHAR,
            body          VARCHAR,
            word_count    INTEGER,
            content_hash  VARCHAR NOT NULL,
            duplicate_of  VARCHAR,
            extractor     VARCHAR,
            first_seen_at TIMESTAMP NOT NULL,
            last_seen_at  TIMESTAMP NOT NULL,
            updated_at    TIMESTAMP NOT NULL,
            run_id        VARCHAR NOT NULL
        );
        CREATE INDEX articles_content_hash ON articles (content_hash);
        CREATE TABLE boilerplate_segments (
            article_id VARCHAR NOT NULL,
            position   INTEGER NOT NULL,
            text       VARCHAR NOT NULL,
            reason     VARCHAR NOT NULL
        );
        CREATE TABLE document_lines (
            article_id VARCHAR PRIMARY KEY,
            line_keys  VARCHAR[] NOT NULL
        );
        CREATE TABLE line_key_docs (
            line_key VARCHAR PRIMARY KEY,
            n_docs   INTEGER NOT NULL
        );
        CREATE TABLE ingest_runs (
            run_id              VARCHAR PRIMARY KEY,
            flow_name           VARCHAR NOT NULL,
            started_at          TIMESTAMP NOT NULL,
            finished_at         TIMESTAMP,
            status              VARCHAR NOT NULL,
            n_seen              INTEGER NOT NULL DEFAULT 0,
            n_new               INTEGER NOT NULL DEFAULT 0,
            n_updated           INTEGER NOT NULL DEFAULT 0,
            n_unchanged         INTEGER NOT NULL DEFAULT 0,
            n_failed            INTEGER NOT NULL DEFAULT 0,
            n_duplicates        INTEGER NOT NULL DEFAULT 0,
            prefect_flow_run_id VARCHAR,
            pid                 INTEGER,
            hostname            VARCHAR
        );
        CREATE TABLE failures (
            run_id      VARCHAR NOT NULL,
            source_uri  VARCHAR NOT NULL,
            stage       VARCHAR NOT NULL,
            error       VARCHAR NOT NULL,
            occurred_at TIMESTAMP NOT NULL
        );
        CREATE VIEW unique_articles AS
            SELECT * FROM articles WHERE duplicate_of IS NULL;
        CREATE VIEW cut_summary AS
            SELECT a.article_id, a.title, b.reason, count(*) AS n_segments
            FROM boilerplate_segments b JOIN articles a USING (article_id)
            GROUP BY ALL;
        """,
    ),
    (
        2,
        "entities, their mentions, quotes; views over them",
        """
        CREATE TABLE entities (
            entity_id  VARCHAR PRIMARY KEY,
            key        VARCHAR NOT NULL,
            name       VARCHAR NOT NULL,
            label      VARCHAR NOT NULL,
            aliases    VARCHAR[] NOT NULL,
            n_mentions INTEGER NOT NULL,
            n_articles INTEGER NOT NULL
        );
        CREATE TABLE entity_mentions (
            article_id VARCHAR NOT NULL,
            entity_id  VARCHAR NOT NULL,
            text       VARCHAR NOT NULL,
            label      VARCHAR NOT NULL,
            raw_label  VARCHAR NOT NULL,
            start_char INTEGER NOT NULL,
            end_char   INTEGER NOT NULL,
            in_title   BOOLEAN NOT NULL
        );
        CREATE TABLE quotes (
            article_id        VARCHAR NOT NULL,
            quote             VARCHAR NOT NULL,
            speaker           VARCHAR,
            speaker_entity_id VARCHAR,
            start_char        INTEGER NOT NULL,
            end_char          INTEGER NOT NULL
        );
        CREATE TABLE entity_runs (
            article_id VARCHAR PRIMARY KEY,
            status     VARCHAR NOT NULL
        );
        CREATE VIEW article_entities AS
            SELECT m.article_id, a.title, e.name, e.label, count(*) AS mentions
            FROM entity_mentions m JOIN entities e USING (entity_id) JOIN articles a USING (article_id)
            GROUP BY ALL;
        CREATE VIEW entity_cooccurrence AS
            SELECT e1.name AS entity_a, e2.name AS entity_b, count(DISTINCT x.article_id) AS n_articles
            FROM (SELECT DISTINCT article_id, entity_id FROM entity_mentions) x
            JOIN (SELECT DISTINCT article_id, entity_id FROM entity_mentions) y
              ON x.article_id = y.article_id AND x.entity_id < y.entity_id
            JOIN entities e1 ON e1.entity_id = x.entity_id
            JOIN entities e2 ON e2.entity_id = y.entity_id
            GROUP BY ALL;
        CREATE VIEW entity_timeline AS
            SELECT e.name, e.label, a.published_at::DATE AS day,
                   count(DISTINCT m.article_id) AS articles, count(*) AS mentions
            FROM entity_mentions m JOIN entities e USING (entity_id) JOIN articles a USING (article_id)
            WHERE a.published_at IS NOT NULL
            GROUP BY ALL;
        """,
    ),
    (
        3,
        "web sources with their fetch state; story signatures for near-duplicates; v_stories",
        """
        ALTER TABLE articles ADD COLUMN duplicate_kind VARCHAR;
        UPDATE articles SET duplicate_kind = 'identical' WHERE duplicate_of IS NOT NULL;
        ALTER TABLE ingest_runs ADD COLUMN n_not_modified INTEGER DEFAULT 0;
        ALTER TABLE entities ADD COLUMN n_stories INTEGER DEFAULT 0;
        UPDATE entities SET n_stories = n_articles;
        CREATE TABLE sources (
            url                  VARCHAR PRIMARY KEY,
            kind                 VARCHAR NOT NULL,
            requested_url        VARCHAR NOT NULL,
            discovered_from      VARCHAR,
            article_id           VARCHAR,
            etag                 VARCHAR,
            last_modified        VARCHAR,
            body_hash            VARCHAR,
            last_status          INTEGER,
            last_outcome         VARCHAR NOT NULL,
            last_error           VARCHAR,
            last_fetched_at      TIMESTAMP NOT NULL,
            last_changed_at      TIMESTAMP,
            consecutive_failures INTEGER NOT NULL,
            first_seen_at        TIMESTAMP NOT NULL
        );
        CREATE TABLE robots_txt (
            site       VARCHAR PRIMARY KEY,
            body       VARCHAR NOT NULL,
            fetched_at TIMESTAMP NOT NULL
        );
        CREATE TABLE story_signatures (
            article_id VARCHAR PRIMARY KEY,
            minhash    UINTEGER[] NOT NULL
        );
        CREATE TABLE story_bands (
            band_key   BIGINT NOT NULL,
            article_id VARCHAR NOT NULL
        );
        CREATE VIEW v_stories AS
            SELECT s.story_id, r.title, r.url, r.site, r.published_at,
                   count(*) AS n_copies,
                   count(*) FILTER (WHERE s.duplicate_kind = 'near') AS n_near_copies,
                   list(s.article_id ORDER BY s.first_seen_at, s.article_id) AS article_ids,
                   list(DISTINCT s.site) FILTER (WHERE s.site IS NOT NULL) AS sites,
                   min(s.first_seen_at) AS first_seen_at
            FROM (SELECT coalesce(duplicate_of, article_id) AS story_id, * FROM articles) s
            JOIN articles r ON r.article_id = s.story_id
            GROUP BY s.story_id, r.title, r.url, r.site, r.published_at;
        """,
    ),
    (
        4,
        "quotes.speaker_role: the words naming a speaker who is no entity",
        """
        ALTER TABLE quotes ADD COLUMN speaker_role VARCHAR;
        """,
    ),
    (
        5,
        "entities: gazetteer identifiers (GeoNames id, ISO 3166 country code, Wikidata id)",
        """
        ALTER TABLE entities ADD COLUMN geonames_id BIGINT;
        ALTER TABLE entities ADD COLUMN country_code VARCHAR;
        ALTER TABLE entities ADD COLUMN wikidata_id VARCHAR;
        """,
    ),
    (
        6,
        "articles.published_at as TIMESTAMPTZ with the stated offset, day and a date-only flag; entity_timeline by that day",
        # Until now published_at held the page's own calendar day at midnight, read as UTC: those rows keep their
        # day (published_on) and become date-only. The index is dropped and rebuilt because DuckDB does not alter
        # the type of an indexed table's column; the type changes before the UPDATE, as DuckDB refuses an ALTER
        # after rows changed in the same transaction.
        """
        DROP INDEX articles_content_hash;
        ALTER TABLE articles ALTER published_at TYPE TIMESTAMPTZ
            USING (strftime(published_at, '%Y-%m-%d %H:%M:%S') || '+00')::TIMESTAMPTZ;
        ALTER TABLE articles ADD COLUMN published_on DATE;
        ALTER TABLE articles ADD COLUMN published_utc_offset INTEGER;
        ALTER TABLE articles ADD COLUMN published_date_only BOOLEAN;
        UPDATE articles SET published_on = (published_at AT TIME ZONE 'UTC')::DATE, published_date_only = true
            WHERE published_at IS NOT NULL;
        CREATE INDEX articles_content_hash ON articles (content_hash);
        CREATE OR REPLACE VIEW entity_timeline AS
            SELECT e.name, e.label, a.published_on AS day,
                   count(DISTINCT m.article_id) AS articles, count(*) AS mentions
            FROM entity_mentions m JOIN entities e USING (entity_id) JOIN articles a USING (article_id)
            WHERE a.published_on IS NOT NULL
            GROUP BY ALL;
        """,
    ),
    (
        7,
        "ingest_runs.shard_flow_run_ids: the shard runs an ingest_sharded run fanned out over the work pool",
        """
        ALTER TABLE ingest_runs ADD COLUMN shard_flow_run_ids VARCHAR[];
        """,
    ),
    (
        8,
        "ingest_runs.n_skipped: inputs left out on purpose (WARC records not HTML or not 200, filtered out)",
        """
        ALTER TABLE ingest_runs ADD COLUMN n_skipped INTEGER DEFAULT 0;
        """,
    ),
    (
        9,
        "articles.decode_note: bytes that did not fit the document's encoding and were replaced (U+FFFD)",
        """
        ALTER TABLE articles ADD COLUMN decode_note VARCHAR;
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


_KEY_CLAUSE = re.compile(r",\s*(?:PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.IGNORECASE)
_KEY_CONSTRAINT = re.compile(r"\s+(?:PRIMARY\s+KEY|UNIQUE)\b", re.IGNORECASE)
_INDEX = re.compile(r"\b(?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+)INDEX\b[^;]*;", re.IGNORECASE)


_RETYPE_USING = re.compile(
    r"\bALTER\s+TABLE\s+(?P<table>\w+)\s+ALTER\s+(?:COLUMN\s+)?(?P<column>\w+)\s+(?:SET\s+DATA\s+)?TYPE\s+"
    r"(?P<type>[^;]+?)\s+USING\s+(?P<expression>[^;]+);", re.IGNORECASE)


def _retype_by_copy(match: re.Match) -> str:
    """DuckLake changes a column's type only by a plain cast: a USING expression becomes a new column
    filled from it, which then takes the old one's name (and moves to the end of the table)."""
    table, column, kind, expression = match["table"], match["column"], match["type"], match["expression"]
    return (f"ALTER TABLE {table} ADD COLUMN {column}__retyped {kind}; "
            f"UPDATE {table} SET {column}__retyped = {expression}; "
            f"ALTER TABLE {table} DROP COLUMN {column}; "
            f"ALTER TABLE {table} RENAME {column}__retyped TO {column};")


def for_ducklake(sql: str) -> str:
    """A migration as DuckLake takes it: no key constraints, no indexes made or dropped (it has neither),
    type changes with an expression done by copy."""
    return _RETYPE_USING.sub(_retype_by_copy, _KEY_CONSTRAINT.sub("", _KEY_CLAUSE.sub("", _INDEX.sub("", sql))))


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_name = 'schema_version' AND table_catalog = current_database()"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the warehouse's version; returns the new version.

    `write_epoch` is one row every write transaction bumps (`begin_write`), so
    that concurrent writers to a lake conflict and retry; migrations claim it too.
    """
    lake = on_lake(con)
    con.begin()
    try:
        ledger = ("CREATE TABLE IF NOT EXISTS schema_version ("
                  " version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)")
        con.execute(for_ducklake(ledger) if lake else ledger)
        con.execute("CREATE TABLE IF NOT EXISTS write_epoch (epoch BIGINT NOT NULL)")
        con.execute("INSERT INTO write_epoch SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM write_epoch)")
        con.commit()
    except Exception:
        rollback(con)
        raise
    version = current_version(con)
    for number, description, sql in MIGRATIONS:
        if number <= version:
            continue
        begin_write(con)
        try:
            con.execute(for_ducklake(sql) if lake else sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, now()::TIMESTAMP)", [number, description]
            )
            con.commit()
        except Exception:
            rollback(con)
            raise
        version = number
    return version
