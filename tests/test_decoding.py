"""Bytes to text: what is accepted, and the reason for what is refused."""

import codecs
from pathlib import Path

import pytest

from extractors.decoding import RejectedInput, decode_bytes, normalise_text
from extractors.documents import Document, scan


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


# -- damaged UTF-8, UTF-16 without a mark, declarations ---------------------------------------------

SEEDS = Path(__file__).resolve().parent.parent / "data" / "seeds"


def _seed_with_bad_bytes(count: int) -> tuple[bytes, str]:
    """A seed dump (curly quotes, dashes) with `count` invalid bytes spliced into its middle."""
    text = (SEEDS / "000_59f9c766ac412b45.txt").read_text(encoding="utf-8")
    middle = text.index("\n", len(text) // 2)
    spliced = text[:middle].encode() + b"\xff\xfe\x80\x81\xa0\xbf"[:count] + text[middle:].encode()
    return spliced, text


def test_utf8_with_a_few_bad_bytes_stays_utf8_and_counts_them():
    data, original = _seed_with_bad_bytes(6)
    decoded = decode_bytes(data)
    assert decoded.encoding == "utf-8" and decoded.replaced == 6
    assert decoded.note == "6 invalid utf-8 bytes replaced with U+FFFD"
    assert "‚Äô" not in decoded.text and "’" in decoded.text  # not read as Mac Roman
    assert decoded.text.replace("\ufffd", "") == normalise_text(original).replace("\ufffd", "")


def test_archived_or_served_bytes_carry_their_note_to_the_scanned_document():
    data, _ = _seed_with_bad_bytes(4)
    page = b"<html><body><p>" + data + b"</p></body></html>"
    damaged = scan(Document("https://news.example/a", url="https://news.example/a", raw=page,
                            content_type="text/html; charset=utf-8"))
    clean = scan(Document("https://news.example/b", url="https://news.example/b", raw=page.replace(b"\xff\xfe\x80\x81", b"")))
    assert damaged.error is None and damaged.decode_note == "4 invalid utf-8 bytes replaced with U+FFFD"
    assert clean.error is None and clean.decode_note is None


def test_clean_utf8_has_no_note():
    decoded = decode_bytes((SEEDS / "001_fd76b613b1da4470.txt").read_bytes())
    assert (decoded.encoding, decoded.replaced, decoded.note) == ("utf-8", 0, None)


def test_legacy_text_is_not_taken_for_damaged_utf8():
    text = "Der Bürgermeister äußerte sich am Montag zur Lage. Die Gebühren steigen nicht. " * 3
    decoded = decode_bytes(text.encode("cp1252"))
    assert decoded.text == text
    assert decoded.replaced == 0 and decoded.encoding != "utf-8"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_decoded(codec):
    text = (SEEDS / "002_a34f427af74f2556.txt").read_text(encoding="utf-8")
    decoded = decode_bytes(text.encode(codec))
    assert (decoded.encoding, decoded.text) == (codec, normalise_text(text))


def test_broken_utf16_without_a_mark_is_named_as_such_not_binary():
    data = "Breaking news from Kyiv this morning".encode("utf-16-le") + b"\x00\xd8" + "tail".encode("utf-16-le")
    with pytest.raises(RejectedInput, match="^UTF-16 without a byte-order mark"):
        decode_bytes(data)


def test_http_charset_beats_the_meta_declaration_and_bom_beats_both():
    html = '<html><head><meta charset="windows-1251"></head><body>Señora Muñoz</body></html>'
    assert decode_bytes(html.encode("latin-1"), kind="html", content_type="text/html; charset=ISO-8859-1").text == html
    assert "Señora" in decode_bytes(codecs.BOM_UTF8 + html.encode(), kind="html",
                                    content_type="text/html; charset=ISO-8859-1").text


def test_meta_and_xml_declarations_are_read():
    html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head><body>Новости</body>'
    assert decode_bytes(html.encode("koi8-r"), kind="html").encoding == "koi8-r"
    xml = '<?xml version="1.0" encoding="ISO-8859-7"?><rss><title>Ειδήσεις</title></rss>'
    decoded = decode_bytes(xml.encode("iso-8859-7"), kind="xml")
    assert (decoded.encoding, decoded.text) == ("iso8859-7", xml)


def test_a_declaration_the_bytes_do_not_fit_falls_through():
    html = '<html><head><meta charset="utf-8"></head><body>' + "Le président a déclaré à la presse. " * 10
    decoded = decode_bytes(html.encode("cp1252"), kind="html")
    assert "président" in decoded.text and decoded.replaced == 0


def test_valid_utf8_under_a_stale_legacy_declaration_stays_utf8():
    html = '<html><head><meta charset="iso-8859-1"></head><body>Zelensky’s “peace plan” — día uno</body></html>'
    for content_type in ("", "text/html; charset=iso-8859-1"):
        decoded = decode_bytes(html.encode("utf-8"), kind="html", content_type=content_type)
        assert (decoded.encoding, decoded.text) == ("utf-8", html)
