"""newsflow's settings: one typed object with every default in one place, read by the flows, the CLI and --help.

Precedence, highest first: a command-line option or a flow (deployment)
parameter, then the environment (`NEWSFLOW_DB`, `NEWSFLOW_CONTACT`), then
the defaults below. The fetch defaults are the fetcher's own (`FetchPolicy`
in extractors/), read through `fetch_policy()`, so the fetcher, the flows
and `--help` cannot disagree; it is imported only by the commands that
fetch. The environment is read when `current()` is called, not at import:
a served run sees the environment it runs in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.fetching import FetchPolicy

DEFAULT_DB = "data/news.duckdb"


@dataclass(frozen=True)
class Settings:
    """Every default a newsflow command or flow uses when it is not told otherwise."""

    db: str = DEFAULT_DB
    """Warehouse ($NEWSFLOW_WAREHOUSE, else $NEWSFLOW_DB): a DuckDB file (relative paths mean the working
    directory of the command or run) or a `ducklake:postgres:...` spec (see warehouse/backends.py)."""
    lock_wait: float = 300.0
    """Seconds a load waits while another process (a DuckDB shell, a notebook) holds the warehouse file;
    past it the run fails and its unloaded batches wait for the next run."""
    stored_batch_size: int = 500
    """Stored documents per batch and load transaction."""
    web_batch_size: int = 50
    """Pages per batch: small enough that extraction starts while the fetcher still waits on hosts."""
    warc_batch_size: int = 64
    """WARC records per batch. Archived pages are large (the dev set's average 370 KB), and the driver
    holds about two batches of them: at 200, `newsflow warc` peaked at 1.4 GB (the driver 950 MB); at
    64, under 1 GB, and faster (the pipeline fills and drains sooner). Keep it at least
    `stages.POOL_THRESHOLD` (40), or extraction runs in one process."""
    max_new_pages: int = 1000
    """Article URLs one feed or sitemap run fetches at most (newest first); the rest wait for the next run."""
    contact: str | None = None
    """Contact URL or mail address sent in the User-Agent ($NEWSFLOW_CONTACT); None sends none."""
    serve_host: str = "127.0.0.1"
    serve_port: int = 4200
    """Where `newsflow serve` starts its Prefect server (and UI) when no API answers yet."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(db=env.get("NEWSFLOW_WAREHOUSE") or env.get("NEWSFLOW_DB") or DEFAULT_DB,
                   contact=env.get("NEWSFLOW_CONTACT") or None)

    def fetch_policy(self, **overrides) -> FetchPolicy:
        """The fetcher's policy: its own defaults, this contact, then `overrides` that are not None."""
        from extractors.fetching import FetchPolicy

        policy = FetchPolicy(contact=self.contact)
        return replace(policy, **{key: value for key, value in overrides.items() if value is not None})


DEFAULTS = Settings()
"""The defaults alone (no environment): what flow signatures show as parameter defaults."""


def current() -> Settings:
    """The defaults with the environment applied, as it is now."""
    return Settings.from_env()
