"""Read-only lookups the flows make before extracting: what the warehouse already holds.

Each takes an open connection (read-only is enough) and the batch's keys,
and costs the batch, not the corpus: the keys are joined as a registered
frame, never looped over.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import duckdb
import pandas as pd

from extractors.entity_resolution import KnownEntity
from extractors.text_cleaning import story_counts
from warehouse.frames import frames, strings
from warehouse.records import SourceState

def source_states(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, SourceState]:
    """The last fetch of each of these canonical URLs the warehouse remembers (validators, body hash, article)."""
    with frames(con, wanted=pd.DataFrame({"url": strings(urls)})):
        rows = con.execute(
            "SELECT url, kind, requested_url, last_outcome, last_fetched_at, last_status, last_error, etag,"
            " last_modified, body_hash, article_id, discovered_from FROM sources JOIN wanted USING (url)"
        ).fetchall()
    return {row[0]: SourceState(*row) for row in rows}


ROBOTS_MAX_AGE_HOURS = 24
"""How long a fetched robots.txt is trusted, as Google does: rules change rarely, requests add up."""


def recent_robots(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """robots.txt texts fetched within the last ROBOTS_MAX_AGE_HOURS, by "scheme://host[:port]"."""
    return dict(con.execute(
        "SELECT site, body FROM robots_txt WHERE fetched_at > now()::TIMESTAMP - to_hours(?)",
        [ROBOTS_MAX_AGE_HOURS],
    ).fetchall())


def ingested_urls(con: duckdb.DuckDBPyConnection, urls: Mapping[str, str]) -> set[str]:
    """Which of these canonical URLs (mapped to their article ids) already gave an article."""
    frame = pd.DataFrame({"url": strings(urls), "article_id": strings(urls.values())})
    with frames(con, wanted=frame):
        return {url for (url,) in con.execute(
            "SELECT w.url FROM wanted w WHERE EXISTS (SELECT 1 FROM articles a WHERE a.article_id = w.article_id)"
            " OR EXISTS (SELECT 1 FROM sources s WHERE s.url = w.url AND s.article_id IS NOT NULL)"
        ).fetchall()}


def stored_hashes(con: duckdb.DuckDBPyConnection, article_ids: Iterable[str]) -> dict[str, str]:
    """Content hash of each of these articles the warehouse holds: the unchanged check, before cleaning."""
    with frames(con, ids=pd.DataFrame({"article_id": strings(article_ids)})):
        return dict(con.execute(
            "SELECT a.article_id, a.content_hash FROM articles a JOIN ids USING (article_id)"
        ).fetchall())


def originals_by_content(con: duckdb.DuckDBPyConnection, hashes: Iterable[str]) -> dict[str, str]:
    """For each content hash, the first article extracted from it (not an identical copy of another)."""
    with frames(con, wanted=pd.DataFrame({"content_hash": list(set(hashes))})):
        rows = con.execute(
            "SELECT content_hash, arg_min(article_id, (first_seen_at, article_id)) FROM articles"
            " JOIN wanted USING (content_hash) WHERE duplicate_kind IS DISTINCT FROM 'identical'"
            " GROUP BY content_hash"
        ).fetchall()
    return dict(rows)


def known_entities(con: duckdb.DuckDBPyConnection) -> list[KnownEntity]:
    """Every stored entity, for new mentions to join: ids never change once given."""
    return [
        KnownEntity(key, name, label, n_mentions, n_articles)
        for key, name, label, n_mentions, n_articles in con.execute(
            "SELECT key, name, label, n_mentions, n_articles FROM entities"
        ).fetchall()
    ]


def recurring_line_keys(
    con: duckdb.DuckDBPyConnection, batch_lines: Mapping[str, frozenset[str]], min_docs: int
) -> frozenset[str]:
    """Line keys of this batch that occur in at least `min_docs` distinct stored or batch stories.

    A line is furniture because it recurs across different stories, never
    because copies of one story repeat it: stored near copies (articles with
    a `duplicate_of`) do not count, and the batch counts each group of copies
    once (`story_counts`). `line_key_docs` keeps per-document counts, so this
    costs the batch's keys and the stored copies, not the corpus; the batch's
    new versions replace their stored ones.
    """
    batch_counts = story_counts(batch_lines)
    if not batch_counts:
        return frozenset()
    with frames(con, keys=pd.DataFrame({"line_key": list(batch_counts)}),
                 ids=pd.DataFrame({"article_id": list(batch_lines)})):
        stored = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs JOIN keys USING (line_key)").fetchall())
        replaced = Counter(
            key for (key,) in con.execute(
                "SELECT unnest(line_keys) FROM document_lines JOIN ids USING (article_id)"
            ).fetchall()
        )
        copies = dict(con.execute(
            "SELECT line_key, count(*) FROM (SELECT unnest(d.line_keys) AS line_key FROM document_lines d"
            " JOIN articles a USING (article_id) WHERE a.duplicate_of IS NOT NULL"
            " AND d.article_id NOT IN (SELECT article_id FROM ids)) JOIN keys USING (line_key) GROUP BY ALL"
        ).fetchall())
    return frozenset(
        key for key, n in batch_counts.items()
        if stored.get(key, 0) - copies.get(key, 0) - replaced[key] + n >= min_docs
    )
