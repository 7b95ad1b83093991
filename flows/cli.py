"""The `newsflow` command line.

Exit status of `newsflow ingest`: 0 when every input landed (new, updated,
unchanged or linked as a duplicate), 1 when some inputs failed and the rest
landed, 2 when nothing could be ingested (no inputs, every input failed, or
the run itself failed) and for a bad argument; 130 when interrupted.
`newsflow sql` exits 0 on success and 2 on an error.

Start-up is kept short: arguments are checked before anything starts, a
command imports only what it needs (the flows and Prefect only for the
commands that run a flow), and a flow run uses the Prefect API that is up
already, or starts a temporary one at once, while the flow modules import
(see `flows.prefect_api`).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from extractors.version import package_version
from flows import cli_find, cli_warc, settings
from flows.listings import path_parameters
from flows.progress import ProgressDisplay

EXIT_OK, EXIT_PARTIAL, EXIT_NOTHING = 0, 1, 2
STOP_GRACE = 8.0
"""Seconds an interrupted run may take to roll back and record itself before the command stops hard."""
FINAL_READ_WAIT = 5.0

_DB_HELP = ("the warehouse: a DuckDB file, or ducklake:postgres:dbname=NAME host=HOST user=USER for a DuckLake on "
            f"PostgreSQL (default: $NEWSFLOW_WAREHOUSE, else $NEWSFLOW_DB, else {settings.DEFAULT_DB})")
_DATA_PATH_HELP = "folder of a new DuckLake's Parquet files (default: $NEWSFLOW_DATA_PATH; the lake remembers it)"
_WEB_EXIT = (" Exit status: 0 everything landed or was unchanged, 1 some inputs failed (see the failures table), "
             "2 nothing could be ingested.")
_WEB_COMMANDS = {
    "fetch": ("fetch and ingest article URLs",
              "Fetch article pages (politely: robots.txt, one request at a time per host, conditional GET) through "
              "the ingest_urls Prefect flow, extract them and load them.", "URL"),
    "feeds": ("ingest the new articles of RSS/Atom/JSON feeds",
              "Fetch RSS 0.9x/1.0/2.0, Atom or JSON feeds (conditional GET: an unchanged feed costs a 304) through "
              "the ingest_feeds Prefect flow, then fetch and ingest the articles the warehouse does not hold yet.",
              "FEED_URL"),
    "sitemap": ("ingest the new articles of sitemaps",
                "Fetch sitemaps (urlset, sitemap index, Google News sitemap, gzip) through the ingest_feeds Prefect "
                "flow, then fetch and ingest the articles the warehouse does not hold yet.", "SITEMAP_URL"),
}
_SOURCE_TAGS = {"fetch": "source:urls", "feeds": "source:feeds", "sitemap": "source:sitemaps"}


class CommandError(Exception):
    """An expected error (bad argument, missing path, no warehouse): one line for the user, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the problem and where to read more, not the whole usage."""

    def error(self, message: str):
        self.exit(EXIT_NOTHING, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_NOTHING
    if getattr(args, "data_path", None):
        os.environ["NEWSFLOW_DATA_PATH"] = args.data_path  # read where a lake is opened, flows included
    try:
        return args.handler(args)
    except CommandError as exc:
        print(f"newsflow {args.command}: {exc}", file=sys.stderr)
        return EXIT_NOTHING
    except Stopped as stop:
        return stop.status


def run() -> None:
    """The `newsflow` program: `main`, then exit at once, without the interpreter's teardown.

    Tearing down what a flow run imported (Prefect, pandas, DuckDB) took 0.4-0.8 s of every command here.
    Nothing is lost by it: the output is flushed, Prefect's client queues are sent (at exit Prefect would
    send them itself), the command stopped its child processes and closed its warehouse connections.
    """
    status = main()
    from flows.prefect_api import SEND_WITHIN, send_queued

    send_queued(SEND_WITHIN)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _command_of(argv: Sequence[str]) -> str:
    """The subcommand named on the command line ("" when none): only its options need building."""
    return next((a for a in argv if not a.startswith("-")), "")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; with `only`, the options of that subcommand alone (the others keep their one-line help)."""
    defaults = settings.DEFAULTS
    parser = Parser(
        prog="newsflow",
        description="News-ingestion warehouse: stored articles, web pages, feeds and sitemaps into a clean "
        "DuckDB warehouse.",
    )
    parser.add_argument("--version", action="version", version=f"newsflow {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def wanted(name: str) -> bool:
        return only is None or only == name

    ingest = commands.add_parser(
        "ingest",
        help="ingest stored article files",
        description="Ingest stored articles (.txt dumps, .html/.htm/.html.gz pages) from files or "
        "folders (recursively) through the ingest_stored Prefect flow. Exit status: 0 all landed, "
        "1 some inputs failed, 2 nothing could be ingested, 130 interrupted.",
    )
    if wanted("ingest"):
        ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to ingest")
        ingest.add_argument("--batch-size", type=_positive_int, default=defaults.stored_batch_size, metavar="N",
                            help=f"documents per batch/transaction (default {defaults.stored_batch_size})")
        _run_options(ingest, defaults)
        ingest.set_defaults(handler=_ingest)

    for name, (help_text, description, what) in _WEB_COMMANDS.items():
        web = commands.add_parser(name, help=help_text, description=description + _WEB_EXIT)
        if wanted(name):
            _web_options(web, name, what, defaults)

    sql = commands.add_parser(
        "sql",
        help="run SQL on the warehouse (read-only)",
        description="Run one SQL query on a read-only connection to the warehouse and print the result.",
    )
    if wanted("sql"):
        sql.add_argument("query", metavar="QUERY", help="the SQL query")
        _add_warehouse_options(sql)
        sql.add_argument("--format", choices=("table", "csv", "json"), default="table",
                         help="table (default), csv, or json (one array of objects)")
        sql.add_argument("--max-width", type=_positive_int, default=160, metavar="N",
                         help="table width in characters (default 160)")
        sql.set_defaults(handler=_sql)

    export = commands.add_parser(
        "export",
        help="write a Parquet snapshot of the warehouse for long analyses",
        description="Write every public table and view of the warehouse as Parquet files into a new snapshot "
        "folder (written aside, then renamed into place), from a read-only connection. pandas, Polars and the "
        "DuckDB shell read the snapshot without touching the live file, so ingest runs never wait for an analysis.",
    )
    if wanted("export"):
        _add_warehouse_options(export)
        export.add_argument("--out", default=None, metavar="DIR",
                            help="snapshot folder (default: data/exports/<UTC timestamp>); must not exist yet")
        export.set_defaults(handler=_export)

    from flows import serve

    serve.add_parser(commands, full=wanted("serve"))
    cli_find.add_parser(commands)
    cli_warc.add_parser(commands)
    from flows import cli_scale  # `worker`, `ingest-sharded` (imports this module: registered late)

    cli_scale.add_parsers(commands)
    return parser


def _add_warehouse_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", "--db", dest="db", metavar="WAREHOUSE", help=_DB_HELP)
    parser.add_argument("--data-path", metavar="DIR", help=_DATA_PATH_HELP)


def _run_options(parser: argparse.ArgumentParser, defaults: settings.Settings) -> None:
    """Options every command that runs an ingest flow takes."""
    _add_warehouse_options(parser)
    parser.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                        help="extraction processes (default: one per core)")
    parser.add_argument("--no-entities", action="store_true",
                        help="skip NER, entity resolution and quotes (faster first bulk loads)")
    parser.add_argument("--lock-wait", type=_seconds, default=defaults.lock_wait, metavar="SECONDS",
                        help="seconds a load waits while another process (a DuckDB shell, a notebook) holds the "
                        "warehouse file; past it the run fails and its unloaded batches wait for the next run "
                        f"(default {defaults.lock_wait:g})")
    parser.add_argument("--json", action="store_true",
                        help="print the run summary (with failures by reason) as JSON, and no progress")
    parser.add_argument("--quiet", action="store_true", help="print no progress and no summary (the exit status tells)")
    parser.add_argument("--debug", action="store_true", help="show the tracebacks of failures")


def _web_options(web: argparse.ArgumentParser, name: str, what: str, defaults: settings.Settings) -> None:
    policy = defaults.fetch_policy()
    web.add_argument("urls", nargs="*", metavar=what,
                     help=f"{what.removesuffix('URL').replace('_', ' ').lower()}URLs to ingest")
    web.add_argument("--from-file", metavar="FILE", help="also read URLs from FILE, one per line (# comments)")
    if name != "fetch":
        web.add_argument("--max-new", type=_positive_int, default=defaults.max_new_pages, metavar="N",
                         help=f"fetch at most N new articles this run, newest first (default {defaults.max_new_pages})")
    web.add_argument("--delay", type=_seconds, default=policy.host_delay, metavar="SECONDS",
                     help=f"least seconds between two requests to one host (default {policy.host_delay:g}; "
                     "robots.txt Crawl-delay raises it)")
    web.add_argument("--per-host", type=_positive_int, default=policy.host_concurrency, metavar="N",
                     help=f"requests in flight at once per host (default {policy.host_concurrency})")
    web.add_argument("--timeout", type=_positive_seconds, default=policy.total_timeout, metavar="SECONDS",
                     help=f"longest time for one request, body included (default {policy.total_timeout:g}; "
                     f"connect {policy.connect_timeout:g}, each read {policy.read_timeout:g})")
    web.add_argument("--contact", metavar="URL",
                     help="contact URL sent in the User-Agent (default: $NEWSFLOW_CONTACT)")
    web.add_argument("--allow-private", action="store_true",
                     help="allow loopback, private and link-local addresses (refused by default so a feed "
                     "cannot make newsflow probe an internal network)")
    web.add_argument("--politeness-db", metavar="POSTGRES",
                     help="a PostgreSQL database (dbname=NAME host=HOST user=USER) where every worker fetching "
                     "takes its turns at each host, so delay and --per-host hold across workers (default: a "
                     "DuckLake warehouse's catalog database; none for a warehouse file)")
    web.add_argument("--batch-size", type=_positive_int, default=defaults.web_batch_size, metavar="N",
                     help=f"pages per extraction/load batch (default {defaults.web_batch_size})")
    _run_options(web, defaults)
    web.set_defaults(handler=_ingest_web)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _ingest(args: argparse.Namespace) -> int:
    missing = [path for path in args.paths if not os.path.lexists(path)]
    if missing:
        raise CommandError(f"no such file or folder: {', '.join(missing)}")
    with path_parameters(args.paths) as paths:
        summary = _run_flow(args, "flows.ingest_stored", "ingest_stored", "source:stored", dict(
            **paths, batch_size=args.batch_size, workers=args.workers, entities=not args.no_entities,
        ))
    if summary is None:
        return EXIT_NOTHING
    landed = summary["n_seen"] - summary["n_failed"]
    if summary["n_seen"] == 0 or landed == 0:
        return EXIT_NOTHING
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK


def _ingest_web(args: argparse.Namespace) -> int:
    if not args.urls and not args.from_file:
        raise CommandError("give URLs or --from-file FILE")
    if args.from_file and not Path(args.from_file).is_file():
        raise CommandError(f"no such file: {args.from_file}")
    common = dict(
        batch_size=args.batch_size, workers=args.workers, entities=not args.no_entities,
        allow_private=args.allow_private, host_delay=args.delay, host_concurrency=args.per_host,
        timeout=args.timeout, contact=args.contact or settings.current().contact, politeness_db=args.politeness_db,
    )
    if args.command == "fetch":
        summary = _run_flow(args, "flows.ingest_web", "ingest_urls", _SOURCE_TAGS[args.command],
                            dict(urls=list(args.urls), urls_file=args.from_file, **common))
    else:
        summary = _run_flow(args, "flows.ingest_web", "ingest_feeds", _SOURCE_TAGS[args.command],
                            dict(feeds=list(args.urls), feeds_file=args.from_file, max_new_pages=args.max_new, **common))
    if summary is None:
        return EXIT_NOTHING
    if summary["n_failed"] and summary["n_failed"] == summary["n_seen"] and not summary["n_not_modified"]:
        return EXIT_NOTHING
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK


def _run_flow(args: argparse.Namespace, module: str, flow_name: str, source_tag: str, parameters: dict) -> dict | None:
    """Run a flow on a Prefect API (one up already, else a temporary one), tagged with its source kind, showing
    its progress; print its summary and failures by reason. None (after saying why) when the run itself failed.

    Ctrl-C or SIGTERM stops the run (the batch in flight rolls back, the run is recorded interrupted) and
    raises `Stopped` after one line saying what landed; `lifetime.StopWatchdog` bounds how long that takes.
    """
    from flows import lifetime, prefect_api

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    try:
        api_url = prefect_api.running_api()
    except prefect_api.APIError as exc:
        raise CommandError(str(exc)) from None
    temporary = prefect_api.TemporaryAPI() if api_url is None else None
    configured = os.environ.get("PREFECT_API_URL")
    progress = ProgressDisplay(f"{args.command}", enabled=sys.stderr.isatty() and not (args.quiet or args.json))
    watchdog = lifetime.StopWatchdog(f"newsflow {args.command}", STOP_GRACE,
                                     hard_stop=lambda: temporary.stop(grace=1, send_within=0) if temporary else None)
    db = args.db or settings.current().db
    with watchdog.armed():
        try:
            with progress:
                if temporary is not None:
                    temporary.start()  # it starts while the flow modules import
                    api_url = temporary.api_url
                os.environ["PREFECT_API_URL"] = api_url  # before Prefect reads its settings
                flow = getattr(importlib.import_module(module), flow_name)
                from prefect import tags
                from prefect.settings import temporary_settings

                from flows.pipeline import reporting

                if temporary is not None:
                    _import_what_a_first_run_imports()
                    temporary.wait_ready()
                run_settings = prefect_api.TEMPORARY_RUN_SETTINGS if temporary is not None else {}
                terse = _terse_console(args.debug, stopping=lambda: watchdog.signum is not None)
                try:
                    with tags(source_tag), reporting(progress.update), temporary_settings(updates=run_settings), terse:
                        summary = flow(**parameters, db=db, lock_wait=args.lock_wait)
                except Exception as exc:
                    _say_run_failed(args, exc)
                    return None
        except prefect_api.APIError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            _say_what_landed(args, db)
            raise Stopped(128 + (watchdog.signum or signal.SIGINT)) from None
        finally:
            if temporary is not None:
                temporary.stop()
            if configured is None:
                os.environ.pop("PREFECT_API_URL", None)
    _print_summary(args, summary, db)
    return summary


def _import_what_a_first_run_imports() -> None:
    """Import now what Prefect imports lazily inside a process's first flow run (its engines, FastAPI's encoder
    for the parameters, graphviz for flow visualisation, pyarrow's pandas bridge): done while the temporary API
    still starts, it is off the command's critical path (0.2 s of every command here)."""
    import fastapi.encoders  # noqa: F401
    import prefect.flow_engine  # noqa: F401
    import prefect.task_engine  # noqa: F401
    import prefect.utilities.visualization  # noqa: F401
    import pyarrow.pandas_compat  # noqa: F401


class Stopped(Exception):
    """The command was stopped by a signal; `status` is its exit status (128 + the signal's number)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@contextmanager
def _terse_console(debug: bool, stopping: Callable[[], bool]) -> Iterator[None]:
    """What Prefect's log shows on the terminal inside the block, unless --debug (the Prefect API and UI keep
    every record whole).

    A failed run is logged with its traceback: the one-line reason is enough. Once the command is stopping
    (Ctrl-C, SIGTERM), the run's crash records go too: the one line saying what landed is the answer.
    """
    import logging

    def terse(record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return not stopping()

    handlers = [] if debug else list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(terse)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(terse)


def _say_run_failed(args: argparse.Namespace, exc: Exception) -> None:
    from warehouse.connection import WarehouseLocked

    detail = str(exc) if isinstance(exc, WarehouseLocked) else f"{type(exc).__name__}: {exc}"
    hint = "" if args.debug or isinstance(exc, WarehouseLocked) else " (--debug shows the traceback)"
    print(f"newsflow {args.command}: run failed: {detail}{hint}", file=sys.stderr)


def _say_what_landed(args: argparse.Namespace, db: str) -> None:
    """One line after an interrupt: what this process's run landed before it stopped."""
    from warehouse import runs
    from warehouse.connection import reading

    try:
        with reading(db, FINAL_READ_WAIT) as con:
            run = runs.latest_run_of_process(con, os.getpid())
    except Exception:  # the warehouse itself is what failed: nothing more to tell
        run = None
    if run is None:
        print(f"newsflow {args.command}: interrupted before anything landed", file=sys.stderr)
        return
    landed = run["n_seen"] - run["n_failed"]
    recorded = "recorded interrupted" if run["status"] == "interrupted" else "to be marked interrupted by the next run"
    print(f"newsflow {args.command}: interrupted: {landed:,} input(s) landed in whole batches ({run['n_new']:,} new, "
          f"{run['n_failed']:,} failed) before the stop; run {run['run_id']} {recorded}; a rerun finishes the job",
          file=sys.stderr)


def _print_summary(args: argparse.Namespace, summary: dict, db: str) -> None:
    """The run's counts, then its failures grouped by reason with a few example inputs (or all of it as JSON)."""
    from warehouse import runs
    from warehouse.connection import reading

    with reading(db, FINAL_READ_WAIT) as con:
        reasons = runs.failure_reasons(con, summary["run_id"])
    if args.json:
        grouped = [{"stage": stage, "reason": reason, "count": n, "examples": examples}
                   for stage, reason, n, examples in reasons]
        print(json.dumps({**summary, "failure_reasons": grouped}, default=str, indent=2))
    elif not args.quiet:
        print(format_summary(summary))
        if reasons:
            print(format_failures(summary, reasons))


def format_failures(summary: dict, reasons: list[tuple[str, str, int, list[str]]], shown: int = 10) -> str:
    lines = [f"failures by reason ({summary['n_failed']:,}):"]
    for stage, reason, n, examples in reasons[:shown]:
        more = f", ... {n - len(examples):,} more" if n > len(examples) else ""
        lines.append(f"  {n:>6,}  {stage}: {reason}")
        lines.append(f"          e.g. {', '.join(examples)}{more}")
    if len(reasons) > shown:
        lines.append(f"  ... and {len(reasons) - shown} more reasons")
    lines.append(f"  all of them: newsflow sql \"SELECT source_uri, stage, error FROM failures "
                 f"WHERE run_id = '{summary['run_id']}'\" --db {summary['db']}")
    return "\n".join(lines)


def _export(args: argparse.Namespace) -> int:
    from warehouse.export import export_snapshot

    try:
        folder, tables = export_snapshot(args.db or settings.current().db, args.out)
    except Exception as exc:
        raise CommandError(str(exc)) from exc
    print(f"wrote {len(tables)} tables and views to {folder}/")
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
        columns, rows = run_query(args.db or settings.current().db, args.query)
    except Exception as exc:
        raise CommandError(str(exc)) from exc
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
    run()
