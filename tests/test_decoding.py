"""Bytes to text: what is accepted, and the reason for what is refused."""

import pytest

from extractors.decoding import RejectedInput, decode_bytes


def decode_text(data: bytes, **options) -> str:
    return decode_bytes(data, **options).text


def test_utf8_text_is_normalised_to_lf_and_nfc():
    raw = "Cafe\u0301 owners\r\nsaid it\rtwice".encode("utf-8")
    assert decode_text(raw) == "Caf\u00e9 owners\nsaid it\ntwice"


def test_byte_order_mark_is_dropped():
    assert decode_text(b"\xef\xbb\xbfHello world") == "Hello world"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_encoding_is_detected(encoding):
    text = ("Le président a déclaré à la presse que la réforme des retraites était nécessaire. " * 4).strip()
    assert decode_text(text.encode(encoding)) == text


def test_utf16_with_bom_is_decoded():
    assert decode_text("Breaking news from Kyiv".encode("utf-16")) == "Breaking news from Kyiv"


@pytest.mark.parametrize("raw", [b"", b"   \n\n\t  "])
def test_empty_input_is_refused(raw):
    with pytest.raises(RejectedInput, match="empty"):
        decode_text(raw)


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (bytes(range(256)) * 20, "binary"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 50, "gzip"),
    ],
)
def test_binary_input_is_refused_with_what_it_looks_like(raw, what):
    with pytest.raises(RejectedInput, match=what):
        decode_text(raw)


def test_oversized_input_is_refused_before_decoding():
    with pytest.raises(RejectedInput, match="over the 100 byte limit"):
        decode_text(b"a" * 101, max_bytes=100)


def test_cyrillic_legacy_encoding_is_not_read_as_western():
    text = "Президент заявил журналистам, что пенсионная реформа необходима. " * 4
    assert decode_text(text.encode("cp1251")) == text
