"""Article metadata as a person would write it: headline, authors, publication time.

Pages state their metadata several times (`<title>`, `og:title`, the `<h1>`,
JSON-LD), each with its own decoration: site names glued to titles
("... | CBC News", "...：朝日新聞デジタル"), publishers and desks in the author
field ("N-Tv Nachrichten", "Redaktion"), only a day in one place and the
exact time with its offset in another. Everything here is generic: the site's
own names (og:site_name, the JSON-LD publisher, the host name) say what to
strip, never a list of sites.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import lxml.html


# ---------------------------------------------------------------- titles

_SEPARATOR = re.compile(r"\s+[|–—\-·•»«/:]{1,2}\s+|\s*[|｜│ᅵ：]\s*|\s+::\s+|(?<=[^\s\d])-{2}(?=[^\s\d])")
"""Where a title is glued to a site or section name: a spaced dash, bar, bullet or colon,
an unspaced bar or full-width colon (CJK titles), or a doubled hyphen ("...--时政--人民网")."""
_KEY_DROP = re.compile(r"[\W_]+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_HOST_NOISE = {"www", "m", "amp", "mobile", "edition", "news", "com", "co", "org", "net"}
MIN_SITE_KEY = 3
"""A site key shorter than this ("dw", "tv") only names the site when a segment is exactly it;
inside longer segments it would match ordinary words."""


def tidy(text: str | None) -> str:
    """Entities decoded, invisible characters dropped, whitespace collapsed."""
    if not text:
        return ""
    text = html_lib.unescape(text)
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def text_key(text: str) -> str:
    """What two spellings of one title or name agree on: letters and digits, casefolded."""
    text = unicodedata.normalize("NFKC", tidy(text)).translate(_QUOTES)
    return _KEY_DROP.sub("", text.casefold())


def host_keys(url: str | None) -> set[str]:
    """Site keys from a URL's host: "www.taipeitimes.com" -> {"taipeitimes", "taipeitimescom"}."""
    if not url:
        return set()
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    labels = [label for label in host.split(".") if label and label not in _HOST_NOISE]
    if len(labels) > 1:
        labels = labels[:-1]  # the top-level domain
    keys = {text_key(label) for label in labels} | {text_key(host.removeprefix("www."))}
    return {key for key in keys if len(key) >= 2}


def site_keys(*names: str | None) -> set[str]:
    """Site keys from what a page calls its site ("Taipei Times", "globalnews.ca")."""
    keys = set()
    for name in names:
        if name and len(text_key(name)) >= 2:
            keys.add(text_key(name.lstrip("@")))
            if re.fullmatch(r"[\w.-]+\.[a-z]{2,}", name.strip().lower()):
                keys |= host_keys(name.strip())
    return keys


def _site_like(segment: str, site_keys: set[str]) -> bool:
    """A title segment that names the site: "Taipei Times", "Golem.de", "DER SPIEGEL", "日本経済新聞"."""
    key = text_key(segment)
    if len(key) < 2 or not site_keys:
        return False
    for site in site_keys:
        if key == site or (len(site) >= MIN_SITE_KEY and site in key and len(key) <= 3 * len(site)):
            return True
        if len(key) >= MIN_SITE_KEY and key in site:
            return True
    return False


def _datelike(segment: str) -> bool:
    from extractors.text_metadata import parse_date

    stripped = segment.strip()
    return len(stripped) <= 20 and parse_date(stripped) is not None and not re.search(r"[^\W\d_]{4,}", stripped)


def strip_site_name(title: str, site_keys: set[str]) -> str:
    """The title without leading or trailing site names (and dates or sections stuck beside them).

    Segments between separators are dropped from either end while they name
    the site; a short segment between the headline and a site name
    ("- National | Globalnews.ca", "- News - SRF") or a date after it
    ("| DW | 28.04.2023") goes with it. A title that is all site name stays.
    """
    title = tidy(title)
    pieces = _SEPARATOR.split(title)
    if len(pieces) < 2:
        return _strip_glued_site(title, site_keys)
    seps = _SEPARATOR.findall(title)
    start, end = 0, len(pieces)
    stripped_end = False
    while end - start > 1 and (_site_like(pieces[end - 1], site_keys) or (stripped_end and _datelike(pieces[end - 1]))
                               or (_datelike(pieces[end - 1]) and end - 2 > start and _site_like(pieces[end - 2], site_keys))):
        end -= 1
        stripped_end = True
    if stripped_end and end - start > 1 and len(pieces[end - 1].split()) <= 2 and not _datelike(pieces[end - 1]) and \
            len(pieces[end - 1]) < len(pieces[start]) / 2 and seps[end - 2].strip() not in (":", "："):
        end -= 1  # a section name between headline and site
    while end - start > 1 and _site_like(pieces[start], site_keys):
        start += 1
    if (start, end) == (0, len(pieces)):
        return _strip_glued_site(title, site_keys)
    kept = pieces[start]
    for i in range(start + 1, end):
        kept += seps[i - 1] + pieces[i]
    return kept.strip()


def _strip_glued_site(title: str, site_keys: set[str]) -> str:
    """A site name glued on without a separator the splitter knows ("...-정치ᅵ한국일보")."""
    key = text_key(title)
    for site in sorted(site_keys, key=len, reverse=True):
        if len(site) >= MIN_SITE_KEY and key.endswith(site) and len(key) > 2 * len(site):
            cut = len(title)
            while cut > 0 and text_key(title[cut:]) != site:
                cut -= 1
            return title[:cut].rstrip(" -–—|:：·•").strip() or title
    return title


@dataclass(frozen=True, slots=True)
class TitleCandidates:
    """The page's statements of its headline, raw, in the order they are trusted."""

    headline: str | None = None
    """JSON-LD `headline` of the article object."""
    og_title: str | None = None
    h1: str | None = None
    twitter_title: str | None = None
    html_title: str | None = None


MIN_CROSS_WORDS = 3
"""A statement shorter than this is no headline to trim others by."""
TITLE_ORDER = ("headline", "og_title", "h1", "twitter_title", "html_title")


def choose_title(candidates: TitleCandidates, site_keys: set[str], order: tuple[str, ...] = TITLE_ORDER,
                 other: str | None = None) -> str | None:
    """The headline without site decoration.

    Each statement loses its site names first; then JSON-LD's headline wins,
    then `og:title`, the `<h1>`, Twitter's title, and `<title>` last, as it
    carries the most decoration. (That order, chosen leave-publisher-out on
    fundus-parsers, was the best order on every held-out fold; see
    bench/extraction.py.) When another statement is the chosen one minus a
    separated tail ("Title | Sport" beside "Title"), the tail goes too.
    """
    cleaned = []
    for name in order:
        value = getattr(candidates, name)
        title = strip_site_name(value, site_keys) if value and tidy(value) else ""
        if title and not _site_like(title, site_keys):
            cleaned.append(title)
    if not cleaned:
        return None
    chosen = cleaned[0]
    for shorter in [*cleaned[1:], tidy(other)]:
        rest = chosen[len(shorter):] if chosen.startswith(shorter) and len(shorter.split()) >= MIN_CROSS_WORDS else ""
        if rest and _SEPARATOR.match(rest):
            chosen = shorter  # what follows the headline another statement gives is decoration
    return chosen


# ---------------------------------------------------------------- authors

_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||/|&|,|\s(?:and|und|et|y|e|og|och|en|ve|dan|i|und von)\s)\s*")
_AUTHOR_LEAD = re.compile(
    r"^(?:(?:written|words|story|text|reporting|report|photos?|interview)\s+)?"
    r"(?:by|von|par|por|door|av|af|di|de|autor(?:in)?|author|texto?|auteur|tekst)\s*[:\s]\s*",
    re.IGNORECASE,
)
_LEAD_BEFORE_BY = re.compile(r"^(?:\S+\s+){1,2}(?:Von|By|Par|Por)\s+(?=[A-ZÀ-Þ])")
_HONORIFIC = re.compile(r"^(?:(?:dr|prof|mr|mrs|ms|mag|dipl|ing)\.?\s+)+", re.IGNORECASE)
_ROLE = re.compile(
    r"\s*[,(–—-]?\s*\b(?:senior|chief|staff|political|foreign|deputy|associate|contributing|special)?\s*"
    r"(?:correspondent|editor|reporter|writer|columnist|contributor|redakteur(?:in)?|korrespondent(?:in)?|"
    r"journalist(?:in)?|rédacteur|rédactrice|envoyée? spéciale?|redactor|redactora|기자|특파원|記者)s?\b.*$",
    re.IGNORECASE,
)
_DESK = re.compile(
    # words that make a byline a desk, a wire or a company rather than a person, in the languages of the dev sets
    r"\b(?:redaktion|redaction|rédaction|redazione|redacción|redactie|redaksjon|redaktionen|newsroom|news desk|"
    r"desk|staff|team|agency|agentur|agenturen|agence|agencia|presse|press|wire|wires|online|digital|"
    r"news|nachrichten|noticias|nouvelles|notizie|nyheter|nieuws|haber|media|medien|group|gruppe|verlag|"
    r"zeitung|times|daily|tribune|magazine|magazin|radio|television|tv|sport|sports|"
    r"nast|inc|ltd|llc|gmbh|ag|sa|plc|corp|corporation|company|publishing|editorial|editors|"
    r"contributors|correspondents|reporters|writers|images|photos|photography)\b",
    re.IGNORECASE,
)
_WIRE = re.compile(
    # wire services, named everywhere by these acronyms
    r"^(?:ap|afp|dpa|reuters|sda|sid|kna|epd|apa|efe|ansa|ats|ips|pti|ians|ani|xinhua|kyodo|yonhap|tass|"
    r"ria|anp|belga|ntb|tt|ritzau|ctk|pap|mti|bta|hina|tanjug|aa|dha|ihlas|bernama|antara|aap|cp|upi|"
    r"associated press|the associated press|agence france-presse|deutsche presse-agentur)$",
    re.IGNORECASE,
)
_HANDLE_OR_URL = re.compile(r"@|https?://|www\.|\.\w{2,4}$|\.\w{2,4}/|\d")
_MC = re.compile(r"\b(Mc|Mac)([a-z])")
_PARTICLES = frozenset("de da di do dos das del van von der den du la le al el bin ibn ter zu y e".split())
"""Lowercase words inside people's names ("Ursula von der Leyen", "Michelle de Oliveira")."""
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def clean_authors(raw: Iterable[str], site_keys: set[str]) -> list[str]:
    """People's names from raw author statements, each once, in order.

    Accepts what pages put there: several names in one string ("A, B und C",
    "Last, First; Last, First"), "By"/"Von" leads, roles, honorifics. Drops
    what is not a person: the site's own names, desks and wires, places,
    handles, URLs, single Latin-script words (initials, handles, first names
    alone). ALL-CAPS and all-lowercase names get their capitals back.
    """
    names: list[str] = []
    seen: set[str] = set()
    for statement in raw:
        for name in split_author_field(tidy(statement)):
            name = _person_name(name, site_keys)
            if name and text_key(name) not in seen:
                seen.add(text_key(name))
                names.append(name)
    return names


def split_author_field(text: str) -> list[str]:
    """One author statement as separate names; "Last, First; Last, First" comes back as "First Last"."""
    if not text:
        return []
    text = _LEAD_BEFORE_BY.sub("", text)
    text = _AUTHOR_LEAD.sub("", text)
    groups = [g.strip() for g in re.split(r"\s*;\s*", text) if g.strip()]
    if len(groups) > 1 and all(_is_last_first(g) for g in groups):
        return [_swap(g) for g in groups]
    if len(groups) == 1 and _is_last_first(groups[0]) and len(groups[0].split(",")[0].split()) == 1 < len(
            groups[0].split(",")[1].split()):
        return [_swap(groups[0])]  # "Roe, Jo Ann"; "Roe, Jo" stays ambiguous with two one-word names
    return [part for part in _AUTHOR_SPLIT.split(text) if part and part.strip()]


def _is_last_first(group: str) -> bool:
    parts = [p.strip() for p in group.split(",")]
    return (
        len(parts) == 2 and all(parts) and len(parts[0].split()) <= 2 and len(parts[1].split()) <= 3
        and not re.search(r"\s(?:and|und|et|y)\s", group)
    )


def _swap(group: str) -> str:
    last, first = (p.strip() for p in group.split(","))
    return f"{first} {last}"


def _person_name(name: str, site_keys: set[str]) -> str | None:
    name = _AUTHOR_LEAD.sub("", name.strip(" .,:;-–—()[]\"'"))
    name = _ROLE.sub("", name).strip(" .,:;-–—()[]")
    name = _HONORIFIC.sub("", name).strip()
    if not name or ":" in name or _HANDLE_OR_URL.search(name) or _WIRE.match(name) or _DESK.search(name):
        return None
    if _site_like(name, site_keys) or _is_place(name):
        return None
    if _CJK.search(name):
        return name if len(text_key(name)) <= 8 else None
    name = _capitalised(name)
    words = name.split()
    if not 2 <= len(words) <= 5 or not all(w in _PARTICLES or w[0].isupper() for w in words) or len(words[-1].strip(".")) < 2:
        return None
    return name


def _capitalised(name: str) -> str:
    """ALL CAPS or all lowercase names as people write them ("JÖRG ZSCHOCHE" -> "Jörg Zschoche")."""
    if name.isupper() or name.islower():
        return _MC.sub(lambda m: m.group(1) + m.group(2).upper(), name.title())
    return " ".join(_capitalised(w) if len(w) > 3 and w.isupper() else w for w in name.split())


def _is_place(name: str) -> bool:
    from extractors.entity_names import canonical_key
    from extractors.gazetteer import entries

    return canonical_key(name) in entries()


# ---------------------------------------------------------------- dates

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)\s*"
    r"(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?"
)


@dataclass(frozen=True, slots=True)
class PublishedAt:
    """When a page says it was published, exactly as precise as it says.

    `at` is timezone-aware when the page states an offset, naive when it
    states a time without one, and midnight with `date_only` when it states
    only a day.
    """

    at: dt.datetime
    date_only: bool = False

    @property
    def day(self) -> dt.date:
        """The publication day in the page's own time zone."""
        return self.at.date()


def parse_published(value: str | None) -> PublishedAt | None:
    """An ISO 8601 statement ("2025-05-14T20:28:12+03:00", "2024-10-16", "2024-04-22 10:00Z")."""
    match = _ISO.match(tidy(value))
    if not match:
        return None
    try:
        day = dt.date.fromisoformat(match.group("date"))
    except ValueError:
        return None
    if not match.group("time"):
        return PublishedAt(dt.datetime(day.year, day.month, day.day), date_only=True)
    clock = match.group("time").replace(",", ".")
    if len(clock.split(":")[0]) == 1:
        clock = "0" + clock
    tz = match.group("tz")
    try:
        time = dt.time.fromisoformat(clock)
        at = dt.datetime.combine(day, time)
        if tz in ("Z", "UTC", "GMT"):
            at = at.replace(tzinfo=dt.timezone.utc)
        elif tz:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            at = at.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    except ValueError:
        return None
    return PublishedAt(at)


# ---------------------------------------------------------------- HTML statements

_ARTICLE_TYPES = re.compile(r"article|posting|report|blog|liveblog|webpage|newsarticle|opinion|review|analysis", re.I)
_PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "og:published_time", "datepublished",
    "publishdate", "publish-date", "publish_date", "pubdate", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "dcterms.issued", "sailthru.date", "parsely-pub-date", "article.published",
    "cxenseparse:recs:publishtime", "release_date", "original-publish-date",
)
_AUTHOR_META = ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author", "byl", "cxenseparse:author")


@dataclass(frozen=True, slots=True)
class HtmlMetadata:
    """What a page's markup states about its article."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: PublishedAt | None = None
    site_name: str | None = None
    """og:site_name, else the publisher the article's JSON-LD names."""
    standfirst: str | None = None
    """The description offered as standfirst, when the page shows it as a block of its own."""
    section: str | None = None
    """The article's section (JSON-LD articleSection, else article:section)."""


@dataclass(frozen=True, slots=True)
class PageStatements:
    """The raw metadata statements of one page, before any choice."""

    titles: TitleCandidates
    site_keys: set[str]
    site_name: str | None
    authors: list[str]
    published: list[str]
    shown_standfirst: str | None = None
    publisher: str | None = None
    section: str | None = None


def page_statements(page: str | lxml.html.HtmlElement, url: str | None = None,
                    standfirst: str | None = None) -> PageStatements | None:
    """Everything a page's markup says about its article's title, site, authors and date (None: unparseable),
    and whether it shows `standfirst` (a description from its metadata) as a block of its own.

    `page` is the HTML or its parsed tree (read, never changed)."""
    root = page if isinstance(page, lxml.html.HtmlElement) else parse_page(page)
    if root is None:
        return None
    metas = _meta_values(root)
    objects = list(_ld_objects(root))
    articles = [o for o in objects if _ARTICLE_TYPES.search(" ".join(_types(o)))]
    site_name = tidy(_first(metas.get("og:site_name"))) or None
    publishers = [item["name"] for obj in articles for publisher in [obj.get("publisher")]
                  for item in (publisher if isinstance(publisher, list) else [publisher])
                  if isinstance(item, dict) and isinstance(item.get("name"), str)]
    site_names = [site_name, *metas.get("application-name", []), *metas.get("twitter:site", []), *publishers]
    keys = site_keys(*site_names) | host_keys(url or _first(metas.get("og:url")) or _canonical(root))
    titles = TitleCandidates(
        headline=_first(_strings(o.get("headline")) for o in articles),
        og_title=_first(metas.get("og:title")),
        h1=_headline_h1(root),
        twitter_title=_first(metas.get("twitter:title")),
        html_title=root.findtext(".//title"),
    )
    authors = [name for o in articles for name in _person_authors(o.get("author"))]
    if not authors:
        authors = [v for key in _AUTHOR_META for v in metas.get(key, []) if not v.startswith("http")]
    shown = tidy(standfirst) if standfirst and _shows_block(root, standfirst) else None
    sections = [_first(_strings(v) for v in (value if isinstance(value, list) else [value]))
                for o in articles for value in [o.get("articleSection")]]
    return PageStatements(titles, keys, site_name, authors, list(_published_statements(articles, metas, root)), shown,
                          publisher=tidy(_first(publishers)) or None,
                          section=tidy(_first([*sections, *metas.get("article:section", [])])) or None)


def parse_page(html: str) -> lxml.html.HtmlElement | None:
    """The page's tree (None: unparseable)."""
    try:
        return lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None


_STANDFIRST_BLOCKS = ("p", "h2", "h3", "div", "span", "strong", "b", "li", "header", "section")
_STANDFIRST_MAX_CHILDREN = 3


def _shows_block(root, text: str) -> bool:
    """Some small element of the page body reads exactly `text` (letters and digits compared).

    A meta description is often an SEO blurb the page never shows; a
    standfirst is what a reader sees under the headline. Such an element
    holds the text's longest word, so only the ancestors of the text nodes
    holding it are read (one XPath search, not a text per div), up to the
    first that reads more than the text; of those only elements with a few
    children count.
    """
    key = text_key(text)
    body = root.find("body")
    words = _WORD.findall(tidy(text))
    if not key or body is None or not words:
        return False
    anchor = max(words, key=len)[:_ANCHOR_CHARS]
    seen = set()  # the elements themselves: an lxml proxy's id() is reused once it is freed
    for node in body.xpath(".//text()[contains(., $word)][not(parent::script)]", word=anchor):
        element = node.getparent()
        while element is not None and element not in seen:
            seen.add(element)
            if element.tag in _STANDFIRST_BLOCKS and len(element) <= _STANDFIRST_MAX_CHILDREN:
                content = text_key(element.text_content())
                if content == key:
                    return True
                if len(content) > len(key):
                    break  # it reads more than the text, and so does every element around it
            if element is body:
                break
            element = element.getparent()
    return False


_WORD = re.compile(r"\w+")
_ANCHOR_CHARS = 12
"""A shown text is looked for by the start of its longest word (a CJK run counts as one): every element
that shows the text contains it, and few others do."""


class OtherFindings(Protocol):
    """Another extractor's view of a page (trafilatura's): `author` and `date` are read only when the
    page's markup states none, so an extractor may search for them on demand."""

    title: str | None
    description: str | None

    @property
    def author(self) -> str | None: ...

    @property
    def date(self) -> str | None: ...


def html_metadata(page: str | lxml.html.HtmlElement, url: str | None = None,
                  other: OtherFindings | None = None) -> HtmlMetadata:
    """Title, authors, publication time and standfirst of a saved page (its HTML or parsed tree).

    `other` is another extractor's findings: its byline search and
    htmldate's day count only when the markup states no author or no
    publication time, and a fallback date is a day only. Never the
    modification date. Its title can only shorten ours by a separated tail;
    its description (the page's meta description) is our standfirst only
    where the page shows it.
    """
    statements = page_statements(page, url, other.description if other else None)
    if statements is None:
        return HtmlMetadata()
    fallback_authors = other.author if other and not statements.authors else None
    raw_authors = statements.authors or ([fallback_authors] if fallback_authors else [])
    published = _first(p for p in map(parse_published, statements.published) if p is not None)
    fallback_date = other.date if other and published is None else None
    if published is None and fallback_date:
        published = parse_published(fallback_date[:10])
    return HtmlMetadata(
        title=choose_title(statements.titles, statements.site_keys, other=other.title if other else None),
        authors=clean_authors(raw_authors, statements.site_keys),
        published=published,
        site_name=statements.site_name or statements.publisher,
        standfirst=statements.shown_standfirst,
        section=statements.section,
    )


def _first(values) -> str | None:
    for value in values or ():
        if value:
            return value
    return None


def _meta_values(root) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = meta.get("content")
        if key and content and content.strip():
            values.setdefault(key, []).append(content.strip())
    return values


def _canonical(root) -> str | None:
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return link.get("href")
    return None


def _ld_objects(root) -> Iterator[dict]:
    """Every object in the page's JSON-LD, @graph members included."""
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"))
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                if isinstance(item.get("@graph"), list):
                    stack.extend(reversed(item["@graph"]))
                if isinstance(item.get("mainEntity"), dict):
                    stack.append(item["mainEntity"])


def _types(obj: dict) -> list[str]:
    kind = obj.get("@type")
    return [kind] if isinstance(kind, str) else [k for k in kind if isinstance(k, str)] if isinstance(kind, list) else []


def _strings(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _person_authors(value) -> list[str]:
    """Names of a JSON-LD `author` value that are not organisations."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and not any("Organization" in t for t in _types(item)):
            name = item.get("name")
            if isinstance(name, str):
                out.append(name)
            elif isinstance(name, list):
                out.extend(n for n in name if isinstance(n, str))
    return out


def _published_statements(articles: list[dict], metas: dict[str, list[str]], root) -> Iterator[str]:
    """Publication-time statements, most explicit first: JSON-LD, meta tags, `<time>` elements."""
    for obj in articles:
        for key in ("datePublished", "dateCreated", "uploadDate"):
            if isinstance(obj.get(key), str):
                yield obj[key]
    for key in _PUBLISHED_META:
        yield from metas.get(key, [])
    for element in root.xpath('//*[@itemprop="datePublished"]'):
        yield element.get("content") or element.get("datetime") or ""
    for element in root.xpath("//time[@datetime]"):
        if "modif" not in " ".join((element.get("class") or "", element.get("itemprop") or "")).lower():
            yield element.get("datetime")
            break


def _headline_h1(root) -> str | None:
    """The article's `<h1>`: inside `<article>` or `<main>` when the page has one, else the first."""
    for path in ("//article//h1", "//main//h1", "//h1"):
        for element in root.xpath(path):
            text = tidy(element.text_content())
            if text:
                return text
    return None
