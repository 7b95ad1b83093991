"""Bytes to text, refusing what is not text.

Stored files arrive as bytes of unknown quality: empty, binary, huge, or in
a legacy encoding. Each refusal is a `RejectedInput` with a reason a person
can act on; the flow turns it into a `failures` row instead of crashing.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

from charset_normalizer import from_bytes

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
"""Largest stored document we accept; a news article is rarely over 1 MB."""

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
    b"\x7fELF": "an executable",
}


_WEB_ENCODING_RANK = {
    name: rank
    for rank, name in enumerate(
        ["cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r", "iso8859_7",
         "cp1253", "iso8859_9", "cp1254", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr"]
    )
}


class RejectedInput(ValueError):
    """Input that cannot become an article; the message says why."""


def decompress_gzip(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Inflate a .gz payload, stopping at `max_bytes` so a bomb cannot exhaust memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise RejectedInput(f"corrupt gzip data: {exc}") from exc
    if len(out) > max_bytes:
        raise RejectedInput(f"decompressed size exceeds the {max_bytes:,} byte limit")
    return out


def decode_text(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode a stored document to normalised text (NFC, LF line ends).

    UTF-8 is tried first because it is what nearly every dump is and it is
    cheap; only other bytes pay for charset detection.
    """
    if len(data) > max_bytes:
        raise RejectedInput(f"file is {len(data):,} bytes, over the {max_bytes:,} byte limit")
    if not data.strip():
        raise RejectedInput("empty file: no text to extract")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise RejectedInput(f"binary content: looks like {what}")
    if data[:2] == b"\x1f\x8b":
        raise RejectedInput("binary content: gzip data in a file not named .gz")
    text = _decode(data)
    sample = text[:20000]
    if sample.count("\x00") or len(_CONTROL_CHARS.findall(sample)) > max(8, len(sample) // 100):
        raise RejectedInput("binary content: too many control characters for text")
    return normalise_text(text)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise RejectedInput("binary content: NUL bytes in a text file")
    matches = sorted(from_bytes(data), key=lambda m: (m.chaos, -m.coherence))
    if not matches:
        raise RejectedInput("binary content: no text encoding fits these bytes")
    # charset-normalizer often ties Western text between code pages (cp775, cp1257, cp1252):
    # among the near-best guesses, prefer the encodings legacy web pages actually used.
    best = matches[0]
    near = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.1]
    near.sort(key=lambda m: _WEB_ENCODING_RANK.get(m.encoding, len(_WEB_ENCODING_RANK)))
    return str(near[0])


def normalise_text(text: str) -> str:
    """One canonical form so that the same story always hashes the same."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)
