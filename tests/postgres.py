"""Throwaway databases on the machine's PostgreSQL (127.0.0.1:5432, trust auth, user postgres), for DuckLake
catalogs and a PostgreSQL-backed Prefect: each test makes its own and drops it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"


async def _admin(sql: str) -> None:
    con = await asyncpg.connect(host=HOST, port=PORT, user=USER, database="postgres")
    try:
        await con.execute(sql)
    finally:
        await con.close()


@contextmanager
def scratch_database(prefix: str = "newsflow_test") -> Iterator[str]:
    """A new, empty database; its name. Dropped afterwards, open connections and all."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
