"""ingest_warc end to end on archives the tests write: real WARC bytes, a real Prefect API, a real DuckDB file."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from run_output import read_until_batches_loaded

from extractors.warc import warc_documents
from flows.ingest_warc import ingest_warc
from test_ingest_flow import _rows

pytestmark = pytest.mark.usefixtures("prefect_api")

PAGES = Path(__file__).parent / "fixtures" / "web" / "pages"
ROOT = Path(__file__).resolve().parent.parent
FAST = dict(entities=False)


def _page(name: str) -> bytes:
    return gzip.decompress((PAGES / name).read_bytes())


def record(uri: str, body: bytes, *, status: str = "200 OK", content_type: str = "text/html; charset=utf-8",
           date: str = "2024-03-01T10:00:00Z", record_type: str = "response") -> bytes:
    """One WARC/1.1 record, as a crawler writes it (response records carry the HTTP message)."""
    if record_type == "response":
        block = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        http = "application/http; msgtype=response"
    else:
        block, http = body, "application/warc-fields"
    head = (f"WARC/1.1\r\nWARC-Type: {record_type}\r\nWARC-Record-ID: <urn:uuid:{abs(hash((uri, date, body))):032x}>\r\n"
            f"WARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\nContent-Type: {http}\r\nContent-Length: {len(block)}\r\n\r\n")
    return head.encode() + block + b"\r\n\r\n"


def write_gz(path: Path, records: list[bytes]) -> Path:
    """A .warc.gz: one gzip member per record, as the WARC standard recommends."""
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    return path


def _story(i: int, language: str = "en") -> bytes:
    sentences = {
        "en": "The city council approved the new budget on Tuesday after a long debate about schools and roads.",
        "fr": "Le conseil municipal a adopté le nouveau budget mardi après un long débat sur les écoles et les routes.",
        "de": "Der Stadtrat hat am Dienstag nach einer langen Debatte über Schulen und Straßen den Haushalt beschlossen.",
    }[language]
    paragraphs = "".join(f"<p>{sentences} ({i}, {k})</p>" for k in range(8))
    return (f'<html lang="{language}"><head><title>Story {i}</title></head><body><article><h1>Story {i}</h1>'
            f"{paragraphs}</article></body></html>").encode()


def _archive(tmp_path: Path) -> Path:
    names = ["APNews_0.html.gz", "Reuters_0.html.gz", "TheGuardian_0.html.gz"]
    records = [record("warcinfo", b"software: test\r\n", record_type="warcinfo")]
    records += [record(f"http://www.site{i}.example/news/{n.split('.')[0]}?utm_source=x", _page(n))
                for i, n in enumerate(names)]
    records += [record("http://site0.example/missing", b"<html>gone</html>", status="404 Not Found"),
                record("http://site0.example/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, content_type="image/png")]
    return write_gz(tmp_path / "crawl.warc.gz", records)


def test_html_responses_land_and_a_rerun_changes_nothing(tmp_path, db_path):
    archive = _archive(tmp_path)
    first = ingest_warc(paths=[str(tmp_path)], db=str(db_path), **FAST)
    assert (first["n_seen"], first["n_new"], first["n_skipped"], first["n_failed"], first["status"]) == (
        3, 3, 2, 0, "completed")
    rows = _rows(db_path, "SELECT source_uri, url, title FROM articles ORDER BY source_uri")
    assert [uri for uri, _, _ in rows] == [f"https://site{i}.example/news/{n}" for i, n in
                                           enumerate(["APNews_0", "Reuters_0", "TheGuardian_0"])]
    assert all(url.startswith("http://www.site") and "utm_" not in url and title for _, url, title in rows)
    before = _rows(db_path, "SELECT article_id, content_hash, updated_at FROM articles ORDER BY 1")

    again = ingest_warc(paths=[str(archive)], db=str(db_path), **FAST)
    assert (again["n_new"], again["n_updated"], again["n_unchanged"], again["n_skipped"]) == (0, 0, 3, 2)
    assert _rows(db_path, "SELECT article_id, content_hash, updated_at FROM articles ORDER BY 1") == before


def test_host_date_and_language_filters(tmp_path, db_path):
    records = [record(f"https://www.{host}/story/{i}", _story(i, language), date=date)
               for i, (host, language, date) in enumerate([
                   ("news.example.org", "en", "2024-03-01T10:00:00Z"),
                   ("example.org", "fr", "2024-03-02T23:59:00Z"),
                   ("other.example", "de", "2024-03-03T08:00:00Z"),
                   ("other.example", "en", "2024-02-28T08:00:00Z"),
               ])]
    archive = write_gz(tmp_path / "mixed.warc.gz", records)
    hosts_file = tmp_path / "hosts.txt"
    hosts_file.write_text("# wanted\nexample.org\n", encoding="utf-8")

    def titles(db: Path, **filters) -> set[str]:
        summary = ingest_warc(paths=[str(archive)], db=str(db), **filters, **FAST)
        assert summary["n_failed"] == 0 and summary["n_seen"] + summary["n_skipped"] == 4
        return {t for (t,) in _rows(db, "SELECT title FROM articles")}

    assert titles(tmp_path / "hosts.duckdb", hosts_file=str(hosts_file)) == {"Story 0", "Story 1"}  # + subdomain
    assert titles(tmp_path / "host.duckdb", hosts=["https://www.other.example/"]) == {"Story 2", "Story 3"}
    assert titles(tmp_path / "dates.duckdb", since="2024-03-01", until="2024-03-02") == {"Story 0", "Story 1"}
    assert titles(tmp_path / "time.duckdb", since="2024-03-02T12:00:00+00:00") == {"Story 1", "Story 2"}
    assert titles(tmp_path / "lang.duckdb", languages=["fr", "de"]) == {"Story 1", "Story 2"}
    (reason,) = _rows(tmp_path / "lang.duckdb", "SELECT n_skipped FROM ingest_runs")[0]
    assert reason == 2


def test_each_bad_record_is_a_failure_and_the_rest_lands(tmp_path, db_path):
    good = [record(f"https://site.example/story/{i}", _story(i)) for i in range(4)]
    broken_headers = record("https://site.example/broken", _story(9)).replace(b"Content-Length: ", b"Content-Length: x", 1)
    huge = record("https://site.example/huge", b"<html><body>" + b"<p>word word word</p>" * 60_000 + b"</body></html>")
    cut = gzip.compress(good[3])
    gz = write_gz(tmp_path / "a.warc.gz", [good[0], broken_headers, huge, good[1]])
    gz.write_bytes(gz.read_bytes() + b"not gzip at all" + gzip.compress(good[2]) + cut[: len(cut) // 2])
    plain = tmp_path / "b.warc"
    plain.write_bytes(record("https://plain.example/1", _story(11)) + b"WARC/1.1\r\nWARC-Type: response\r\n"
                      b"Content-Length: nonsense\r\n\r\n<html>lost</html>\r\n\r\n" + record("https://plain.example/2", _story(12)))
    (tmp_path / "notes.txt").write_text("not an archive", encoding="utf-8")  # ignored in a folder

    summary = ingest_warc(paths=[str(tmp_path)], db=str(db_path), max_record_bytes=1_000_000, **FAST)

    failures = sorted(_rows(db_path, "SELECT regexp_extract(source_uri, '[^/]+$'), error FROM failures"))
    reasons = [error for _, error in failures]
    assert summary["n_new"] == 5, failures  # story/0, 1, 2 and plain/1, 2
    assert sum("broken WARC headers" in r for r in reasons) == 2
    assert sum("size cap" in r for r in reasons) == 1
    assert sum("corrupt gzip member" in r for r in reasons) == 1
    assert sum("truncated gzip member" in r for r in reasons) == 1
    assert summary["n_failed"] == len(failures) == 5
    assert {t for (t,) in _rows(db_path, "SELECT title FROM articles")} == {
        "Story 0", "Story 1", "Story 2", "Story 11", "Story 12"}
    assert all(uri.startswith(("a.warc.gz#offset=", "b.warc#offset=")) or uri == "huge" for uri, _ in failures)


def test_records_stream_with_their_offsets():
    """The reader yields one record at a time (a generator over the file), each failure naming its offset."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = write_gz(Path(folder) / "x.warc.gz", [record(f"https://s.example/{i}", _story(i)) for i in range(3)])
        documents = warc_documents(path)
        first = next(documents)
        assert first.url == "https://s.example/0" and first.fetched_at == dt.datetime(2024, 3, 1, 10)
        assert [d.url for d in documents] == ["https://s.example/1", "https://s.example/2"]


RUN_WARC = """
import sys
from flows.ingest_warc import ingest_warc
ingest_warc(paths=[sys.argv[1]], db=sys.argv[2], batch_size=5, workers=1, entities=False)
"""


def test_a_stopped_run_is_recorded_interrupted_and_the_next_run_finishes(tmp_path, db_path, prefect_api_url):
    archive = write_gz(tmp_path / "big.warc.gz", [record(f"https://s.example/{i}", _story(i)) for i in range(60)])
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url, PREFECT_LOGGING_LEVEL="INFO")
    process = subprocess.Popen([sys.executable, "-c", RUN_WARC, str(archive), str(db_path)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        loaded = read_until_batches_loaded(process, 2, timeout=180)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert loaded >= 2, "the run never loaded two batches"

    landed, seen, status = _rows(db_path, "SELECT (SELECT count(*) FROM articles), n_seen, status FROM ingest_runs")[0]
    assert status == "interrupted" and landed == seen and landed % 5 == 0 and 10 <= landed < 60

    summary = ingest_warc(paths=[str(archive)], db=str(db_path), batch_size=5, **FAST)
    assert (summary["n_new"], summary["n_unchanged"], summary["n_failed"]) == (60 - landed, landed, 0)
    assert _rows(db_path, "SELECT count(*), count(DISTINCT source_uri) FROM articles") == [(60, 60)]
    con = duckdb.connect(str(db_path), read_only=True)
    statuses = [s for (s,) in con.execute("SELECT status FROM ingest_runs ORDER BY started_at").fetchall()]
    con.close()
    assert statuses == ["interrupted", "completed"]
