"""Web archives (WARC 1.0/1.1, as Common Crawl's CC-NEWS publishes them) as pipeline documents.

Records are framed here and parsed by fastwarc: a `.warc.gz` is a series of
gzip members (one record each, as the WARC standard recommends), inflated
one member at a time, so memory stays flat whatever the archive's size, a
member cut short is noticed (zlib never reaches its end), and a broken
member costs that record only: the next member starts clean. A plain `.warc`
is framed by each record's Content-Length; after a record whose headers
cannot be read, reading resumes at the next line that starts a record.

Each response record becomes one `Document` (target URI canonicalised as
its URL, WARC-Date as its fetch time), or a skipped one (not HTML, not
200, filtered out: counted); what cannot be read is a `Document` with its
error, so it lands as a `failures` row.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from fastwarc.warc import WarcRecord, WarcRecordType

from extractors.decoding import DEFAULT_MAX_BYTES
from extractors.documents import Document
from extractors.urls import canonical_url

WARC_SUFFIXES = (".warc", ".warc.gz")
MAX_HEADER_BYTES = 64 * 1024
"""A WARC header block longer than this is not a header block."""
_READ_SIZE = 1 << 16
_RECORD_START = re.compile(rb"(?:^|\r?\n)(WARC/1\.[01]\r?\n)")
_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length:[ \t]*([^\r\n]*)", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class RecordFilter:
    """Which response records to keep, besides HTML with status 200."""

    hosts: frozenset[str] = frozenset()
    """Hosts as `canonical_url` writes them (lower case, `www.` folded), each with its subdomains;
    empty keeps every host."""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    """WARC-Date bounds, inclusive, in UTC."""


def selected_hosts(hosts: Iterable[str] | None, hosts_file: Path | None = None) -> frozenset[str]:
    """Hosts given directly and in a file (one per line, # comments), as `RecordFilter.hosts` wants them.

    A host may be given bare (`bbc.co.uk`) or as a URL (`https://www.bbc.co.uk/news`).
    """
    given = list(hosts or [])
    if hosts_file is not None:
        lines = (line.strip() for line in hosts_file.read_text(encoding="utf-8").splitlines())
        given.extend(line for line in lines if line and not line.startswith("#"))
    return frozenset(urlsplit(canonical_url(h if "://" in h else f"http://{h}")).hostname for h in given)


def archive_time(text: str, end: bool = False) -> dt.datetime:
    """A --since/--until bound as naive UTC: an ISO date or date and time; a date alone as `end`
    means the end of that day. Raises ValueError for anything else."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if end and len(text.strip()) == 10:  # YYYY-MM-DD
        value += dt.timedelta(days=1, microseconds=-1)
    return value


def archive_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """The .warc and .warc.gz files given, and those under the folders given (recursively, sorted)."""
    for given in paths:
        root = Path(given)
        if root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                yield from (Path(folder) / name for name in sorted(files) if name.lower().endswith(WARC_SUFFIXES))
        else:
            yield root


def warc_documents(
    path: Path, keep: RecordFilter = RecordFilter(), max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[Document]:
    """Every response record of one archive, as a document (readable, failed or skipped), in archive order."""
    archive = path.absolute().as_uri()
    if not path.name.lower().endswith(WARC_SUFFIXES):
        yield Document(archive, error=f"not a WARC file (expected {' or '.join(WARC_SUFFIXES)})")
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Document(archive, error=f"unreadable archive: {exc.strerror or exc}")
        return
    with handle:
        blocks = _gzip_members(handle, max_bytes) if path.name.lower().endswith(".gz") else _plain_records(handle, max_bytes)
        for offset, block, problem in blocks:
            where = f"{archive}#offset={offset}"
            if problem is not None:
                yield Document(where, error=problem)
            else:
                yield from _records(block, where, keep, max_bytes)


def _gzip_members(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes, str | None]]:
    """(offset, inflated member, problem) for each gzip member, inflated in bounded steps.

    A member larger than the cap is inflated to its end (to find the next one) but not kept. A member
    cut short runs on into the next ones until the archive ends: reading starts again at the first gzip
    header inside it. After a corrupt member, reading resumes at the next gzip header; candidates there that fail at once (the
    magic bytes occur inside compressed data too) are passed over without a row of their own.
    """
    cap = max_bytes + MAX_HEADER_BYTES
    offset = 0
    data = b""
    resyncing = False
    while True:
        data = data or handle.read(_READ_SIZE)
        if not data:
            return
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        parts: list[bytes] = []
        compressed: list[bytes] = []
        size = fed = 0
        problem = None
        while True:
            if fed <= cap:
                compressed.append(data)
            try:
                out = inflater.decompress(data, _READ_SIZE * 4)
            except zlib.error as exc:
                problem = f"corrupt gzip member: {exc}"
                skipped, data = _resync_gzip(handle, data, skip_first=fed == 0)
                fed += skipped
                break
            fed += len(data) - len(inflater.unconsumed_tail) - len(inflater.unused_data)
            size += len(out)
            if size <= cap:
                parts.append(out)
            elif problem is None:
                problem, parts = f"record is over the {max_bytes:,} byte size cap", []
            if inflater.eof:
                data = inflater.unused_data
                break
            data = inflater.unconsumed_tail or handle.read(_READ_SIZE)
            if not data:
                problem = "truncated gzip member: the archive ends inside this record"
                break
        quiet = resyncing and size == 0 and problem is not None and problem.startswith("corrupt")
        if not quiet:
            yield offset, b"".join(parts) if problem is None else b"", problem
        resyncing = problem is not None and problem.startswith("corrupt")
        if problem is not None and problem.startswith("truncated"):
            # A member cut short in the middle of an archive ran on into the next members: start again there.
            read = b"".join(compressed)
            restart = read.find(b"\x1f\x8b\x08", 1)
            if restart < 0:
                return
            offset, data = offset + restart, read[restart:]
            continue
        offset += fed


def _resync_gzip(handle: BinaryIO, data: bytes, skip_first: bool) -> tuple[int, bytes]:
    """(bytes passed over, input from the next gzip header on) after a corrupt member."""
    skipped = 0
    start = 1 if skip_first else 0
    while True:
        found = data.find(b"\x1f\x8b\x08", start)
        if found >= 0:
            return skipped + found, data[found:]
        more = handle.read(_READ_SIZE)
        if not more:
            return skipped + len(data), b""
        keep = min(2, len(data))
        skipped += len(data) - keep
        data, start = data[len(data) - keep:] + more, 0


def _plain_records(handle: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes, str | None]]:
    """(offset, record bytes, problem) for each record of an uncompressed archive, framed by Content-Length."""
    buffer = b""
    offset = 0
    while True:
        while b"\r\n\r\n" not in buffer and len(buffer) < MAX_HEADER_BYTES:
            more = handle.read(_READ_SIZE)
            if not more:
                break
            buffer += more
        if not buffer.strip():
            return
        end = buffer.find(b"\r\n\r\n")
        length = _content_length(buffer[:end]) if end >= 0 and buffer.startswith(b"WARC/1.") else None
        if length is None:
            skip = _next_record_start(buffer)
            yield offset, b"", "broken WARC headers: no WARC/1.x version line or no valid Content-Length"
            while skip is None:
                more = handle.read(_READ_SIZE)
                if not more:
                    return
                offset += max(0, len(buffer) - 16)
                buffer = buffer[-16:] + more
                skip = _next_record_start(buffer)
            offset += skip
            buffer = buffer[skip:]
            continue
        total = end + 4 + length
        if length > max_bytes:
            yield offset, b"", f"record is over the {max_bytes:,} byte size cap ({length:,} bytes)"
            handle.seek(total - len(buffer), os.SEEK_CUR)
            buffer = b""
            offset += total
            continue
        while len(buffer) < total:
            more = handle.read(max(_READ_SIZE, total - len(buffer)))
            if not more:
                yield offset, b"", "truncated record: the archive ends inside it"
                return
            buffer += more
        yield offset, buffer[:total], None
        rest = buffer[total:]
        trimmed = rest.lstrip(b"\r\n")
        offset += total + len(rest) - len(trimmed)
        buffer = trimmed


def _content_length(header: bytes) -> int | None:
    match = _CONTENT_LENGTH.search(header)
    if not match or not match.group(1).strip().isdigit():
        return None
    return int(match.group(1))


def _next_record_start(buffer: bytes) -> int | None:
    match = _RECORD_START.search(buffer, 1)
    return match.start(1) if match else None


def _records(block: bytes, where: str, keep: RecordFilter, max_bytes: int) -> Iterator[Document]:
    """The response records in one framed block (usually one), checked, filtered and turned into documents."""
    for record_bytes in _split_records(block):
        header_end = record_bytes.find(b"\r\n\r\n")
        if not record_bytes.startswith(b"WARC/1.") or header_end < 0 or _content_length(record_bytes[:header_end]) is None:
            yield Document(where, error="broken WARC headers: no WARC/1.x version line or no valid Content-Length")
            continue
        try:
            record = WarcRecord.from_bytes(record_bytes)
        except OSError as exc:
            yield Document(where, error=f"broken WARC headers: {exc}")
            continue
        if record.record_type != WarcRecordType.response:
            continue  # warcinfo, request, metadata, revisit: no page of their own
        yield _response(record, where, keep, max_bytes)


def _split_records(block: bytes) -> Iterator[bytes]:
    """Records in a block: one per gzip member normally, several when a whole file was compressed at once."""
    position = 0
    while position < len(block):
        header_end = block.find(b"\r\n\r\n", position)
        length = _content_length(block[position:header_end]) if header_end >= 0 else None
        if length is None:
            yield block[position:]
            return
        end = header_end + 4 + length
        yield block[position:end]
        position = end
        while block[position:position + 2] == b"\r\n":
            position += 2


def _response(record: WarcRecord, where: str, keep: RecordFilter, max_bytes: int) -> Document:
    target = (record.headers.get("WARC-Target-URI") or "").strip("<> ")
    try:
        url = canonical_url(target)
    except ValueError:
        return Document(where, error=f"WARC-Target-URI is not an http(s) URL: {target[:200]!r}")
    fetched_at = record.record_date
    if fetched_at is None:
        return Document(url, error="broken WARC headers: no valid WARC-Date")
    fetched_at = fetched_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if keep.hosts and not _selected(urlsplit(url).hostname or "", keep.hosts):
        return Document(url, skipped="host not selected")
    if keep.since and fetched_at < keep.since:
        return Document(url, skipped="archived before --since")
    if keep.until and fetched_at > keep.until:
        return Document(url, skipped="archived after --until")
    try:
        record.parse_http(auto_decode="all")
    except (OSError, ValueError) as exc:
        return Document(url, error=f"broken HTTP headers in the record: {exc}")
    if record.http_headers is None:
        return Document(url, error="broken HTTP headers in the record: no status line")
    status = record.http_headers.status_code
    if status != 200:
        return Document(url, skipped=f"HTTP {status}")
    content_type = record.http_headers.get("Content-Type") or ""
    if content_type.split(";")[0].strip().lower() not in _HTML_TYPES:
        return Document(url, skipped="not HTML")
    body = record.reader.read(max_bytes + 1)
    if len(body) > max_bytes:
        return Document(url, error=f"record is over the {max_bytes:,} byte size cap")
    return Document(url, "html", url=target, raw=body, content_type=content_type, fetched_at=fetched_at)


def _selected(host: str, hosts: frozenset[str]) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)
