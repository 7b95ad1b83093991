"""newsflow in a notebook: the warehouse as pandas DataFrames.

>>> import newsflow
>>> wh = newsflow.open("data/news.duckdb")
>>> wh.search("minerals deal")[["title", "score", "copies"]]          # doctest: +SKIP
>>> wh.entity("Zelensky").timeline(freq="W")                          # doctest: +SKIP

Every call opens a short read-only connection and closes it before returning, so ingest runs and
other readers keep their turns (see README "Querying while runs write").
"""

from newsflow.api import Entity, Warehouse, open

__all__ = ["Entity", "Warehouse", "open"]
