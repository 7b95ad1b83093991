"""The Python API: `newsflow.open(path)` and what a warehouse answers, each answer a pandas DataFrame.

Read-only and short: each method opens the file read-only (retrying for up to `lock_wait` seconds
while a load commits), runs its queries and closes it. Nothing here holds the file between calls.
The SQL lives in `warehouse.report_queries` and `warehouse.search`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from flows import settings
from warehouse import report_queries as rq
from warehouse import search as fts
from warehouse.queries import LOCK_RETRY_SECONDS, read_only


def open(path: str | os.PathLike | None = None, lock_wait: float = LOCK_RETRY_SECONDS) -> Warehouse:  # noqa: A001
    """The warehouse at `path` (default: $NEWSFLOW_DB, else data/news.duckdb); it must exist.

    >>> wh = newsflow.open("data/news.duckdb")   # doctest: +SKIP
    >>> wh.articles(site="www.example.com").shape   # doctest: +SKIP
    """
    warehouse = Warehouse(str(path or settings.current().db), lock_wait)
    if not os.path.exists(warehouse.path):
        raise FileNotFoundError(f"no warehouse at {warehouse.path}: run `newsflow ingest` first")
    return warehouse


@dataclass(frozen=True)
class Warehouse:
    """A warehouse file, read in short read-only connections. Build one with `newsflow.open`."""

    path: str
    lock_wait: float = LOCK_RETRY_SECONDS

    def _read(self, query: Callable[..., Any], *args, fts_loaded: bool = False, **kwargs) -> Any:
        with read_only(self.path, self.lock_wait) as con:
            if fts_loaded:
                fts.load_fts(con)
            return query(con, *args, **kwargs)

    def articles(self, since: str | None = None, until: str | None = None, site: str | None = None,
                 language: str | None = None, copies: bool = False, limit: int | None = None) -> pd.DataFrame:
        """Articles, newest first: one per story unless `copies=True`.

        Columns: article_id, source_uri, url, site, title, subtitle, authors, published_at, section,
        language, word_count, duplicate_of, duplicate_kind, extractor, first_seen_at, body.
        `since`/`until`: inclusive dates on published_on, the page's own publication day (undated
        articles then drop out).

        >>> wh.articles(since="2025-05-01", site="www.example.com")[["title", "published_at"]]  # doctest: +SKIP
        """
        return self._read(rq.articles, since, until, site, language, copies, limit)

    def search(self, query: str, limit: int | None = 20, since: str | None = None, until: str | None = None,
               site: str | None = None, entity: str | None = None, language: str | None = None) -> pd.DataFrame:
        """Full-text search, best first, one row per story (see README "Search" for the query syntax).

        Columns: article_id, source_uri, url, title, published_at, site, language, score, snippet,
        copies (articles in the story), story_id. Raises `warehouse.search.SearchQueryError` for a
        malformed query.

        >>> wh.search('minerals "peace talks" -Russia', since="2025-05-01")  # doctest: +SKIP
        """
        return self._read(lambda con: fts.search(con, query, limit, since, until, site, entity, language).df(),
                          fts_loaded=True)

    def entity(self, name: str) -> Entity:
        """The entity called `name` (canonical name, any alias, any case, or its id). Raises LookupError.

        >>> wh.entity("Zelensky").name   # doctest: +SKIP
        'Volodymyr Zelenskyy'
        """
        def find(con):
            return rq.find_entity(con, name), rq.similar_entity_names(con, name)

        found, similar = self._read(find)
        if found is None:
            hint = f"; names containing it: {', '.join(similar)}" if similar else ""
            raise LookupError(f"no entity called {name!r}{hint}")
        return Entity(self, **found)

    def entities(self, label: str | None = None, limit: int | None = 50, since: str | None = None) -> pd.DataFrame:
        """Entities by the number of stories naming them. Columns: entity_id, name, label, aliases, articles,
        stories, mentions. `label`: PERSON, ORG, GPE, LOC, NORP, FAC, EVENT."""
        return self._read(rq.entities, label, limit, since)

    def quotes(self, speaker: str | None = None, since: str | None = None, until: str | None = None,
               article_id: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Direct quotations with their speakers, oldest first.

        Columns: article_id, title, published_at, site, speaker, speaker_role, quote, start_char,
        end_char. `speaker`: a name or any alias of the speaker's entity, any case.

        >>> wh.quotes(speaker="Zelensky")[["speaker", "quote"]]   # doctest: +SKIP
        """
        return self._read(rq.quotes, speaker, since, until, article_id, limit)

    def runs(self, since: str | None = None, limit: int | None = None) -> pd.DataFrame:
        """Flow runs, newest first: every column of ingest_runs plus seconds and failures.

        >>> wh.runs(limit=5)[["started_at", "status", "n_new", "n_failed", "seconds"]]   # doctest: +SKIP
        """
        return self._read(rq.runs, since, limit)

    def failures(self, run_id: str | None = None, since: str | None = None) -> pd.DataFrame:
        """Inputs that did not land. Columns: run_id, source_uri, stage, error, occurred_at."""
        return self._read(rq.failures, run_id, since)

    def stories(self, min_copies: int = 1, since: str | None = None, until: str | None = None) -> pd.DataFrame:
        """One row per story (v_stories), largest first: story_id, title, url, site, published_at, n_copies,
        n_near_copies, article_ids, sites, first_seen_at."""
        return self._read(rq.stories, min_copies, since, until)

    def sql(self, query: str, params: dict | list | None = None) -> pd.DataFrame:
        """Any read-only SQL, as a DataFrame (the connection cannot write)."""
        return self._read(lambda con: con.sql(query, params=params).df(), fts_loaded=True)


@dataclass(frozen=True)
class Entity:
    """A person, organisation or place of the warehouse, merged across spellings. Get one with `Warehouse.entity`."""

    warehouse: Warehouse = field(repr=False)
    entity_id: str
    name: str
    label: str
    aliases: list[str]
    n_mentions: int
    n_articles: int
    n_stories: int
    geonames_id: int | None = None
    country_code: str | None = None
    wikidata_id: str | None = None

    def timeline(self, freq: str = "D", by: str | None = None) -> pd.DataFrame:
        """Articles and mentions per period of publication, with empty periods as zeros.

        `freq`: a pandas offset alias ("D" days, "W" weeks, "MS" months). `by="site"` adds a site
        column (one series per site). Columns: period, [site,] articles, mentions. Undated
        articles are left out.

        >>> wh.entity("Zelensky").timeline(freq="D").tail(3)   # doctest: +SKIP
        """
        if by not in (None, "site"):
            raise ValueError(f"by must be None or 'site', not {by!r}")
        daily = self.warehouse._read(rq.entity_daily, self.entity_id, by_site=by == "site")
        columns = ["period", *(["site"] if by else []), "articles", "mentions"]
        if daily.empty:
            return pd.DataFrame(columns=columns)
        daily["day"] = pd.to_datetime(daily["day"])
        groups = daily.groupby("site") if by else [(None, daily)]
        frames = []
        for site, group in groups:
            series = group.set_index("day")[["articles", "mentions"]].resample(freq).sum().reset_index()
            series = series.rename(columns={"day": "period"})
            if by:
                series.insert(1, "site", site)
            frames.append(series)
        return pd.concat(frames, ignore_index=True)[columns]

    def mentions(self) -> pd.DataFrame:
        """Every mention with its offsets. Columns: article_id, title, published_at, site, text, label,
        start_char, end_char, in_title."""
        return self.warehouse._read(rq.entity_mentions, self.entity_id)

    def quotes(self) -> pd.DataFrame:
        """What this entity said (as `Warehouse.quotes(speaker=...)`)."""
        return self.warehouse.quotes(speaker=self.entity_id)
