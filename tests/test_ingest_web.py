"""ingest_urls and ingest_feeds end to end: real pages served on 127.0.0.1, a real Prefect API, a real DuckDB file."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from pathlib import Path

import pytest

from flows.ingest_web import ingest_feeds, ingest_urls
from test_ingest_flow import _rows, flow_run_artifact

pytestmark = pytest.mark.usefixtures("prefect_api")

PAGES = Path(__file__).parent / "fixtures" / "web" / "pages"
FEEDS = Path(__file__).parent / "fixtures" / "web" / "feeds"
FAST = dict(allow_private=True, host_delay=0.01, entities=False)


def _page(name: str) -> bytes:
    return gzip.decompress((PAGES / name).read_bytes())


def _serve_pages(web, names: list[str]) -> list[str]:
    """Serve fixture pages at /news/<name> with ETags, as a news site would; returns their URLs."""
    urls = []
    for name in names:
        body = _page(name)
        path = "/news/" + name.removesuffix(".html.gz")
        web.route(path, body, headers={"Content-Type": "text/html; charset=utf-8"},
                  etag='"' + hashlib.sha1(body).hexdigest()[:12] + '"')
        urls.append(web.url(path))
    return urls


def _rss(urls: list[str]) -> str:
    items = "".join(
        f"<item><title>Story {i}</title><link>{url}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<pubDate>Mon, 0{1 + i % 9} Jan 2024 10:00:00 GMT</pubDate></item>"
        for i, url in enumerate(urls)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Local news</title>{items}</channel></rss>'


def test_a_feed_of_20_articles_lands_once_and_then_costs_only_304s(web, db_path):
    names = sorted(p.name for p in PAGES.glob("*.html.gz"))[:20]
    urls = _serve_pages(web, names)
    web.route("/feed.xml", _rss(urls), headers={"Content-Type": "application/rss+xml"}, etag='"feed-v1"')
    web.route("/robots.txt", "User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})

    first = ingest_feeds(feeds=[web.url("/feed.xml")], db=str(db_path), **FAST)
    assert (first["n_new"], first["n_failed"], first["status"]) == (20, 0, "completed")
    assert _rows(db_path, "SELECT count(*), count(DISTINCT url) FROM articles") == [(20, 20)]
    # Tracking parameters of the feed's links are not part of an article's identity.
    assert not _rows(db_path, "SELECT url FROM articles WHERE url LIKE '%utm_%'")
    feed_source = _rows(db_path, "SELECT kind, etag, last_status FROM sources WHERE url LIKE '%/feed.xml'")
    assert feed_source == [("feed", '"feed-v1"', 200)]

    before = len(web.requests)
    second = ingest_feeds(feeds=[web.url("/feed.xml")], db=str(db_path), **FAST)
    second_requests = web.requests[before:]
    assert [(r.path, r.status) for r in second_requests] == [("/feed.xml", 304)]
    assert second_requests[0].headers["if-none-match"] == '"feed-v1"'
    assert (second["n_new"], second["n_updated"], second["n_not_modified"]) == (0, 0, 1)
    assert _rows(db_path, "SELECT count(*) FROM articles") == [(20,)]
    artifact = flow_run_artifact(second["prefect_flow_run_id"], "ingest-feeds-summary")
    assert "| 0 | 0 | 0 | 0 | 1 | 0 | 0 |" in artifact["data"]
    assert "feed.xml: not modified (304)" in artifact["data"]


def test_refetching_pages_sends_their_validators_and_extracts_nothing(web, db_path):
    urls = _serve_pages(web, ["APNews_0.html.gz", "Reuters_0.html.gz"])
    ingest_urls(urls=urls, db=str(db_path), **FAST)
    updated_at = _rows(db_path, "SELECT article_id, updated_at FROM articles ORDER BY 1")
    before = len(web.requests)
    again = ingest_urls(urls=urls, db=str(db_path), **FAST)
    assert all(r.status == 304 and "if-none-match" in r.headers for r in web.requests[before:])
    assert (again["n_unchanged"], again["n_not_modified"], again["n_new"]) == (2, 2, 0)
    assert _rows(db_path, "SELECT article_id, updated_at FROM articles ORDER BY 1") == updated_at


def test_url_variants_of_one_page_are_one_article(web, db_path):
    """Tracking parameters, fragments, host case and an AMP twin declaring its canonical page: one article.
    (www/non-www and http/https folding are canonical_url's, tested in test_urls: no www host resolves here.)"""
    base = web.base_url.replace("127.0.0.1", "localhost")
    page = _page("TheGuardian_0.html.gz").replace(
        b"<head>", f'<head><link rel="canonical" href="https://{base.split("://")[1]}/story?utm_campaign=x">'.encode(), 1)
    web.route("/story", page, headers={"Content-Type": "text/html; charset=utf-8"})
    web.route("/amp/story", page, headers={"Content-Type": "text/html; charset=utf-8"})
    variants = [f"{base}/story", f"{base}/story?utm_source=twitter&fbclid=abc#comments", f"{base}/story#top",
                f"{base.upper().replace('HTTP://', 'http://')}/story", f"{base}/amp/story"]
    summary = ingest_urls(urls=variants, db=str(db_path), **FAST)
    assert _rows(db_path, "SELECT url FROM articles") == [(f"https://{base.split('://')[1]}/story",)]
    assert summary["n_failed"] == 0
    # One fetch per distinct page; each requested identity remembers the article it gave.
    assert sorted(r.path for r in web.requests if r.path != "/robots.txt") == ["/amp/story", "/story"]
    assert len(set(_rows(db_path, "SELECT article_id FROM sources"))) == 1


def test_bad_responses_become_failures_and_the_rest_of_the_batch_lands(web, db_path):
    good = _serve_pages(web, ["CNBC_0.html.gz", "LATimes_0.html.gz"])
    web.route("/robots.txt", "User-agent: *\nDisallow: /members/\n", headers={"Content-Type": "text/plain"})
    web.route("/members/story", _page("FoxNews_0.html.gz"), headers={"Content-Type": "text/html"})
    web.route("/gone", "gone", status=410)
    flaky = iter([(500, {}, b"oops"), (200, {"Content-Type": "text/html; charset=utf-8"}, _page("iNews_0.html.gz"))])
    web.handler("/flaky", lambda request: next(flaky))
    limited = iter([(429, {"Retry-After": "1"}, b""), (200, {"Content-Type": "text/html"}, _page("TheNation_0.html.gz"))])
    web.handler("/limited", lambda request: next(limited))
    web.route("/loop-a", status=302, headers={"Location": "/loop-b"})
    web.route("/loop-b", status=302, headers={"Location": "/loop-a"})
    web.route("/paper.pdf", b"%PDF-1.7\n" + b"\0" * 2000, headers={"Content-Type": "application/pdf"})
    web.route("/photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 2000, headers={"Content-Type": "image/png"})
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    web.route("/bomb", bomb.compress(b"\0" * (60 << 20)) + bomb.flush(),
              headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
    web.route("/huge", b"<html><body>" + b"<p>word </p>" * (1 << 20), headers={"Content-Type": "text/html"})
    latin = "<html><head><title>Café</title></head><body>" + "".join(
        f"<p>Le conseil municipal a voté la réforme du marché numéro {i}, à l'unanimité, après un débat "
        "très animé sur l'été prochain et les fêtes de fin d'année.</p>" for i in range(12)) + "</body></html>"
    web.route("/latin", latin.encode("iso-8859-1"), headers={"Content-Type": "text/html"})
    web.route("/slow", _page("CNBC_1.html.gz"), headers={"Content-Type": "text/html"}, delay=3)
    bad = {"/slow": "timed out after 4 attempts", "/missing": "HTTP 404", "/gone": "HTTP 410", "/loop-a": "redirect loop", "/paper.pdf": "content type",
           "/photo.png": "content type", "/bomb": "limit", "/huge": "limit", "/members/story": "robots.txt",
           "not a url": "not an http(s) URL"}
    urls = [*good, web.url("/flaky"), web.url("/limited"), web.url("/latin"),
            *[web.url(p) if p.startswith("/") else p for p in bad]]

    summary = ingest_urls(urls=urls, db=str(db_path), timeout=0.5, **FAST)

    failures = {uri.removeprefix(web.base_url): (stage, error) for uri, stage, error in
                _rows(db_path, "SELECT source_uri, stage, error FROM failures")}
    assert set(failures) == set(bad)
    for path, reason in bad.items():
        assert reason in failures[path][1], (path, failures[path])
    assert failures["/members/story"][0] == "robots"
    assert (summary["n_new"], summary["n_failed"], summary["status"]) == (5, len(bad), "completed")
    titles = {t for (t,) in _rows(db_path, "SELECT title FROM articles")}
    assert "Café" in titles
    (body,) = _rows(db_path, "SELECT body FROM articles WHERE title = 'Café'")[0]
    assert "municipal a voté la réforme du marché" in body
    assert not web.requests_to("/members/story")
    assert len(web.requests_to("/limited")) == 2
    retry_gap = web.requests_to("/limited")[1].started - web.requests_to("/limited")[0].finished
    assert retry_gap >= 0.9
    streaks = dict(_rows(db_path, "SELECT requested_url, consecutive_failures FROM sources"))
    assert streaks[web.url("/gone")] == 1 and streaks[web.url("/flaky")] == 0


def test_broken_and_hostile_feeds_fail_alone(web, db_path):
    urls = _serve_pages(web, ["TheIntercept_0.html.gz", "TheNewYorker_0.html.gz"])
    web.route("/good.xml", _rss(urls), headers={"Content-Type": "application/rss+xml"})
    web.route("/garbage.xml", b"<rss><channel><item><title>\x00\x01 never closed", headers={"Content-Type": "text/xml"})
    web.route("/xxe.xml", (FEEDS / "xxe-sitemap.xml").read_bytes(), headers={"Content-Type": "application/xml"})
    web.route("/page.html", _page("APNews_1.html.gz"), headers={"Content-Type": "text/html"})
    feeds = ["/good.xml", "/garbage.xml", "/xxe.xml", "/page.html", "/404.xml"]

    summary = ingest_feeds(feeds=[web.url(p) for p in feeds], db=str(db_path), **FAST)

    failures = {uri.removeprefix(web.base_url): (stage, error)
                for uri, stage, error in _rows(db_path, "SELECT source_uri, stage, error FROM failures")}
    assert set(failures) == {"/garbage.xml", "/xxe.xml", "/page.html", "/404.xml"}
    assert failures["/garbage.xml"][0] == "parse" and "not well-formed" in failures["/garbage.xml"][1]
    assert failures["/xxe.xml"][0] == "parse" and "entit" in failures["/xxe.xml"][1]
    assert failures["/page.html"][0] in ("fetch", "parse")
    assert failures["/404.xml"] == ("fetch", "HTTP 404 Not Found")
    assert summary["n_new"] == 2
    assert "root:" not in json.dumps(_rows(db_path, "SELECT * FROM sources"), default=str)


def test_sitemap_index_leads_to_articles_and_the_limit_keeps_the_newest(web, db_path):
    urls = _serve_pages(web, ["WashingtonTimes_0.html.gz", "WashingtonTimes_1.html.gz", "TheTelegraph_0.html.gz"])
    urlset = "".join(f"<url><loc>{u}</loc><lastmod>2024-03-0{i + 1}</lastmod></url>" for i, u in enumerate(urls))
    web.route("/sitemap-articles.xml.gz", gzip.compress(
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urlset}</urlset>'.encode()),
        headers={"Content-Type": "application/x-gzip"})
    web.route("/sitemap.xml", '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              f'<sitemap><loc>{web.url("/sitemap-articles.xml.gz")}</loc></sitemap></sitemapindex>',
              headers={"Content-Type": "application/xml"})

    first = ingest_feeds(feeds=[web.url("/sitemap.xml")], db=str(db_path), max_new_pages=2, **FAST)
    assert first["n_new"] == 2
    fetched = {r.path for r in web.requests}
    assert "/news/WashingtonTimes_0" not in fetched  # the oldest waits for the next run
    assert {k for (k,) in _rows(db_path, "SELECT DISTINCT kind FROM sources")} == {"sitemap", "page"}
    second = ingest_feeds(feeds=[web.url("/sitemap.xml")], db=str(db_path), max_new_pages=2, **FAST)
    assert second["n_new"] == 1
    assert _rows(db_path, "SELECT count(*) FROM articles") == [(3,)]


def _syndicated(paragraphs: list[str], headline: str, furniture: list[str], published: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    extra = "".join(f"<p>{line}</p>" for line in furniture)
    return (f'<html><head><title>{headline}</title><meta property="article:published_time" content="{published}">'
            f'</head><body><nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>{headline}</h1>'
            f"{body}{extra}</article><footer>© Example Media</footer></body></html>").encode()


def test_syndicated_copies_are_one_story_and_other_stories_stay_apart(web, db_path):
    truth = json.loads(gzip.decompress((PAGES / "ground_truth.json.gz").read_bytes()))
    story = truth["Reuters_1.html.gz"]["body"]
    other = truth["TheGuardian_1.html.gz"]["body"]
    shared_quote = "“We will not stand by while families are forced to choose,” the minister said on Tuesday."
    web.route("/wire/story", _syndicated(story, "Original headline", [], "2024-02-01T08:00:00Z"),
              headers={"Content-Type": "text/html"})
    web.route("/partner/story", _syndicated(
        story[:-1] + ["An added paragraph from the partner desk about local reaction to the news."],
        "A different headline for the partner site", ["Read more: our coverage", "Photo: Jane Doe/Agency"],
        "2024-02-03T11:00:00Z"), headers={"Content-Type": "text/html"})
    web.route("/other/story", _syndicated(other + [shared_quote], "Another story", [], "2024-02-01T09:00:00Z"),
              headers={"Content-Type": "text/html"})
    # Partner copy first: the earliest published article still represents the story (htmldate gives days).
    ingest_urls(urls=[web.url("/partner/story"), web.url("/other/story")], db=str(db_path), **FAST)
    ingest_urls(urls=[web.url("/wire/story")], db=str(db_path), **FAST)
    stories = _rows(db_path, "SELECT url, n_copies FROM v_stories ORDER BY url")
    assert [(url.rsplit("/", 2)[-2], n) for url, n in stories] == [("other", 1), ("wire", 2)]
    kinds = dict(_rows(db_path, "SELECT url, duplicate_kind FROM articles"))
    assert {url.rsplit("/", 2)[-2]: kind for url, kind in kinds.items()} == {
        "wire": None, "partner": "near", "other": None}


def test_a_page_stored_and_the_same_page_fetched_are_one_story(web, db_path, tmp_path):
    """One content_hash rule for every source: the decoded text, so the same bytes on disk and on the web match."""
    from flows.ingest_stored import ingest_stored

    page = _page("Reuters_0.html.gz")
    saved = tmp_path / "saved" / "reuters.html"
    saved.parent.mkdir()
    saved.write_bytes(page)
    web.route("/world/story", page, headers={"Content-Type": "text/html; charset=utf-8"})

    stored = ingest_stored(paths=[str(saved.parent)], db=str(db_path), entities=False)
    fetched = ingest_urls(urls=[web.url("/world/story")], db=str(db_path), **FAST)

    assert (stored["n_new"], fetched["n_new"], fetched["n_duplicates"], fetched["n_failed"]) == (1, 1, 1, 0)
    rows = _rows(db_path, "SELECT source_uri, article_id, duplicate_of, duplicate_kind, title, url, content_hash"
                          " FROM articles ORDER BY first_seen_at")
    (file_uri, original, none, no_kind, title, _, digest), (page_uri, _, linked, kind, copy_title, url, copy_digest) = rows
    assert file_uri == saved.absolute().as_uri() and none is None and no_kind is None
    assert page_uri.endswith("/world/story") and url == web.url("/world/story")
    assert (linked, kind, copy_title, copy_digest) == (original, "identical", title, digest)
    assert _rows(db_path, "SELECT count(*) FROM v_stories") == [(1,)]
