"""WARC ingestion speed and memory, end to end through `newsflow warc`.

Writes a .warc.gz with fastwarc (the reader's library; one gzip member per
record) from the dev-set pages (../shared/datasets/fundus-eval and
fundus-parsers: 263 pages, 130+ publishers), each copy varied (a unique
paragraph in its body, its own URL and WARC-Date) so no two are identical,
plus a few records broken on purpose (broken headers, a 404, an image, a
truncated last member). Then:

1. times bare trafilatura (`bare_extraction`, the options newsflow uses)
   on the same pages, one process, HTML already in memory;
2. runs `newsflow warc --no-entities` on the archive (a fresh warehouse),
   sampling the resident memory of the whole process tree, at two sizes;
3. runs it again over the same archive.

It prints records per second end to end beside bare trafilatura, peak memory
at both sizes (flat if the reader streams), and the re-run time.

    .venv/bin/python bench/warc.py [--records 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasets import shared_dataset  # noqa: E402
from bench.ingest import run_cli  # noqa: E402

BROKEN = 4
"""Records broken on purpose: broken headers, a 404, an image, a truncated last member."""


def dev_pages() -> list[tuple[str, bytes]]:
    pages = []
    for name in ("fundus-eval", "fundus-parsers"):
        for path in sorted((shared_dataset(name) / "html").glob("*.html.gz")):
            pages.append((path.name.removesuffix(".html.gz"), gzip.decompress(path.read_bytes())))
    return pages


def warc_record(uri: str, date: dt.datetime, http: bytes) -> bytes:
    """One response record, written by fastwarc."""
    from fastwarc.warc import WarcRecord, WarcRecordType

    record = WarcRecord()
    record.init_headers(WarcRecordType.response, content_length=len(http))
    record.headers["WARC-Target-URI"] = uri
    record.headers["WARC-Date"] = date.strftime("%Y-%m-%dT%H:%M:%SZ")
    record.headers["Content-Type"] = "application/http; msgtype=response"
    record.set_bytes_content(http)
    out = io.BytesIO()
    record.write(out)
    return out.getvalue()


def http_response(body: bytes, status: str = "200 OK", content_type: str = "text/html; charset=utf-8") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def varied(html: bytes, i: int) -> bytes:
    """The page with a paragraph of its own inside its body, so every copy has its own text."""
    note = (f"<p>Correspondents filed report number {i} on the matter, officials said on day {i % 28 + 1}, "
            f"adding that talks would resume.</p>").encode()
    at = html.rfind(b"</p>")
    return html[:at + 4] + note + html[at + 4:] if at >= 0 else html.replace(b"</body>", note + b"</body>", 1)


def write_archive(path: Path, n_records: int) -> list[bytes]:
    """A .warc.gz of n_records (BROKEN of them broken); returns the HTML of the good ones."""
    pages = dev_pages()
    start = dt.datetime(2024, 3, 1)
    good: list[bytes] = []
    with path.open("wb") as out:
        for i in range(n_records - BROKEN):
            name, html = pages[i % len(pages)]
            body = varied(html, i)
            good.append(body)
            uri = f"https://news{i % 40}.example/{name.lower()}/{i}"
            out.write(gzip.compress(warc_record(uri, start + dt.timedelta(minutes=i), http_response(body)), 6))
        out.write(gzip.compress(warc_record("https://news0.example/missing", start,
                                            http_response(b"<html>gone</html>", "404 Not Found"))))
        out.write(gzip.compress(warc_record("https://news0.example/logo.png", start,
                                            http_response(b"\x89PNG\r\n\x1a\n" + b"\0" * 512, content_type="image/png"))))
        broken = warc_record("https://news0.example/broken", start, http_response(b"<html>x</html>"))
        out.write(gzip.compress(broken.replace(b"Content-Length: ", b"Content-Length: x", 1)))
        last = gzip.compress(warc_record("https://news0.example/cut", start, http_response(good[0])))
        out.write(last[: len(last) // 2])
    return good


def bare_rate(pages: list[bytes]) -> float:
    """Pages per second of trafilatura alone (newsflow's options), one process, decoding excluded."""
    import trafilatura

    texts = [page.decode("utf-8", errors="replace") for page in pages]
    started = time.perf_counter()
    for text in texts:
        trafilatura.bare_extraction(text, favor_precision=True, include_comments=False, include_tables=True,
                                    with_metadata=True)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000, help="archive size (default 5000; also half of it)")
    parser.add_argument("--keep", type=Path, help="write archives and warehouses here and keep them")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="newsflow-bench-warc-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    try:
        rows = []
        for n in (args.records // 2, args.records):
            archive = work / f"bench-{n}.warc.gz"
            good = write_archive(archive, n)
            db = work / f"bench-{n}.duckdb"
            db.unlink(missing_ok=True)
            command = ["warc", str(archive), "--db", str(db)]
            first_wall, first, peak = run_cli(command, env, accepted=(0, 1))  # 1: the broken records failed
            again_wall, again, _ = run_cli(command, env, accepted=(0, 1))
            assert first["n_new"] + first["n_duplicates"] + first["n_failed"] >= n - BROKEN, first
            assert again["n_new"] == again["n_updated"] == 0, again
            rows.append((n, archive.stat().st_size, first_wall, first, peak, again_wall, again, good))
        n, size, first_wall, first, peak, again_wall, again, good = rows[-1]
        bare = bare_rate(good)
        print(f"archive: {n} records ({size / 2**20:.0f} MiB .warc.gz, {BROKEN} broken on purpose) from "
              f"{len(dev_pages())} dev-set pages; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
        print(f"landed: {first['n_new']} new, {first['n_duplicates']} identical copies, {first['n_failed']} failed, "
              f"{first.get('n_skipped', 0)} skipped")
        print(f"bare trafilatura, one process:          {bare:8.1f} records/s")
        print(f"end to end, flow time:                  {n / first['seconds']:8.1f} records/s  "
              f"({n / first['seconds'] / bare:.2f}x bare; target >= 1.3x)")
        print(f"end to end, wall incl. Prefect start:   {n / first_wall:8.1f} records/s  ({n / first_wall / bare:.2f}x bare)")
        for records, _, _, _, tree_peak, *_ in rows:
            print(f"peak memory, process tree, {records:6d} records: {tree_peak / 2**20:8.1f} MiB  (target < 1024, flat)")
        print(f"re-run over the same archive, flow:     {again['seconds']:8.2f} s ({again['n_unchanged']} unchanged) = "
              f"{again['seconds'] / first['seconds']:.1%} of the first run; wall {again_wall:.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
