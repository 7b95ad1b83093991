"""One HTTP attempt: the GET, its answer (body, 304 or redirect), and whether a failure is worth a retry.

Scheduling is not done here (see `scheduler`): this module sends one request
when told to and says what came of it. The body is streamed with a wall-clock
deadline and a size cap after decompression; its type is checked from the
headers before it is read and from its first bytes after; a page is decoded
by the one decoder, `extractors.decoding`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin

import httpx

from extractors.decoding import Decoded, RejectedInput, decode_bytes
from extractors.decompression import StreamDecoder, TooLarge
from extractors.fetching.policy import FetchPolicy, FetchRequest
from extractors.sniffing import body_type_problem, declared_type_problem, mime_type
from extractors.urls import host_of

ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,"
            "text/xml;q=0.9,application/json;q=0.8,*/*;q=0.1",
}
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Answer:
    """What one GET gave: a body (`status` 2xx), a 304 (`not_modified`), or a redirect (`location`)."""

    status: int
    body: bytes = b""
    decoded: Decoded | None = None
    """The page's text; None for feeds (their parser decodes them) and for 304s and redirects."""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    location: str | None = None


class Transient(Exception):
    """A failure worth another attempt: timeout, lost connection, 429, 5xx."""

    def __init__(self, reason: str, *, kind: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.kind, self.status, self.retry_after = reason, kind, status, retry_after

    def final(self, attempts: int) -> str:
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if self.kind == "timeout":
            return self.reason.replace("timed out", f"timed out after {tries}", 1)
        if self.kind == "connection":
            return self.reason.replace("connection failed", f"connection failed after {tries}", 1)
        return f"{self.reason} after {tries}"


class Refused(Exception):
    """A permanent failure with its reason."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


class _TotalTimeout(Exception):
    pass


class HttpClient:
    """A connection pool sized for the scheduler's slots; `get` is one attempt, safe from many threads."""

    def __init__(self, policy: FetchPolicy, slots: int) -> None:
        self.policy = p = policy
        self._client = httpx.Client(
            headers={"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate, br"},
            timeout=httpx.Timeout(connect=p.connect_timeout, read=min(p.read_timeout, p.total_timeout),
                                  write=p.read_timeout, pool=p.total_timeout),
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            follow_redirects=False,
            http2=False,
        )

    def close(self) -> None:
        self._client.close()

    def stream(self, url: str, headers: dict[str, str]):  # noqa: ANN201 (httpx's context manager)
        return self._client.stream("GET", url, headers=headers)

    def get(self, url: str, request: FetchRequest, cancelled: threading.Event) -> Answer:
        """One GET of `url`; raises `Transient` for what may be retried, `Refused` for what may not."""
        headers = {"Accept": ACCEPT[request.kind]}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        deadline = time.monotonic() + self.policy.total_timeout
        try:
            with self.stream(url, headers) as response:
                return self._answer(request, response, deadline, cancelled)
        except httpx.TimeoutException as exc:
            raise Transient(f"timed out ({self._timeout_name(exc)})", kind="timeout") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise Transient(f"connection failed: {exc or type(exc).__name__}", kind="connection") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Refused(f"request failed: {exc or type(exc).__name__}") from exc

    def _answer(self, request: FetchRequest, response: httpx.Response, deadline: float,
                cancelled: threading.Event) -> Answer:
        p = self.policy
        status = response.status_code
        if status in REDIRECTS:
            location = response.headers.get("location", "").strip()
            if not location:
                raise Refused(f"{status_text(response)} without a Location header", status)
            return Answer(status, location=location)
        if status == 304:
            return Answer(status, not_modified=True, etag=response.headers.get("etag") or request.etag,
                          last_modified=response.headers.get("last-modified") or request.last_modified)
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
            raise Transient(status_text(response), kind="http", status=status, retry_after=retry_after)
        if not 200 <= status < 300:
            raise Refused(status_text(response), status)
        content_type = response.headers.get("content-type", "")
        mime = mime_type(content_type)
        problem = declared_type_problem(request.kind, mime)
        if problem:
            raise Refused(problem, status)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > p.max_bytes:
            raise Refused(too_big(p.max_bytes), status)
        try:
            body = read_body(response, p.max_bytes, deadline, cancelled)
        except _TotalTimeout:
            raise Transient(f"timed out (total time limit {p.total_timeout:g} s)", kind="timeout") from None
        except Refused as exc:
            raise Refused(str(exc), status) from None
        problem = body_type_problem(request.kind, mime, body)
        if problem:
            raise Refused(problem, status)
        decoded = None
        if request.kind == "page":
            try:
                decoded = decode_bytes(body, kind="html", content_type=content_type, max_bytes=p.max_bytes)
            except RejectedInput as exc:
                raise Refused(f"cannot decode the page: {exc}", status) from None
        return Answer(status, body=body, decoded=decoded, content_type=content_type,
                      etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"))

    def _timeout_name(self, exc: httpx.TimeoutException) -> str:
        p = self.policy
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout {p.connect_timeout:g} s"
        if isinstance(exc, httpx.ReadTimeout):
            return f"read timeout {min(p.read_timeout, p.total_timeout):g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return "no free connection"
        return f"write timeout {p.read_timeout:g} s"


def read_body(response: httpx.Response, cap: int, deadline: float, cancelled: threading.Event | None,
              truncate: bool = False) -> bytes:
    """Stream the raw body, undo Content-Encoding, and stop at `cap` decoded (or raw) bytes.

    Raises `Refused` past the cap (or returns the first `cap` bytes with
    `truncate`) and for a corrupt or cut-short encoding, `_TotalTimeout` past `deadline`.
    """
    out = bytearray()
    raw = 0
    try:
        decoder = StreamDecoder(response.headers.get("content-encoding", ""), cap)
        for chunk in response.iter_raw():
            raw += len(chunk)
            if time.monotonic() > deadline:
                raise _TotalTimeout
            if cancelled is not None and cancelled.is_set():
                raise Refused("cancelled: nobody is waiting for this result")
            out += decoder.feed(chunk)
            if raw > cap or len(out) > cap:
                raise TooLarge
        out += decoder.finish()
        if len(out) > cap:
            raise TooLarge
    except TooLarge:
        if truncate:
            return bytes(out[:cap])
        raise Refused(too_big(cap)) from None
    except RejectedInput as exc:  # a corrupt or truncated encoding, or an unknown one
        raise Refused(str(exc)) from None
    return bytes(out)


def next_hop(chain: list[str], location: str, status: int, max_redirects: int) -> str:
    """The absolute redirect target after `chain` (the URLs so far); `Refused` for a loop or too many hops."""
    target = urljoin(chain[-1], location)
    path = " -> ".join([*chain, target])
    try:
        host_of(target)
    except ValueError:
        raise Refused(f"refused redirect to {target}: only http(s) URLs with a host are fetched", status) from None
    if target in chain:
        raise Refused(f"redirect loop: {path}", status)
    if len(chain) > max_redirects:
        raise Refused(f"too many redirects (more than {max_redirects}): {path}", status)
    return target


def retry_wait(exc: Transient, attempts: int, policy: FetchPolicy) -> float | str:
    """Seconds to wait before the next attempt, or the final error when no attempt is left."""
    if attempts > policy.retries:
        return exc.final(attempts)
    if exc.retry_after is not None and exc.retry_after > policy.retry_after_max:
        return (f"{exc.reason}; the server asked to retry after {exc.retry_after:g} s, "
                f"over the {policy.retry_after_max:g} s limit")
    if exc.retry_after is not None:
        return exc.retry_after
    return random.uniform(0, min(policy.backoff_max, policy.backoff_base * 2 ** (attempts - 1)))


def status_text(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"HTTP {response.status_code} {phrase}".rstrip()


def too_big(limit: int) -> str:
    return f"body exceeds the {limit:,} byte limit"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
