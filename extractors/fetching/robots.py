"""robots.txt: fetched once per scheme and host, parsed leniently, its Crawl-delay obeyed up to a cap."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

from protego import Protego

from extractors.fetching.client import REDIRECTS, HttpClient, read_body
from extractors.fetching.policy import USER_AGENT_TOKEN

CRAWL_DELAY_MAX = 60.0
"""Largest robots.txt Crawl-delay we obey, in seconds; beyond it a host would stall a whole run.
A site that wants fewer visits than one a minute should disallow us instead."""

ROBOTS_MAX_BYTES = 512 * 1024
"""robots.txt is read up to this size and the rest ignored, as Google does (500 KiB)."""


def parse_robots(text: str) -> Protego | None:
    """Rules from a robots.txt text; None (allow-all) for an empty or unparsable one."""
    if not text.strip():
        return None
    try:
        return Protego.parse(text)
    except Exception:
        return None


def allows(rules: Protego | None, url: str) -> bool:
    return rules is None or rules.can_fetch(url, USER_AGENT_TOKEN)


def crawl_delay(rules: Protego | None, host_delay: float) -> float:
    """The pause a host gets: our delay, raised by its Crawl-delay (at most `CRAWL_DELAY_MAX`)."""
    delay = rules.crawl_delay(USER_AGENT_TOKEN) if rules is not None else None
    return max(host_delay, min(float(delay), CRAWL_DELAY_MAX)) if delay else host_delay


def robots_key(url: str) -> str:
    """The robots.txt a URL falls under: "scheme://host[:port]" (http and https have their own)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    return f"{parts.scheme.lower()}://{netloc}"


def load_robots(client: HttpClient, key: str, refusal: Callable[[str], str | None]) -> str:
    """The host's robots.txt text, or "" for allow-all.

    Lenient like Google for 4xx (no rules). For 5xx and unreachable
    robots.txt Google assumes disallow; we allow, keeping one flaky host
    from blocking its own articles: the host delay still applies.
    Redirects are followed for robots.txt only, each hop checked by `refusal`.
    """
    url = f"{key}/robots.txt"
    deadline = time.monotonic() + client.policy.total_timeout
    for _hop in range(client.policy.max_redirects + 1):
        try:
            with client.stream(url, {"Accept": "text/plain,*/*;q=0.1"}) as response:
                status = response.status_code
                if status in REDIRECTS and response.headers.get("location"):
                    url = urljoin(url, response.headers["location"].strip())
                    if urlsplit(url).scheme not in ("http", "https") or refusal(url):
                        return ""
                    continue
                if not 200 <= status < 300:
                    return ""
                body = read_body(response, ROBOTS_MAX_BYTES, deadline, None, truncate=True)
            return body.decode("utf-8", errors="replace")  # RFC 9309: robots.txt is UTF-8
        except Exception:  # unreachable or slow robots.txt: no rules
            return ""
    return ""
