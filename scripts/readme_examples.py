"""Print the README's example queries with their real output, as markdown.

    make run && .venv/bin/python scripts/readme_examples.py > /tmp/examples.md
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXAMPLES = [
    (
        "Titles with dates, authors and language",
        "SELECT left(title, 55) AS title, published_at::DATE AS published, authors, language, word_count\n"
        "FROM articles ORDER BY source_uri",
    ),
    (
        "What was cut from each article, and why",
        "SELECT left(coalesce(a.title, regexp_extract(a.source_uri, '[^/]+$')), 40) AS article, b.reason, count(*) AS lines\n"
        "FROM boilerplate_segments b JOIN articles a USING (article_id)\n"
        "WHERE b.reason NOT IN ('title', 'subtitle', 'byline', 'dateline', 'section')\n"
        "GROUP BY ALL ORDER BY article, lines DESC, reason",
    ),
    (
        "The furniture itself: every \"Read also\" block, teaser and rating line of one article",
        "SELECT position, reason, left(text, 70) AS text FROM boilerplate_segments\n"
        "WHERE article_id = (SELECT article_id FROM articles WHERE title LIKE 'US pulling out%')\n"
        "  AND reason IN ('related_links', 'teaser', 'disclaimer') ORDER BY position",
    ),
    (
        "Run history",
        "SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started, status, n_seen, n_new, n_updated, n_unchanged, n_failed,\n"
        "       round(epoch(finished_at - started_at), 2) AS seconds\n"
        "FROM ingest_runs ORDER BY started_at",
    ),
    (
        "Most-mentioned people, merged across spellings and articles",
        "SELECT name, n_articles, n_mentions, aliases FROM entities\n"
        "WHERE label = 'PERSON' ORDER BY n_articles DESC, n_mentions DESC LIMIT 8",
    ),
    (
        "Who said what",
        "SELECT speaker, left(quote, 70) AS quote, left(a.title, 30) AS article\n"
        "FROM quotes q JOIN articles a USING (article_id) WHERE speaker IS NOT NULL\n"
        "ORDER BY speaker LIMIT 10",
    ),
    (
        "Who appears alongside whom",
        "SELECT entity_a, entity_b, n_articles FROM entity_cooccurrence\n"
        "WHERE entity_a IN (SELECT name FROM entities WHERE label = 'PERSON')\n"
        "  AND entity_b IN (SELECT name FROM entities WHERE label = 'PERSON')\n"
        "ORDER BY n_articles DESC, entity_a, entity_b LIMIT 8",
    ),
    (
        "Which sentences mention the minerals deal, by outlet's date",
        "SELECT published_at::DATE AS published, left(title, 40) AS title,\n"
        "       len(regexp_extract_all(body, '[^.]*minerals? (?:deal|pact)[^.]*\\.')) AS mentions\n"
        "FROM unique_articles ORDER BY mentions DESC",
    ),
]


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "data/news.duckdb"
    for heading, query in EXAMPLES:
        result = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "newsflow"), "sql", query, "--db", db, "--max-width", "110"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )
        print(f"**{heading}**\n\n```sh\nnewsflow sql \"{query}\"\n```\n```\n{result.stdout.rstrip()}\n```\n")


if __name__ == "__main__":
    main()
