"""Keeping the search index current: the one step every ingest run ends with.

DuckDB's fts indexes are static, so the step rebuilds the per-language indexes whose articles
changed (see `warehouse.search.refresh_index`); a run that changed nothing only reads a fingerprint
and never takes the write lock.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from warehouse import backends, search
from warehouse.connection import Warehouse


@task(name="update-search-index", cache_policy=NO_CACHE)
def update_search_index(warehouse: Warehouse) -> str:
    """Rebuild the search indexes of languages whose articles changed; returns what it did, for the run's notes."""
    if backends.is_ducklake(warehouse.path):
        return "search index: not kept for a DuckLake warehouse (fts indexes live in a DuckDB file)"
    with warehouse.reading() as con:
        search.load_fts(con)
        current = not search.stale_indexes(con) and search.has_index(con)
    if current:
        return "search index current"
    with warehouse.writing() as con:
        refresh = search.refresh_index(con)
    get_run_logger().info(refresh.describe())
    return refresh.describe()


def keep_search_current(warehouse: Warehouse) -> str:
    """What the run's end does: refresh the index; a failure is noted, not raised (the articles landed)."""
    try:
        return update_search_index(quote(warehouse))
    except Exception as exc:  # search then warns that its index is behind, and the next run retries
        get_run_logger().error("search index not refreshed: %s", exc)
        return f"search index not refreshed: {type(exc).__name__}: {exc}"
