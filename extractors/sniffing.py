"""What a payload is, judged from its first bytes and its declared type, before anyone decodes it.

Binary magic beats any label: a PNG served as text/html is a PNG. For
fetched bodies the Content-Type header is checked twice: alone, before a
byte of the body is read (so a PDF is never downloaded), and beside the
first bytes, when a type is missing or vague.
"""

from __future__ import annotations

import re

BINARY_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "an executable"),
)
GZIP_MAGIC = b"\x1f\x8b"

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset({"application/json", "application/feed+json", "text/plain",
                         "application/gzip", "application/x-gzip"})
_HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|meta|title|!--)", re.IGNORECASE)
_FEED_START = re.compile(rb"^\s*<(\?xml|rss|feed|rdf:rdf|urlset|sitemapindex)\b", re.IGNORECASE)
_FEED_INSIDE = re.compile(rb"<(rss|feed)\b", re.IGNORECASE)
_FEED_INSIDE_SCAN_BYTES = 64 * 1024


def binary_kind(data: bytes) -> str | None:
    """"a PDF document", "a PNG image", ... when the bytes start with a known binary signature."""
    return next((what for magic, what in BINARY_MAGIC if data.startswith(magic)), None)


def mime_type(content_type: str) -> str:
    """The bare, lower-cased media type of a Content-Type header value ("" when absent)."""
    return content_type.split(";", 1)[0].strip().lower()


def declared_type_problem(kind: str, mime: str) -> str | None:
    """Refuse from the Content-Type header alone: `kind` is "page" or "feed"."""
    if not mime or mime == "application/octet-stream":
        return None
    if kind == "page":
        return None if mime in PAGE_TYPES else f"unsupported content type {mime}"
    if mime == "text/html" or _is_feed_type(mime):
        return None
    return f"unsupported content type {mime}"


def body_type_problem(kind: str, mime: str, body: bytes) -> str | None:
    """Sniff a fetched body: binary magic beats any header, and a missing or vague type must look right."""
    served = f"served as {mime}" if mime else "served without a content type"
    what = binary_kind(body)
    if what:
        return f"unsupported content type: {what} {served}"
    head = body[:1024].removeprefix(b"\xef\xbb\xbf")
    if kind == "page":
        if body.startswith(GZIP_MAGIC):
            return f"unsupported content type: gzip data {served}"
        if not mime and not _HTML_START.match(head):
            return "unsupported content type: none given, and the body does not look like HTML"
        if mime == "application/octet-stream":
            return f"unsupported content type {mime}"
        return None
    if mime == "text/html" and not (_FEED_START.match(head) or _FEED_INSIDE.search(body[:_FEED_INSIDE_SCAN_BYTES])):
        # a feed wrapped in an (X)HTML page is the feed parser's to find
        return "unsupported content type text/html: an HTML page, not a feed"
    if (not mime or mime == "application/octet-stream") and not (
            body.startswith(GZIP_MAGIC) or head.lstrip().startswith(b"<")):
        return f"unsupported content type {mime or '(none)'}: the body is neither XML nor gzip"
    return None


def _is_feed_type(mime: str) -> bool:
    return mime in _FEED_TYPES or mime.endswith(("/xml", "+xml", "+json"))
