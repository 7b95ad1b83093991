"""A real HTTP server on localhost, for fetching tests and benchmarks.

Fetch code is only believable against real sockets: keep-alive, slow reads,
chunked bodies and timeouts behave differently under a mock. This server is
stdlib only (`ThreadingHTTPServer` in a daemon thread) and logs every
request with monotonic start and end times, so a test can check politeness
(overlap, gaps) from the server's side, where it matters.

    with WebServer() as web:
        web.route("/a", "<html>...</html>")
        web.handler("/flaky", lambda request: (500, {}, b"") if ... else (200, {...}, b"..."))
        fetch(web.url("/a"))
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Self
from urllib.parse import urlsplit

Body = bytes | str | Iterable[bytes]
"""bytes or str are sent with a Content-Length; any other iterable is sent chunked, one chunk per item
(a generator that sleeps between items makes a slow body)."""
Response = tuple[int, dict[str, str], Body]


@dataclass
class RecordedRequest:
    """One request as the server saw it; times are `time.monotonic()` of this process."""

    method: str
    path: str
    """Path with the query string, as sent."""
    headers: dict[str, str]
    """Header names lower-cased."""
    started: float
    """When the request line and headers had been read."""
    finished: float | None = None
    """When the last write of the response began (or the client went away); None while in progress.

    Stamped before that write, not after it, so it never falls after the client had the whole
    response: a thread descheduled after writing must not shrink the gaps `min_gap` reports."""
    status: int | None = None


class WebServer:
    """Routes and a request log; use as a context manager or call start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._routes: dict[str, Callable[[RecordedRequest], Response]] = {}
        self._log: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> WebServer:
        server = _QuietServer(self._address, _handler_class(self))
        self._server = server
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"webserver-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting; handlers still sleeping in a slow route are daemon threads and die with the process."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, body: bytes | str = b"", status: int = 200, headers: dict | None = None,
              delay: float = 0.0, etag: str | None = None, last_modified: str | None = None) -> None:
        """A static response, after `delay` seconds. With `etag`/`last_modified` it sends them and
        answers 304 to a matching If-None-Match / If-Modified-Since. A str body with no Content-Type
        is sent as text/html; charset=utf-8."""
        headers = dict(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "text/html; charset=utf-8"
        if etag:
            headers["ETag"] = etag
        if last_modified:
            headers["Last-Modified"] = last_modified

        def respond(request: RecordedRequest) -> Response:
            if delay:
                time.sleep(delay)
            if _not_modified(request, etag, last_modified):
                return 304, {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}, b""
            return status, headers, body

        self.handler(path, respond)

    def handler(self, path: str, fn: Callable[[RecordedRequest], Response]) -> None:
        """A scripted response: `fn(request) -> (status, headers, body)`, called once per request."""
        with self._lock:
            self._routes[path] = fn

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the log, in arrival order."""
        with self._lock:
            return list(self._log)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def max_concurrency(self, requests: list[RecordedRequest] | None = None) -> int:
        """Most requests in progress at once (between `started` and `finished`)."""
        events = []
        for r in self.requests if requests is None else requests:
            events.append((r.started, 1))
            events.append((r.finished if r.finished is not None else float("inf"), -1))
        events.sort(key=lambda event: (event[0], event[1]))  # an end before a start at the same instant
        most = now = 0
        for _, step in events:
            now += step
            most = max(most, now)
        return most

    def min_gap(self, requests: list[RecordedRequest] | None = None) -> float:
        """Smallest pause from the end of one response to the start of the next request, in arrival order.

        Negative when requests overlapped; infinity with fewer than two requests. This is the
        server's view of a client's politeness delay (measured by clients from the response's end).
        """
        log = sorted(self.requests if requests is None else requests, key=lambda r: r.started)
        gaps = [b.started - (a.finished if a.finished is not None else float("inf")) for a, b in pairwise(log)]
        return min(gaps, default=float("inf"))

    def _route_for(self, path: str) -> Callable[[RecordedRequest], Response] | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(urlsplit(path).path)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._log.append(request)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (a fetcher giving up on a slow or huge body) is expected here."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _not_modified(request: RecordedRequest, etag: str | None, last_modified: str | None) -> bool:
    if etag and "if-none-match" in request.headers:
        tags = [tag.strip() for tag in request.headers["if-none-match"].split(",")]
        return etag in tags or "*" in tags
    if last_modified and "if-modified-since" in request.headers:
        try:
            return parsedate_to_datetime(request.headers["if-modified-since"]) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def _handler_class(web: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def log_message(self, format: str, *args: object) -> None:
            pass  # tests read the log, not stderr

        def _serve(self, send_body: bool = True) -> None:
            request = RecordedRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                      time.monotonic())
            web._record(request)
            try:
                route = web._route_for(self.path)
                status, headers, body = route(request) if route else (404, {"Content-Type": "text/plain"}, b"not found")
                request.status = status
                self._write(request, status, headers, body, send_body)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True
            finally:
                if request.finished is None:  # the client went away mid-response
                    request.finished = time.monotonic()

        def _write(self, request: RecordedRequest, status: int, headers: dict[str, str], body: Body,
                   send_body: bool) -> None:
            if isinstance(body, str):
                body = body.encode("utf-8")
            self.send_response(status)
            names = {name.lower() for name in headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(body, bytes):
                if "content-length" not in names:
                    self.send_header("Content-Length", str(len(body)))
                if not (send_body and status != 304 and body):
                    request.finished = time.monotonic()
                self.end_headers()
                if send_body and status != 304 and body:
                    request.finished = time.monotonic()
                    self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in body:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            request.finished = time.monotonic()
            self.wfile.write(b"0\r\n\r\n")

    return Handler
