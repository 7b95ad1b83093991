"""Many URLs at once, one polite queue per host: who may be asked next, and when.

Requests for one host wait in that host's queue; a dispatcher thread hands
the head of each queue to the thread pool once the host is free and its
delay has passed, so a host waiting out a delay or a Retry-After never
holds a thread that another host could use. robots.txt is fetched before
a host's first page (`robots`), every hop's address is checked
(`address_guard`), and one attempt is `client.HttpClient.get`. Given
`SharedHosts` (`sharing`), each request also takes the pool's turn at its
host, so the delay and concurrency hold across workers.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

from protego import Protego

from extractors.fetching import robots
from extractors.fetching.address_guard import AddressGuard
from extractors.fetching.client import ACCEPT, HttpClient, Refused, Transient, next_hop, retry_wait
from extractors.fetching.policy import USER_AGENT_TOKEN, FetchPolicy, FetchRequest, FetchResult
from extractors.fetching.sharing import SharedHosts, Turn
from extractors.urls import host_of


class Fetcher:
    """Fetches many URLs at once, one polite queue per host; use as a context manager.

    Requests for one host wait in that host's queue; a dispatcher thread hands
    the head of each queue to the thread pool once the host is free and its
    delay has passed, so a host waiting out a delay or a Retry-After never
    holds a thread that another host could use.
    """

    def __init__(
        self, policy: FetchPolicy | None = None, known_robots: Mapping[str, str] | None = None,
        shared_hosts: SharedHosts | None = None,
    ) -> None:
        """`known_robots`: robots.txt texts fetched lately ("" for none), by "scheme://host[:port]",
        so a run soon after another sends no robots.txt request; `fetched_robots` collects the new ones.
        `shared_hosts`: the pool's turns at each host, taken before every request (robots.txt included),
        and the robots.txt texts other workers fetched."""
        self.policy = policy or FetchPolicy()
        self._shared = shared_hosts
        p = self.policy
        slots = max(1, p.max_parallel_hosts * p.host_concurrency)
        self._http = HttpClient(p, slots)
        self._guard = AddressGuard(p.allow_private)
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="newsflow-fetch")
        self._cond = threading.Condition()
        self._hosts: dict[str, _Host] = {}
        self._waiting: dict[str, _Host] = {}
        self._robots: dict[str, Protego | None | object] = {
            key: robots.parse_robots(text) for key, text in (known_robots or {}).items()
        }
        self.fetched_robots: dict[str, str] = {}
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
        self._http.close()

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
            known = self._robots.get(robots.robots_key(job.url))
            if isinstance(known, Protego):
                host.delay = robots.crawl_delay(known, host.delay)
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
                rules = self._robots.get(robots.robots_key(job.url), _UNKNOWN) if p.respect_robots else None
                if rules is _PENDING:
                    break
                if isinstance(rules, Protego) and not robots.allows(rules, job.url):
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
                    self._robots[robots.robots_key(job.url)] = _PENDING
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
        made_request, turn = False, None
        try:
            turn = self._take_turn(host)
            if turn is not None and not turn.granted:
                then: _Next = _Again(turn.wait)  # another worker has the host: ask again then
            elif kind == "robots":
                made_request, then = self._robots_step(host, job)
            else:
                made_request, then = self._page_step(job)
        except Exception as exc:  # every request ends as a result, whatever went wrong
            then = _Done(self._result(job, "failed", error=f"internal error: {exc!r}"))
        end = time.monotonic()
        if turn is not None and turn.granted:
            self._give_back(turn, max(host.delay if made_request else 0.0,
                                      then.wait if isinstance(then, _Again) else 0.0))
        with self._cond:
            key = robots.robots_key(job.url)
            if kind == "robots" and self._robots.get(key) is _PENDING:
                del self._robots[key]
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

    def _take_turn(self, host: _Host) -> Turn | None:
        if self._shared is None:
            return None
        try:
            return self._shared.take(host.key, host.delay, self.policy.host_concurrency)
        except Exception as exc:
            raise RuntimeError(f"no turn at {host.key} from the shared host leases: {exc}") from exc

    def _give_back(self, turn: Turn, rest: float) -> None:
        try:
            self._shared.give_back(turn, rest)
        except Exception:  # the request is done either way; an unreturned turn lapses by itself
            pass

    def _robots_step(self, host: _Host, job: _Job) -> tuple[bool, _Next]:
        refusal = self._guard.refusal(job.url)
        if refusal:
            return False, _Done(self._result(job, "failed", error=refusal, attempts=0))
        key = robots.robots_key(job.url)
        text = self._shared.robots(key) if self._shared is not None else None
        made_request = text is None
        if made_request:
            text = robots.load_robots(self._http, key, self._guard.refusal)
            if self._shared is not None:
                self._shared.remember_robots(key, text)
        rules = robots.parse_robots(text)
        with self._cond:
            self._robots[key] = rules
            self.fetched_robots[key] = text
            host.delay = robots.crawl_delay(rules, host.delay)
        return made_request, _Again(0.0)

    def _page_step(self, job: _Job) -> tuple[bool, _Next]:
        """One attempt at the job's URL: its result, the next redirect hop, or a retry after a wait."""
        refusal = self._guard.refusal(job.url)
        if refusal:
            return False, _Done(self._result(job, "failed", error=refusal, attempts=0))
        job.attempts += 1
        try:
            answer = self._http.get(job.url, job.request, job.run.cancelled)
            if answer.location is not None:
                job.url = next_hop(job.chain, answer.location, answer.status, self.policy.max_redirects)
                job.chain.append(job.url)
                job.attempts = 0
                return True, _Again(0.0)
        except Refused as exc:
            return True, _Done(self._result(job, "failed", status=exc.status, error=str(exc)))
        except Transient as exc:
            wait = retry_wait(exc, job.attempts, self.policy)
            if isinstance(wait, str):
                return True, _Done(self._result(job, "failed", status=exc.status, error=wait))
            return True, _Again(wait)
        if answer.not_modified:
            return True, _Done(self._result(job, "not_modified", status=answer.status, etag=answer.etag,
                                            last_modified=answer.last_modified))
        decoded = answer.decoded
        return True, _Done(self._result(
            job, "fetched", status=answer.status, body=answer.body, content_type=answer.content_type,
            text=decoded.text if decoded else None, encoding=decoded.encoding if decoded else None,
            replaced_bytes=decoded.replaced if decoded else 0,
            etag=answer.etag, last_modified=answer.last_modified))

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


def _request_problem(request: FetchRequest) -> str | None:
    if request.kind not in ACCEPT:
        return f"unknown request kind {request.kind!r} (expected 'page' or 'feed')"
    scheme = urlsplit(request.url).scheme.lower()
    if scheme not in ("http", "https"):
        return f"refused: unsupported URL scheme {scheme or '(none)'!r} (only http and https are fetched)"
    try:
        host_of(request.url)
    except ValueError as exc:
        return f"invalid URL: {exc}"
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
