"""`newsflow warc`: web archives (.warc, .warc.gz) into the warehouse, through the ingest_warc flow.

Exit status as `newsflow ingest`: 0 every record landed (new, updated, unchanged, linked or
skipped on purpose), 1 some records failed and the rest landed, 2 nothing could be ingested.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows import settings


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `newsflow warc` on the CLI's subcommands (--db, --workers, ... as every ingest command)."""
    from flows import cli, settings

    warc = commands.add_parser(
        "warc",
        help="ingest the HTML pages of web archives (WARC)",
        description="Ingest web archives (.warc or .warc.gz files, or folders of them, as Common Crawl's CC-NEWS "
        "publishes them) through the ingest_warc Prefect flow: HTML responses with status 200 become articles "
        "under their target URI, archived at their WARC-Date; other responses are counted as skipped, unreadable "
        "records (truncated gzip, broken headers, over the size cap) are failures. A rerun changes nothing; an "
        "interrupted run resumes. Exit status: 0 all landed, 1 some records failed, 2 nothing could be ingested.",
    )
    warc.add_argument("paths", nargs="+", metavar="PATH", help="WARC files or folders of them")
    warc.add_argument("--host", action="append", default=[], metavar="HOST",
                      help="keep only pages of HOST and its subdomains (repeat, or comma-separate)")
    warc.add_argument("--hosts-file", metavar="FILE", help="keep only the hosts listed in FILE, one per line (# comments)")
    warc.add_argument("--since", metavar="DATE", help="keep records archived on or after DATE (ISO date or time, UTC)")
    warc.add_argument("--until", metavar="DATE", help="keep records archived on or before DATE (a date means that whole day)")
    warc.add_argument("--language", action="append", default=[], metavar="xx",
                      help="keep only articles in this language, ISO 639-1 (repeat, or comma-separate)")
    warc.add_argument("--max-record-mb", type=float, default=10.0, metavar="MB",
                      help="records larger than this are failures (default 10)")
    warc.add_argument("--batch-size", type=int, default=None, help=f"records per extraction/load batch (default {settings.DEFAULTS.warc_batch_size})")
    cli._run_options(warc, settings.DEFAULTS)
    warc.set_defaults(handler=_warc)


def _warc(args: argparse.Namespace) -> int:
    from flows import cli
    from flows.ingest_warc import DEFAULT_BATCH_SIZE
    from extractors.warc import archive_time

    missing = [path for path in [*args.paths, *filter(None, [args.hosts_file])] if not Path(path).exists()]
    if missing:
        raise cli.CommandError(f"no such file or folder: {', '.join(missing)}")
    for bound in filter(None, [args.since, args.until]):
        try:
            archive_time(bound)
        except ValueError:
            raise cli.CommandError(f"not an ISO date or time: {bound!r} (e.g. 2024-03-01 or 2024-03-01T12:00)") from None
    summary = cli._run_flow(args, "flows.ingest_warc", "ingest_warc", "source:warc", dict(
        paths=list(args.paths), hosts=_listed(args.host), hosts_file=args.hosts_file, since=args.since,
        until=args.until, languages=_listed(args.language) or None, max_record_bytes=int(args.max_record_mb * 2**20),
        batch_size=args.batch_size or DEFAULT_BATCH_SIZE, workers=args.workers, entities=not args.no_entities,
    ))
    if summary is None or summary["n_seen"] + summary.get("n_skipped", 0) == summary["n_failed"]:
        return cli.EXIT_NOTHING
    return cli.EXIT_PARTIAL if summary["n_failed"] else cli.EXIT_OK


def _listed(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]
