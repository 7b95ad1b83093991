"""Full-text search: BM25 over articles' titles and bodies, one index per language, with DuckDB's fts.

The fts extension comes from its PyPI wheel (duckdb-extension-fts, built for the pinned DuckDB) and
is loaded by file path: nothing is downloaded at run time, and a bare `LOAD fts` (which looks under
~/.duckdb) is never needed. An fts index is a set of plain tables and macros in the warehouse file
(schema `fts_main_search_docs_<language>`), so read-only connections use it once the extension is
loaded; it cannot be updated in place, only rebuilt. Each language with a Snowball stemmer gets its
own table and index (so "deals" finds "deal" in English and "accords" finds "accord" in French);
every other language, and articles without one, share the `other` index, unstemmed. Han and kana
characters are indexed one by one (CJK text has no spaces to split words at); a quoted phrase then
keeps them in order.

`refresh_index` rebuilds the indexes of the languages whose articles changed since the last build
(a fingerprint of ids, content hashes and copy links per language tells), in one transaction, so
readers see the old index or the new one, never half of one. The flows call it at the end of
every run. Identical copies (`duplicate_kind = 'identical'`) are not indexed: they share their
original's text and score; `search_articles` shows each story once, with its number of copies.

SQL users call the table macro `search_articles(query, ...)` (see README "Search").
"""

from __future__ import annotations

import importlib.util
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

STEMMERS = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "eu": "basque", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "it": "italian", "lt": "lithuanian", "nb": "norwegian",
    "ne": "nepali", "nl": "dutch", "nn": "norwegian", "no": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}
"""ISO 639-1 code -> the fts extension's Snowball stemmer. Other languages go to the unstemmed `other` index."""
OTHER = "other"

_TOKEN_GAP = r"[^\p{L}\p{N}]+"
"""What separates words, for the index and for queries: anything but letters and digits, in any script."""
_CJK_CHAR = r"([\p{Han}\p{Hiragana}\p{Katakana}])"
_STATE_TABLE = "search_index_state"
_MACROS_TABLE = "search_macros"
MACROS_VERSION = 4
"""Bump when the macros below change: a refresh then recreates them in existing warehouses."""


class SearchQueryError(ValueError):
    """A query that cannot be searched for (empty, unbalanced quotes, nothing but exclusions)."""


class SearchIndexMissing(RuntimeError):
    """The warehouse has no search index yet (no run has ended since search arrived)."""


def fts_extension_path() -> Path:
    """The fts extension inside the duckdb-extension-fts wheel, for the DuckDB version running here."""
    spec = importlib.util.find_spec("duckdb_extension_fts")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the duckdb-extension-fts package is missing: pip install -e . installs it")
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}" / "fts.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"no fts extension for DuckDB {duckdb.__version__} at {path}: pin duckdb-extension-fts to it")
    return path


def load_statement() -> str:
    """`LOAD '<path>'`: what a DuckDB shell runs before calling `search_articles`."""
    return "LOAD '" + str(fts_extension_path()).replace("'", "''") + "'"


def load_fts(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Load the fts extension by path on this connection (read-only connections too); returns it."""
    con.execute(load_statement())
    return con


# --- queries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed query: every word must match (stemmed); phrases must also appear in that order; excluded words
    (as written, any case) must not appear."""

    text: str
    words: str
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


_QUERY_PART = re.compile(r'(-?)"([^"]*)"|(-?)([^\s"]+)')


def parse_query(text: str) -> SearchQuery:
    """Words (all must match, stemmed), "quoted phrases" (in that order) and -excluded words.

    >>> parse_query('minerals "peace talks" -Russia')
    SearchQuery(text='minerals "peace talks" -Russia', words='minerals peace talks', phrases=('peace talks',), excluded=('Russia',))
    """
    if not text or not text.strip():
        raise SearchQueryError("empty query: give words to search for")
    if text.count('"') % 2:
        raise SearchQueryError(f"unbalanced quote in query {text!r}: close each \"phrase\"")
    words, phrases, excluded = [], [], []
    for minus_phrase, phrase, minus, word in _QUERY_PART.findall(text):
        if phrase or minus_phrase:
            if minus_phrase:
                raise SearchQueryError(f"cannot exclude a phrase (-\"{phrase}\"): exclude single words")
            if re.search(r"\w", phrase):
                phrases.append(phrase.strip())
                words.append(phrase)
        elif minus or word == "-":
            if not re.search(r"\w", word):
                raise SearchQueryError(f"nothing after '-' in query {text!r}: write -word to exclude a word")
            excluded.append(word)
        elif re.search(r"\w", word):
            words.append(word)
    if not words:
        raise SearchQueryError(f"query {text!r} has no words to search for (only exclusions or punctuation)")
    return SearchQuery(text, " ".join(words), tuple(phrases), tuple(excluded))


SEARCH_COLUMNS = (
    "article_id", "source_uri", "url", "title", "published_at", "site", "language", "score", "snippet",
    "copies", "story_id",
)
"""What `search_articles` returns: one row per story, its best-matching article; `copies` is the story's size."""


def search(
    con: duckdb.DuckDBPyConnection,
    query: str | SearchQuery,
    limit: int | None = 20,
    since: str | None = None,
    until: str | None = None,
    site: str | None = None,
    entity: str | None = None,
    language: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """Stories matching `query` (see `parse_query`), best first, as a relation with SEARCH_COLUMNS.

    `since`/`until` are inclusive dates on `published_on`, the page's own publication day (undated
    articles then drop out), `site`
    a site as stored (e.g. "www.example.com"), `entity` a name or any alias of an entity mentioned
    in the article, `language` an ISO 639-1 code. The connection must have the fts extension loaded.
    """
    parsed = query if isinstance(query, SearchQuery) else parse_query(query)
    if not has_index(con):
        raise SearchIndexMissing("this warehouse has no search index yet: the next ingest run builds it, or run "
                                 "`newsflow search --reindex`")
    sql = (
        "SELECT * FROM search_articles($q, since := $since, until := $until, site := $site, entity := $entity,"
        " language := $language, phrases := $phrases, exclude := $exclude)"
    )
    params = {
        "q": parsed.words, "since": since, "until": until, "site": site, "entity": entity, "language": language,
        "phrases": list(parsed.phrases) or None, "exclude": list(parsed.excluded) or None,
    }
    if limit is not None:
        sql += " LIMIT $limit"
        params["limit"] = int(limit)
    return con.sql(sql, params=params)


# --- the index -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexRefresh:
    """What `refresh_index` did: per index rebuilt, its documents and seconds."""

    rebuilt: dict[str, tuple[int, float]] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.rebuilt or self.dropped)

    def describe(self) -> str:
        if not self.changed:
            return f"search index current ({', '.join(self.unchanged) or 'no articles'})"
        parts = [f"{key}: {n:,} documents in {seconds:.2f} s" for key, (n, seconds) in self.rebuilt.items()]
        parts += [f"{key}: dropped" for key in self.dropped]
        return "search index rebuilt: " + "; ".join(parts)


def index_key(language: str | None) -> str:
    """The index an article of this language goes to: its own when it has a stemmer, else `other`."""
    return language if language in STEMMERS else OTHER


def has_index(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file has this version's search macros (an older newsflow's are rebuilt by the next refresh)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [_MACROS_TABLE]
    ).fetchone()[0]
    return bool(exists) and con.execute(f"SELECT max(version) FROM {_MACROS_TABLE}").fetchone()[0] == MACROS_VERSION


def stale_indexes(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Indexes behind the articles (index -> articles now in it), read-only; empty when all are current."""
    built = _built_state(con)
    current = _current_fingerprints(con)
    stale = {key: n for key, (n, fingerprint) in current.items() if built.get(key) != fingerprint}
    stale.update({key: 0 for key in built.keys() - current.keys()})
    return stale


def refresh_index(con: duckdb.DuckDBPyConnection, force: bool = False) -> IndexRefresh:
    """Rebuild the indexes whose articles changed (all with `force`), in one transaction.

    Needs a write connection; loads the fts extension itself.
    """
    started = time.perf_counter()
    load_fts(con)
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {_STATE_TABLE} (index_key VARCHAR PRIMARY KEY, stemmer VARCHAR NOT NULL,"
        " n_documents INTEGER NOT NULL, fingerprint UBIGINT NOT NULL, built_at TIMESTAMP NOT NULL,"
        " build_seconds DOUBLE NOT NULL)"
    )
    rebuilt: dict[str, tuple[int, float]] = {}
    con.begin()
    try:
        built = _built_state(con)
        current = _current_fingerprints(con)
        dropped = tuple(sorted(built.keys() - current.keys()))
        for key in dropped:
            con.execute(f"PRAGMA drop_fts_index('{_docs_table(key)}')")
            con.execute(f"DROP TABLE IF EXISTS {_docs_table(key)}")
            con.execute(f"DELETE FROM {_STATE_TABLE} WHERE index_key = ?", [key])
        for key, (n_docs, fingerprint) in sorted(current.items()):
            if force or built.get(key) != fingerprint:
                rebuilt[key] = (n_docs, _rebuild(con, key, fingerprint, n_docs))
        if rebuilt or dropped or not has_index(con):
            _create_macros(con, sorted(current))
        con.commit()
    except Exception:
        con.rollback()
        raise
    unchanged = tuple(sorted(current.keys() - rebuilt.keys()))
    return IndexRefresh(rebuilt, dropped, unchanged, round(time.perf_counter() - started, 3))


def _docs_table(key: str) -> str:
    if not re.fullmatch(r"[a-z]+", key):
        raise ValueError(f"bad index key {key!r}")
    return f"search_docs_{key}"


def _indexed_articles() -> str:
    """The articles an index holds: all but identical copies, grouped by index key."""
    supported = ", ".join(f"'{code}'" for code in STEMMERS)
    return (
        f"SELECT *, CASE WHEN language IN ({supported}) THEN language ELSE '{OTHER}' END AS index_key"
        " FROM articles WHERE duplicate_kind IS DISTINCT FROM 'identical'"
    )


def _current_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    rows = con.execute(
        f"SELECT index_key, count(*), bit_xor(hash(article_id, content_hash)) FROM ({_indexed_articles()})"
        " GROUP BY index_key"
    ).fetchall()
    return {key: (n, fingerprint) for key, n, fingerprint in rows}


def _built_state(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [_STATE_TABLE]
    ).fetchone()[0]
    if not exists:
        return {}
    return dict(con.execute(f"SELECT index_key, fingerprint FROM {_STATE_TABLE}").fetchall())


def _spaced(column: str) -> str:
    """Han and kana characters as separate words (CJK has no spaces), for the index and for queries alike."""
    return rf"regexp_replace({column}, '{_CJK_CHAR}', ' \1 ', 'g')"


def _rebuild(con: duckdb.DuckDBPyConnection, key: str, fingerprint: int, n_docs: int) -> float:
    started = time.perf_counter()
    table = _docs_table(key)
    stemmer = STEMMERS.get(key, "none")
    stopwords = "english" if key == "en" else "none"
    title, body = _spaced("coalesce(title, '')"), _spaced("coalesce(body, '')")
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT article_id, {title} AS title, {body} AS body"
        f" FROM ({_indexed_articles()}) WHERE index_key = ?",
        [key],
    )
    con.execute(
        f"PRAGMA create_fts_index('{table}', 'article_id', 'title', 'body', stemmer = '{stemmer}',"
        f" stopwords = '{stopwords}', ignore = '{_TOKEN_GAP}', strip_accents = 1, lower = 1, overwrite = 1)"
    )
    seconds = time.perf_counter() - started
    con.execute(
        f"INSERT OR REPLACE INTO {_STATE_TABLE} VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)",
        [key, stemmer, n_docs, fingerprint, round(seconds, 3)],
    )
    return round(seconds, 3)


def _create_macros(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    """(Re)create search_hits and search_articles over the indexes that exist now."""
    branches = []
    for key in keys:
        schema = f"fts_main_{_docs_table(key)}"
        stemmer = STEMMERS.get(key, "none")
        # Words the index drops (stopwords) would make an all-words match impossible: drop them from the query too.
        terms = (
            f"(SELECT coalesce(string_agg(t, ' '), '') FROM unnest({schema}.tokenize({_spaced('q')})) AS u(t)"
            f" WHERE t <> ''" + (f" AND t NOT IN (SELECT sw FROM {schema}.stopwords)" if key == "en" else "") + ")"
        )
        branches.append(
            f"SELECT article_id AS text_id, score, '{key}' AS index_key, '{stemmer}' AS stemmer FROM ("
            f" SELECT article_id, {schema}.match_bm25(article_id, {terms}, conjunctive := all_words) AS score"
            f" FROM {_docs_table(key)}) WHERE score IS NOT NULL"
        )
    hits = " UNION ALL ".join(branches) or (
        "SELECT NULL::VARCHAR AS text_id, NULL::DOUBLE AS score, NULL::VARCHAR AS index_key,"
        " NULL::VARCHAR AS stemmer WHERE false"
    )
    con.execute(f"CREATE OR REPLACE TABLE {_MACROS_TABLE} AS SELECT {MACROS_VERSION} AS version")
    con.execute(f"CREATE OR REPLACE MACRO search_hits(q, all_words := 1) AS TABLE {hits}")
    # Phrases compare word sequences: lower case, one space between words, Han and kana spaced like the index.
    con.execute(
        f"CREATE OR REPLACE MACRO search_words(s) AS"
        f" ' ' || trim(regexp_replace(lower(strip_accents({_spaced('s')})), '{_TOKEN_GAP}', ' ', 'g')) || ' '"
    )
    # The snippet: the window of the body around the query word whose neighbourhood holds the most other
    # query words (the earliest on a tie), cut at word boundaries. Plain list expressions: a macro used per
    # result row cannot hold correlated subqueries.
    con.execute(
        f"""
        CREATE OR REPLACE MACRO search_match_positions(lowered, q, stemmer) AS
            list_sort(list_filter(list_transform(string_split_regex(lower(q), '{_TOKEN_GAP}'),
                t -> CASE WHEN length(t) < 2 THEN 0
                          WHEN instr(lowered, t) > 0 THEN instr(lowered, t)
                          ELSE instr(lowered, stem(t, stemmer)) END), p -> p > 0))
        """
    )
    con.execute(
        """
        CREATE OR REPLACE MACRO search_best_window(found, span) AS
            found[list_position(
                list_transform(found, p -> len(list_filter(found, x -> x >= p AND x < p + span))),
                list_max(list_transform(found, p -> len(list_filter(found, x -> x >= p AND x < p + span)))))]
        """
    )
    con.execute(
        r"""
        CREATE OR REPLACE MACRO search_cut(body, start, width) AS
            CASE WHEN start > 1 THEN '…' ELSE '' END
            || trim(regexp_replace(regexp_replace(regexp_replace(substr(body, start, width), '[\s\p{Z}]+', ' ', 'g'),
                    CASE WHEN start > 1 THEN '^\S*\s' ELSE '^' END, ''),
                    CASE WHEN length(body) >= start + width THEN '\s\S*$' ELSE '$' END, ''))
            || CASE WHEN length(body) >= start + width THEN '…' ELSE '' END
        """
    )
    con.execute(
        """
        CREATE OR REPLACE MACRO search_snippet(body, q, stemmer, width := 200) AS
            search_cut(body, greatest(1, coalesce(search_best_window(
                search_match_positions(lower(body), q, stemmer), width * 2 // 3), 1) - width // 3), width)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE MACRO search_articles(q, since := NULL, until := NULL, site := NULL, entity := NULL,
                                                language := NULL, phrases := NULL, exclude := NULL) AS TABLE
        WITH hits AS (
            SELECT * FROM search_hits(q)
        ), matched AS MATERIALIZED (
            -- every article takes its text's score: an identical copy shares its original's
            SELECT a.*, h.score, h.stemmer, coalesce(a.duplicate_of, a.article_id) AS story_id
            FROM articles a
            JOIN hits h ON h.text_id = CASE WHEN a.duplicate_kind = 'identical' THEN a.duplicate_of ELSE a.article_id END
            WHERE (since IS NULL OR a.published_on >= CAST(since AS DATE))
              AND (until IS NULL OR a.published_on <= CAST(until AS DATE))
              AND (site IS NULL OR a.site = site)
              AND (language IS NULL OR a.language = language)
              AND (entity IS NULL OR h.text_id IN (
                    SELECT m.article_id FROM entity_mentions m JOIN entities e USING (entity_id)
                    WHERE lower(e.name) = lower(entity) OR list_contains(list_transform(e.aliases, x -> lower(x)), lower(entity))))
        ), phrased AS (
            -- after the word match (a materialized step): only the few matching texts are compared
            SELECT * FROM matched
            WHERE (phrases IS NULL OR list_bool_and(list_transform(phrases,
                   p -> contains(search_words(coalesce(title, '') || ' ' || coalesce(body, '')), search_words(p)))))
              AND (exclude IS NULL OR NOT list_bool_or(list_transform(exclude,
                   w -> contains(search_words(coalesce(title, '') || ' ' || coalesce(body, '')), search_words(w)))))
        ), best AS (
            -- a story shows as its own article when that matched, else as its best-matching copy
            SELECT * REPLACE (max(score) OVER (PARTITION BY story_id) AS score) FROM phrased
            QUALIFY row_number() OVER (PARTITION BY story_id ORDER BY article_id = story_id DESC, score DESC, article_id) = 1
        ), story_sizes AS (
            SELECT coalesce(duplicate_of, article_id) AS story_id, count(*) AS copies FROM articles GROUP BY ALL
        )
        SELECT b.article_id, b.source_uri, b.url, b.title, b.published_at, b.site, b.language, round(b.score, 4) AS score,
               search_snippet(b.body, q, b.stemmer) AS snippet, s.copies, b.story_id
        FROM best b JOIN story_sizes s USING (story_id)
        ORDER BY b.score DESC, b.published_at DESC NULLS LAST, b.article_id
        """
    )
