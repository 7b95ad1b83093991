"""Fetching against a real HTTP server on 127.0.0.1: politeness and failures are judged from the server's log."""

from __future__ import annotations

import dataclasses
import gzip
import pickle
import re
import threading
import time
import tomllib
import tracemalloc
import zlib
from importlib import metadata
from pathlib import Path

import brotli
import pytest
from postgres import scratch_database
from webserver import WebServer

from extractors.fetching import Fetcher, FetchPolicy, FetchRequest
from warehouse.host_leases import HostLeases


PAGE_GZ = Path(__file__).parent / "fixtures" / "web" / "fetch" / "independent_es.html.gz"
PAGE = gzip.decompress(PAGE_GZ.read_bytes())
PAGE_TEXT = PAGE.decode("utf-8")
HTML = "text/html; charset=utf-8"

FAST = FetchPolicy(allow_private=True, host_delay=0.05, connect_timeout=1.0, read_timeout=1.0,
                   total_timeout=3.0, retries=2, backoff_base=0.01, backoff_max=0.05)


def policy(**changes) -> FetchPolicy:
    return dataclasses.replace(FAST, **changes)


def fetch(url: str, pol: FetchPolicy = FAST, **request) -> object:
    with Fetcher(pol) as fetcher:
        return fetcher.fetch(FetchRequest(url, **request))


def page_requests(web: WebServer) -> list:
    return [r for r in web.requests if r.path != "/robots.txt"]


def latin1_page(keep_meta: bool) -> bytes:
    """The fixture page re-encoded as ISO-8859-1, its UTF-8 declarations removed or replaced."""
    text = re.sub(r"<meta[^>]+charset[^>]*>", '<meta charset="iso-8859-1">' if keep_meta else "", PAGE_TEXT,
                  flags=re.IGNORECASE)
    return text.encode("latin-1", errors="xmlcharrefreplace")


# -- success paths ----------------------------------------------------------------------------------

def test_page_is_fetched_and_decoded(web):
    web.route("/article", PAGE, headers={"Content-Type": HTML})
    result = fetch(web.url("/article"))
    assert result.outcome == "fetched", result.error
    assert (result.status, result.attempts, result.final_url) == (200, 1, web.url("/article"))
    assert result.body == PAGE and result.text == PAGE_TEXT and "publicación" in result.text
    assert result.content_type == HTML
    assert pickle.loads(pickle.dumps(result)) == result  # results may cross process boundaries
    assert result.started_at.tzinfo is not None and result.finished_at >= result.started_at
    robots, page = web.requests
    assert robots.path == "/robots.txt" and page.path == "/article"
    assert page.headers["user-agent"] == f"newsflow/{metadata.version('newsflow')}"  # no contact given, none made up
    assert "br" in page.headers["accept-encoding"]


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ("br", lambda data: brotli.compress(data, quality=5)),
])
def test_compressed_transfer_is_undone(web, encoding, encode):
    web.route("/article", encode(PAGE), headers={"Content-Type": HTML, "Content-Encoding": encoding})
    result = fetch(web.url("/article"))
    assert result.outcome == "fetched", result.error
    assert result.body == PAGE and result.text == PAGE_TEXT


def test_user_agent_carries_the_installed_version_and_the_users_contact(web):
    web.route("/article", PAGE, headers={"Content-Type": HTML})
    fetch(web.url("/article"), policy(contact="mailto:desk@example.org"))
    agents = {request.headers["user-agent"] for request in web.requests}
    assert agents == {f"newsflow/{metadata.version('newsflow')} (+mailto:desk@example.org)"}
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert metadata.version("newsflow") == pyproject["project"]["version"]  # the real version, not "0.1"


def test_compressed_body_cut_short_is_a_failure_not_half_a_page(web):
    whole = gzip.compress(PAGE)
    web.route("/cut", whole[: len(whole) // 2], headers={"Content-Type": HTML, "Content-Encoding": "gzip"})
    result = fetch(web.url("/cut"))
    assert result.outcome == "failed" and result.text is None
    assert "gzip data ends early: the stream is truncated" in result.error


def test_page_with_a_few_bad_bytes_stays_utf8_and_says_how_many(web):
    middle = PAGE.index(b"</p>", len(PAGE) // 2)
    web.route("/damaged", PAGE[:middle] + b"\xff\x80\xfe" + PAGE[middle:], headers={"Content-Type": HTML})
    result = fetch(web.url("/damaged"))
    assert result.outcome == "fetched", result.error
    assert (result.encoding, result.replaced_bytes) == ("utf-8", 3) and "publicación" in result.text


def test_conditional_get_gives_not_modified(web):
    etag, modified = '"v1"', "Wed, 21 Oct 2015 07:28:00 GMT"
    web.route("/article", PAGE, headers={"Content-Type": HTML}, etag=etag, last_modified=modified)
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(FetchRequest(web.url("/article")))
        second = fetcher.fetch(FetchRequest(web.url("/article"), etag=first.etag, last_modified=first.last_modified))
    assert (first.outcome, first.etag, first.last_modified) == ("fetched", etag, modified)
    assert (second.outcome, second.status, second.body, second.text) == ("not_modified", 304, b"", None)
    assert second.etag == etag and second.error is None
    conditional = web.requests_to("/article")[1]
    assert conditional.headers["if-none-match"] == etag
    assert conditional.headers["if-modified-since"] == modified


def test_redirect_is_followed_to_the_final_url(web):
    web.route("/old", status=301, headers={"Location": "/new"})
    web.route("/new", PAGE, headers={"Content-Type": HTML})
    result = fetch(web.url("/old"))
    assert (result.outcome, result.final_url, result.status) == ("fetched", web.url("/new"), 200)


# -- HTTP failures and retries ----------------------------------------------------------------------

@pytest.mark.parametrize("status, reason", [(404, "HTTP 404 Not Found"), (410, "HTTP 410 Gone")])
def test_client_errors_fail_without_retry(web, status, reason):
    web.route("/gone", "no", status=status)
    result = fetch(web.url("/gone"))
    assert (result.outcome, result.status, result.error, result.attempts) == ("failed", status, reason, 1)
    assert len(web.requests_to("/gone")) == 1


def scripted(*responses):
    """A handler answering with `responses` in turn, the last one forever."""
    calls = []

    def answer(request):
        calls.append(request)
        return responses[min(len(calls), len(responses)) - 1]

    return answer


def test_server_error_is_retried(web):
    web.handler("/flaky", scripted((500, {}, b"oops"), (200, {"Content-Type": HTML}, PAGE)))
    result = fetch(web.url("/flaky"))
    assert (result.outcome, result.attempts, result.status) == ("fetched", 2, 200)
    assert len(web.requests_to("/flaky")) == 2


def test_retries_run_out(web):
    web.route("/down", status=503)
    result = fetch(web.url("/down"))
    assert result.outcome == "failed"
    assert result.error == "HTTP 503 Service Unavailable after 3 attempts"
    assert result.attempts == 3 and len(web.requests_to("/down")) == 3


def test_retry_after_is_honoured(web):
    web.handler("/busy", scripted((429, {"Retry-After": "1"}, b""), (200, {"Content-Type": HTML}, PAGE)))
    result = fetch(web.url("/busy"))
    assert (result.outcome, result.attempts) == ("fetched", 2)
    refused, served = web.requests_to("/busy")
    assert served.started - refused.finished >= 0.95


def test_retry_after_beyond_the_limit_is_not_waited_for(web):
    web.route("/later", status=503, headers={"Retry-After": "3600"})
    result = fetch(web.url("/later"))
    assert result.outcome == "failed" and "retry after 3600 s" in result.error
    assert len(web.requests_to("/later")) == 1


def test_slow_headers_time_out_without_hanging(web):
    web.route("/slow", PAGE, headers={"Content-Type": HTML}, delay=5)
    result = fetch(web.url("/slow"), policy(read_timeout=0.3, retries=1))
    # the reason proves each attempt ended at the 0.3 s read timeout, not after the server's 5 s
    assert result.outcome == "failed"
    assert result.error == "timed out after 2 attempts (read timeout 0.3 s)"


def test_slow_body_hits_the_total_time_limit(web):
    def drip(request):
        def chunks():
            for _ in range(100):
                time.sleep(0.05)
                yield b"<p>" + b"x" * 100 + b"</p>\n"
        return 200, {"Content-Type": HTML}, chunks()

    web.handler("/drip", drip)
    result = fetch(web.url("/drip"), policy(total_timeout=0.4, retries=0))  # the drip would take 5 s
    assert result.outcome == "failed" and result.error == "timed out after 1 attempt (total time limit 0.4 s)"


def test_redirect_loop_is_named(web):
    web.route("/a", status=302, headers={"Location": "/b"})
    web.route("/b", status=302, headers={"Location": web.url("/a")})
    result = fetch(web.url("/a"))
    assert result.outcome == "failed"
    assert result.error == f"redirect loop: {web.url('/a')} -> {web.url('/b')} -> {web.url('/a')}"


def test_too_many_redirects(web):
    for hop in range(10):
        web.route(f"/r{hop}", status=301, headers={"Location": f"/r{hop + 1}"})
    result = fetch(web.url("/r0"), policy(max_redirects=3))
    assert result.outcome == "failed" and result.error.startswith("too many redirects (more than 3): ")
    assert [r.path for r in page_requests(web)] == ["/r0", "/r1", "/r2", "/r3"]


# -- what we refuse to read -------------------------------------------------------------------------

def test_oversized_body_is_refused(web):
    web.route("/big", b"<html>" + b"x" * 1_000_000, headers={"Content-Type": HTML})
    web.handler("/big-chunked", lambda request: (200, {"Content-Type": HTML}, iter([b"<html>"] + [b"x" * 65536] * 16)))
    for path in ("/big", "/big-chunked"):
        result = fetch(web.url(path), policy(max_bytes=100_000))
        assert result.outcome == "failed" and result.error == "body exceeds the 100,000 byte limit", path


@pytest.mark.parametrize("encoding, bomb", [
    ("gzip", lambda: gzip.compress(b"\0" * 50_000_000, compresslevel=9)),
    ("br", lambda: brotli.compress(b"\0" * 50_000_000, quality=5)),
])
def test_decompression_bomb_is_cut_at_the_cap(web, encoding, bomb):
    web.route("/bomb", bomb(), headers={"Content-Type": HTML, "Content-Encoding": encoding})
    tracemalloc.start()
    try:
        result = fetch(web.url("/bomb"), policy(max_bytes=100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome == "failed" and result.error == "body exceeds the 100,000 byte limit"
    assert peak < 5_000_000  # the 50 MB were never inflated


def test_pdf_and_png_are_unsupported(web):
    web.route("/report.pdf", b"%PDF-1.7\n...", headers={"Content-Type": "application/pdf"})
    web.route("/chart", b"\x89PNG\r\n\x1a\n....", headers={"Content-Type": "image/png"})
    web.route("/disguised", b"\x89PNG\r\n\x1a\n....", headers={"Content-Type": "text/html"})
    assert fetch(web.url("/report.pdf")).error == "unsupported content type application/pdf"
    assert fetch(web.url("/chart")).error == "unsupported content type image/png"
    assert fetch(web.url("/disguised")).error == "unsupported content type: a PNG image served as text/html"


def test_feed_accepts_xml_and_keeps_bytes(web):
    rss = b'<?xml version="1.0"?><rss><channel><title>t</title></channel></rss>'
    web.route("/feed", rss, headers={"Content-Type": "application/rss+xml"})
    web.route("/sitemap.xml.gz", gzip.compress(rss), headers={"Content-Type": "application/octet-stream"})
    feed = fetch(web.url("/feed"), kind="feed")
    sitemap = fetch(web.url("/sitemap.xml.gz"), kind="feed")
    assert (feed.outcome, feed.body, feed.text) == ("fetched", rss, None)
    assert sitemap.outcome == "fetched" and gzip.decompress(sitemap.body) == rss
    assert fetch(web.url("/feed")).error == "unsupported content type application/rss+xml"


@pytest.mark.parametrize("keep_meta", [False, True], ids=["no-charset-anywhere", "meta-charset"])
def test_latin1_page_without_charset_header_decodes(web, keep_meta):
    web.route("/latin", latin1_page(keep_meta), headers={"Content-Type": "text/html"})
    result = fetch(web.url("/latin"))
    assert result.outcome == "fetched", result.error
    for word in ("publicación", "música", "reseñas", "continúa"):
        assert word in result.text


# -- robots.txt and politeness ----------------------------------------------------------------------

def test_robots_disallow_is_obeyed_before_and_after_redirects(web):
    web.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    web.route("/private/story", PAGE, headers={"Content-Type": HTML})
    web.route("/teaser", status=302, headers={"Location": "/private/story"})
    web.route("/public", PAGE, headers={"Content-Type": HTML})
    with Fetcher(FAST) as fetcher:
        results = {r.request.url: r for r in fetcher.fetch_many(
            FetchRequest(web.url(path)) for path in ("/private/story", "/teaser", "/public"))}
    blocked, redirected = results[web.url("/private/story")], results[web.url("/teaser")]
    assert (blocked.outcome, blocked.attempts) == ("disallowed", 0)
    assert blocked.error == "robots.txt disallows this URL for newsflow"
    assert redirected.outcome == "disallowed" and redirected.final_url == web.url("/private/story")
    assert results[web.url("/public")].outcome == "fetched"
    assert not web.requests_to("/private/story")
    assert len(web.requests_to("/robots.txt")) == 1


def test_robots_texts_of_an_earlier_run_are_reused_without_a_request(web):
    rules = "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n"
    web.route("/robots.txt", rules, headers={"Content-Type": "text/plain"})
    for path in ("/private/story", "/a", "/b"):
        web.route(path, PAGE, headers={"Content-Type": HTML})
    with Fetcher(FAST) as first:
        first.fetch(FetchRequest(web.url("/a")))
    (key, text), = first.fetched_robots.items()
    assert key == web.base_url and text == rules
    with Fetcher(FAST, known_robots=first.fetched_robots) as second:
        results = {r.request.url: r.outcome for r in second.fetch_many(
            FetchRequest(web.url(path)) for path in ("/private/story", "/a", "/b"))}
    assert results == {web.url("/private/story"): "disallowed", web.url("/a"): "fetched", web.url("/b"): "fetched"}
    assert len(web.requests_to("/robots.txt")) == 1 and not second.fetched_robots
    assert web.min_gap(web.requests[-2:]) >= 0.3  # the remembered Crawl-delay still holds


def test_crawl_delay_raises_the_gap(web):
    web.route("/robots.txt", "User-agent: newsflow\nCrawl-delay: 0.5\n", headers={"Content-Type": "text/plain"})
    for n in range(3):
        web.route(f"/p{n}", PAGE, headers={"Content-Type": HTML})
    with Fetcher(FAST) as fetcher:
        results = list(fetcher.fetch_many(FetchRequest(web.url(f"/p{n}")) for n in range(3)))
    assert [r.outcome for r in results] == ["fetched"] * 3
    assert web.min_gap() >= 0.5  # robots.txt counts as a request: the first page waits too


def test_one_host_is_never_hammered_while_hosts_run_in_parallel(web):
    with WebServer() as other:
        for server in (web, other):
            for n in range(5):
                server.route(f"/p{n}", PAGE, headers={"Content-Type": HTML}, delay=0.1)
        pol = policy(host_delay=0.15)
        with Fetcher(pol) as fetcher:
            requests = [FetchRequest(server.url(f"/p{n}")) for n in range(5) for server in (web, other)]
            results = list(fetcher.fetch_many(requests))
        assert [r.outcome for r in results] == ["fetched"] * 10
        for server in (web, other):
            assert server.max_concurrency() == 1
            assert server.min_gap() >= pol.host_delay
        assert web.max_concurrency(web.requests + other.requests) == 2  # the two hosts overlapped


def test_results_arrive_as_they_complete(web):
    with WebServer() as fast:
        web.route("/slow", PAGE, headers={"Content-Type": HTML}, delay=0.8)
        fast.route("/quick", PAGE, headers={"Content-Type": HTML})
        with Fetcher(FAST) as fetcher:
            order = [r.request.url for r in fetcher.fetch_many([FetchRequest(web.url("/slow")),
                                                                 FetchRequest(fast.url("/quick"))])]
        assert order == [fast.url("/quick"), web.url("/slow")]


def test_every_request_gets_a_result_even_when_some_fail(web):
    web.route("/robots.txt", "User-agent: *\nDisallow: /no\n", headers={"Content-Type": "text/plain"})
    web.route("/ok", PAGE, headers={"Content-Type": HTML})
    web.route("/pdf", b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    urls = [web.url("/ok"), web.url("/missing"), web.url("/no"), web.url("/pdf"), "ftp://example.com/x",
            "not a url", web.url("/ok") + "?again=1"]
    with Fetcher(FAST) as fetcher:
        results = list(fetcher.fetch_many(FetchRequest(url) for url in urls))
    outcomes = {r.request.url: r.outcome for r in results}
    assert len(results) == len(urls) and set(outcomes) == set(urls)
    assert outcomes == {urls[0]: "fetched", urls[1]: "failed", urls[2]: "disallowed", urls[3]: "failed",
                        urls[4]: "failed", urls[5]: "failed", urls[6]: "fetched"}
    assert all(r.error for r in results if r.outcome != "fetched")


def test_stopping_early_neither_hangs_nor_leaks_threads(web):
    for n in range(20):
        web.route(f"/p{n}", PAGE, headers={"Content-Type": HTML})
    fetcher = Fetcher(policy(host_delay=0.2))
    stream = fetcher.fetch_many(FetchRequest(web.url(f"/p{n}")) for n in range(20))
    first = next(stream)
    stream.close()
    fetcher.close()  # returns without working off the queue: the requests below were never sent
    assert first.outcome == "fetched"
    assert len(page_requests(web)) <= 2
    assert not [t for t in threading.enumerate() if t.name.startswith("newsflow-fetch")]


# -- politeness across fetchers: turns at each host kept in PostgreSQL (warehouse.host_leases) -----------

CLOCK_TOLERANCE = 0.02
"""Seconds the database's clock and this process's monotonic clock may disagree over one gap."""


@pytest.fixture
def leases_db() -> str:
    with scratch_database() as name:
        yield f"dbname={name} host=127.0.0.1 user=postgres"


def _two_fetchers_at_once(web: WebServer, pol: FetchPolicy, n_pages: int, leases_db: str | None) -> list[str]:
    """Two fetchers, as two workers would (each its own lease connection, or none), fetch `n_pages` pages
    each of one host at once; the outcomes, and the server's log tells who sent what (their contacts)."""
    outcomes: list[str] = []

    def worker(name: str, barrier: threading.Barrier) -> None:
        leases = HostLeases(leases_db, turn_lapse=10) if leases_db else None
        try:
            with Fetcher(dataclasses.replace(pol, contact=name), shared_hosts=leases) as fetcher:
                barrier.wait()
                outcomes.extend(r.outcome for r in fetcher.fetch_many(
                    FetchRequest(web.url(f"/{name}/{n}")) for n in range(n_pages)))
        finally:
            if leases:
                leases.close()

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=worker, args=(name, barrier)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _senders(web: WebServer) -> list[str]:
    return [r.headers["user-agent"].rsplit("+", 1)[-1].rstrip(")") for r in sorted(web.requests, key=lambda r: r.started)]


@pytest.mark.parametrize("shared", [True, False], ids=["with-leases", "without"])
def test_two_fetchers_keep_one_hosts_delay_only_with_shared_leases(web, leases_db, shared):
    web.route("/robots.txt", "User-agent: *\nDisallow: /private/\n", headers={"Content-Type": "text/plain"})
    for name in ("one", "two"):
        for n in range(5):
            web.route(f"/{name}/{n}", PAGE, headers={"Content-Type": HTML})
    pol = policy(host_delay=0.3)
    outcomes = _two_fetchers_at_once(web, pol, 5, leases_db if shared else None)
    assert outcomes == ["fetched"] * 10
    senders = _senders(web)
    assert sum(a != b for a, b in zip(senders, senders[1:])) >= 2  # they fetched at once, not one after the other
    if shared:
        assert web.max_concurrency() == 1
        assert web.min_gap() >= pol.host_delay - CLOCK_TOLERANCE
        assert len(web.requests_to("/robots.txt")) == 1  # one worker asked, the other read it from the pool
    else:
        assert web.min_gap() < pol.host_delay - CLOCK_TOLERANCE  # each kept its own delay, not the host's
        assert len(web.requests_to("/robots.txt")) == 2


def test_per_host_concurrency_holds_across_fetchers(web, leases_db):
    for name in ("one", "two"):
        for n in range(4):
            web.route(f"/{name}/{n}", PAGE, headers={"Content-Type": HTML}, delay=0.3)
    outcomes = _two_fetchers_at_once(web, policy(host_delay=0.0, host_concurrency=2), 4, leases_db)
    assert outcomes == ["fetched"] * 8
    assert web.max_concurrency(page_requests(web)) == 2  # not 2 per fetcher


def test_a_robots_txt_one_worker_fetched_binds_the_next(web, leases_db):
    web.route("/robots.txt", "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.4\n",
              headers={"Content-Type": "text/plain"})
    for path in ("/a", "/b"):
        web.route(path, PAGE, headers={"Content-Type": HTML})
    with HostLeases(leases_db, turn_lapse=10) as pool, Fetcher(FAST, shared_hosts=pool) as first:
        assert first.fetch(FetchRequest(web.url("/a"))).outcome == "fetched"
    with HostLeases(leases_db, turn_lapse=10) as pool, Fetcher(FAST, shared_hosts=pool) as second:
        outcomes = {r.request.url: r.outcome for r in second.fetch_many(
            [FetchRequest(web.url("/private/story")), FetchRequest(web.url("/b"))])}
        assert second.fetched_robots == first.fetched_robots  # what it obeyed, for its warehouse's robots_txt
    assert outcomes == {web.url("/private/story"): "disallowed", web.url("/b"): "fetched"}
    assert len(web.requests_to("/robots.txt")) == 1
    assert web.min_gap() >= 0.4 - CLOCK_TOLERANCE  # its Crawl-delay too, from the end of the first's request


def test_a_turn_never_given_back_lapses(leases_db):
    with HostLeases(leases_db, turn_lapse=0.5) as dead, HostLeases(leases_db, turn_lapse=0.5) as alive:
        taken = dead.take("example.org", 0.1, 1)
        assert taken.granted and not alive.take("example.org", 0.1, 1).granted
        started = time.monotonic()
        while not (turn := alive.take("example.org", 0.1, 1)).granted:
            assert turn.wait > 0
            time.sleep(turn.wait)
        assert 0.5 - CLOCK_TOLERANCE <= time.monotonic() - started < 2.0
        alive.give_back(turn, 0.4)
        assert not dead.take("example.org", 0.1, 1).granted  # resting: 0.4 s from the give-back


def test_a_politeness_database_that_is_not_there_is_named():
    with pytest.raises(RuntimeError, match="politeness database 'dbname=newsflow_no_such_db .*does not exist"):
        HostLeases("dbname=newsflow_no_such_db host=127.0.0.1 user=postgres", turn_lapse=1)
    with pytest.raises(ValueError, match="cannot read 'db=x'"):
        HostLeases("db=x", turn_lapse=1)
    assert not [t for t in threading.enumerate() if t.name == "newsflow-host-leases"]  # nothing left running


# -- safety -----------------------------------------------------------------------------------------

def test_loopback_is_refused_without_allow_private(web):
    web.route("/a", PAGE, headers={"Content-Type": HTML})
    result = fetch(web.url("/a"), policy(allow_private=False))
    assert result.outcome == "failed" and result.attempts == 0
    assert result.error == "refused: 127.0.0.1 is a loopback address (use --allow-private)"
    named = fetch(web.url("/a").replace("127.0.0.1", "localhost"), policy(allow_private=False))
    assert named.error.startswith("refused: localhost resolves to ") and "loopback address" in named.error
    assert web.requests == []  # not even robots.txt


@pytest.mark.parametrize("url", ["ftp://example.com/story", "file:///etc/passwd", "javascript:alert(1)"])
def test_non_http_schemes_are_refused(url):
    result = fetch(url)
    assert result.outcome == "failed" and "unsupported URL scheme" in result.error
