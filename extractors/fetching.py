"""Fetch pages and feeds politely, without waste, and safely.

Politeness: a host sees one request at a time (`host_concurrency`) and a
pause of `host_delay` between the end of one response and the start of the
next request, raised by its robots.txt Crawl-delay; robots.txt is obeyed,
Retry-After is honoured, and the User-Agent names us and how to reach us.

No waste: conditional GETs turn unchanged pages into a 304, transfers are
compressed, a body of the wrong type is refused from its headers before it
is read, and many hosts are fetched at once while results stream back to the
caller as they complete, so extraction overlaps fetching.

Safety: private and loopback addresses are refused (a feed must not make us
fetch our own network), bodies are capped after decompression (bombs),
every attempt has a wall-clock limit, redirects are bounded and each hop is
re-checked. A bad URL never raises: it becomes a `FetchResult` with outcome
"failed" and an `error` a person can act on.
"""

from __future__ import annotations

import codecs
import datetime as dt
import email.utils
import ipaddress
import queue
import random
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Self
from urllib.parse import urljoin, urlsplit

import brotli
import httpx
from protego import Protego

from extractors.decoding import RejectedInput, decode_text, normalise_text
from extractors.urls import host_of

USER_AGENT_TOKEN = "newsflow"
"""The product token robots.txt groups are matched against."""

CRAWL_DELAY_MAX = 60.0
"""Largest robots.txt Crawl-delay we obey, in seconds; beyond it a host would stall a whole run.
A site that wants fewer visits than one a minute should disallow us instead."""

ROBOTS_MAX_BYTES = 512 * 1024
"""robots.txt is read up to this size and the rest ignored, as Google does (500 KiB)."""

_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,"
            "text/xml;q=0.9,application/json;q=0.8,*/*;q=0.1",
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BINARY_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an executable"),
)
_GZIP_MAGIC = b"\x1f\x8b"
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset({"application/json", "application/feed+json", "text/plain",
                         "application/gzip", "application/x-gzip"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|meta|title|!--)", re.IGNORECASE)
_FEED_START = re.compile(rb"^\s*<(\?xml|rss|feed|rdf:rdf|urlset|sitemapindex)\b", re.IGNORECASE)
# WHATWG encoding labels: browsers read these as windows-1252 / GB18030, and so must we.
_CODEC_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252", "latin-1": "cp1252",
                  "gb2312": "gb18030", "gbk": "gb18030"}


@dataclass(frozen=True)
class FetchPolicy:
    """How hard we may push one host and how much we accept from it."""

    user_agent_contact: str = "https://github.com/newsflow/newsflow"
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
        return f"newsflow/0.1 (+{self.user_agent_contact})"


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
    """Decoded HTML for a "page"; None for feeds, whose parsers take bytes."""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    attempts: int = 1
    """HTTP attempts at the final URL; 0 when nothing was sent (robots, refused address)."""
    started_at: dt.datetime
    finished_at: dt.datetime


class Fetcher:
    """Fetches many URLs at once, one polite queue per host; use as a context manager.

    Requests for one host wait in that host's queue; a dispatcher thread hands
    the head of each queue to the thread pool once the host is free and its
    delay has passed, so a host waiting out a delay or a Retry-After never
    holds a thread that another host could use.
    """

    def __init__(self, policy: FetchPolicy | None = None, known_robots: Mapping[str, str] | None = None) -> None:
        """`known_robots`: robots.txt texts fetched lately ("" for none), by "scheme://host[:port]",
        so a run soon after another sends no robots.txt request; `fetched_robots` collects the new ones."""
        self.policy = policy or FetchPolicy()
        p = self.policy
        slots = max(1, p.max_parallel_hosts * p.host_concurrency)
        self._client = httpx.Client(
            headers={"User-Agent": p.user_agent, "Accept-Encoding": "gzip, deflate, br"},
            timeout=httpx.Timeout(connect=p.connect_timeout, read=min(p.read_timeout, p.total_timeout),
                                  write=p.read_timeout, pool=p.total_timeout),
            limits=httpx.Limits(max_connections=slots, max_keepalive_connections=slots),
            follow_redirects=False,
            http2=False,
        )
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="newsflow-fetch")
        self._cond = threading.Condition()
        self._hosts: dict[str, _Host] = {}
        self._waiting: dict[str, _Host] = {}
        self._robots: dict[str, Protego | None | object] = {
            key: _parse_robots(text) for key, text in (known_robots or {}).items()
        }
        self.fetched_robots: dict[str, str] = {}
        self._addresses: dict[str, str | None] = {}
        self._runs: set[_Run] = set()
        self._busy_hosts = 0
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="newsflow-fetch-dispatch", daemon=True)
        self._dispatcher.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop dispatching, end open result streams, wait for requests in flight, close connections."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            for run in self._runs:
                run.cancelled.set()
                run.results.put(None)
            self._runs.clear()
            self._cond.notify_all()
        self._dispatcher.join()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def fetch(self, request: FetchRequest) -> FetchResult:
        with self.fetch_many([request]) as results:
            return next(results)

    def fetch_many(self, requests: Iterable[FetchRequest]) -> FetchStream:
        """Start fetching at once; iterate the stream for results in completion order, one per request."""
        run = _Run()
        jobs, early = [], []
        for request in requests:
            job = _Job(request, run, request.url, [request.url])
            problem = _request_problem(request)
            if problem:
                early.append(self._result(job, "failed", error=problem, attempts=0))
            else:
                jobs.append(job)
        with self._cond:
            if self._closed:
                raise RuntimeError("Fetcher is closed")
            self._runs.add(run)
            for job in jobs:
                self._enqueue(job)
            self._cond.notify_all()
        for result in early:
            run.results.put(result)
        return FetchStream(self, run, len(jobs) + len(early))

    # -- dispatching (holds self._cond) ---------------------------------------------------------------

    def _enqueue(self, job: _Job, front: bool = False) -> None:
        key = host_of(job.url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(key, self.policy.host_delay)
            known = self._robots.get(_robots_key(job.url))
            if isinstance(known, Protego):
                _apply_crawl_delay(host, known)
        if front:
            host.queue.appendleft(job)
        else:
            host.queue.append(job)
        self._waiting[key] = host

    def _dispatch_loop(self) -> None:
        with self._cond:
            while not self._closed:
                try:
                    timeout = self._dispatch_ready()
                except Exception as exc:  # a bug here must not leave consumers waiting forever
                    self._fail_waiting(f"internal error in the fetch dispatcher: {exc!r}")
                    timeout = None
                self._cond.wait(timeout)

    def _dispatch_ready(self) -> float | None:
        """Start every job whose host is free; return seconds until the next host delay ends."""
        p = self.policy
        now = time.monotonic()
        wake: float | None = None
        for host in list(self._waiting.values()):
            while host.queue:
                job = host.queue[0]
                if job.run.cancelled.is_set():
                    host.queue.popleft()
                    continue
                rules = self._robots.get(_robots_key(job.url), _UNKNOWN) if p.respect_robots else None
                if rules is _PENDING:
                    break
                if isinstance(rules, Protego) and not rules.can_fetch(job.url, USER_AGENT_TOKEN):
                    host.queue.popleft()
                    self._finish(job, self._result(job, "disallowed", attempts=0,
                                                   error=f"robots.txt disallows this URL for {USER_AGENT_TOKEN}"))
                    continue
                if host.active >= p.host_concurrency:
                    break
                if host.active == 0 and self._busy_hosts >= p.max_parallel_hosts:
                    break
                if now < host.next_start:
                    wake = host.next_start if wake is None else min(wake, host.next_start)
                    break
                host.queue.popleft()
                kind = "robots" if rules is _UNKNOWN else "page"
                if kind == "robots":
                    self._robots[_robots_key(job.url)] = _PENDING
                host.active += 1
                if host.active == 1:
                    self._busy_hosts += 1
                if p.host_concurrency > 1:
                    host.next_start = now + host.delay  # start-to-start gap when requests may overlap
                if job.started_at is None:
                    job.started_at = _now()
                self._executor.submit(self._step, host, job, kind)
            if not host.queue:
                self._waiting.pop(host.key, None)
        return None if wake is None else max(0.0, wake - now)

    def _fail_waiting(self, reason: str) -> None:
        for host in self._waiting.values():
            while host.queue:
                job = host.queue.popleft()
                self._finish(job, self._result(job, "failed", error=reason))
        self._waiting.clear()

    def _finish(self, job: _Job, result: FetchResult) -> None:
        if not job.run.cancelled.is_set():
            job.run.results.put(result)

    # -- one step of a job (worker thread) ------------------------------------------------------------

    def _step(self, host: _Host, job: _Job, kind: str) -> None:
        made_request = False
        try:
            if kind == "robots":
                made_request, then = self._robots_step(host, job)
            else:
                made_request, then = self._page_step(job)
        except Exception as exc:  # every request ends as a result, whatever went wrong
            then = _Done(self._result(job, "failed", error=f"internal error: {exc!r}"))
        end = time.monotonic()
        with self._cond:
            if kind == "robots" and self._robots.get(_robots_key(job.url)) is _PENDING:
                del self._robots[_robots_key(job.url)]
            host.active -= 1
            if host.active == 0:
                self._busy_hosts -= 1
            if made_request:
                host.next_start = max(host.next_start, end + host.delay)
            if isinstance(then, _Done):
                self._finish(job, then.result)
            elif not job.run.cancelled.is_set() and not self._closed:
                if then.wait:  # a retry's wait is the host's wait: nothing else is sent to it meanwhile
                    host.next_start = max(host.next_start, end + then.wait)
                self._enqueue(job, front=True)
            self._cond.notify_all()

    def _robots_step(self, host: _Host, job: _Job) -> tuple[bool, _Next]:
        refusal = self._address_refusal(job.url)
        if refusal:
            return False, _Done(self._result(job, "failed", error=refusal, attempts=0))
        text = self._load_robots(_robots_key(job.url))
        rules = _parse_robots(text)
        with self._cond:
            self._robots[_robots_key(job.url)] = rules
            self.fetched_robots[_robots_key(job.url)] = text
            if rules is not None:
                _apply_crawl_delay(host, rules)
        return True, _Again(0.0)

    def _load_robots(self, key: str) -> str:
        """The host's robots.txt text, or "" for allow-all.

        Lenient like Google for 4xx (no rules). For 5xx and unreachable
        robots.txt Google assumes disallow; we allow, keeping one flaky host
        from blocking its own articles: the host delay still applies.
        Redirects are followed for robots.txt only, each hop address-checked.
        """
        url = f"{key}/robots.txt"
        deadline = time.monotonic() + self.policy.total_timeout
        for _hop in range(self.policy.max_redirects + 1):
            try:
                with self._client.stream("GET", url, headers={"Accept": "text/plain,*/*;q=0.1"}) as response:
                    status = response.status_code
                    if status in _REDIRECTS and response.headers.get("location"):
                        url = urljoin(url, response.headers["location"].strip())
                        if urlsplit(url).scheme not in ("http", "https") or self._address_refusal(url):
                            return ""
                        continue
                    if not 200 <= status < 300:
                        return ""
                    body = _read_body(response, ROBOTS_MAX_BYTES, deadline, None, truncate=True)
                return body.decode("utf-8", errors="replace")
            except Exception:  # unreachable or slow robots.txt: no rules
                return ""
        return ""

    def _page_step(self, job: _Job) -> tuple[bool, _Next]:
        refusal = self._address_refusal(job.url)
        if refusal:
            return False, _Done(self._result(job, "failed", error=refusal, attempts=0))
        job.attempts += 1
        try:
            return True, self._attempt(job)
        except _Transient as exc:
            p = self.policy
            if job.attempts > p.retries:
                return True, _Done(self._result(job, "failed", status=exc.status, error=exc.final(job.attempts)))
            if exc.retry_after is not None and exc.retry_after > p.retry_after_max:
                error = (f"{exc.reason}; the server asked to retry after {exc.retry_after:g} s, "
                         f"over the {p.retry_after_max:g} s limit")
                return True, _Done(self._result(job, "failed", status=exc.status, error=error))
            if exc.retry_after is not None:
                wait = exc.retry_after
            else:
                wait = random.uniform(0, min(p.backoff_max, p.backoff_base * 2 ** (job.attempts - 1)))
            return True, _Again(wait)

    def _attempt(self, job: _Job) -> _Next:
        """One GET of `job.url`: a result, or the next hop; raises `_Transient` for what may be retried."""
        p = self.policy
        request = job.request
        headers = {"Accept": _ACCEPT[request.kind]}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        deadline = time.monotonic() + p.total_timeout
        try:
            with self._client.stream("GET", job.url, headers=headers) as response:
                return self._answer(job, response, deadline)
        except _Refused as exc:
            return _Done(self._result(job, "failed", status=exc.status, error=str(exc)))
        except httpx.TimeoutException as exc:
            raise _Transient(f"timed out ({self._timeout_name(exc)})", kind="timeout") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise _Transient(f"connection failed: {exc or type(exc).__name__}", kind="connection") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return _Done(self._result(job, "failed", error=f"request failed: {exc or type(exc).__name__}"))

    def _answer(self, job: _Job, response: httpx.Response, deadline: float) -> _Next:
        p = self.policy
        status = response.status_code
        if status in _REDIRECTS:
            return self._redirect(job, response)
        if status == 304:
            return _Done(self._result(
                job, "not_modified", status=status,
                etag=response.headers.get("etag") or job.request.etag,
                last_modified=response.headers.get("last-modified") or job.request.last_modified))
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
            raise _Transient(_status_text(response), kind="http", status=status, retry_after=retry_after)
        if not 200 <= status < 300:
            raise _Refused(_status_text(response), status)
        content_type = response.headers.get("content-type", "")
        mime = content_type.split(";", 1)[0].strip().lower()
        problem = _declared_type_problem(job.request.kind, mime)
        if problem:
            raise _Refused(problem, status)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > p.max_bytes:
            raise _Refused(_too_big(p.max_bytes), status)
        try:
            body = _read_body(response, p.max_bytes, deadline, job.run.cancelled)
        except _TotalTimeout:
            raise _Transient(f"timed out (total time limit {p.total_timeout:g} s)", kind="timeout") from None
        except _Refused as exc:
            raise _Refused(str(exc), status) from None
        problem = _body_type_problem(job.request.kind, mime, body)
        if problem:
            raise _Refused(problem, status)
        text = None
        if job.request.kind == "page":
            try:
                text = _decode_page(body, content_type, p.max_bytes)
            except RejectedInput as exc:
                raise _Refused(f"cannot decode the page: {exc}", status) from None
        return _Done(self._result(
            job, "fetched", status=status, body=body, text=text, content_type=content_type,
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified")))

    def _redirect(self, job: _Job, response: httpx.Response) -> _Next:
        location = response.headers.get("location", "").strip()
        if not location:
            raise _Refused(f"{_status_text(response)} without a Location header", response.status_code)
        target = urljoin(job.url, location)
        chain = " -> ".join([*job.chain, target])
        try:
            host_of(target)
        except ValueError:
            raise _Refused(f"refused redirect to {target}: only http(s) URLs with a host are fetched",
                           response.status_code) from None
        if target in job.chain:
            raise _Refused(f"redirect loop: {chain}", response.status_code)
        if len(job.chain) > self.policy.max_redirects:
            raise _Refused(f"too many redirects (more than {self.policy.max_redirects}): {chain}",
                           response.status_code)
        job.chain.append(target)
        job.url = target
        job.attempts = 0
        return _Again(0.0)

    def _timeout_name(self, exc: httpx.TimeoutException) -> str:
        p = self.policy
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout {p.connect_timeout:g} s"
        if isinstance(exc, httpx.ReadTimeout):
            return f"read timeout {min(p.read_timeout, p.total_timeout):g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return "no free connection"
        return f"write timeout {p.read_timeout:g} s"

    def _address_refusal(self, url: str) -> str | None:
        """Why `url`'s host must not be fetched (a private, loopback, ... address), or None.

        Checked before each hop, and cached per host for the Fetcher's life. httpx
        resolves the name again to connect, so a DNS answer that changes in between
        (rebinding) is not caught: this guards against feeds naming internal hosts,
        not against a hostile DNS server.
        """
        if self.policy.allow_private:
            return None
        host = urlsplit(url).hostname or ""
        if host in self._addresses:
            return self._addresses[host]
        try:
            verdict = _non_public_address(host)
        except OSError as exc:  # not cached: DNS may answer next time
            return f"could not resolve host {host}: {getattr(exc, 'strerror', None) or exc}"
        self._addresses[host] = verdict
        return verdict

    def _result(self, job: _Job, outcome: str, *, attempts: int | None = None, **fields: object) -> FetchResult:
        now = _now()
        return FetchResult(request=job.request, outcome=outcome, final_url=job.url,
                           attempts=job.attempts if attempts is None else attempts,
                           started_at=job.started_at or now, finished_at=now, **fields)


class FetchStream(Iterator[FetchResult]):
    """Results of one `fetch_many`, in completion order; `close()` (or leaving `with`) abandons the rest."""

    def __init__(self, fetcher: Fetcher, run: _Run, total: int) -> None:
        self._fetcher = fetcher
        self._run = run
        self._left = total

    def __iter__(self) -> FetchStream:
        return self

    def __next__(self) -> FetchResult:
        if self._left <= 0:
            self.close()
            raise StopIteration
        result = self._run.results.get()
        if result is None:  # the fetcher was closed under us
            self._left = 0
            raise StopIteration
        self._left -= 1
        return result

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the requests not yet started; those in flight finish (or stop at their next chunk) unseen."""
        self._run.cancelled.set()
        with self._fetcher._cond:
            self._fetcher._runs.discard(self._run)
            self._fetcher._cond.notify_all()

    def __del__(self) -> None:
        self._run.cancelled.set()  # no lock here: the dispatcher drops cancelled jobs on its own


# -- internals --------------------------------------------------------------------------------------

_UNKNOWN = object()
_PENDING = object()


class _Run:
    """One `fetch_many` call: where its results go and whether anyone still wants them."""

    def __init__(self) -> None:
        self.results: queue.Queue[FetchResult | None] = queue.Queue()
        self.cancelled = threading.Event()


@dataclass(eq=False)
class _Job:
    request: FetchRequest
    run: _Run
    url: str
    chain: list[str]
    attempts: int = 0
    started_at: dt.datetime | None = None


@dataclass(eq=False)
class _Host:
    key: str
    delay: float
    queue: deque[_Job] = field(default_factory=deque)
    active: int = 0
    next_start: float = 0.0


@dataclass
class _Done:
    result: FetchResult


@dataclass
class _Again:
    """Queue the job again (at the front of its host, which may be new after a redirect) after `wait` s."""

    wait: float


_Next = _Done | _Again


class _Transient(Exception):
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


class _Refused(Exception):
    """A permanent failure with its reason."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


class _TotalTimeout(Exception):
    pass


def _request_problem(request: FetchRequest) -> str | None:
    if request.kind not in _ACCEPT:
        return f"unknown request kind {request.kind!r} (expected 'page' or 'feed')"
    scheme = urlsplit(request.url).scheme.lower()
    if scheme not in ("http", "https"):
        return f"refused: unsupported URL scheme {scheme or '(none)'!r} (only http and https are fetched)"
    try:
        host_of(request.url)
    except ValueError as exc:
        return f"invalid URL: {exc}"
    return None


def _parse_robots(text: str) -> Protego | None:
    """Rules from a robots.txt text; None (allow-all) for an empty or unparsable one."""
    if not text.strip():
        return None
    try:
        return Protego.parse(text)
    except Exception:
        return None


def _apply_crawl_delay(host: _Host, rules: Protego) -> None:
    delay = rules.crawl_delay(USER_AGENT_TOKEN)
    if delay:
        host.delay = max(host.delay, min(float(delay), CRAWL_DELAY_MAX))


def _robots_key(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    return f"{parts.scheme.lower()}://{netloc}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _status_text(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"HTTP {response.status_code} {phrase}".rstrip()


def _too_big(limit: int) -> str:
    return f"body exceeds the {limit:,} byte limit"


def _retry_after(value: str | None) -> float | None:
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
    return max(0.0, (when - _now()).total_seconds())


def _non_public_address(host: str) -> str | None:
    """A refusal when `host` is, or resolves to, an address outside the public internet."""
    try:
        addresses = [ipaddress.ip_address(host)]
        literal = True
    except ValueError:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        literal = False
    for address in addresses:
        kind = _address_kind(address)
        if kind:
            where = f"{address} is" if literal else f"{host} resolves to {address},"
            return f"refused: {where} a {kind} address (use --allow-private)"
    return None


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind, flag in (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("private", address.is_private), ("reserved", address.is_reserved),
                       ("non-public", not address.is_global)):
        if flag:
            return kind
    return None


# -- bodies -----------------------------------------------------------------------------------------


def _read_body(response: httpx.Response, cap: int, deadline: float, cancelled: threading.Event | None,
               truncate: bool = False) -> bytes:
    """Stream the raw body, undo Content-Encoding, and stop at `cap` decoded (or raw) bytes.

    Raises `_Refused` past the cap (or returns the first `cap` bytes with
    `truncate`), `_TotalTimeout` past `deadline`.
    """
    decoder = _ContentDecoder(response.headers.get("content-encoding", ""), cap)
    out = bytearray()
    raw = 0
    try:
        for chunk in response.iter_raw():
            raw += len(chunk)
            if time.monotonic() > deadline:
                raise _TotalTimeout
            if cancelled is not None and cancelled.is_set():
                raise _Refused("cancelled: nobody is waiting for this result")
            out += decoder.feed(chunk)
            if raw > cap or len(out) > cap:
                raise _TooLarge
        out += decoder.finish()
        if len(out) > cap:
            raise _TooLarge
    except _TooLarge:
        if truncate:
            return bytes(out[:cap])
        raise _Refused(_too_big(cap)) from None
    return bytes(out)


class _TooLarge(Exception):
    pass


class _ContentDecoder:
    """Undo a Content-Encoding chain without ever producing more than cap + 1 bytes per stage."""

    def __init__(self, header: str, cap: int) -> None:
        names = [name.strip().lower() for name in header.split(",") if name.strip()]
        self._stages = []
        for name in reversed(names):  # the last encoding applied is undone first
            if name in ("gzip", "x-gzip"):
                self._stages.append(_Inflater(cap, 16 + zlib.MAX_WBITS))
            elif name == "deflate":
                self._stages.append(_Inflater(cap, None))
            elif name == "br":
                self._stages.append(_Unbrotli(cap))
            elif name != "identity":
                raise _Refused(f"unsupported content encoding {name}")

    def feed(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage.feed(data)
        return data

    def finish(self) -> bytes:
        data = b""
        for stage in self._stages:
            data = stage.feed(data) + stage.finish()
        return data


class _Inflater:
    """gzip (wbits 16+15), or deflate (wbits None: zlib-wrapped, falling back to raw as browsers do)."""

    def __init__(self, cap: int, wbits: int | None) -> None:
        self._cap = cap
        self._produced = 0
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits) if wbits is not None else None
        self._first = True

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        room = self._cap + 1 - self._produced
        try:
            if self._zlib is None:
                self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            out = self._zlib.decompress(data, room)
        except zlib.error as exc:
            if self._wbits is None and self._first:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._decompress_or_refuse(data, room)
            else:
                raise _Refused(f"corrupt compressed body: {exc}") from None
        self._first = False
        self._produced += len(out)
        if self._produced > self._cap:
            raise _TooLarge
        return out

    def _decompress_or_refuse(self, data: bytes, room: int) -> bytes:
        try:
            return self._zlib.decompress(data, room)
        except zlib.error as exc:
            raise _Refused(f"corrupt compressed body: {exc}") from None

    def finish(self) -> bytes:
        if self._zlib is None:
            return b""
        out = self._zlib.flush()
        self._produced += len(out)
        if self._produced > self._cap:
            raise _TooLarge
        return out


class _Unbrotli:
    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._produced = 0
        self._brotli = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        try:
            out = self._brotli.process(data, output_buffer_limit=self._cap + 1 - self._produced)
        except brotli.error as exc:
            raise _Refused(f"corrupt brotli body: {exc}") from None
        self._produced += len(out)
        if self._produced > self._cap or not self._brotli.can_accept_more_data():
            raise _TooLarge  # output limit reached: the rest would only be more of a too-large body
        return out

    def finish(self) -> bytes:
        return b""


def _declared_type_problem(kind: str, mime: str) -> str | None:
    """Refuse from the Content-Type header alone, before a byte of the body is read."""
    if not mime or mime == "application/octet-stream":
        return None
    if kind == "page":
        return None if mime in _PAGE_TYPES else f"unsupported content type {mime}"
    if mime == "text/html" or _is_feed_type(mime):
        return None
    return f"unsupported content type {mime}"


def _is_feed_type(mime: str) -> bool:
    return mime in _FEED_TYPES or mime.endswith(("/xml", "+xml", "+json"))


def _body_type_problem(kind: str, mime: str, body: bytes) -> str | None:
    """Sniff the body: binary magic beats any header, and a missing or vague type must look right."""
    served = f"served as {mime}" if mime else "served without a content type"
    for magic, what in _BINARY_MAGIC:
        if body.startswith(magic):
            return f"unsupported content type: {what} {served}"
    head = body[:1024].removeprefix(b"\xef\xbb\xbf")
    if kind == "page":
        if body.startswith(_GZIP_MAGIC):
            return f"unsupported content type: gzip data {served}"
        if not mime and not _HTML_START.match(head):
            return "unsupported content type: none given, and the body does not look like HTML"
        if mime == "application/octet-stream":
            return f"unsupported content type {mime}"
        return None
    if mime == "text/html" and not _FEED_START.match(head):
        return "unsupported content type text/html: an HTML page, not a feed"
    if (not mime or mime == "application/octet-stream") and not (
            body.startswith(_GZIP_MAGIC) or head.lstrip().startswith(b"<")):
        return f"unsupported content type {mime or '(none)'}: the body is neither XML nor gzip"
    return None


def _decode_page(body: bytes, content_type: str, max_bytes: int) -> str:
    """HTML text: the header charset, else a <meta> charset in the first 4 KB, else detection.

    A byte-order mark wins over both, as in browsers; a declared charset the
    bytes do not fit falls through to detection rather than to mojibake.
    """
    if not body.strip():
        raise RejectedInput("empty body")
    if not body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        header = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.IGNORECASE)
        meta = _META_CHARSET.search(body[:4096])
        labels = [header.group(1) if header else None, meta.group(1).decode("ascii") if meta else None]
        for label in labels:
            codec = _codec(label)
            if codec:
                try:
                    return normalise_text(body.decode(codec))
                except UnicodeDecodeError:
                    continue
    return decode_text(body, max_bytes)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # a BOM-less page declaring UTF-16 is ASCII-compatible: WHATWG reads it as UTF-8
    return _CODEC_ALIASES.get(name, name)
