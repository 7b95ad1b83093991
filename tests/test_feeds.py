"""Feeds and sitemaps to article URLs, on hand-written but realistic files in tests/fixtures/web/feeds."""

import datetime as dt
import gzip
import time
from pathlib import Path

import pytest

from extractors.decoding import RejectedInput
from extractors.feeds import FeedEntry, parse_feed, parse_feed_date

FEEDS = Path(__file__).parent / "fixtures" / "web" / "feeds"


def _parse(name: str, base_url: str | None = None):
    return parse_feed((FEEDS / name).read_bytes(), base_url or f"https://feeds.example/in/{name}")


def test_rss2_items_links_guids_dates_and_duplicates():
    feed = _parse("rss2.xml", "https://www.harbourgazette.example/world/rss.xml")
    assert (feed.kind, feed.title, feed.recovered, feed.sitemaps) == ("rss", "The Harbour Gazette - World", False, [])
    assert feed.entries == [
        FeedEntry(
            "https://www.harbourgazette.example/world/2024/feb/27/ceasefire-talks-resume-cairo?utm_source=rss",
            "Ceasefire talks resume in Cairo as aid convoys wait at border",
            dt.datetime(2024, 2, 27, 16, 45),  # 17:45 +0100
        ),
        FeedEntry(  # relative link resolved against the feed's URL
            "https://www.harbourgazette.example/world/2024/feb/27/farmers-block-motorway",
            "Farmers block motorway in third week of protests",
            dt.datetime(2024, 2, 27, 9, 12, 30),
        ),
        FeedEntry(  # no <link>: the guid is a permalink by default; unparsable date -> None
            "https://www.harbourgazette.example/business/live/2024/feb/27/markets-live",
            "Live: markets open lower after rate warning",
            None,
        ),
    ]  # the repeated ceasefire link keeps its first entry; the mailto: link is dropped


def test_rss1_rdf_items_with_dc_dates():
    feed = _parse("rss1.rdf")
    assert (feed.kind, feed.title) == ("rss", "Lokalblatt: Nachrichten")
    assert [(e.url, e.title, e.published_at) for e in feed.entries] == [
        ("https://lokalblatt.example/news/2024/02/stadtrat-haushalt.html", "Stadtrat beschließt Haushalt für 2024",
         dt.datetime(2024, 2, 26, 18, 30)),
        ("https://lokalblatt.example/news/2024/02/hochwasser-pegel.html",  # rdf:about when <link> is missing
         "Hochwasser: Pegel sinkt langsam", dt.datetime(2024, 2, 26)),
    ]


def test_atom_prefers_the_html_alternate_and_honours_xml_base():
    feed = _parse("atom.xml")
    assert (feed.kind, feed.title) == ("atom", "TechDesk")
    assert feed.entries == [
        FeedEntry("https://techdesk.example/2024/02/27/chip-plant-delay",
                  "Chipmaker delays new plant by a year",  # type="html" title, markup dropped
                  dt.datetime(2024, 2, 27, 20, 30)),  # <published>, not <updated>, -05:00 to UTC
        FeedEntry("https://techdesk.example/reviews/2024/quiet-laptop",  # no rel, relative to the entry's xml:base
                  "Review: the quietest laptop fan we have tested", dt.datetime(2024, 2, 26, 8)),
    ]  # the entry with only a rel="self" link has no article URL


def test_atom_0_3_is_read_too():
    data = b"""<?xml version="1.0"?>
    <feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old blog</title>
      <entry><title>Hello</title><link rel="alternate" type="text/html" href="http://old.example/2005/hello"/>
        <issued>2005-03-01T10:00:00+01:00</issued><modified>2005-03-02T10:00:00Z</modified></entry>
    </feed>"""
    feed = parse_feed(data, "http://old.example/atom.xml")
    assert feed.kind == "atom"
    assert feed.entries == [FeedEntry("http://old.example/2005/hello", "Hello", dt.datetime(2005, 3, 1, 9))]


def test_json_feed_url_or_external_url():
    feed = _parse("feed.json", "https://valleycourier.example/feed.json")
    assert (feed.kind, feed.title) == ("jsonfeed", "Valley Courier")
    assert [(e.url, e.title, e.published_at) for e in feed.entries] == [
        ("https://valleycourier.example/2024/02/27/school-board-vote/",
         "School board votes to extend the lunch break", dt.datetime(2024, 2, 27, 14)),
        ("https://www.stateweather.example/alerts/2024-02-27-wind", "Wind advisory for the valley floor",
         dt.datetime(2024, 2, 27, 11, 20)),
        ("https://valleycourier.example/2024/02/26/bridge-reopens/", None, None),
    ]


def test_sitemap_urlset_with_lastmod():
    feed = _parse("sitemap.xml", "https://www.metrodaily.example/sitemap.xml")
    assert (feed.kind, feed.title, feed.sitemaps) == ("urlset", None, [])
    assert [(e.url, e.published_at) for e in feed.entries] == [
        ("https://www.metrodaily.example/news/city-hall-budget-2024", dt.datetime(2024, 2, 27, 14, 5, 9)),
        ("https://www.metrodaily.example/news/tram-line-extension", dt.datetime(2024, 2, 26)),  # <loc> padded
        ("https://www.metrodaily.example/sport/derby-preview", dt.datetime(2024, 2, 25, 20)),
    ]  # second city-hall entry deduplicated, ftp:// dropped


def test_gzipped_sitemap_is_inflated_first():
    assert _parse("sitemap.xml.gz", "https://www.metrodaily.example/sitemap.xml.gz") == _parse(
        "sitemap.xml", "https://www.metrodaily.example/sitemap.xml"
    )


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(RejectedInput, match="byte limit"):
        parse_feed(bomb, "https://x.example/sitemap.xml.gz")


def test_google_news_sitemap_titles_and_publication_dates():
    feed = _parse("news-sitemap.xml")
    assert feed.kind == "urlset"
    assert feed.entries == [
        FeedEntry("https://www.northernstar.example/politics/2024/02/27/minister-resigns-over-contracts",
                  "Minister resigns over contracts row", dt.datetime(2024, 2, 27, 12, 40)),  # not the later lastmod
        FeedEntry("https://www.northernstar.example/business/2024/02/27/steelworks-jobs",
                  "Steelworks to cut 400 jobs & close a furnace", dt.datetime(2024, 2, 27, 13, 15, 30)),
    ]


def test_sitemap_index_lists_child_sitemaps():
    feed = _parse("sitemap-index.xml", "https://www.metrodaily.example/sitemap-index.xml")
    assert (feed.kind, feed.entries) == ("sitemapindex", [])
    assert feed.sitemaps == [
        "https://www.metrodaily.example/sitemaps/news.xml",
        "https://www.metrodaily.example/sitemaps/2024-02.xml.gz",
        "https://www.metrodaily.example/sitemaps/2024-01.xml.gz",
    ]


def test_broken_rss_is_recovered_and_says_so():
    feed = _parse("broken-rss.xml")  # an unclosed <br> inside the second item's description
    assert (feed.kind, feed.recovered) == ("rss", True)
    assert [e.url for e in feed.entries] == [
        "https://riversidepost.example/2024/02/27/cycle-lanes",
        "https://riversidepost.example/2024/02/26/library-reopens",
        "https://riversidepost.example/2024/02/25/bakery-prize",
    ]
    assert feed.entries[0].published_at == dt.datetime(2024, 2, 27, 10)


def test_truncated_download_keeps_the_complete_items():
    data = (FEEDS / "rss2.xml").read_bytes()
    cut = data[: data.index(b"<title>Live: markets")]
    feed = parse_feed(cut, "https://www.harbourgazette.example/world/rss.xml")
    assert feed.recovered and len(feed.entries) == 2


def test_garbage_bytes_are_refused_with_the_parser_message():
    with pytest.raises(RejectedInput, match=r"^binary content: NUL bytes"):  # refused by the decoder, before XML
        _parse("garbage.bin")
    with pytest.raises(RejectedInput, match=r"not well-formed XML: .*line 1"):
        parse_feed(b"<rss><channel><title>x</channel>", "https://x.example/rss")  # recovers, but no entries
    with pytest.raises(RejectedInput, match="empty"):
        parse_feed(b"  \n", "https://x.example/rss")


def test_html_page_is_not_a_feed():
    with pytest.raises(RejectedInput, match="^not a feed or sitemap: looks like an HTML page$"):
        _parse("html-page.html")
    with pytest.raises(RejectedInput, match="looks like an HTML page"):  # XHTML without a doctype
        parse_feed(b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>hi</p></body></html>', "https://x.example/")
    with pytest.raises(RejectedInput, match="root element is <catalog>"):
        parse_feed(b"<catalog><book/></catalog>", "https://x.example/")
    with pytest.raises(RejectedInput, match="jsonfeed.org"):
        parse_feed(b'{"items": [{"url": "https://x.example/a"}]}', "https://x.example/")


def test_external_entity_is_refused_and_never_read():
    passwd = Path("/etc/passwd").read_text().splitlines()[0]  # e.g. "root:x:0:0:root:/root:/bin/bash"
    with pytest.raises(RejectedInput, match="declares XML entities") as refused:
        _parse("xxe-sitemap.xml")
    assert passwd not in str(refused.value) and "root:" not in str(refused.value)
    # Even in recover mode (broken XML after the DOCTYPE) the declaration is refused, not resolved.
    broken = (FEEDS / "xxe-sitemap.xml").read_bytes().replace(b"</urlset>", b"<url><loc>")
    with pytest.raises(RejectedInput, match="declares XML entities") as refused:
        parse_feed(broken, "https://x.example/sitemap.xml")
    assert "root:" not in str(refused.value)


def test_billion_laughs_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(RejectedInput, match="declares XML entities"):
        _parse("billion-laughs.xml")
    assert time.perf_counter() - started < 1.0


def test_doctype_without_entities_is_fine():
    data = b"""<?xml version="1.0"?>
    <!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
      "http://my.netscape.com/publish/formats/rss-0.91.dtd">
    <rss version="0.91"><channel><title>Classic</title>
      <item><title>One</title><link>http://classic.example/1</link></item></channel></rss>"""
    feed = parse_feed(data, "http://classic.example/rss")
    assert [e.url for e in feed.entries] == ["http://classic.example/1"] and not feed.recovered


def test_dates():
    assert parse_feed_date("Tue, 27 Feb 2024 17:45:00 +0100") == dt.datetime(2024, 2, 27, 16, 45)
    assert parse_feed_date("Tue, 27 Feb 2024 17:45:00 EST") == dt.datetime(2024, 2, 27, 22, 45)
    assert parse_feed_date("2024-02-27T17:45:00Z") == dt.datetime(2024, 2, 27, 17, 45)
    assert parse_feed_date("2024-02-27T17:45:00.250-02:30") == dt.datetime(2024, 2, 27, 20, 15, 0, 250000)
    assert parse_feed_date("2024-02-27") == dt.datetime(2024, 2, 27)
    assert parse_feed_date("2024-02") == dt.datetime(2024, 2, 1)
    assert parse_feed_date("2024-02-27T17:45:00") == dt.datetime(2024, 2, 27, 17, 45)  # no zone: UTC
    for bad in (None, "", "  ", "yesterday", "2024-13", "31/02/2024"):
        assert parse_feed_date(bad) is None


# -- character sets and wrappers, over a real HTTP server ---------------------------------------------

KOI8R_FEED = (FEEDS / "koi8r-undeclared.xml").read_bytes()  # KOI8-R bytes, no encoding declaration
KOI8R_TITLES = ["Правительство утвердило бюджет на следующий год",
                "В Москве открылась выставка современного искусства"]


def _fetch_and_parse(web, path: str):
    from extractors.fetching import Fetcher, FetchPolicy, FetchRequest

    with Fetcher(FetchPolicy(allow_private=True, host_delay=0.0)) as fetcher:
        result = fetcher.fetch(FetchRequest(web.url(path), kind="feed"))
    assert result.outcome == "fetched", result.error
    return parse_feed(result.body, result.final_url, result.content_type)


def test_feed_charset_comes_from_the_http_header(web):
    web.route("/rss", KOI8R_FEED, headers={"Content-Type": "application/rss+xml; charset=koi8-r"})
    feed = _fetch_and_parse(web, "/rss")
    assert (feed.title, feed.recovered) == ("Вести региона: главные новости", False)
    assert [entry.title for entry in feed.entries[:2]] == KOI8R_TITLES and len(feed.entries) == 5


def test_the_header_charset_beats_a_wrong_declaration(web):
    declared_wrong = KOI8R_FEED.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="windows-1251"?>')
    web.route("/rss", declared_wrong, headers={"Content-Type": "text/xml; charset=KOI8-R"})
    assert _fetch_and_parse(web, "/rss").entries[0].title == KOI8R_TITLES[0]


def test_undeclared_legacy_feed_is_detected_like_feedparser_does(web):
    web.route("/rss", KOI8R_FEED, headers={"Content-Type": "application/rss+xml"})
    feed = _fetch_and_parse(web, "/rss")
    assert feed.title == "Вести региона: главные новости" and not feed.recovered
    assert [entry.title for entry in feed.entries[:2]] == KOI8R_TITLES


def test_declared_encoding_is_honoured_without_a_header():
    declared = KOI8R_FEED.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="koi8-r"?>')
    assert parse_feed(declared, "https://vesti-region.example/rss").entries[1].title == KOI8R_TITLES[1]


def test_utf16_feed_with_a_byte_order_mark():
    data = (FEEDS / "rss2.xml").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    feed = parse_feed(data.encode("utf-16"), "https://www.harbourgazette.example/world/rss.xml")
    assert feed.title == "The Harbour Gazette - World" and len(feed.entries) == 3


@pytest.mark.parametrize("served_as", ["application/xhtml+xml; charset=utf-8", "text/html"])
def test_atom_feed_inside_an_xhtml_wrapper_is_read(web, served_as):
    page = (FEEDS / "atom-in-xhtml.xhtml").read_bytes()
    if served_as == "text/html":  # as a plain web server sends it, starting at the doctype
        page = page.split(b"\n", 1)[1]
    web.route("/feed", page, headers={"Content-Type": served_as})
    feed = _fetch_and_parse(web, "/feed")
    assert (feed.kind, feed.title, len(feed.entries)) == ("atom", "Town Hall News", 10)
    assert feed.entries[0] == FeedEntry("https://townhall.example/2024/04/report-part-1",
                                        "Council report part 1: what the budget means for schools",
                                        dt.datetime(2024, 4, 2, 8, 0))


@pytest.mark.usefixtures("prefect_api")
def test_koi8r_feed_with_cyrillic_links_lands_its_articles(web, tmp_path):
    """End to end through `ingest_feeds`: the header's charset decides the links, so Cyrillic slugs are fetched right
    (the feed also declares windows-1251, wrongly: without the header its links would be mojibake and 404)."""
    import duckdb
    from urllib.parse import quote

    from flows.ingest_web import ingest_feeds

    pages = sorted((Path(__file__).parent / "fixtures" / "web" / "pages").glob("*.html.gz"))[:2]
    feed = KOI8R_FEED.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="windows-1251"?>')
    for i, page in enumerate(pages):
        path = f"/новости/2024/03/{i:02d}/сюжет-{i}"
        web.route(quote(path), gzip.decompress(page.read_bytes()), headers={"Content-Type": "text/html; charset=utf-8"})
        feed = feed.replace(f"https://vesti-region.example/news/2024/03/{i:02d}/story-{i}".encode(),
                            web.url(path).encode("koi8-r"))
    web.route("/rss", feed, headers={"Content-Type": "application/rss+xml; charset=koi8-r"})
    db = tmp_path / "warehouse.duckdb"
    summary = ingest_feeds(feeds=[web.url("/rss")], db=str(db), allow_private=True, host_delay=0.0, entities=False)
    with duckdb.connect(str(db), read_only=True) as con:
        urls = sorted(url for (url,) in con.execute("SELECT url FROM articles").fetchall())
    assert urls == sorted(web.url(quote(f"/новости/2024/03/{i:02d}/сюжет-{i}")) for i in range(2))
    assert summary["n_new"] == 2  # the other three entries point at vesti-region.example, which does not resolve
