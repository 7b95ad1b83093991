"""gzip, deflate and brotli undone under a cap, and a stream cut short noticed (real compressed bytes)."""

import gzip
import zlib

import brotli
import pytest

from extractors.decompression import Corrupt, StreamDecoder, TooLarge, inflate_gzip
from extractors.decoding import RejectedInput

STORY = ("Kyiv said on Tuesday that talks would resume. " * 400).encode("utf-8")


def test_gzip_bomb_is_cut_at_the_limit():
    bomb = gzip.compress(b"\n" * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(TooLarge, match="exceeds the 1,000,000 byte limit"):
        inflate_gzip(bomb, cap=1_000_000)


def test_gzip_within_the_limit_inflates():
    assert inflate_gzip(gzip.compress(b"<html>ok</html>"), cap=1000) == b"<html>ok</html>"


def test_corrupt_gzip_is_refused():
    with pytest.raises(RejectedInput, match="corrupt gzip"):
        inflate_gzip(b"\x1f\x8b\x08\x00garbage-not-deflate", cap=1000)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_gzip_cut_short_is_refused_not_shortened(keep):
    whole = gzip.compress(STORY)
    with pytest.raises(Corrupt, match="ends early: the stream is truncated"):
        inflate_gzip(whole[: int(len(whole) * keep)], cap=10_000_000)


def test_gzip_of_several_members_is_read_whole_as_gzip_does():
    data = gzip.compress(b"first half, ") + gzip.compress(b"second half")
    assert inflate_gzip(data, cap=1000) == gzip.decompress(data) == b"first half, second half"


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
])
def test_streamed_encodings_are_undone_chunk_by_chunk(encoding, encode):
    compressed = encode(STORY)
    decoder = StreamDecoder(encoding, cap=10_000_000)
    out = b"".join(decoder.feed(compressed[i:i + 100]) for i in range(0, len(compressed), 100))
    assert out + decoder.finish() == STORY


@pytest.mark.parametrize("encoding, encode", [("gzip", gzip.compress), ("br", brotli.compress)])
def test_streamed_encoding_cut_short_is_refused(encoding, encode):
    compressed = encode(STORY)
    decoder = StreamDecoder(encoding, cap=10_000_000)
    decoder.feed(compressed[: len(compressed) // 2])
    with pytest.raises(Corrupt, match="truncated"):
        decoder.finish()


def test_unknown_encoding_is_named():
    with pytest.raises(Corrupt, match="unsupported content encoding zstd"):
        StreamDecoder("zstd", cap=100)
