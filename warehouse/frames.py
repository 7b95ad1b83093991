"""DataFrames exposed to SQL by name: how the warehouse moves rows in bulk, never one by one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd


def strings(values: Iterable[str | None]) -> pd.api.extensions.ExtensionArray:
    """A string column that stays VARCHAR in DuckDB even when empty or all NULL."""
    return pd.array(list(values), dtype="string")


@contextmanager
def frames(con: duckdb.DuckDBPyConnection, **named: pd.DataFrame) -> Iterator[None]:
    """Expose DataFrames to SQL by name for one statement group (bulk loads, no row loops)."""
    for name, frame in named.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in named:
            con.unregister(name)
