"""Politeness shared with other fetchers: the turns at a host that every worker of a pool takes.

One `Fetcher` keeps a host's delay and concurrency among its own threads.
Several workers (processes, machines) fetching one host would each keep
them and together break them, so a fetcher may be given `SharedHosts`: it
asks for a turn before each request to a host and hands it back after,
saying how long the host must then rest; a robots.txt one worker fetched
serves them all. The fetcher stays pure; where the
turns are kept (a PostgreSQL table, see warehouse/host_leases.py) is the
caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Turn:
    """The answer to `SharedHosts.take`: a turn at `host` (`token` set), or how long to wait before asking again."""

    host: str
    token: str | None
    wait: float = 0.0

    @property
    def granted(self) -> bool:
        return self.token is not None


class SharedHosts(Protocol):
    def take(self, host: str, delay: float, concurrency: int) -> Turn:
        """A turn at `host` when fewer than `concurrency` requests to it are in flight pool-wide and its rest
        is over; with `concurrency` > 1 the next turn starts `delay` s after this one (start to start)."""

    def give_back(self, turn: Turn, rest: float) -> None:
        """End a granted turn; no worker starts a request to the host within `rest` s from now."""

    def robots(self, key: str) -> str | None:
        """The robots.txt text ("" for none) some worker fetched lately for "scheme://host[:port]", or None."""

    def remember_robots(self, key: str, text: str) -> None:
        """Tell the pool a robots.txt just fetched, so the other workers need not ask the host for it."""
