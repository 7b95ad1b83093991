"""The `newsflow` command line.

Exit status of `newsflow ingest`: 0 when every input landed (new, updated,
unchanged or linked as a duplicate), 1 when some inputs failed and the rest
landed, 2 when nothing could be ingested (no inputs, every input failed, or
the run itself failed). `newsflow sql` exits 0 on success and 2 on an error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence

from flows import cli_find, serve

EXIT_OK, EXIT_PARTIAL, EXIT_NOTHING = 0, 1, 2

_DB_HELP = "warehouse file (default: $NEWSFLOW_DB, else data/news.duckdb)"
_LOCK_HELP = ("seconds a load waits while another process (a DuckDB shell, a notebook) holds the warehouse file; "
              "past it the run fails and its unloaded batches wait for the next run (default 300)")
_WEB_EXIT = (" Exit status: 0 everything landed or was unchanged, 1 some inputs failed (see the failures table), "
             "2 nothing could be ingested.")
_WEB_COMMANDS = [
    ("fetch", "fetch and ingest article URLs",
     "Fetch article pages (politely: robots.txt, one request at a time per host, conditional GET) through "
     "the ingest_urls Prefect flow, extract them and load them.", "URL"),
    ("feeds", "ingest the new articles of RSS/Atom/JSON feeds",
     "Fetch RSS 0.9x/1.0/2.0, Atom or JSON feeds (conditional GET: an unchanged feed costs a 304) through the "
     "ingest_feeds Prefect flow, then fetch and ingest the articles the warehouse does not hold yet.", "FEED_URL"),
    ("sitemap", "ingest the new articles of sitemaps",
     "Fetch sitemaps (urlset, sitemap index, Google News sitemap, gzip) through the ingest_feeds Prefect flow, "
     "then fetch and ingest the articles the warehouse does not hold yet.", "SITEMAP_URL"),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_NOTHING
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsflow",
        description="News-ingestion warehouse: stored articles, web pages, feeds and sitemaps into a clean "
        "DuckDB warehouse.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="ingest stored article files",
        description="Ingest stored articles (.txt dumps, .html/.htm/.html.gz pages) from files or "
        "folders (recursively) through the ingest_stored Prefect flow. Exit status: 0 all landed, "
        "1 some inputs failed, 2 nothing could be ingested.",
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to ingest")
    ingest.add_argument("--db", help=_DB_HELP)
    ingest.add_argument("--batch-size", type=int, default=None, help="documents per batch/transaction (default 500)")
    ingest.add_argument("--workers", type=int, default=None, help="cleaning processes (default: one per core)")
    ingest.add_argument("--no-entities", action="store_true",
                        help="skip NER, entity resolution and quotes (faster first bulk loads)")
    ingest.add_argument("--json", action="store_true", help="print the run summary as JSON")
    ingest.add_argument("--lock-wait", type=float, default=None, metavar="SECONDS", help=_LOCK_HELP)
    ingest.set_defaults(handler=_ingest)

    for name, help_text, description, what in _WEB_COMMANDS:
        web = commands.add_parser(name, help=help_text, description=description + _WEB_EXIT)
        web.add_argument("urls", nargs="*", metavar=what, help=f"{what.removesuffix('URL').replace('_', ' ').lower()}URLs to ingest")
        web.add_argument("--from-file", metavar="FILE", help="also read URLs from FILE, one per line (# comments)")
        web.add_argument("--db", help=_DB_HELP)
        if name != "fetch":
            web.add_argument("--max-new", type=int, default=None, metavar="N",
                             help="fetch at most N new articles this run, newest first (default 1000)")
        web.add_argument("--delay", type=float, default=1.0, metavar="SECONDS",
                         help="least seconds between two requests to one host (default 1; robots.txt "
                         "Crawl-delay raises it)")
        web.add_argument("--per-host", type=int, default=1, metavar="N",
                         help="requests in flight at once per host (default 1)")
        web.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                         help="longest time for one request, body included (default 30; connect 5, each read 10)")
        web.add_argument("--contact", metavar="URL", help="contact URL sent in the User-Agent (newsflow/0.1 (+URL))")
        web.add_argument("--allow-private", action="store_true",
                         help="allow loopback, private and link-local addresses (refused by default so a feed "
                         "cannot make newsflow probe an internal network)")
        web.add_argument("--batch-size", type=int, default=None, help="pages per extraction/load batch (default 50)")
        web.add_argument("--workers", type=int, default=None, help="extraction processes (default: one per core)")
        web.add_argument("--no-entities", action="store_true", help="skip NER, entity resolution and quotes")
        web.add_argument("--lock-wait", type=float, default=None, metavar="SECONDS", help=_LOCK_HELP)
        web.add_argument("--json", action="store_true", help="print the run summary as JSON")
        web.set_defaults(handler=_ingest_web)

    sql = commands.add_parser(
        "sql",
        help="run SQL on the warehouse (read-only)",
        description="Run one SQL query on a read-only connection to the warehouse and print the result.",
    )
    sql.add_argument("query", metavar="QUERY", help="the SQL query")
    sql.add_argument("--db", help=_DB_HELP)
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table",
                     help="table (default), csv, or json (one array of objects)")
    sql.add_argument("--max-width", type=int, default=160, help="table width in characters (default 160)")
    sql.set_defaults(handler=_sql)

    export = commands.add_parser(
        "export",
        help="write a Parquet snapshot of the warehouse for long analyses",
        description="Write every public table and view of the warehouse as Parquet files into a new snapshot "
        "folder (written aside, then renamed into place), from a read-only connection. pandas, Polars and the "
        "DuckDB shell read the snapshot without touching the live file, so ingest runs never wait for an analysis.",
    )
    export.add_argument("--db", help=_DB_HELP)
    export.add_argument("--out", default=None, metavar="DIR",
                        help="snapshot folder (default: data/exports/<UTC timestamp>); must not exist yet")
    export.set_defaults(handler=_export)

    serve.add_parser(commands)
    cli_find.add_parser(commands)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    def run() -> dict:
        from flows.ingest_stored import DEFAULT_BATCH_SIZE, ingest_stored

        return ingest_stored(
            paths=list(args.paths), db=args.db or _default_db(), batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
            workers=args.workers, entities=not args.no_entities, lock_wait=args.lock_wait,
        )

    summary = _run_flow(args, run, "source:stored")
    if summary is None:
        return EXIT_NOTHING
    landed = summary["n_seen"] - summary["n_failed"]
    if summary["n_seen"] == 0 or landed == 0:
        return EXIT_NOTHING
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK


def _ingest_web(args: argparse.Namespace) -> int:
    if not args.urls and not args.from_file:
        print(f"newsflow {args.command}: give URLs or --from-file FILE", file=sys.stderr)
        return EXIT_NOTHING

    def run() -> dict:
        from flows import ingest_web

        common = dict(
            db=args.db or _default_db(), batch_size=args.batch_size or ingest_web.DEFAULT_BATCH_SIZE,
            workers=args.workers, entities=not args.no_entities, allow_private=args.allow_private,
            host_delay=args.delay, host_concurrency=args.per_host, timeout=args.timeout, contact=args.contact,
            lock_wait=args.lock_wait,
        )
        if args.command == "fetch":
            return ingest_web.ingest_urls(urls=list(args.urls), urls_file=args.from_file, **common)
        return ingest_web.ingest_feeds(
            feeds=list(args.urls), feeds_file=args.from_file,
            max_new_pages=args.max_new or ingest_web.DEFAULT_MAX_NEW_PAGES, **common,
        )

    summary = _run_flow(args, run, {"fetch": "source:urls", "feeds": "source:feeds", "sitemap": "source:sitemaps"}[args.command])
    if summary is None:
        return EXIT_NOTHING
    if summary["n_failed"] and summary["n_failed"] == summary["n_seen"] and not summary["n_not_modified"]:
        return EXIT_NOTHING
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK


def _run_flow(args: argparse.Namespace, run: Callable[[], dict], source_tag: str) -> dict | None:
    """Run a flow quietly, tagged with its source kind, and print its summary; None (after saying why)
    when the run itself failed."""
    import logging

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect import tags

    try:
        with tags(source_tag):
            summary = run()
    except Exception as exc:
        logging.getLogger("newsflow").debug("run failed", exc_info=True)
        print(f"newsflow {args.command}: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    print(json.dumps(summary, default=str, indent=2) if args.json else format_summary(summary))
    return summary


def _default_db() -> str:
    from warehouse.connection import default_db

    return default_db()


def _export(args: argparse.Namespace) -> int:
    from warehouse.export import export_snapshot

    try:
        folder, tables = export_snapshot(args.db or _default_db(), args.out)
    except Exception as exc:
        print(f"newsflow export: {exc}", file=sys.stderr)
        return EXIT_NOTHING
    print(f"wrote {len(tables)} tables to {folder}/")
    for name, rows in tables.items():
        print(f"  {name}.parquet  {rows:,} rows")
    return EXIT_OK


def format_summary(summary: dict) -> str:
    return (
        f"run {summary['run_id']} {summary['status']} in {summary['seconds']} s -> {summary['db']}\n"
        f"  seen {summary['n_seen']} | new {summary['n_new']} | updated {summary['n_updated']} | "
        f"unchanged {summary['n_unchanged']} | not modified (304) {summary['n_not_modified']} | "
        f"duplicates {summary['n_duplicates']} | failed {summary['n_failed']}"
    )


def _sql(args: argparse.Namespace) -> int:
    from warehouse.queries import run_query

    try:
        columns, rows = run_query(args.db or _default_db(), args.query)
    except Exception as exc:
        print(f"newsflow sql: {exc}", file=sys.stderr)
        return EXIT_NOTHING
    if args.format == "json":
        print(json.dumps([dict(zip(columns, row)) for row in rows], default=_json_value, ensure_ascii=False))
    elif args.format == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print(format_table(columns, rows, args.max_width))
    return EXIT_OK


def format_table(columns: list[str], rows: list[tuple], max_width: int) -> str:
    """A plain aligned table; long values are cut with "…" so each row stays on one line."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    budget = max_width - 3 * (len(columns) - 1)
    while sum(widths) > budget and max(widths, default=0) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    def line(values: list[str]) -> str:
        return " | ".join(_fit(v, w) for v, w in zip(values, widths)).rstrip()
    out = [line(columns), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return " ".join(str(value).split())


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def _json_value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
