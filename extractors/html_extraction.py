"""Saved HTML pages to articles, through trafilatura.

trafilatura finds the main content from the page structure; we ask for its
precision-oriented mode without comments, take the page's stated metadata
(extractors.metadata: title without site name, people as authors, the
publication time with its offset, the meta description as standfirst only
where the page shows it; trafilatura's byline and htmldate's day only where
the markup states none), and map the result onto the same `Article`
the plain-text cleaner produces, so the warehouse sees one model. What the
extractor keeps inside the story's markup and the furniture line rules name
(related links, embedded posts, photo credits, promos, the headline again) is
cut from its body, with the rule's reason, as in text mode.

When precision mode keeps too little (a story split over markup it reads
as furniture), readability-lxml's page scoring gets a second look; its body
is used only if it is clearly more of the same story, and the article
records which extractor produced it. Metadata is the same either way.
"""

from __future__ import annotations

import functools
import re

import lxml.html
import trafilatura
from trafilatura import metadata as tm
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.utils import load_html
from readability import Document as ReadabilityDocument

from extractors.language import detect_language
from extractors.metadata import html_metadata
from extractors.model import Article
from extractors.text_cleaning import cut_furniture
from extractors.words import word_count

_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)

FALLBACK_MIN_WORDS = 150
"""Under this many words from trafilatura, readability gets a second look.

Real stories can be this short (wire briefs of 72 to 105 words in
fundus-eval), so a short body alone is no failure: it is replaced only when
readability finds at least FALLBACK_MIN_GAIN times as many words (a few
more words is readability's looser edges around the same brief, not a
rescued story). Above 150 words trafilatura's body is a story, if perhaps
not all of it, and we keep its precision."""
FALLBACK_MIN_GAIN = 2.0
FALLBACK_MIN_BODY_WORDS = 50
"""A fallback body shorter than this is likelier a cookie notice or an error text than a story
(the shortest fundus-eval story has 72 words)."""
_FALLBACK_BLOCKS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td", "dd", "div"})


def extract_html(html: str, url: str | None = None) -> Article:
    """Extract the story and its metadata from one HTML page.

    Returns an article with an empty body when neither extractor finds main
    content; the caller decides whether that is a failure. The page is
    parsed once, by trafilatura's parser, for its body and its metadata.
    """
    tree = load_html(html)
    if tree is None:
        return _no_story(html, url)
    found = TrafilaturaFindings(tree, url)
    stated = html_metadata(tree, url, found)  # before the scripts go: JSON-LD and htmldate read them
    section = stated.section or (found.categories or [None])[0]
    _drop_code(tree)
    document = trafilatura.bare_extraction(  # it copies the tree before cleaning it
        tree, url=url, favor_precision=True, include_comments=False, include_tables=True, with_metadata=False,
    )
    body = _paragraphs(document.text or "") if document is not None else ""
    extractor = "trafilatura"
    if word_count(body) < FALLBACK_MIN_WORDS:
        fallback = readability_body(html)
        if _prefer_fallback(body, fallback):
            body, extractor = fallback, "readability"
    if document is None and extractor != "readability":
        return _no_story(html, url)
    title = stated.title or found.title or None
    body, cut = cut_furniture(body, title)
    return Article(
        body=body,
        title=title,
        subtitle=stated.standfirst,
        authors=stated.authors,
        published_at=stated.published.at if stated.published else None,
        published_date_only=stated.published.date_only if stated.published else False,
        section=section,
        language=html_language(html) or detect_language(body),
        site=stated.site_name or found.sitename or found.hostname or None,
        url=found.url or url,
        extractor=extractor,
        cut=cut,
    )


def _no_story(html: str, url: str | None) -> Article:
    """What a page without main content gives: no body, its declared language (the caller fails it)."""
    return Article(body="", url=url, extractor="trafilatura", language=html_language(html))


def _drop_code(tree) -> None:
    """Remove scripts (but JSON-LD), styles and noscript blocks, keeping the text that follows them.

    trafilatura drops them too, but only after several XPath passes and
    copies of the whole raw tree; gone first, they cost nothing there (a
    sixteenth of its time, the same text on all 263 dev pages). JSON-LD stays:
    trafilatura reads it to recognise forum threads."""
    for element in list(tree.iter("script", "style", "noscript")):
        if element.tag != "script" or (element.get("type") or "").strip().lower() != "application/ld+json":
            element.drop_tree()


class TrafilaturaFindings:
    """trafilatura's metadata of a parsed page, as `trafilatura.extract_metadata` finds it, but its byline
    search, htmldate's date search and its category search run only when asked for.

    `extract_metadata` runs every search on every page, a third of the time
    trafilatura spends on one; newsflow reads a byline or a day from them only
    where the page's own statements have none (`metadata.html_metadata`).
    The steps and their order are extract_metadata's (trafilatura 2.3.1, pinned),
    but for three left out: tags and licence, which newsflow does not keep,
    and its JSON-LD reader (a regex pass over every script, the costliest
    step): `metadata.page_statements` reads the page's JSON-LD, once, for
    headline, people, publisher, section and dates.
    """

    def __init__(self, tree, url: str | None):
        self._tree = tree
        found = tm.examine_meta(tree)
        if found.author and " " not in found.author:
            found.author = None
        found.title = found.title or tm.extract_title(tree)
        found.url = found.url or tm.extract_url(tree, url)
        if found.url:
            found.hostname = tm.extract_domain(found.url, fast=True)
        if not found.sitename:
            found.sitename = tm.extract_sitename(tree)
        if found.sitename:
            found.sitename = found.sitename.lstrip("@")
            if found.sitename and "." not in found.sitename and not found.sitename[0].isupper():
                found.sitename = found.sitename.title()
        elif found.url and (match := tm.META_URL.match(found.url)):
            found.sitename = match[1]
        found.clean_and_trim()
        self._found = found
        self.title, self.description, self.url = found.title, found.description, found.url
        self.hostname, self.sitename = found.hostname, found.sitename

    @functools.cached_property
    def author(self) -> str | None:
        return self._found.author or _trimmed(tm.extract_author(self._tree))

    @functools.cached_property
    def categories(self) -> list[str]:
        return self._found.categories or tm.extract_catstags("category", self._tree)

    @functools.cached_property
    def date(self) -> str | None:
        return tm.find_date(self._tree, **tm.set_date_params(True), url=self._found.url)


def _trimmed(value: str | None) -> str | None:
    """A value found after `clean_and_trim` ran, trimmed as it trims every field."""
    document = TrafilaturaDocument()
    document.author = value
    document.clean_and_trim()
    return document.author


def readability_body(html: str) -> str:
    """The story readability-lxml scores highest, as blank-line separated paragraphs ("" if none).

    Text is read from the innermost block elements of its summary, so a
    paragraph inside a list item or a div is not read twice.
    """
    try:
        summary = ReadabilityDocument(html).summary(html_partial=True)
        root = lxml.html.fragment_fromstring(summary, create_parent="div")
    except Exception:  # readability raises on pages it cannot score; that is "no fallback", not a failure
        return ""
    paragraphs = []
    for element in root.iter(*_FALLBACK_BLOCKS):
        if any(isinstance(child.tag, str) and child.tag in _FALLBACK_BLOCKS for child in element.iterdescendants()):
            continue
        text = " ".join(element.text_content().split())
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _prefer_fallback(body: str, fallback: str) -> bool:
    """Readability's body replaces a short trafilatura body only when it is clearly more text.

    Not required: that it contains trafilatura's text. On a live blog
    trafilatura keeps the standfirst and readability the posts, and both
    belong to the story (TheTelegraph_1 in fundus-eval).
    """
    kept, found = word_count(body), word_count(fallback)
    return found >= max(FALLBACK_MIN_GAIN * kept, FALLBACK_MIN_BODY_WORDS)


def _paragraphs(text: str) -> str:
    lines = (line.strip() for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


def html_language(html: str) -> str | None:
    """The page's declared language (`<html lang="en-GB">` -> "en")."""
    match = _HTML_LANG.search(html[:5000])
    return match.group(1).lower()[:2] if match else None


