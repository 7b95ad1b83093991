"""Turns at each host for a whole pool of fetching workers, kept in PostgreSQL (`extractors.fetching.sharing`).

Every worker fetching for one warehouse asks the same database before each
request to a host: `politeness.hosts` holds when the host may next be asked
(`next_at`), `politeness.turns` the requests in flight (each with a time it
lapses at, so a worker killed mid-request blocks nobody for long) and
`politeness.waiting` the workers refused a turn, first come first served
(else the worker that just gave a turn back, asking again the moment the
rest ends, would win every time); `politeness.robots` the robots.txt texts
fetched, so one worker asks a host for it and the others read it (as long
as the warehouse trusts a stored one, `lookups.ROBOTS_MAX_AGE_HOURS`). A turn is taken in one short transaction
that locks the host's row, so two workers never both see the host free; the
clock is the database's, so machines with drifting clocks still agree. The lake's own catalog database serves (a
DuckLake on PostgreSQL has one), or any database given as the politeness
database.
"""

from __future__ import annotations

import asyncio
import shlex
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

import asyncpg

from extractors.fetching.sharing import Turn
from warehouse.backends import DUCKLAKE_PREFIX
from warehouse.lookups import ROBOTS_MAX_AGE_HOURS

POLL_SECONDS = 0.2
"""How soon a worker asks again for a host whose turns are all taken (their end is not known in advance)."""
WAITER_GRACE = 2.0
"""A waiting worker that has not asked again this long after it was told to has gone: it loses its place."""

T = TypeVar("T")

_SETUP = """
SELECT pg_advisory_xact_lock(hashtext('newsflow politeness schema'));
CREATE SCHEMA IF NOT EXISTS politeness;
CREATE TABLE IF NOT EXISTS politeness.hosts (
    host text PRIMARY KEY,
    next_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS politeness.turns (
    token uuid PRIMARY KEY,
    host text NOT NULL REFERENCES politeness.hosts (host),
    lapses_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_host ON politeness.turns (host);
CREATE TABLE IF NOT EXISTS politeness.robots (
    site text PRIMARY KEY,
    body text NOT NULL,
    fetched_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS politeness.waiting (
    host text NOT NULL REFERENCES politeness.hosts (host),
    worker uuid NOT NULL,
    since timestamptz NOT NULL,
    back_by timestamptz NOT NULL,
    PRIMARY KEY (host, worker)
);
"""


def politeness_database(warehouse: str, politeness_db: str | None = None) -> str | None:
    """Where the pool's host turns are kept: the database given, else a DuckLake's PostgreSQL catalog; None for
    a warehouse file (one worker at a time writes it, and its fetcher keeps its own politeness)."""
    if politeness_db:
        return politeness_db
    catalog = warehouse.removeprefix(DUCKLAKE_PREFIX)
    if warehouse.startswith(DUCKLAKE_PREFIX) and catalog.startswith("postgres:"):
        return catalog.removeprefix("postgres:")
    return None


@contextmanager
def shared_hosts(warehouse: str, politeness_db: str | None, request_limit: float) -> Iterator[HostLeases | None]:
    """The pool's host turns for a run on `warehouse` (see `politeness_database`), or None when it has none.

    `request_limit`: the longest one request may take (the fetch policy's total timeout); a turn not
    given back lapses after twice that (its worker died), robots.txt redirects having their own hops."""
    database = politeness_database(warehouse, politeness_db)
    with HostLeases(database, 2 * request_limit) if database else nullcontext() as leases:
        yield leases


class HostLeases:
    """`SharedHosts` on a PostgreSQL database (a libpq "key=value ..." string or a postgresql:// URL).

    asyncpg is async: its pool runs on a private event loop thread, which the
    fetcher's threads hand their queries to. `turn_lapse`: seconds after which
    a turn not given back is free again (longer than any one request takes).
    """

    def __init__(self, database: str, turn_lapse: float) -> None:
        self.turn_lapse = turn_lapse
        self.worker = uuid.uuid4()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="newsflow-host-leases", daemon=True)
        self._thread.start()
        try:
            self._pool = self._run(self._open(connect_arguments(database)))
        except (OSError, asyncpg.PostgresError) as exc:
            self.close()
            raise RuntimeError(f"cannot keep host turns in the politeness database {database!r}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> HostLeases:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._run(self._pool.close())
            self._pool = None
        if self._thread.is_alive():  # a stop queued before the loop runs is taken as soon as it does
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    async def _open(self, arguments: dict[str, Any]) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(min_size=1, max_size=4, **arguments)  # on the loop it will run on
        try:
            await pool.execute(_SETUP)
        except BaseException:
            await pool.close()
            raise
        return pool

    def take(self, host: str, delay: float, concurrency: int) -> Turn:
        return self._run(self._take(host, delay, concurrency))

    def give_back(self, turn: Turn, rest: float) -> None:
        self._run(self._pool.execute(
            """WITH ended AS (DELETE FROM politeness.turns WHERE token = $1)
               UPDATE politeness.hosts SET next_at = greatest(next_at, clock_timestamp() + make_interval(secs => $3))
               WHERE host = $2""",
            uuid.UUID(turn.token), turn.host, rest))

    def robots(self, key: str) -> str | None:
        return self._run(self._pool.fetchval(
            "SELECT body FROM politeness.robots WHERE site = $1"
            " AND fetched_at > clock_timestamp() - make_interval(hours => $2)", key, ROBOTS_MAX_AGE_HOURS))

    def remember_robots(self, key: str, text: str) -> None:
        self._run(self._pool.execute(
            """INSERT INTO politeness.robots VALUES ($1, $2, clock_timestamp())
               ON CONFLICT (site) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at""",
            key, text))

    def next_at(self, host: str):
        """When `host` may next be asked (None for a host never asked): for tests and inspection."""
        return self._run(self._pool.fetchval("SELECT next_at FROM politeness.hosts WHERE host = $1", host))

    async def _take(self, host: str, delay: float, concurrency: int) -> Turn:
        async with self._pool.acquire() as con, con.transaction():
            await con.execute("INSERT INTO politeness.hosts (host) VALUES ($1) ON CONFLICT (host) DO NOTHING", host)
            resting = await con.fetchval(
                "SELECT extract(epoch FROM next_at - clock_timestamp())::float8 FROM politeness.hosts"
                " WHERE host = $1 FOR UPDATE", host)  # the row lock makes taking a turn one worker at a time
            await con.execute("DELETE FROM politeness.turns WHERE host = $1 AND lapses_at <= clock_timestamp()", host)
            in_flight = await con.fetchval("SELECT count(*) FROM politeness.turns WHERE host = $1", host)
            first = await con.fetchval(
                "SELECT worker FROM politeness.waiting WHERE host = $1 AND back_by > clock_timestamp()"
                " ORDER BY since, worker LIMIT 1", host)
            if resting <= 0 and in_flight < concurrency and first in (None, self.worker):
                token = uuid.uuid4()
                await con.execute("DELETE FROM politeness.waiting WHERE host = $1 AND worker = $2", host, self.worker)
                await con.execute(
                    "INSERT INTO politeness.turns VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))",
                    token, host, self.turn_lapse)
                if concurrency > 1:  # requests may overlap: the delay runs start to start, as in one fetcher
                    await con.execute(
                        "UPDATE politeness.hosts SET next_at = clock_timestamp() + make_interval(secs => $2)"
                        " WHERE host = $1", host, delay)
                return Turn(host, str(token))
            wait = resting if resting > 0 else POLL_SECONDS
            await con.execute(  # in the queue: the longest waiting worker gets the next turn
                """INSERT INTO politeness.waiting VALUES ($1, $2, clock_timestamp(),
                       clock_timestamp() + make_interval(secs => $3))
                   ON CONFLICT (host, worker) DO UPDATE SET back_by = excluded.back_by""",
                host, self.worker, wait + WAITER_GRACE)
            return Turn(host, None, wait)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()


_LIBPQ_KEYS = {"host": "host", "port": "port", "user": "user", "password": "password", "dbname": "database"}


def connect_arguments(database: str) -> dict[str, Any]:
    """asyncpg's arguments for a database named as DuckLake names its catalog (libpq "dbname=... host=..."),
    or as a postgresql:// URL."""
    if database.startswith(("postgres://", "postgresql://")):
        return {"dsn": database}
    arguments: dict[str, Any] = {}
    for pair in shlex.split(database):
        key, sep, value = pair.partition("=")
        if not sep or key not in _LIBPQ_KEYS:
            raise ValueError(f"cannot read {pair!r} of the politeness database {database!r} "
                             f"(expected {', '.join(k + '=' for k in _LIBPQ_KEYS)} or a postgresql:// URL)")
        arguments[_LIBPQ_KEYS[key]] = int(value) if key == "port" else value
    return arguments
