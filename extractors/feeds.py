"""Feeds and sitemaps to article URLs.

A publisher announces new articles in an RSS, Atom or JSON feed, or in a
(Google News) sitemap; this module turns those bytes into the list of
article URLs to fetch, with whatever title and date the feed gives. The
format is read from the content, never the URL: feeds are served under any
name. Pure: bytes in, records out, no fetching (a sitemap index returns its
child sitemaps for the caller to fetch).

Safety: feeds are untrusted XML. The parser never loads a DTD, never
resolves an entity and never touches the network, and a document whose
DOCTYPE declares entities is refused outright: no real feed needs one, and
refusing is simpler to trust than parsing around XXE and entity bombs.
A DOCTYPE without entity declarations (old RSS 0.91 names the Netscape DTD)
is fine.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from extractors.decoding import RejectedInput, decode_bytes
from extractors.decompression import inflate_gzip

MAX_FEED_BYTES = 50 * 1024 * 1024
"""The sitemap protocol's own ceiling (50 MB uncompressed), also applied to gzip inflation."""

_ATOM_NS = {"http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#"}
_RSS1_NS = {"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
_DC_NS = "http://purl.org/dc/elements/1.1/"
_NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
_JSONFEED_VERSION = "https://jsonfeed.org/version/"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class FeedEntry:
    """One article a feed or sitemap points at."""

    url: str
    """Absolute http(s) URL, resolved against xml:base and the feed's own URL."""
    title: str | None = None
    published_at: dt.datetime | None = None
    """Naive UTC, like every date in the model."""


@dataclass(frozen=True)
class FeedDocument:
    """What one feed or sitemap document lists."""

    kind: str
    """"rss", "atom", "jsonfeed", "urlset" or "sitemapindex"."""
    entries: list[FeedEntry]
    """Article URLs in document order, first occurrence of each kept (empty for a sitemap index)."""
    sitemaps: list[str]
    """Child sitemap URLs of a sitemap index (empty otherwise)."""
    title: str | None = None
    recovered: bool = False
    """The XML was broken and lxml's recover mode salvaged these entries: some may be missing."""


def parse_feed(data: bytes, base_url: str, content_type: str = "") -> FeedDocument:
    """Read a feed or sitemap (gzipped or not) into its article URLs; RejectedInput says why not.

    `content_type` is the HTTP header the bytes came with: its charset is the
    strongest clue after a byte-order mark (`extractors.decoding`).
    """
    if data[:2] == b"\x1f\x8b":
        data = inflate_gzip(data, MAX_FEED_BYTES)
    if len(data) > MAX_FEED_BYTES:
        raise RejectedInput(f"feed is {len(data):,} bytes, over the {MAX_FEED_BYTES:,} byte limit")
    if not data.strip():
        raise RejectedInput("empty document: no feed to parse")
    kind = "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "xml"
    text = decode_bytes(data, kind=kind, content_type=content_type, max_bytes=MAX_FEED_BYTES).text
    if kind == "json":
        return _parse_json_feed(text, base_url)
    return _parse_xml(text.encode("utf-8"), base_url)


def parse_feed_date(value: str | None) -> dt.datetime | None:
    """RFC 822 (RSS) or ISO 8601 / W3C (Atom, sitemaps, JSON Feed) to naive UTC; else None.

    A date without a zone is taken as UTC; a date alone is midnight.
    """
    if not value or not (value := value.strip()):
        return None
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        if partial := _PARTIAL_DATE.match(value):
            year, month = int(partial.group(1)), int(partial.group(2) or 1)
            parsed = dt.datetime(year, month, 1) if 1 <= month <= 12 else None
        else:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                return None
    if parsed is not None and parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        encoding="utf-8",  # decoded already: the document's own declaration no longer applies
        recover=recover,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parse_xml(data: bytes, base_url: str) -> FeedDocument:
    """Strict parse, else what lxml's recover mode salvages (marked recovered), else a refusal."""
    try:
        root = etree.fromstring(data, _parser(recover=False), base_url=base_url)
    except etree.XMLSyntaxError as strict_error:
        message = strict_error.msg or "parse error"
        line = "" if "line" in message else f", line {strict_error.lineno}"
        reason = f"feed is not well-formed XML: {message}{line}"
        try:
            root = etree.fromstring(data, _parser(recover=True), base_url=base_url)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise RejectedInput(reason) from strict_error
        _refuse_entities(root)
        if _local(root) == "html" and _embedded_feed(root) is None:
            raise RejectedInput("not a feed or sitemap: looks like an HTML page")
        try:
            document = _read_xml(root, base_url)
        except RejectedInput as not_a_feed:
            raise RejectedInput(reason) from not_a_feed
        if not (document.entries or document.sitemaps):
            raise RejectedInput(reason) from strict_error
        return FeedDocument(document.kind, document.entries, document.sitemaps, document.title, recovered=True)
    _refuse_entities(root)
    return _read_xml(root, base_url)


def _refuse_entities(root: etree._Element) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise RejectedInput("feed declares XML entities in its DOCTYPE: refused (external entity / expansion risk)")


def _read_xml(root: etree._Element, base_url: str) -> FeedDocument:
    name, namespace = _local(root), _namespace(root)
    if name == "html":
        embedded = _embedded_feed(root)
        if embedded is None:
            raise RejectedInput("not a feed or sitemap: looks like an HTML page")
        return _read_xml(embedded, base_url)
    if name == "rss":
        # Items never nest, so take them wherever they are: generators close the channel
        # too early, and lxml's recovery nests what follows an unclosed tag.
        items = list(root.iter("{*}item"))
        title = _text(_child(_child(root, "channel"), "title"))
        return FeedDocument("rss", _entries(items, _rss_entry, base_url), [], title)
    if name == "RDF":
        if not any(_namespace(child) in _RSS1_NS for child in _elements(root)):
            raise RejectedInput("not a feed or sitemap: an RDF document without an RSS 1.0 channel")
        items = [child for child in _children(root, "item") if _namespace(child) in _RSS1_NS]
        channel = _child(root, "channel")
        return FeedDocument("rss", _entries(items, _rss_entry, base_url), [], _text(_child(channel, "title")))
    if name == "feed" and (namespace in _ATOM_NS or not namespace):
        entries = _entries(_children(root, "entry"), _atom_entry, base_url)
        return FeedDocument("atom", entries, [], _atom_text(_child(root, "title")))
    if name == "urlset":
        return FeedDocument("urlset", _entries(_children(root, "url"), _sitemap_entry, base_url), [])
    if name == "sitemapindex":
        locations = (_absolute(_text(_child(sitemap, "loc")), sitemap, base_url) for sitemap in _children(root, "sitemap"))
        return FeedDocument("sitemapindex", [], list(dict.fromkeys(url for url in locations if url)))
    raise RejectedInput(f"not a feed or sitemap: the root element is <{name}>")


def _embedded_feed(page: etree._Element) -> etree._Element | None:
    """An Atom feed or RSS channel carried inside an (X)HTML page, as feedparser finds it."""
    for element in page.iterdescendants():
        if isinstance(element.tag, str) and (
                (_local(element) == "feed" and _namespace(element) in _ATOM_NS) or _local(element) == "rss"):
            return element
    return None


def _entries(
    elements: list[etree._Element],
    read: Callable[[etree._Element, str], FeedEntry | None],
    base_url: str,
) -> list[FeedEntry]:
    """Entries in document order, the first of each URL kept, those without a usable URL dropped."""
    seen: dict[str, FeedEntry] = {}
    for element in elements:
        entry = read(element, base_url)
        if entry is not None and entry.url not in seen:
            seen[entry.url] = entry
    return list(seen.values())


def _rss_entry(item: etree._Element, base_url: str) -> FeedEntry | None:
    link = _text(_child(item, "link"))
    if not link:
        atom_links = [el for el in _children(item, "link") if _namespace(el) in _ATOM_NS]
        link = _atom_link(atom_links)
    if not link:
        guid = _child(item, "guid")
        if guid is not None and guid.get("isPermaLink", "true").strip().lower() != "false":
            link = _text(guid)
    if not link:
        link = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    url = _absolute(link, item, base_url)
    if url is None:
        return None
    date = _first_date(item, ("pubDate", None), ("date", _DC_NS), ("published", None), ("updated", None))
    return FeedEntry(url, _text(_child(item, "title")), date)


def _atom_entry(entry: etree._Element, base_url: str) -> FeedEntry | None:
    url = _absolute(_atom_link(_children(entry, "link")), entry, base_url)
    if url is None:
        return None
    date = _first_date(
        entry, ("published", None), ("issued", None), ("updated", None), ("modified", None), ("date", _DC_NS)
    )
    return FeedEntry(url, _atom_text(_child(entry, "title")), date)


def _atom_text(element: etree._Element | None) -> str | None:
    """An Atom text construct as plain text: type="html" carries escaped markup."""
    text = _text(element)
    if text and element is not None and element.get("type") == "html" and "<" in text:
        return _clean(lxml.html.fragment_fromstring(text, create_parent="div").text_content())
    return text


def _atom_link(links: list[etree._Element]) -> str | None:
    """The entry's alternate link (rel absent or "alternate"), an HTML one first."""
    alternates = [link for link in links if link.get("rel", "alternate").strip() == "alternate" and link.get("href")]
    alternates.sort(key=lambda link: 0 if link.get("type", "").split(";")[0].strip() in _HTML_TYPES
                    else 1 if not link.get("type") else 2)
    return alternates[0].get("href") if alternates else None


def _sitemap_entry(url: etree._Element, base_url: str) -> FeedEntry | None:
    location = _absolute(_text(_child(url, "loc")), url, base_url)
    if location is None:
        return None
    news = next((el for el in _children(url, "news") if _namespace(el) == _NEWS_NS), None)
    title = _text(_child(news, "title")) if news is not None else None
    published = parse_feed_date(_text(_child(news, "publication_date"))) if news is not None else None
    return FeedEntry(location, title, published or parse_feed_date(_text(_child(url, "lastmod"))))


def _parse_json_feed(text: str, base_url: str) -> FeedDocument:
    try:
        feed = json.loads(text)
    except ValueError as exc:
        raise RejectedInput(f"feed is not valid JSON: {exc}") from exc
    version = feed.get("version") if isinstance(feed, dict) else None
    if not (isinstance(version, str) and version.startswith(_JSONFEED_VERSION)):
        raise RejectedInput("not a feed or sitemap: JSON without a jsonfeed.org version")
    items = feed.get("items")
    seen: dict[str, FeedEntry] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        url = _resolve(link if isinstance(link, str) else None, base_url)
        if url is None or url in seen:
            continue
        date = item.get("date_published") or item.get("date_modified")
        seen[url] = FeedEntry(url, _clean(item.get("title")), parse_feed_date(date if isinstance(date, str) else None))
    return FeedDocument("jsonfeed", list(seen.values()), [], _clean(feed.get("title")))


def _absolute(link: str | None, element: etree._Element, base_url: str) -> str | None:
    """The link against the element's xml:base (lxml folds it onto the document URL)."""
    return _resolve(link, element.base or base_url)


def _resolve(link: str | None, base: str) -> str | None:
    if not link or not (link := link.strip()):
        return None
    url = urljoin(base, link)
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _first_date(element: etree._Element, *names: tuple[str, str | None]) -> dt.datetime | None:
    for name, namespace in names:
        for child in _children(element, name):
            if namespace is None or _namespace(child) == namespace:
                if (date := parse_feed_date(_text(child))) is not None:
                    return date
    return None


def _elements(parent: etree._Element | None) -> Iterator[etree._Element]:
    """Element children only: entity references and the like are skipped."""
    if parent is None:
        return iter(())
    return (child for child in parent if isinstance(child.tag, str))


def _children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    """Children by local name: feeds in the wild get their namespaces wrong."""
    return [child for child in _elements(parent) if _local(child) == name]


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    return next(iter(_children(parent, name)), None)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _namespace(element: etree._Element) -> str | None:
    return etree.QName(element).namespace


def _text(element: etree._Element | None) -> str | None:
    """The element's text (inline children included), whitespace collapsed.

    Walked by hand so that an entity reference left unresolved contributes
    nothing, not its "&name;" source.
    """
    if element is None:
        return None
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        parts.append(node.text or "")
        for child in node:
            if isinstance(child.tag, str):
                walk(child)
            parts.append(child.tail or "")

    walk(element)
    return _clean("".join(parts))


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
