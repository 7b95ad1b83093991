"""One identity per article, the address to store for it, and the host a request is polite to.

The same story reaches us as http and https, with and without `www.`, with
campaign tags and fragments; each variant would become its own article and
defeat the `article_id` dedup. `canonical_url` folds them into one identity
string: an identity key only, never an address to show or fetch (http folds
to https even when a server only speaks http). The address stored as an
article's `url` is `page_url`: the canonical URL the page declares for
itself, else the URL it was fetched from, with tracking parameters and the
fragment dropped but its scheme and host as given: a guessed https upgrade
may not serve the page. `host_of` is the politeness key: it keeps the host
exactly as requested, because `www.` and the bare domain may be different
servers.
"""

from __future__ import annotations

import html
import re
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset({
    # Ad-click ids: Meta, Google Ads (incl. iOS gbraid/wbraid), DoubleClick, Microsoft, Yandex, X, TikTok, LinkedIn.
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
    # Mail campaigns: Mailchimp, Marketo, HubSpot, Vero.
    "mc_cid", "mc_eid", "mkt_tok", "_hsenc", "_hsmi", "vero_id", "vero_conv",
    # Analytics cross-domain linkers and share tags: Instagram, Google Analytics, Twitter embeds, NYT shares.
    "igshid", "_ga", "_gl", "ref_src", "ref_url", "smid",
    # Publisher campaign ids seen on news links: Adobe (cmpid), MSN (ocid), Olytics.
    "cmpid", "ocid", "oly_anon_id", "oly_enc_id",
})
"""Query parameters that say how a reader arrived, never which page they read.

Matched case-insensitively; every `utm_*` parameter is dropped as well
(`TRACKING_PREFIXES`). A parameter that can select content (`id`, `page`,
`ref`) must never go here.
"""

TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Everything RFC 3986 allows unescaped in a path or query, plus "%" so existing escapes survive.
_SAFE_CHARS = "!$&'()*+,;=:@/?%-._~"

# Second-level public suffixes under which the registrable name has three labels.
# A deliberate simplification of the Public Suffix List: the common news-country cases only.
_TWO_LABEL_SUFFIXES = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk",
    "com.au", "net.au", "org.au", "co.nz", "org.nz", "co.za", "co.jp", "ne.jp", "or.jp",
    "co.in", "com.br", "com.mx", "com.ar", "com.tr", "com.cn", "com.hk", "com.sg", "co.kr", "co.il",
})

_HEAD_SCAN_CHARS = 100_000
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_TAG = re.compile(r"<(link|meta)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def canonical_url(url: str) -> str:
    """The identity string of the page at `url`; variants of one article give one string.

    Not an address: the scheme is always https and `www.` is dropped.
    Raises ValueError for anything that is not an http(s) URL with a host.
    """
    return _normal_url(url, identity=True)


def clean_url(url: str) -> str:
    """`url` as an address worth storing: tracking parameters, fragment and default port dropped,
    host lower-cased, escapes normalised; scheme and `www.` kept as given. ValueError as `canonical_url`."""
    return _normal_url(url, identity=False)


def _normal_url(url: str, identity: bool) -> str:
    parts = _split_web_url(url.strip())
    scheme = parts.scheme.lower()
    host = _normal_host(parts.hostname or "")
    port = parts.port  # ValueError for a malformed port
    netloc = _bracket(_fold_www(host) if identity else host)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _normal_escapes(parts.path) or "/"
    query = "&".join(_kept_params(parts.query))
    return urlunsplit(("https" if identity else scheme, netloc, path, query, ""))


def host_of(url: str) -> str:
    """The politeness key of `url`: lower-cased host, plus the port when one is given and not the default.

    Not www-folded: `www.example.com` and `example.com` may be different servers.
    http and https of one host share a key, since they are one server to be polite to.
    """
    parts = _split_web_url(url.strip())
    host = _bracket(_normal_host(parts.hostname or ""))
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        return f"{host}:{port}"
    return host


def same_site(a: str, b: str) -> bool:
    """Whether two URLs belong to one site: the same registrable name after www-folding.

    Simplification: the registrable name is the last two host labels, or three
    under a short list of country second-level suffixes (`co.uk`, `com.au`, ...),
    not the full Public Suffix List. IP hosts must be equal. Ports are ignored.
    """
    try:
        host_a = _fold_www(_normal_host(_split_web_url(a).hostname or ""))
        host_b = _fold_www(_normal_host(_split_web_url(b).hostname or ""))
    except ValueError:
        return False
    if host_a == host_b:
        return True
    if _is_ip(host_a) or _is_ip(host_b):
        return False
    return _registrable(host_a) == _registrable(host_b)


def page_url(fetched_url: str, html_text: str) -> str:
    """The address to store for a fetched page: the canonical URL it declares, when believable, else the
    URL it was fetched from (both through `clean_url`: the scheme is never guessed).

    `<link rel="canonical">` wins over `<meta property="og:url">`. A declaration
    is ignored when it is not http(s), points to another site (syndication and
    spam), or points to the site's home page from an article (a common
    template bug that would merge every article into one).
    """
    fallback = clean_url(fetched_url)
    head = html_text[:_HEAD_SCAN_CHARS]
    end = _HEAD_END.search(head)
    if end:
        head = head[: end.start()]
    for declared in _declared_canonicals(head):
        try:
            candidate = clean_url(urljoin(fetched_url, declared))
        except ValueError:
            continue
        if not same_site(candidate, fetched_url):
            continue
        if urlsplit(candidate).path == "/" and urlsplit(fallback).path != "/":
            continue
        return candidate
    return fallback


def page_canonical_url(fetched_url: str, html_text: str) -> str:
    """The identity of a fetched page: `canonical_url` of its `page_url`."""
    return canonical_url(page_url(fetched_url, html_text))


def _declared_canonicals(head: str) -> list[str]:
    """Candidate URLs in preference order: rel=canonical links first, then og:url."""
    links, og_urls = [], []
    for match in _TAG.finditer(head):
        attrs = _attributes(match.group(2))
        if match.group(1).lower() == "link":
            if "canonical" in attrs.get("rel", "").lower().split() and attrs.get("href"):
                links.append(attrs["href"])
        elif (attrs.get("property") or attrs.get("name") or "").lower() == "og:url" and attrs.get("content"):
            og_urls.append(attrs["content"])
    return [html.unescape(url).strip() for url in links + og_urls]


def _attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        name = match.group(1).lower()
        value = next(v for v in match.group(2, 3, 4) if v is not None)
        attrs.setdefault(name, value)
    return attrs


def _split_web_url(url: str) -> SplitResult:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url!r}")
    return parts


def _normal_host(host: str) -> str:
    """Lower-case, no trailing dot, internationalised names in their IDNA (xn--) form."""
    host = host.lower().rstrip(".")
    if not host:
        raise ValueError("URL has no host")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # not IDNA-2003 encodable: keep the lower-cased Unicode form
    return host


def _fold_www(host: str) -> str:
    if host.startswith("www.") and "." in host[4:]:
        return host[4:]
    return host


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


def _registrable(host: str) -> str:
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _kept_params(query: str) -> list[str]:
    kept = []
    for param in query.split("&"):
        if not param:
            continue
        name = unquote(param.split("=", 1)[0]).lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(_normal_escapes(param))
    return kept


def _normal_escapes(text: str) -> str:
    """RFC 3986 6.2.2 minimal normalisation: upper-case escapes, decode only unreserved characters.

    Reserved characters stay escaped (`%2F` is not `/`); spaces and non-ASCII are escaped.
    """

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _PERCENT_ESCAPE.sub(fix, quote(text, safe=_SAFE_CHARS))
