"""Bytes to text, once, with everything known about them; refusing what is not text.

Stored files, fetched pages and feeds all come through `decode_bytes`. The
evidence is weighed in the order browsers and XML parsers use: a byte-order
mark, then the charset of the HTTP Content-Type, then the document's own
declaration (`<?xml ... encoding=...?>`, `<meta charset=...>`), then UTF-8,
then UTF-16 recognised by its zero bytes, and statistical detection last. A
declared charset the bytes do not fit falls through to the next clue rather
than to mojibake. One exception to that order: bytes that are valid UTF-8
are read as UTF-8 whatever a header or declaration says (legacy text is
practically never valid UTF-8, while pages re-saved as UTF-8 under a stale
`<meta charset="iso-8859-1">` are common).

UTF-8 with a few bad bytes (a dump spliced from two sources, a byte lost in
a copy) stays UTF-8: the bad bytes become U+FFFD and are counted in
`Decoded.replaced`, so the pipeline can note the damage on the article,
instead of detection reading the whole file as Mac Roman.

Each refusal is a `RejectedInput` with a reason a person can act on; the
flows turn it into a `failures` row instead of crashing.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from extractors.sniffing import GZIP_MAGIC, binary_kind

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""Largest stored document we accept; a news article is rarely over 1 MB."""

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([^\s;"']+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_DECLARATION_SCAN_BYTES = 4096
_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG encoding labels: browsers read these as windows-1252 / GB18030, and so must we.
_CODEC_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252", "latin-1": "cp1252",
                  "gb2312": "gb18030", "gbk": "gb18030"}
_WEB_ENCODING_RANK = {
    name: rank
    for rank, name in enumerate(
        ["cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "iso8859_7",
         "cp1253", "iso8859_9", "cp1254", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr"]
    )
}


class RejectedInput(ValueError):
    """Input that cannot become an article; the message says why."""


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, and how."""

    text: str
    """NFC, LF line ends, no byte-order mark."""
    encoding: str
    """The codec used (Python's name: "utf-8", "cp1252", "koi8-r", "utf-16-le", ...)."""
    replaced: int = 0
    """Bytes that did not fit `encoding` and became U+FFFD (only ever non-zero for a few)."""

    @property
    def note(self) -> str | None:
        """A line for the article's record when bytes were lost, else None."""
        return replacement_note(self.replaced, self.encoding)


def replacement_note(replaced: int, encoding: str | None) -> str | None:
    """What decoding lost, as the article's `decode_note` keeps it ("6 invalid utf-8 bytes replaced with
    U+FFFD"), or None when nothing was replaced."""
    if not replaced:
        return None
    plural = "s" if replaced != 1 else ""
    return f"{replaced} invalid {encoding} byte{plural} replaced with U+FFFD"


def decode_bytes(data: bytes, *, kind: str = "text", content_type: str = "",
                 max_bytes: int = DEFAULT_MAX_BYTES) -> Decoded:
    """Decode a document: `kind` is "text" (a dump), "html", "xml" (feeds, sitemaps) or "json".

    `content_type` is the HTTP header value, when the bytes came over HTTP.
    Raises `RejectedInput` for empty, oversized and binary input.
    """
    if len(data) > max_bytes:
        raise RejectedInput(f"document is {len(data):,} bytes, over the {max_bytes:,} byte limit")
    if not data.strip():
        raise RejectedInput("empty document: no text to extract")
    what = binary_kind(data)
    if what:
        raise RejectedInput(f"binary content: looks like {what}")
    if data.startswith(GZIP_MAGIC):
        raise RejectedInput("binary content: gzip data (only files named .gz are inflated)")
    decoded = _decode(data, kind, content_type)
    sample = decoded.text[:20000]
    if kind in ("text", "html") and (
            sample.count("\x00") or len(_CONTROL_CHARS.findall(sample)) > max(8, len(sample) // 100)):
        # feeds are left to their parsers, whose well-formedness errors say more
        raise RejectedInput("binary content: too many control characters for text")
    return Decoded(normalise_text(decoded.text), decoded.encoding, decoded.replaced)


def normalise_text(text: str) -> str:
    """One canonical form so that the same story always hashes the same."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def declared_charsets(data: bytes, kind: str, content_type: str) -> list[str]:
    """Charset labels in the order they count: the HTTP header's, then the document's own."""
    labels = []
    if header := _HEADER_CHARSET.search(content_type):
        labels.append(header.group(1))
    if kind in ("html", "xml"):
        head = data[:_DECLARATION_SCAN_BYTES]
        xml = _XML_ENCODING.match(head)
        meta = _META_CHARSET.search(head)
        found = [xml, meta] if kind == "xml" else [meta, xml]
        labels += [match.group(1).decode("ascii") for match in found if match]
    return labels


def _decode(data: bytes, kind: str, content_type: str) -> Decoded:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _strict_or_tolerant(data[len(bom):], codec)
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    for label in declared_charsets(data, kind, content_type):
        codec = _codec(label, data)
        if codec and (decoded := _fits(data, codec)):
            return decoded
    if decoded := _fits(data, "utf-8"):
        return decoded
    if order := _utf16_without_bom(data):
        try:
            return Decoded(data.decode(order), order)
        except UnicodeDecodeError as exc:
            raise RejectedInput(f"UTF-16 without a byte-order mark, and not valid UTF-16: {exc.reason} "
                                f"at byte {exc.start}") from None
    if b"\x00" in data[:_DECLARATION_SCAN_BYTES]:
        raise RejectedInput("binary content: NUL bytes in a text file")
    return _detect(data)


def _fits(data: bytes, codec: str) -> Decoded | None:
    """`data` in `codec`, or None when it does not fit (UTF-8 tolerates a few bad bytes)."""
    if codec == "utf-8":
        return _mostly_utf8(data)
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        return None


def _strict_or_tolerant(data: bytes, codec: str) -> Decoded:
    """After a byte-order mark the encoding is certain: bad bytes are replaced, however many."""
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        return Decoded(text, codec, replaced=_replaced_bytes(data, codec))


def _replaced_bytes(data: bytes, codec: str) -> int:
    bad = 0
    decoder = codecs.getincrementaldecoder(codec)("strict")
    rest = data
    while rest:
        try:
            decoder.decode(rest, final=True)
            break
        except UnicodeDecodeError as exc:
            bad += exc.end - exc.start
            rest = rest[exc.end:]
            decoder.reset()
    return bad


def _mostly_utf8(data: bytes) -> Decoded | None:
    """UTF-8, or UTF-8 but for a few bad bytes among plenty of valid multi-byte characters.

    Legacy 8-bit text fails UTF-8 at nearly every non-ASCII byte and has no
    valid multi-byte sequences, so it never passes for damaged UTF-8.
    """
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    limit = max(8, len(data) // 1000)
    parts: list[str] = []
    bad = errors = 0
    rest = data
    while True:
        try:
            parts.append(rest.decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            parts.append(rest[: exc.start].decode("utf-8"))
            parts.append("\ufffd")
            bad += exc.end - exc.start
            errors += 1
            if bad > limit:
                return None
            rest = rest[exc.end:]
    valid_multibyte = sum(1 for part in parts[::2] for char in part if ord(char) > 0x7F)
    if valid_multibyte < 4 * errors:
        return None
    return Decoded("".join(parts), "utf-8", replaced=bad)


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" / "utf-16-be" when every other byte is mostly zero, as in UTF-16 Latin text."""
    sample = data[: _DECLARATION_SCAN_BYTES * 2]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    even_zeros, odd_zeros = sample[0::2].count(0), sample[1::2].count(0)
    if odd_zeros >= 0.3 * pairs and even_zeros <= 0.05 * pairs:
        return "utf-16-le"
    if even_zeros >= 0.3 * pairs and odd_zeros <= 0.05 * pairs:
        return "utf-16-be"
    return None


def _detect(data: bytes) -> Decoded:
    matches = sorted(from_bytes(data), key=lambda m: (m.chaos, -m.coherence))
    if not matches:
        raise RejectedInput("binary content: no text encoding fits these bytes")
    # charset-normalizer often ties Western text between code pages (cp775, cp1257, cp1252):
    # among the near-best guesses, prefer the encodings legacy web pages actually used.
    best = matches[0]
    near = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.1]
    near.sort(key=lambda m: _WEB_ENCODING_RANK.get(m.encoding, len(_WEB_ENCODING_RANK)))
    return Decoded(str(near[0]), codecs.lookup(near[0].encoding).name)


def _codec(label: str, data: bytes) -> str | None:
    """The codec a charset label means on the web; None for an unknown label."""
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        # No BOM (checked first): real UTF-16 shows its zero bytes; an ASCII-compatible
        # document that merely says UTF-16 is read as UTF-8, as WHATWG does.
        return _utf16_without_bom(data) or "utf-8"
    return _CODEC_ALIASES.get(name, name)
