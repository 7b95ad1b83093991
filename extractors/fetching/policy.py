"""What a fetch may do (`FetchPolicy`, the one home of every fetch default), what is asked, what came back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from extractors.version import package_version

USER_AGENT_TOKEN = "newsflow"
"""The product token robots.txt groups are matched against."""


@dataclass(frozen=True)
class FetchPolicy:
    """How hard we may push one host and how much we accept from it.

    The defaults here are the project's fetch defaults: the CLI, the flows
    and the settings object read them from this class, never repeat them.
    """

    contact: str | None = None
    """How a site operator reaches whoever runs this crawl (a URL or mail address), sent in the
    User-Agent; set by the user (NEWSFLOW_CONTACT / --contact). None sends no contact at all."""
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    """Longest wait for any one read, the response headers included."""
    total_timeout: float = 30.0
    """Wall-clock cap on one attempt, body streaming included (httpx timeouts bound single reads only)."""
    max_bytes: int = 10 * 1024 * 1024
    """Cap on the decoded body; larger bodies fail, and are never inflated past it."""
    max_redirects: int = 5
    host_delay: float = 1.0
    """Least seconds from the end of one response from a host to the start of the next request to it.
    Measured from the end, not the start, so a slow server gets more room, not less."""
    host_concurrency: int = 1
    max_parallel_hosts: int = 16
    retries: int = 3
    """Extra attempts after a timeout, a connection error, a 429 or a 5xx."""
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """A Retry-After longer than this ends the fetch as failed instead of retrying sooner than asked."""
    allow_private: bool = False
    respect_robots: bool = True

    @property
    def user_agent(self) -> str:
        """`newsflow/<installed version>`, plus ` (+contact)` when the user gave one."""
        contact = (self.contact or "").strip()
        agent = f"{USER_AGENT_TOKEN}/{package_version()}"
        return f"{agent} (+{contact})" if contact else agent


@dataclass(frozen=True)
class FetchRequest:
    """One URL to fetch; `etag`/`last_modified` come from the previous fetch, for a conditional GET."""

    url: str
    kind: str = "page"
    """"page" (HTML/XHTML expected) or "feed" (XML, RSS, Atom, JSON or a gzipped sitemap)."""
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, kw_only=True)
class FetchResult:
    """What became of one `FetchRequest`; outcome is "fetched", "not_modified", "failed" or "disallowed"."""

    request: FetchRequest
    outcome: str
    final_url: str
    """The URL after redirects (the hop that failed, for a failure)."""
    status: int | None = None
    body: bytes = b""
    """Content-Encoding undone, at most `max_bytes`. A gzipped sitemap stays gzip: that is its content."""
    text: str | None = None
    """Decoded HTML for a "page"; None for feeds, which `parse_feed` decodes with `content_type`."""
    encoding: str | None = None
    """The codec `text` was decoded with."""
    replaced_bytes: int = 0
    """Bytes of a page that did not fit its encoding and were replaced by U+FFFD."""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    attempts: int = 1
    """HTTP attempts at the final URL; 0 when nothing was sent (robots, refused address)."""
    started_at: dt.datetime
    finished_at: dt.datetime
