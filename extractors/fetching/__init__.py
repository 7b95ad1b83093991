"""Fetch pages and feeds politely, without waste, and safely.

Politeness (`scheduler`, `robots`): a host sees one request at a time
(`host_concurrency`) and a pause of `host_delay` between the end of one
response and the start of the next request, raised by its robots.txt
Crawl-delay; robots.txt is obeyed, Retry-After is honoured, and the
User-Agent names us, our version and, when the user gives one, a contact.

No waste (`client`): conditional GETs turn unchanged pages into a 304,
transfers are compressed, a body of the wrong type is refused from its
headers before it is read (`extractors.sniffing`), and many hosts are
fetched at once while results stream back to the caller as they complete,
so extraction overlaps fetching.

Safety: private and loopback addresses are refused (`address_guard`),
bodies are capped after decompression (`extractors.decompression`), every
attempt has a wall-clock limit, redirects are bounded and each hop is
re-checked. A bad URL never raises: it becomes a `FetchResult` with outcome
"failed" and an `error` a person can act on. Pages are decoded by the one
decoder, `extractors.decoding`.
"""

from extractors.fetching.policy import USER_AGENT_TOKEN, FetchPolicy, FetchRequest, FetchResult
from extractors.fetching.scheduler import Fetcher, FetchStream

__all__ = ["USER_AGENT_TOKEN", "FetchPolicy", "FetchRequest", "FetchResult", "FetchStream", "Fetcher"]
