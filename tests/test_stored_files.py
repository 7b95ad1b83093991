"""Finding stored files and reading each kind, with a reason for every refusal."""

import gzip
from pathlib import Path

import pytest

from extractors.decoding import RejectedInput
from extractors.stored_files import discover, document_kind, input_problem, read_document, source_uri


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


# -- links, missing paths, empty folders, damaged files -----------------------------------------------

def _reason(path: Path) -> str:
    with pytest.raises(RejectedInput) as refused:
        read_document(path)
    return str(refused.value)


def test_a_linked_folder_is_followed_once_and_a_second_route_reported(tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "story.txt").write_text("x")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a-link").symlink_to(outside)
    (corpus / "b-link").symlink_to(outside)
    found = list(discover([corpus]))
    assert found == [corpus / "a-link" / "story.txt", corpus / "b-link"]
    assert _reason(corpus / "b-link") == (
        f"symbolic link to a folder read through another path: {corpus / 'b-link'} -> {outside}; not read twice")


def test_a_link_loop_is_refused_with_its_reason(tmp_path: Path):
    (tmp_path / "corpus" / "2024").mkdir(parents=True)
    (tmp_path / "corpus" / "2024" / "story.txt").write_text("x")
    (tmp_path / "corpus" / "2024" / "again").symlink_to("..")
    found = list(discover([tmp_path / "corpus"]))
    assert found == [tmp_path / "corpus" / "2024" / "story.txt", tmp_path / "corpus" / "2024" / "again"]
    assert _reason(found[1]).startswith(f"symbolic link loop: {found[1]} -> .. leads back to a folder that contains it")


def test_a_link_inside_the_corpus_to_a_folder_of_the_corpus_is_read_once(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "story.txt").write_text("x")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert list(discover([tmp_path])) == [tmp_path / "alias", tmp_path / "real" / "story.txt"]


def test_dangling_link_names_its_target(tmp_path: Path):
    (tmp_path / "story.txt").symlink_to(tmp_path / "moved" / "story.txt")
    assert _reason(tmp_path / "story.txt") == f"dangling symbolic link -> {tmp_path / 'moved' / 'story.txt'}"
    assert input_problem(tmp_path / "story.txt") == f"dangling symbolic link -> {tmp_path / 'moved' / 'story.txt'}"


def test_a_typo_in_a_path_says_there_is_no_such_path(tmp_path: Path):
    typo = tmp_path / "data" / "seed"
    assert list(discover([typo])) == [typo]
    assert _reason(typo) == f"no such file or folder: {typo}" == input_problem(typo)


@pytest.mark.parametrize("name", ["empty", "x.txt"])
def test_an_empty_folder_is_reported_even_when_named_like_a_file(tmp_path: Path, name: str):
    folder = tmp_path / name
    folder.mkdir()
    (folder / ".DS_Store").write_text("x")
    assert list(discover([folder])) == [folder]
    reason = f"empty folder: no files to read in {folder} (hidden files and folders are skipped)"
    assert _reason(folder) == reason == input_problem(folder)
    assert input_problem(tmp_path) == reason.replace(str(folder), str(tmp_path))  # nothing but that folder


def test_a_folder_with_files_has_no_input_problem(tmp_path: Path):
    (tmp_path / "story.txt").write_text("x")
    assert input_problem(tmp_path) is None and input_problem(tmp_path / "story.txt") is None


def test_saved_page_cut_in_half_is_refused_not_half_an_article(tmp_path: Path):
    page = b"<html><body>" + b"<p>Kyiv said on Tuesday that talks would resume in Istanbul.</p>" * 300 + b"</body></html>"
    whole = gzip.compress(page)
    (tmp_path / "cut.html.gz").write_bytes(whole[: len(whole) // 2])
    assert _reason(tmp_path / "cut.html.gz").startswith("gzip data ends early: the stream is truncated")


def test_bad_bytes_are_counted_on_the_document(tmp_path: Path):
    (tmp_path / "a.txt").write_bytes("Zelensky’s “peace plan” — day one.\n".encode() * 20 + b"\xff\xfe" + b"end\n")
    document = read_document(tmp_path / "a.txt")
    assert (document.encoding, document.replaced_bytes) == ("utf-8", 2) and "“peace plan”" in document.text


@pytest.mark.usefixtures("prefect_api")
def test_ingest_reports_links_and_damage_and_lands_the_rest(seeds_copy: Path, tmp_path: Path, db_path: Path):
    import duckdb

    from flows.ingest_stored import ingest_stored

    outside = tmp_path / "archive"
    outside.mkdir()
    (seeds_copy / "000_59f9c766ac412b45.txt").rename(outside / "000_59f9c766ac412b45.txt")
    (seeds_copy / "linked").symlink_to(outside)  # followed: its seed lands
    (seeds_copy / "loop").symlink_to(".")
    (seeds_copy / "moved.txt").symlink_to(tmp_path / "nowhere.txt")
    page = b"<html><body>" + b"<p>Kyiv said on Tuesday that talks would resume in Istanbul soon.</p>" * 200 + b"</body>"
    whole = gzip.compress(page)
    (seeds_copy / "cut.html.gz").write_bytes(whole[: len(whole) // 2])
    seed = (seeds_copy / "001_fd76b613b1da4470.txt").read_bytes()
    middle = seed.index(b"\n", len(seed) // 2)
    (seeds_copy / "001_fd76b613b1da4470.txt").write_bytes(seed[:middle] + b"\xff\xfe\x80" + seed[middle:])

    summary = ingest_stored(paths=[str(seeds_copy)], db=str(db_path), entities=False)

    with duckdb.connect(str(db_path), read_only=True) as con:
        failures = dict(con.execute(
            "SELECT regexp_extract(source_uri, '[^/]+$'), error FROM failures").fetchall())
        bodies = dict(con.execute("SELECT regexp_extract(source_uri, '[^/]+$'), body FROM articles").fetchall())
        notes = dict(con.execute("SELECT regexp_extract(source_uri, '[^/]+$'), decode_note FROM articles").fetchall())
    assert failures.keys() == {"loop", "moved.txt", "cut.html.gz"}
    assert failures["loop"].startswith("symbolic link loop:")
    assert failures["moved.txt"] == f"dangling symbolic link -> {tmp_path / 'nowhere.txt'}"
    assert failures["cut.html.gz"].startswith("gzip data ends early")
    assert set(bodies) == {f"00{i}_{h}.txt" for i, h in enumerate(
        ["59f9c766ac412b45", "fd76b613b1da4470", "a34f427af74f2556", "c5fef1f61f03daf0", "a112b71f40c969cf"])}
    assert "’" in bodies["001_fd76b613b1da4470.txt"] and "‚Äô" not in bodies["001_fd76b613b1da4470.txt"]
    assert notes.pop("001_fd76b613b1da4470.txt") == "3 invalid utf-8 bytes replaced with U+FFFD"
    assert set(notes.values()) == {None}  # the undamaged files carry no note
    assert summary["n_failed"] == 3
