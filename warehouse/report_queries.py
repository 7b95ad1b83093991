"""Read-only queries behind the Python API (`newsflow.open`) and the report page, as pandas DataFrames.

Every function takes an open connection (read-only is enough) and returns a DataFrame with the
columns its docstring lists; the callers hold the connection only for the call. Dates filter on
the page's own publication day, `published_on` (inclusive), except where a function says otherwise.
"""

from __future__ import annotations

import duckdb
import pandas as pd

ARTICLE_COLUMNS = (
    "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at", "section",
    "language", "word_count", "duplicate_of", "duplicate_kind", "extractor", "first_seen_at", "body",
)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    return con.sql(sql, params=params or {}).df()


def _dated(column: str) -> str:
    return (f"($since IS NULL OR {column} >= CAST($since AS DATE))"
            f" AND ($until IS NULL OR {column} < CAST($until AS DATE) + INTERVAL 1 DAY)")


def articles(con, since=None, until=None, site=None, language=None, copies: bool = False,
             limit: int | None = None) -> pd.DataFrame:
    """ARTICLE_COLUMNS, newest first; copies of a story only with `copies=True`."""
    sql = (
        f"SELECT {', '.join(ARTICLE_COLUMNS)} FROM articles"
        f" WHERE {_dated('published_on')} AND ($site IS NULL OR site = $site)"
        " AND ($language IS NULL OR language = $language) AND ($copies OR duplicate_of IS NULL)"
        " ORDER BY published_at DESC NULLS LAST, first_seen_at DESC, article_id"
        + (" LIMIT $limit" if limit is not None else "")
    )
    params = {"since": since, "until": until, "site": site, "language": language, "copies": copies}
    if limit is not None:
        params["limit"] = int(limit)
    return _frame(con, sql, params)


ENTITY_MATCH = (
    "lower(name) = lower($name) OR list_contains(list_transform(aliases, x -> lower(x)), lower($name))"
    " OR entity_id = $name"
)
"""An entity named by its canonical name, any alias (any case) or its id."""


def find_entity(con, name: str) -> dict | None:
    """The entity a name stands for (the most mentioned when several share the alias), or None."""
    cursor = con.execute(
        "SELECT entity_id, name, label, aliases, n_mentions, n_articles, n_stories, geonames_id, country_code,"
        f" wikidata_id FROM entities WHERE {ENTITY_MATCH.replace('$name', '$1')}"
        " ORDER BY n_mentions DESC, entity_id LIMIT 1",
        [name],
    )
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def similar_entity_names(con, name: str, limit: int = 5) -> list[str]:
    """Names that contain `name`, most mentioned first: suggestions when nothing matched exactly."""
    return [row[0] for row in con.execute(
        "SELECT name FROM entities WHERE name ILIKE '%' || ? || '%' ORDER BY n_mentions DESC LIMIT ?", [name, limit]
    ).fetchall()]


def entity_daily(con, entity_id: str, by_site: bool = False) -> pd.DataFrame:
    """day, [site ('(no site)' when unknown),] articles, mentions: the entity's mentions per publication day
    (undated articles left out)."""
    site = "coalesce(a.site, '(no site)') AS site, " if by_site else ""
    return _frame(
        con,
        f"SELECT a.published_on AS day, {site}count(DISTINCT m.article_id) AS articles, count(*) AS mentions"
        " FROM entity_mentions m JOIN articles a USING (article_id)"
        " WHERE m.entity_id = $entity AND a.published_on IS NOT NULL GROUP BY ALL ORDER BY ALL",
        {"entity": entity_id},
    )


def entity_mentions(con, entity_id: str) -> pd.DataFrame:
    """article_id, title, published_at, site, text, label, start_char, end_char, in_title: every mention."""
    return _frame(
        con,
        "SELECT m.article_id, a.title, a.published_at, a.site, m.text, m.label, m.start_char, m.end_char, m.in_title"
        " FROM entity_mentions m JOIN articles a USING (article_id) WHERE m.entity_id = $entity"
        " ORDER BY a.published_at NULLS LAST, m.article_id, m.start_char",
        {"entity": entity_id},
    )


def quotes(con, speaker=None, since=None, until=None, article_id=None, limit: int | None = None) -> pd.DataFrame:
    """article_id, title, published_at, site, speaker, speaker_role, quote, start_char, end_char.

    `speaker`: the speaker's canonical name or any alias of their entity, any case.
    """
    sql = (
        "SELECT q.article_id, a.title, a.published_at, a.site, q.speaker, q.speaker_role, q.quote,"
        " q.start_char, q.end_char FROM quotes q JOIN articles a USING (article_id)"
        f" WHERE {_dated('a.published_on')} AND ($article IS NULL OR q.article_id = $article)"
        " AND ($name IS NULL OR lower(q.speaker) = lower($name) OR q.speaker_entity_id IN"
        f" (SELECT entity_id FROM entities WHERE {ENTITY_MATCH}))"
        " ORDER BY a.published_at NULLS LAST, q.article_id, q.start_char"
        + (" LIMIT $limit" if limit is not None else "")
    )
    params = {"since": since, "until": until, "article": article_id, "name": speaker}
    if limit is not None:
        params["limit"] = int(limit)
    return _frame(con, sql, params)


def runs(con, since=None, limit: int | None = None) -> pd.DataFrame:
    """Every column of ingest_runs plus seconds and failures (rows in `failures`), newest first; `since` on started_at."""
    sql = (
        "SELECT r.*, round(epoch(r.finished_at - r.started_at), 2) AS seconds,"
        " (SELECT count(*) FROM failures f WHERE f.run_id = r.run_id) AS failures"
        " FROM ingest_runs r WHERE $since IS NULL OR r.started_at >= CAST($since AS DATE)"
        " ORDER BY r.started_at DESC" + (" LIMIT $limit" if limit is not None else "")
    )
    params = {"since": since}
    if limit is not None:
        params["limit"] = int(limit)
    return _frame(con, sql, params)


def failures(con, run_id=None, since=None) -> pd.DataFrame:
    """run_id, source_uri, stage, error, occurred_at, newest first; `since` on occurred_at."""
    return _frame(
        con,
        "SELECT run_id, source_uri, stage, error, occurred_at FROM failures"
        " WHERE ($run IS NULL OR run_id = $run) AND ($since IS NULL OR occurred_at >= CAST($since AS DATE))"
        " ORDER BY occurred_at DESC, source_uri",
        {"run": run_id, "since": since},
    )


def stories(con, min_copies: int = 1, since=None, until=None) -> pd.DataFrame:
    """v_stories (story_id, title, url, site, published_at, n_copies, n_near_copies, article_ids, sites), largest first."""
    return _frame(
        con,
        f"SELECT * FROM v_stories WHERE n_copies >= $min AND {_dated('published_at')}"
        " ORDER BY n_copies DESC, published_at DESC NULLS LAST, story_id",
        {"min": int(min_copies), "since": since, "until": until},
    )


def entities(con, label=None, limit: int | None = 50, since=None) -> pd.DataFrame:
    """entity_id, name, label, aliases, articles, stories, mentions (in articles dated since `since`), most stories first."""
    sql = (
        "SELECT e.entity_id, e.name, e.label, e.aliases, count(DISTINCT m.article_id) AS articles,"
        " count(DISTINCT coalesce(a.duplicate_of, a.article_id)) AS stories, count(*) AS mentions"
        " FROM entity_mentions m JOIN entities e USING (entity_id) JOIN articles a USING (article_id)"
        " WHERE ($label IS NULL OR e.label = $label)"
        " AND ($since IS NULL OR coalesce(a.published_at, a.first_seen_at) >= CAST($since AS DATE))"
        " GROUP BY ALL ORDER BY stories DESC, mentions DESC, e.name" + (" LIMIT $limit" if limit is not None else "")
    )
    params = {"label": label, "since": since}
    if limit is not None:
        params["limit"] = int(limit)
    return _frame(con, sql, params)


# --- the report's aggregates: `since` keeps articles first published (or, undated, first seen) since then


_ARTICLE_SINCE = "($since IS NULL OR coalesce(a.published_at, a.first_seen_at) >= CAST($since AS DATE))"


def totals(con, since=None) -> dict:
    """Counts for the report's header."""
    row = con.sql(
        "SELECT count(*) AS articles, count(*) FILTER (WHERE duplicate_of IS NULL) AS stories,"
        " count(*) FILTER (WHERE duplicate_kind = 'identical') AS identical_copies,"
        " count(*) FILTER (WHERE duplicate_kind = 'near') AS near_copies,"
        " count(DISTINCT site) AS sites, count(*) FILTER (WHERE published_at IS NULL) AS undated,"
        " min(published_on) AS first_day, max(published_on) AS last_day,"
        " (SELECT count(*) FROM entities) AS entities, (SELECT count(*) FROM quotes) AS quotes,"
        " (SELECT count(*) FROM ingest_runs WHERE $since IS NULL OR started_at >= CAST($since AS DATE)) AS runs,"
        " (SELECT count(*) FROM failures WHERE $since IS NULL OR occurred_at >= CAST($since AS DATE)) AS failures"
        f" FROM articles a WHERE {_ARTICLE_SINCE}",
        params={"since": since},
    )
    return dict(zip(row.columns, row.fetchone()))


def articles_per_day(con, since=None) -> pd.DataFrame:
    """day, site ('(no site)' when unknown), articles: dated articles per publication day and site."""
    return _frame(
        con,
        "SELECT published_on AS day, coalesce(site, '(no site)') AS site, count(*) AS articles"
        f" FROM articles a WHERE published_on IS NOT NULL AND {_ARTICLE_SINCE} GROUP BY ALL ORDER BY ALL",
        {"since": since},
    )


def entity_days(con, entity_ids: list[str], since=None) -> pd.DataFrame:
    """entity_id, day, mentions: mentions per publication day of the given entities."""
    return _frame(
        con,
        "SELECT m.entity_id, a.published_on AS day, count(*) AS mentions"
        " FROM entity_mentions m JOIN articles a USING (article_id)"
        f" WHERE m.entity_id IN (SELECT unnest($ids)) AND a.published_on IS NOT NULL AND {_ARTICLE_SINCE}"
        " GROUP BY ALL ORDER BY ALL",
        {"ids": list(entity_ids), "since": since},
    )


def top_speakers(con, since=None, limit: int = 15) -> pd.DataFrame:
    """speaker, quotes, articles, example (the longest quote, cut to 160 characters): named speakers only."""
    return _frame(
        con,
        "SELECT q.speaker, count(*) AS quotes, count(DISTINCT q.article_id) AS articles,"
        " left(arg_max(q.quote, length(q.quote)), 160) AS example"
        f" FROM quotes q JOIN articles a USING (article_id) WHERE q.speaker IS NOT NULL AND {_ARTICLE_SINCE}"
        " GROUP BY ALL ORDER BY quotes DESC, q.speaker LIMIT $limit",
        {"since": since, "limit": int(limit)},
    )


def cut_reasons(con, since=None) -> pd.DataFrame:
    """reason, segments, articles: what the cleaner cut and why, most cut first."""
    return _frame(
        con,
        "SELECT b.reason, count(*) AS segments, count(DISTINCT b.article_id) AS articles"
        f" FROM boilerplate_segments b JOIN articles a USING (article_id) WHERE {_ARTICLE_SINCE}"
        " GROUP BY ALL ORDER BY segments DESC, b.reason",
        {"since": since},
    )


def story_sizes(con, since=None) -> pd.DataFrame:
    """copies, stories: how many stories have 1, 2, 3... articles."""
    return _frame(
        con,
        "SELECT n AS copies, count(*) AS stories FROM (SELECT coalesce(a.duplicate_of, a.article_id) AS story,"
        f" count(*) AS n FROM articles a WHERE {_ARTICLE_SINCE} GROUP BY ALL) GROUP BY ALL ORDER BY copies",
        {"since": since},
    )


def runs_per_day(con, since=None) -> pd.DataFrame:
    """day, status, runs, new, failed: runs per start day and how they ended."""
    return _frame(
        con,
        "SELECT started_at::DATE AS day, status, count(*) AS runs, sum(n_new) AS new, sum(n_failed) AS failed"
        " FROM ingest_runs WHERE $since IS NULL OR started_at >= CAST($since AS DATE) GROUP BY ALL ORDER BY ALL",
        {"since": since},
    )


def failures_per_day(con, since=None) -> pd.DataFrame:
    """day, stage, failures."""
    return _frame(
        con,
        "SELECT occurred_at::DATE AS day, stage, count(*) AS failures FROM failures"
        " WHERE $since IS NULL OR occurred_at >= CAST($since AS DATE) GROUP BY ALL ORDER BY ALL",
        {"since": since},
    )


def failure_reasons(con, since=None, limit: int = 10) -> pd.DataFrame:
    """stage, error, failures, last: the commonest failure reasons."""
    return _frame(
        con,
        "SELECT stage, error, count(*) AS failures, max(occurred_at) AS last FROM failures"
        " WHERE $since IS NULL OR occurred_at >= CAST($since AS DATE) GROUP BY ALL"
        " ORDER BY failures DESC, last DESC LIMIT $limit",
        {"since": since, "limit": int(limit)},
    )
