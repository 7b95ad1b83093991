"""Canonical URLs: the variants of one article are one URL, distinct articles stay distinct."""

from __future__ import annotations

import gzip
from importlib import metadata
from pathlib import Path

import pytest

import duckdb

from extractors.signatures import article_id
from extractors.urls import canonical_url, clean_url, host_of, page_canonical_url, page_url, same_site

ARTICLE = "https://example.com/news/2024/story-1?id=7"
VARIANTS = [
    "https://example.com/news/2024/story-1?id=7",
    "http://example.com/news/2024/story-1?id=7",
    "https://www.example.com/news/2024/story-1?id=7",
    "HTTP://WWW.Example.COM/news/2024/story-1?id=7",
    "https://example.com:443/news/2024/story-1?id=7",
    "http://www.example.com:80/news/2024/story-1?id=7",
    "https://example.com/news/2024/story-1?id=7#comments",
    "https://example.com/news/2024/story-1?utm_source=twitter&id=7&utm_medium=social&utm_campaign=x",
    "https://example.com/news/2024/story-1?id=7&fbclid=IwAR0abc",
    "https://example.com/news/2024/story-1?gclid=1&id=7&mc_cid=2&mc_eid=3&igshid=4&_ga=5&ref_src=twsrc",
    "https://example.com/news/2024/story-1?UTM_Source=x&id=7",
    "https://example.com./news/2024/story-1?id=7",
    "https://example.com/news/2024/story%2D1?id=7",
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variants_of_one_article_share_one_url(variant):
    assert canonical_url(variant) == ARTICLE


@pytest.mark.parametrize("other", [
    "https://example.com/news/2024/story-2?id=7",
    "https://example.com/news/2024/story-1?id=8",
    "https://example.com/news/2024/story-1",
    "https://example.com/news/2024/Story-1?id=7",
    "https://example.com:8443/news/2024/story-1?id=7",
    "https://news.example.com/news/2024/story-1?id=7",
    "https://example.org/news/2024/story-1?id=7",
    "https://example.com/news/2024/story-1?id=7&page=2",
])
def test_distinct_pages_stay_distinct(other):
    assert canonical_url(other) != ARTICLE


def test_other_parameters_keep_their_order_and_reserved_escapes():
    url = "https://example.com/a%2fb/%7euser/caf%C3%A9?b=2&utm_term=x&a=1&q=x%26y"
    assert canonical_url(url) == "https://example.com/a%2Fb/~user/caf%C3%A9?b=2&a=1&q=x%26y"


def test_empty_path_non_ascii_and_idna_hosts():
    assert canonical_url("https://example.com") == "https://example.com/"
    assert canonical_url("https://example.com?x=1") == "https://example.com/?x=1"
    assert canonical_url("https://example.com/café story") == "https://example.com/caf%C3%A9%20story"
    assert canonical_url("https://BÜCHER.example/") == canonical_url("https://xn--bcher-kva.example/")
    assert canonical_url("https://bücher.example/") == "https://xn--bcher-kva.example/"


@pytest.mark.parametrize("bad", ["ftp://example.com/a", "mailto:desk@example.com", "/relative/path",
                                 "https:///no-host", "javascript:alert(1)", "http://example.com:99999/"])
def test_non_web_urls_are_refused(bad):
    with pytest.raises(ValueError):
        canonical_url(bad)


def test_host_of_is_the_politeness_key_as_requested():
    assert host_of("https://WWW.Example.com/a") == "www.example.com"
    assert host_of("https://example.com/a") == "example.com"
    assert host_of("http://example.com:80/a") == host_of("https://example.com/b") == "example.com"
    assert host_of("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    assert host_of("http://[::1]:8080/a") == "[::1]:8080"


def test_same_site():
    assert same_site("https://www.example.com/a", "http://example.com/b")
    assert same_site("https://edition.example.com/a", "https://example.com/b")
    assert same_site("https://news.bbc.co.uk/a", "https://www.bbc.co.uk/b")
    assert not same_site("https://bbc.co.uk/a", "https://evil.co.uk/b")
    assert not same_site("https://example.com/a", "https://example.org/a")
    assert not same_site("https://example.com/a", "ftp://example.com/a")
    assert not same_site("http://10.0.0.1/a", "http://10.0.0.2/a")


FETCHED = "http://www.example.com/news/story-1?utm_source=rss"


def head(*tags: str) -> str:
    return "<!doctype html><html><head><title>t</title>" + "".join(tags) + "</head><body><p>x</p></body></html>"


def test_rel_canonical_is_used():
    html = head('<link rel="canonical" href="https://example.com/news/story-1-final">')
    assert page_canonical_url(FETCHED, html) == "https://example.com/news/story-1-final"


def test_relative_canonical_is_resolved_against_the_fetched_url():
    html = head("<link href='../archive/story-1?amp;x=1&amp;utm_medium=a' rel='alternate canonical'>")
    assert page_canonical_url(FETCHED, html) == "https://example.com/archive/story-1?amp;x=1"


def test_og_url_is_the_fallback_and_canonical_wins_over_it():
    og = '<meta property="og:url" content="https://www.example.com/news/story-1-og">'
    assert page_canonical_url(FETCHED, head(og)) == "https://example.com/news/story-1-og"
    both = head(og, '<link rel="canonical" href="/news/story-1-link">')
    assert page_canonical_url(FETCHED, both) == "https://example.com/news/story-1-link"


@pytest.mark.parametrize("tag", [
    '<link rel="canonical" href="https://syndicator.example.net/news/story-1">',  # another site
    '<link rel="canonical" href="ftp://example.com/news/story-1">',
    '<link rel="canonical" href="https://example.com/">',  # a template pointing every article home
    '<link rel="stylesheet" href="/news/other">',
])
def test_unbelievable_declarations_fall_back_to_the_fetched_url(tag):
    assert page_canonical_url(FETCHED, head(tag)) == "https://example.com/news/story-1"


def test_canonical_in_the_body_is_not_read():
    html = head() + '<link rel="canonical" href="/news/elsewhere">'
    assert page_canonical_url(FETCHED, html) == "https://example.com/news/story-1"


def test_real_page_declares_its_canonical():
    page = gzip.decompress((Path(__file__).parent / "fixtures/web/fetch/independent_es.html.gz").read_bytes())
    html = page.decode("utf-8")
    declared = page_canonical_url("http://www.independent.co.uk/some/old/path#top", html)
    assert declared == ("https://independent.co.uk/arts-entertainment/music/news/"
                        "brit-awards-2024-performers-music-nominations-live-b2505820.html")


# -- the address stored for a page: declared or fetched, never a guessed scheme ------------------------

def test_page_url_keeps_the_scheme_it_was_fetched_with():
    assert page_url("http://www.example.com/news/story-1?utm_source=rss#top", head()) == (
        "http://www.example.com/news/story-1")
    assert page_canonical_url("http://www.example.com/news/story-1", head()) == "https://example.com/news/story-1"


def test_page_url_is_the_declared_canonical_as_declared():
    declared = head('<link rel="canonical" href="http://www.example.com/news/story-1-final?utm_medium=x">')
    assert page_url("https://example.com/amp/story-1", declared) == "http://www.example.com/news/story-1-final"
    relative = head('<link rel="canonical" href="/news/story-1-final">')
    assert page_url("http://example.com/amp/story-1", relative) == "http://example.com/news/story-1-final"


def test_clean_url_drops_tracking_but_not_scheme_or_www():
    assert clean_url("HTTP://WWW.Example.COM:80/a%7eb?utm_source=x&id=7#c") == "http://www.example.com/a~b?id=7"


@pytest.mark.usefixtures("prefect_api")
def test_a_page_fetched_over_http_is_stored_with_its_http_url(web, db_path, monkeypatch):
    """Also: the run's User-Agent carries the contact the user set in NEWSFLOW_CONTACT."""
    from flows.ingest_web import ingest_urls

    monkeypatch.setenv("NEWSFLOW_CONTACT", "mailto:research-desk@example.org")
    page = gzip.decompress((Path(__file__).parent / "fixtures/web/fetch/independent_es.html.gz").read_bytes())
    web.route("/music/story", page, headers={"Content-Type": "text/html; charset=utf-8"})
    ingest_urls(urls=[web.url("/music/story?utm_source=newsletter")], db=str(db_path), allow_private=True,
                host_delay=0.0, entities=False)
    with duckdb.connect(str(db_path), read_only=True) as con:
        stored = con.execute("SELECT url, article_id FROM articles").fetchall()
    # the page's own canonical names another site (independent.co.uk), so the fetched URL is kept, as fetched
    assert stored == [(web.url("/music/story"), article_id(canonical_url(web.url("/music/story"))))]
    assert stored[0][0].startswith("http://127.0.0.1:")
    assert {r.headers["user-agent"] for r in web.requests} == {
        f"newsflow/{metadata.version('newsflow')} (+mailto:research-desk@example.org)"}
