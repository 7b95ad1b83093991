"""`newsflow search` and `newsflow report`: finding articles and seeing the warehouse.

Both read the warehouse on short read-only connections (retrying briefly while a load commits);
`search --reindex` is the one write, for a warehouse whose index is missing or behind.
Exit status: 0 on success (a search that matches nothing included), 2 on an error.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

EXIT_OK, EXIT_ERROR = 0, 2
_DB_HELP = "warehouse file (default: $NEWSFLOW_DB, else data/news.duckdb)"
_QUERY_HELP = (
    'words to find, all of them, in title or body, stemmed by the article\'s language ("deals" finds "deal"); '
    '"quoted phrases" must appear in that order; -word excludes articles with that word'
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `newsflow search` and `newsflow report` on the CLI's subcommands."""
    search = commands.add_parser(
        "search",
        help="full-text search (BM25, stemmed), one row per story",
        description="Search titles and bodies with BM25 ranking over per-language stemmed indexes (DuckDB fts). "
        "Copies of one story show once, as its best-matching article, with the story's number of copies. "
        "The index is refreshed at the end of every ingest run. Exit status: 0 (also when nothing matches), "
        "2 on a malformed query or an unreadable warehouse.",
    )
    search.add_argument("query", nargs="?", metavar="QUERY", help=_QUERY_HELP)
    search.add_argument("--db", help=_DB_HELP)
    search.add_argument("--limit", type=int, default=20, metavar="N", help="at most N stories (default 20)")
    search.add_argument("--since", metavar="DATE", help="published on or after DATE (YYYY-MM-DD); undated articles drop out")
    search.add_argument("--until", metavar="DATE", help="published on or before DATE (YYYY-MM-DD)")
    search.add_argument("--site", help="only articles of this site, as stored (e.g. www.example.com)")
    search.add_argument("--entity", metavar="NAME", help="only articles mentioning this entity (its name or any alias)")
    search.add_argument("--language", metavar="xx", help="only articles in this language (ISO 639-1)")
    search.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="table (default), csv, or json (one array of objects)")
    search.add_argument("--reindex", action="store_true",
                        help="first rebuild the parts of the search index that are behind the articles (takes the write lock; "
                        "every ingest run does this by itself)")
    search.add_argument("--load-sql", action="store_true",
                        help="print the LOAD statement a DuckDB shell needs before calling search_articles(), and exit")
    search.set_defaults(handler=_search)

    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report with plots",
        description="Write one HTML file (plots inline as SVG, no scripts, nothing fetched when it is opened): "
        "articles per day by site, top entities and their mention timelines, top quoted speakers, what was cut "
        "and why, duplicates and stories, runs and failures over time. Open it in any browser.",
    )
    report.add_argument("--db", help=_DB_HELP)
    report.add_argument("--out", default="report.html", metavar="FILE", help="where to write it (default report.html)")
    report.add_argument("--since", metavar="DATE",
                        help="only articles published (undated: first seen) and runs started on or after DATE")
    report.set_defaults(handler=_report)


def _db(args: argparse.Namespace) -> str:
    from flows import settings

    return args.db or settings.current().db


def _search(args: argparse.Namespace) -> int:
    from warehouse import search
    from warehouse.queries import read_only

    if args.load_sql:
        print(search.load_statement() + ";")
        return EXIT_OK
    if args.query is None:
        print("newsflow search: give a QUERY", file=sys.stderr)
        return EXIT_ERROR
    db = _db(args)
    try:
        query = search.parse_query(args.query)
        if args.reindex:
            from warehouse.connection import writing

            with writing(db) as con:
                print(search.refresh_index(con).describe(), file=sys.stderr)
        with read_only(db) as con:
            search.load_fts(con)
            stale = search.stale_indexes(con) if search.has_index(con) else {}
            result = search.search(con, query, limit=args.limit, since=args.since, until=args.until,
                                   site=args.site, entity=args.entity, language=args.language)
            columns, rows = result.columns, result.fetchall()
    except search.SearchQueryError as exc:
        print(f"newsflow search: malformed query: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        print(f"newsflow search: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if stale:
        print(f"newsflow search: the index of {', '.join(sorted(stale))} is behind the articles (a run did not "
              "finish); the next ingest run refreshes it, or add --reindex", file=sys.stderr)
    _print_rows(columns, rows, args.format)
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from flows.report import write_report

    try:
        out = write_report(_db(args), args.out, args.since)
    except Exception as exc:
        print(f"newsflow report: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"wrote {out} ({out.stat().st_size / 1024:,.0f} KB): open it in a browser, e.g. file://{out.absolute()}")
    return EXIT_OK


def _print_rows(columns: list[str], rows: list[tuple], fmt: str) -> None:
    from flows.cli import _json_value

    if fmt == "json":
        print(json.dumps([dict(zip(columns, row)) for row in rows], default=_json_value, ensure_ascii=False))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print(format_hits(columns, rows))


def format_hits(columns: list[str], rows: list[tuple]) -> str:
    """Search results as a person reads them: title and score, then date, site, URL and ids, then the snippet."""
    lines = []
    for rank, row in enumerate(rows, 1):
        hit = dict(zip(columns, row))
        copies = f" | {hit['copies']} copies" if hit["copies"] > 1 else ""
        published = hit["published_at"].date().isoformat() if hit["published_at"] else "undated"
        lines.append(f"{rank:>2}. {hit['title'] or '(no title)'}  [score {hit['score']:.3f}{copies}]")
        lines.append(f"    {published} | {hit['site'] or '-'} | {hit['url'] or hit['source_uri']}")
        lines.append(f"    article {hit['article_id']} | {hit['source_uri']}")
        lines.append(f"    {hit['snippet']}")
    lines.append(f"({len(rows)} stor{'ies' if len(rows) != 1 else 'y'})")
    return "\n".join(lines)
