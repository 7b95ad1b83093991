"""Undo gzip, deflate and brotli without ever holding more than a cap, and notice a stream cut short.

One implementation for every compressed input: HTTP bodies with a
Content-Encoding chain (streamed, chunk by chunk), saved pages named
`.html.gz` and gzipped sitemaps (whole). A bomb stops at `cap + 1` bytes of
output per stage, never inflated past it; a stream that ends before its
end-of-stream marker (a file cut in half, a dropped connection) is
`Truncated`, not a short but plausible document.
"""

from __future__ import annotations

import zlib

import brotli

from extractors.decoding import RejectedInput
from extractors.sniffing import GZIP_MAGIC


class TooLarge(RejectedInput):
    """The decompressed data would exceed the cap."""


class Corrupt(RejectedInput):
    """The compressed data is not valid, or ends before its end-of-stream marker."""


def inflate_gzip(data: bytes, cap: int) -> bytes:
    """A whole gzip file, all its members, at most `cap` bytes; raises TooLarge or Corrupt (truncated included)."""
    inflater = Inflater(cap, "gzip")
    try:
        return inflater.feed(data) + inflater.finish()
    except TooLarge:
        raise TooLarge(f"decompressed size exceeds the {cap:,} byte limit") from None


class StreamDecoder:
    """Undo a Content-Encoding chain ("gzip", "deflate", "br", comma-separated) chunk by chunk."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",") if name.strip()]
        self._stages: list[Inflater | Unbrotli] = []
        for name in reversed(names):  # the last encoding applied is undone first
            if name in ("gzip", "x-gzip"):
                self._stages.append(Inflater(cap, "gzip"))
            elif name == "deflate":
                self._stages.append(Inflater(cap, "deflate"))
            elif name == "br":
                self._stages.append(Unbrotli(cap))
            elif name != "identity":
                raise Corrupt(f"unsupported content encoding {name}")

    def feed(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage.feed(data)
        return data

    def finish(self) -> bytes:
        """The rest of the output; raises Corrupt when a stage's stream ended early."""
        data = b""
        for stage in self._stages:
            data = stage.feed(data) + stage.finish()
        return data


class Inflater:
    """gzip (every member, as `gzip -d` reads them) or deflate (zlib-wrapped, else raw as browsers accept)."""

    def __init__(self, cap: int, kind: str) -> None:
        self._cap = cap
        self._kind = kind
        self._produced = 0
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS)
        self._first = True
        self._between_members = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            if self._between_members:  # bytes after a complete gzip member: another member, or trailing junk
                if not data.startswith(GZIP_MAGIC[: len(data)]):
                    return bytes(out)  # NUL padding or junk after the last member is ignored, as gzip -d does
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._between_members = False
            out += self._decompress(data)
            self._first = False
            if self._produced > self._cap:
                raise TooLarge(f"decompressed size exceeds the {self._cap:,} byte limit")
            data = b""
            if self._zlib.eof and self._kind == "gzip":
                data = self._zlib.unused_data
                self._between_members = True
        return bytes(out)

    def _decompress(self, data: bytes) -> bytes:
        room = self._cap + 1 - self._produced
        try:
            out = self._zlib.decompress(data, room)
        except zlib.error as exc:
            if self._kind == "deflate" and self._first:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                try:
                    out = self._zlib.decompress(data, room)
                except zlib.error as raw_exc:
                    raise Corrupt(f"corrupt compressed data: {raw_exc}") from None
            else:
                raise Corrupt(f"corrupt {self._kind} data: {exc}") from None
        self._produced += len(out)
        return out

    def finish(self) -> bytes:
        if self._first:
            return b""  # no body at all: the caller's "empty" check words it better
        if not (self._zlib.eof or self._between_members):
            raise Corrupt(f"{self._kind} data ends early: the stream is truncated "
                          f"({self._produced:,} bytes decompressed before it stopped)")
        return b""


class Unbrotli:
    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._produced = 0
        self._fed = False
        self._brotli = brotli.Decompressor()

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._fed = True
        try:
            out = self._brotli.process(data, output_buffer_limit=self._cap + 1 - self._produced)
        except brotli.error as exc:
            raise Corrupt(f"corrupt brotli data: {exc}") from None
        self._produced += len(out)
        if self._produced > self._cap or not self._brotli.can_accept_more_data():
            # output limit reached: the rest would only be more of a too-large body
            raise TooLarge(f"decompressed size exceeds the {self._cap:,} byte limit")
        return out

    def finish(self) -> bytes:
        if self._fed and not self._brotli.is_finished():
            raise Corrupt(f"brotli data ends early: the stream is truncated ({self._produced:,} bytes decompressed)")
        return b""
