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
from collections.abc import Iterator
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


def good_records(n_records: int) -> Iterator[tuple[str, bytes]]:
    """(name, HTML) of the archive's good records, made again on demand (5,000 pages are 1.8 GB)."""
    pages = dev_pages()
    for i in range(n_records - BROKEN):
        name, html = pages[i % len(pages)]
        yield name, varied(html, i)


def write_archive(path: Path, n_records: int) -> None:
    """A .warc.gz of n_records (BROKEN of them broken)."""
    start = dt.datetime(2024, 3, 1)
    first = None
    with path.open("wb") as out:
        for i, (name, body) in enumerate(good_records(n_records)):
            first = first or body
            uri = f"https://news{i % 40}.example/{name.lower()}/{i}"
            out.write(gzip.compress(warc_record(uri, start + dt.timedelta(minutes=i), http_response(body)), 6))
        out.write(gzip.compress(warc_record("https://news0.example/missing", start,
                                            http_response(b"<html>gone</html>", "404 Not Found"))))
        out.write(gzip.compress(warc_record("https://news0.example/logo.png", start,
                                            http_response(b"\x89PNG\r\n\x1a\n" + b"\0" * 512, content_type="image/png"))))
        broken = warc_record("https://news0.example/broken", start, http_response(b"<html>x</html>"))
        out.write(gzip.compress(broken.replace(b"Content-Length: ", b"Content-Length: x", 1)))
        last = gzip.compress(warc_record("https://news0.example/cut", start, http_response(first)))
        out.write(last[: len(last) // 2])


def bare_rate(n_records: int) -> tuple[float, float]:
    """(pages per second, CPU seconds per page) of trafilatura alone (newsflow's options) on the archive's good
    records, one process, making and decoding each page excluded."""
    import trafilatura

    options = {"favor_precision": True, "include_comments": False, "include_tables": True, "with_metadata": True}
    trafilatura.bare_extraction(dev_pages()[0][1].decode("utf-8", errors="replace"), **options)  # loaded, untimed
    wall = cpu = 0.0
    n = 0
    for _, page in good_records(n_records):
        text = page.decode("utf-8", errors="replace")
        started, cpu_started = time.perf_counter(), time.process_time()
        trafilatura.bare_extraction(text, **options)
        wall, cpu, n = wall + time.perf_counter() - started, cpu + time.process_time() - cpu_started, n + 1
    return n / wall, cpu / n


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
            write_archive(archive, n)
            db = work / f"bench-{n}.duckdb"
            db.unlink(missing_ok=True)
            command = ["warc", str(archive), "--db", str(db)]
            first = run_cli(command, env, accepted=(0, 1))  # 1: the broken records failed
            again = run_cli(command, env, accepted=(0, 1))
            assert first.summary["n_new"] + first.summary["n_duplicates"] + first.summary["n_failed"] >= n - BROKEN, first
            assert again.summary["n_new"] == again.summary["n_updated"] == 0, again
            rows.append((n, archive.stat().st_size, first, again))
            print(f"{n} records, seconds per stage (the driver's clock; stages overlap): first run "
                  f"{first.summary.get('stage_seconds')}, re-run {again.summary.get('stage_seconds')}", flush=True)
        n, size, first, again = rows[-1]
        landed, flow = first.summary, first.summary["seconds"]
        bare, bare_cpu = bare_rate(n)
        print(f"archive: {n} records ({size / 2**20:.0f} MiB .warc.gz, {BROKEN} broken on purpose) from "
              f"{len(dev_pages())} dev-set pages; {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}")
        print(f"landed: {landed['n_new']} new, {landed['n_duplicates']} identical copies, {landed['n_failed']} failed, "
              f"{landed.get('n_skipped', 0)} skipped")
        print(f"bare trafilatura, one process:          {bare:8.1f} records/s  ({bare_cpu * 1000:.1f} ms CPU/record)")
        print(f"end to end, flow time:                  {n / flow:8.1f} records/s  ({n / flow / bare:.2f}x bare; target >= 1.3x)")
        print(f"end to end, wall incl. Prefect start:   {n / first.wall:8.1f} records/s  ({n / first.wall / bare:.2f}x bare)")
        print(f"end to end, CPU of the whole tree:      {first.cpu / n * 1000:8.1f} ms/record  (ceiling with "
              f"{os.cpu_count()} cores busy and no waits: {os.cpu_count() * bare_cpu / (first.cpu / n):.2f}x bare)")
        for records, _, run, _ in rows:
            print(f"peak memory, process tree, {records:6d} records: {run.peak / 2**20:8.1f} MiB PSS  (target < 1024, flat;"
                  f" summed RSS {run.peak_rss / 2**20:.0f} MiB)")
        print(f"re-run over the same archive, flow:     {again.summary['seconds']:8.2f} s "
              f"({again.summary['n_unchanged']} unchanged) = {again.summary['seconds'] / flow:.1%} of the first run; "
              f"wall {again.wall:.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
