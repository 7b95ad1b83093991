"""Finding stored files and reading each kind, with a reason for every refusal."""

import gzip
from pathlib import Path

import pytest

from extractors.decoding import RejectedInput
from extractors.stored_files import discover, document_kind, read_document, source_uri


def test_discover_walks_folders_recursively_in_stable_order(tmp_path: Path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    for name in ["b/deep/z.txt", "b/a.html", "c.htm", ".hidden.txt", "notes.md"]:
        (tmp_path / name).write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover([tmp_path])]
    assert found == ["c.htm", "notes.md", "b/a.html", "b/deep/z.txt"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.txt", "text"), ("a.HTML", "html"), ("a.htm", "html"), ("a.html.gz", "html"), ("a.pdf", None), ("a.gz", None)],
)
def test_document_kind_follows_the_extension(name, kind):
    assert document_kind(Path(name)) == kind


def test_reads_text_and_gzipped_html(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Headline\n\nStory text.", encoding="utf-8")
    (tmp_path / "p.html.gz").write_bytes(gzip.compress(b"<html><body><p>Story</p></body></html>"))
    text_doc = read_document(tmp_path / "a.txt")
    html_doc = read_document(tmp_path / "p.html.gz")
    assert (text_doc.kind, text_doc.text) == ("text", "Headline\n\nStory text.")
    assert (html_doc.kind, html_doc.text) == ("html", "<html><body><p>Story</p></body></html>")
    assert text_doc.source_uri == (tmp_path / "a.txt").absolute().as_uri()


def test_unsupported_extension_names_what_is_supported(tmp_path: Path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    with pytest.raises(RejectedInput, match=r"unsupported file type \.pdf.*\.txt"):
        read_document(tmp_path / "report.pdf")


def test_missing_file_says_there_is_no_such_file(tmp_path: Path):
    with pytest.raises(RejectedInput, match="^no such file or folder: .*gone.txt$"):
        read_document(tmp_path / "gone.txt")


def test_oversized_file_is_refused_without_reading_it(tmp_path: Path):
    big = tmp_path / "huge.txt"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing to read
    with pytest.raises(RejectedInput, match="52,428,800 bytes, over the"):
        read_document(big)


def test_source_uri_is_absolute(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert source_uri(Path("x.txt")) == (tmp_path / "x.txt").as_uri()
