"""Writing to the warehouse: runs, idempotent batch loads, failures.

Every batch lands in one transaction (articles, their cut furniture, their
line keys, failures and the run's counters together), so a run killed at
any point leaves whole batches or nothing, and a rerun finishes the job:
what landed is recognised by its content hash and skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
import contextlib
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd

from extractors.entity_resolution import KnownEntity, ResolvedMention, entity_id
from extractors.model import Article
from extractors.near_duplicates import StoryMember, matching_pairs, representative, signature_bands
from extractors.quotes import Quote
from warehouse.schema import migrate

DEFAULT_DB = "data/news.duckdb"

ARTICLE_COLUMNS = (
    "article_id", "source_uri", "url", "site", "title", "subtitle", "authors", "published_at",
    "section", "language", "body", "word_count", "content_hash", "duplicate_of", "extractor", "duplicate_kind",
)
DEFAULT_LOCK_WAIT = 300.0
"""Seconds a load waits for another process (a user's DuckDB shell, a notebook) to free the file."""
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True, slots=True)
class CleanedDocument:
    """A document whose text was extracted in this run, new or edited."""

    article_id: str
    source_uri: str
    content_hash: str
    article: Article
    is_new: bool
    line_keys: frozenset[str] = frozenset()
    entity_status: str | None = None
    """What the entity stage did ("done", "skipped: language xx"); None when it did not run."""
    mentions: tuple[ResolvedMention, ...] = ()
    quotes: tuple[Quote, ...] = ()
    signature: tuple[int, ...] = ()
    """MinHash of the body, for finding other copies of the story (see near_duplicates)."""


@dataclass(frozen=True, slots=True)
class DuplicateDocument:
    """A document whose text equals an article already extracted; it is linked, not cleaned."""

    article_id: str
    source_uri: str
    content_hash: str
    duplicate_of: str
    is_new: bool


@dataclass(frozen=True, slots=True)
class Failure:
    source_uri: str
    stage: str
    error: str


@dataclass(frozen=True, slots=True)
class SourceState:
    """What one fetch of a page, feed or sitemap taught us, for the next run's conditional request."""

    url: str
    """Canonical URL: the key, so URL variants share one row."""
    kind: str
    requested_url: str
    outcome: str
    """"fetched", "not_modified", "failed" or "disallowed"."""
    fetched_at: dt.datetime
    status: int | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    article_id: str | None = None
    discovered_from: str | None = None


class WarehouseLocked(RuntimeError):
    """Another process kept the warehouse file locked past the wait limit; nothing was written."""


@dataclass(slots=True)
class LoadBatch:
    """Everything one batch changes, loaded in one transaction."""

    cleaned: list[CleanedDocument] = field(default_factory=list)
    duplicates: list[DuplicateDocument] = field(default_factory=list)
    unchanged_ids: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    sources: list[SourceState] = field(default_factory=list)
    robots: dict[str, str] = field(default_factory=dict)
    """robots.txt texts fetched in this batch's run, by "scheme://host[:port]" ("" when there is none)."""
    n_not_modified: int = 0
    """Conditional requests answered 304 (feeds, sitemaps and pages)."""

    @property
    def n_new(self) -> int:
        return sum(d.is_new for d in (*self.cleaned, *self.duplicates))

    @property
    def n_updated(self) -> int:
        return len(self.cleaned) + len(self.duplicates) - self.n_new

    @property
    def n_seen(self) -> int:
        return len(self.cleaned) + len(self.duplicates) + len(self.unchanged_ids) + len(self.failures)

    @property
    def empty(self) -> bool:
        return not (self.n_seen or self.sources or self.robots or self.n_not_modified)


def default_db() -> str:
    """The warehouse file commands use when none is named: $NEWSFLOW_DB, else data/news.duckdb."""
    return os.environ.get("NEWSFLOW_DB") or DEFAULT_DB


def connect(path: str | os.PathLike, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file; a writable connection creates and migrates it."""
    path = Path(path)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}: run `newsflow ingest` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    migrate(con)
    return con


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A warehouse file and how long its users wait for it: what a flow passes to its stages."""

    path: str
    lock_wait: float = DEFAULT_LOCK_WAIT
    on_wait: Callable[[str], None] | None = None

    def writing(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return writing(self.path, self.lock_wait, self.on_wait)

    def reading(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return reading(self.path, self.lock_wait, self.on_wait)


def writing(
    path: str | os.PathLike, wait_seconds: float = DEFAULT_LOCK_WAIT, on_wait: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A write connection held for one short job (a batch's load), so other processes get turns."""
    return _held(path, False, wait_seconds, on_wait)


def reading(
    path: str | os.PathLike, wait_seconds: float = DEFAULT_LOCK_WAIT, on_wait: Callable[[str], None] | None = None
) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A read-only connection: it shares the file with other readers, never with a writer."""
    return _held(path, True, wait_seconds, on_wait)


@contextmanager
def _held(
    path: str | os.PathLike, read_only: bool, wait_seconds: float, on_wait: Callable[[str], None] | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_waiting(path, read_only=read_only, wait_seconds=wait_seconds, on_wait=on_wait)
    try:
        yield con
    finally:
        con.close()


def open_waiting(
    path: str | os.PathLike, read_only: bool, wait_seconds: float, on_wait: Callable[[str], None] | None = None
) -> duckdb.DuckDBPyConnection:
    """Connect, waiting with backoff while another process holds the file's lock.

    DuckDB admits one writing process, or any number of read-only ones, per
    file. `on_wait` hears who holds the lock (about every 10 s); past
    `wait_seconds` the wait ends in `WarehouseLocked`.
    """
    started = time.monotonic()
    delay, last_report = 0.05, None
    while True:
        try:
            return connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            holder = lock_holder(exc)
            waited = time.monotonic() - started
            if holder is None:
                raise
            if waited >= wait_seconds:
                raise WarehouseLocked(
                    f"warehouse {path} stayed locked by {holder} for {waited:.0f} s (limit {wait_seconds:g} s)"
                ) from exc
            if on_wait is not None and (last_report is None or waited - last_report >= 10):
                on_wait(f"warehouse {path} is locked by {holder}; waiting (up to {wait_seconds:g} s)")
                last_report = waited
            time.sleep(min(delay, wait_seconds - waited))
            delay = min(delay * 2, 2.0)


def lock_holder(error: Exception) -> str | None:
    """Who holds the file, from DuckDB's lock error ("python3.11 (PID 1234)"); None for other errors."""
    message = str(error)
    match = _LOCK_HOLDER.search(message)
    if match:
        return f"{Path(match['program']).name} (PID {match['pid']})"
    return "another process" if "Could not set lock" in message else None


def begin_run(con: duckdb.DuckDBPyConnection, flow_name: str, prefect_flow_run_id: str | None) -> str:
    """Record a new run; runs left 'running' by a dead process on this host become 'interrupted'."""
    hostname = socket.gethostname()
    for run_id, pid in con.execute(
        "SELECT run_id, pid FROM ingest_runs WHERE status = 'running' AND hostname = ?", [hostname]
    ).fetchall():
        if pid is None or not _process_alive(pid):
            con.execute(
                "UPDATE ingest_runs SET status = 'interrupted' WHERE run_id = ?", [run_id]
            )
    run_id = uuid.uuid4().hex
    con.execute(
        "INSERT INTO ingest_runs (run_id, flow_name, started_at, status, prefect_flow_run_id, pid, hostname)"
        " VALUES (?, ?, now()::TIMESTAMP, 'running', ?, ?, ?)",
        [run_id, flow_name, prefect_flow_run_id, os.getpid(), hostname],
    )
    return run_id


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str) -> dict:
    con.execute(
        "UPDATE ingest_runs SET status = ?, finished_at = now()::TIMESTAMP WHERE run_id = ?",
        [status, run_id],
    )
    return run_summary(con, run_id)


def run_summary(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    cursor = con.execute("SELECT * FROM ingest_runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def run_failures(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, str, str]]:
    """(source, stage, reason) of every input the run could not land."""
    return con.execute(
        "SELECT source_uri, stage, error FROM failures WHERE run_id = ? ORDER BY source_uri", [run_id]
    ).fetchall()


def source_states(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> dict[str, SourceState]:
    """The last fetch of each of these canonical URLs the warehouse remembers (validators, body hash, article)."""
    with _frames(con, wanted=pd.DataFrame({"url": _strings(urls)})):
        rows = con.execute(
            "SELECT url, kind, requested_url, last_outcome, last_fetched_at, last_status, last_error, etag,"
            " last_modified, body_hash, article_id, discovered_from FROM sources JOIN wanted USING (url)"
        ).fetchall()
    return {row[0]: SourceState(*row) for row in rows}


ROBOTS_MAX_AGE_HOURS = 24
"""How long a fetched robots.txt is trusted, as Google does: rules change rarely, requests add up."""


def recent_robots(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """robots.txt texts fetched within the last ROBOTS_MAX_AGE_HOURS, by "scheme://host[:port]"."""
    return dict(con.execute(
        "SELECT site, body FROM robots_txt WHERE fetched_at > now()::TIMESTAMP - to_hours(?)",
        [ROBOTS_MAX_AGE_HOURS],
    ).fetchall())


def ingested_urls(con: duckdb.DuckDBPyConnection, urls: Mapping[str, str]) -> set[str]:
    """Which of these canonical URLs (mapped to their article ids) already gave an article."""
    frame = pd.DataFrame({"url": _strings(urls), "article_id": _strings(urls.values())})
    with _frames(con, wanted=frame):
        return {url for (url,) in con.execute(
            "SELECT w.url FROM wanted w WHERE EXISTS (SELECT 1 FROM articles a WHERE a.article_id = w.article_id)"
            " OR EXISTS (SELECT 1 FROM sources s WHERE s.url = w.url AND s.article_id IS NOT NULL)"
        ).fetchall()}


def stored_hashes(con: duckdb.DuckDBPyConnection, article_ids: Iterable[str]) -> dict[str, str]:
    """Content hash of each of these articles the warehouse holds: the unchanged check, before cleaning."""
    with _frames(con, ids=pd.DataFrame({"article_id": _strings(article_ids)})):
        return dict(con.execute(
            "SELECT a.article_id, a.content_hash FROM articles a JOIN ids USING (article_id)"
        ).fetchall())


def originals_by_content(con: duckdb.DuckDBPyConnection, hashes: Iterable[str]) -> dict[str, str]:
    """For each content hash, the first article extracted from it (not an identical copy of another)."""
    with _frames(con, wanted=pd.DataFrame({"content_hash": list(set(hashes))})):
        rows = con.execute(
            "SELECT content_hash, arg_min(article_id, (first_seen_at, article_id)) FROM articles"
            " JOIN wanted USING (content_hash) WHERE duplicate_kind IS DISTINCT FROM 'identical'"
            " GROUP BY content_hash"
        ).fetchall()
    return dict(rows)


def known_entities(con: duckdb.DuckDBPyConnection) -> list[KnownEntity]:
    """Every stored entity, for new mentions to join: ids never change once given."""
    return [
        KnownEntity(key, name, label, n_mentions, n_articles)
        for key, name, label, n_mentions, n_articles in con.execute(
            "SELECT key, name, label, n_mentions, n_articles FROM entities"
        ).fetchall()
    ]


def recurring_line_keys(
    con: duckdb.DuckDBPyConnection, batch_lines: Mapping[str, frozenset[str]], min_docs: int
) -> frozenset[str]:
    """Line keys of this batch that occur in at least `min_docs` distinct stored documents.

    Counts every stored document once (`line_key_docs` keeps the counts, so
    this costs the batch's keys, not the corpus), with the batch's new
    versions replacing their stored ones.
    """
    batch_counts = Counter(key for keys in batch_lines.values() for key in keys)
    if not batch_counts:
        return frozenset()
    with _frames(con, keys=pd.DataFrame({"line_key": list(batch_counts)}),
                 ids=pd.DataFrame({"article_id": list(batch_lines)})):
        stored = dict(con.execute("SELECT line_key, n_docs FROM line_key_docs JOIN keys USING (line_key)").fetchall())
        replaced = Counter(
            key for (key,) in con.execute(
                "SELECT unnest(line_keys) FROM document_lines JOIN ids USING (article_id)"
            ).fetchall()
        )
    return frozenset(
        key for key, n in batch_counts.items() if stored.get(key, 0) - replaced[key] + n >= min_docs
    )


def load_batch(con: duckdb.DuckDBPyConnection, run_id: str, batch: LoadBatch) -> None:
    """Upsert one batch and bump the run's counters, all or nothing.

    What is new, edited or unchanged is settled again inside the transaction,
    so two overlapping runs that extracted the same documents never write
    them twice or count them twice: the second finds them landed.
    """
    con.begin()
    try:
        _settle_against_stored(con, batch)
        con.execute("CREATE OR REPLACE TEMP TABLE touched (entity_id VARCHAR)")
        if batch.cleaned:
            _upsert_cleaned(con, run_id, batch.cleaned)
            _link_near_duplicates(con, batch.cleaned)
        if batch.duplicates:
            _upsert_duplicates(con, run_id, batch.duplicates)
        if batch.unchanged_ids:
            with _frames(con, seen=pd.DataFrame({"article_id": batch.unchanged_ids})):
                con.execute(
                    "UPDATE articles SET last_seen_at = now()::TIMESTAMP"
                    " WHERE article_id IN (SELECT article_id FROM seen)"
                )
        if batch.failures:
            failed = pd.DataFrame(
                [(run_id, f.source_uri, f.stage, f.error) for f in batch.failures],
                columns=["run_id", "source_uri", "stage", "error"],
            )
            with _frames(con, failed=failed):
                con.execute("INSERT INTO failures SELECT *, now()::TIMESTAMP FROM failed")
        if batch.sources:
            _upsert_sources(con, batch.sources)
        if batch.robots:
            robots = pd.DataFrame({"site": _strings(batch.robots), "body": _strings(batch.robots.values())})
            with _frames(con, robots=robots):
                con.execute(
                    "INSERT INTO robots_txt SELECT site, body, now()::TIMESTAMP FROM robots ON CONFLICT (site)"
                    " DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at"
                )
        con.execute(
            """
            UPDATE ingest_runs SET n_seen = n_seen + ?, n_new = n_new + ?, n_updated = n_updated + ?,
                   n_unchanged = n_unchanged + ?, n_failed = n_failed + ?, n_duplicates = n_duplicates + ?,
                   n_not_modified = n_not_modified + ?
            WHERE run_id = ?
            """,
            [batch.n_seen, batch.n_new, batch.n_updated, len(batch.unchanged_ids),
             len(batch.failures), len(batch.duplicates), batch.n_not_modified, run_id],
        )
        _recount_touched_entities(con)
        con.execute("DROP TABLE touched")
        con.commit()
    except Exception:
        con.rollback()
        raise


def _settle_against_stored(con: duckdb.DuckDBPyConnection, batch: LoadBatch) -> None:
    """Re-decide new / edited / unchanged from what the file holds now (another run may have landed some)."""
    docs = [*batch.cleaned, *batch.duplicates]
    if not docs:
        return
    stored = stored_hashes(con, [d.article_id for d in docs])

    def settle(documents: list) -> list:
        kept = []
        for doc in documents:
            if doc.article_id in stored and stored[doc.article_id] == doc.content_hash:
                batch.unchanged_ids.append(doc.article_id)
            else:
                is_new = doc.article_id not in stored
                kept.append(doc if doc.is_new == is_new else replace(doc, is_new=is_new))
        return kept

    batch.cleaned = settle(batch.cleaned)
    batch.duplicates = settle(batch.duplicates)


def _upsert_cleaned(con: duckdb.DuckDBPyConnection, run_id: str, cleaned: list[CleanedDocument]) -> None:
    rows = pd.DataFrame(
        [
            (
                doc.article_id, doc.source_uri, a.url, a.site, a.title, a.subtitle, list(a.authors),
                a.published_at, a.section, a.language, a.body, len(a.body.split()), doc.content_hash,
                None, a.extractor, None,
            )
            for doc in cleaned
            for a in (doc.article,)
        ],
        columns=list(ARTICLE_COLUMNS),
    )
    rows["published_at"] = pd.to_datetime(rows["published_at"])
    rows["duplicate_of"] = rows["duplicate_of"].astype("string")
    rows["duplicate_kind"] = rows["duplicate_kind"].astype("string")
    # Column-wise construction: pandas infers nothing per row, which matters at 100k+ rows a batch.
    segments = pd.DataFrame({
        "article_id": [doc.article_id for doc in cleaned for _ in doc.article.cut],
        "position": pd.array([s.position for doc in cleaned for s in doc.article.cut], dtype="int32"),
        "text": [s.text for doc in cleaned for s in doc.article.cut],
        "reason": [s.reason for doc in cleaned for s in doc.article.cut],
    })
    lines = pd.DataFrame({
        "article_id": [doc.article_id for doc in cleaned if doc.line_keys],
        "line_keys": [sorted(doc.line_keys) for doc in cleaned if doc.line_keys],
    })
    rewritten = pd.DataFrame({"article_id": _strings(doc.article_id for doc in cleaned if not doc.is_new)})
    with _frames(con, rows=rows, segments=segments, lines=lines, rewritten=rewritten):
        _upsert_articles(con, run_id, "rows")
        if not rewritten.empty:
            _forget_children(con, "rewritten")
        con.execute("INSERT INTO boilerplate_segments SELECT * FROM segments")
        _insert_entities(con, [doc for doc in cleaned if doc.entity_status is not None])
        if not lines.empty:
            con.execute("INSERT INTO document_lines SELECT * FROM lines")
            con.execute(
                """
                INSERT INTO line_key_docs
                SELECT line_key, count(*) FROM (SELECT unnest(line_keys) AS line_key FROM lines) GROUP BY ALL
                ON CONFLICT (line_key) DO UPDATE SET n_docs = n_docs + excluded.n_docs
                """
            )


def _upsert_duplicates(con: duckdb.DuckDBPyConnection, run_id: str, duplicates: list[DuplicateDocument]) -> None:
    """A duplicate gets its own row with the original's extracted fields, not a second cleaning.

    It links to the original's story (the original may itself be a near copy of an earlier one).
    """
    links = pd.DataFrame(
        [(d.article_id, d.source_uri, d.content_hash, d.duplicate_of) for d in duplicates],
        columns=["article_id", "source_uri", "content_hash", "duplicate_of"],
    )
    own = {"article_id": "l.article_id", "source_uri": "l.source_uri", "content_hash": "l.content_hash",
           "duplicate_of": "coalesce(o.duplicate_of, o.article_id)", "duplicate_kind": "'identical'"}
    copied = ", ".join(f"{own.get(c, 'o.' + c)} AS {c}" for c in ARTICLE_COLUMNS)
    with _frames(con, links=links):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE duplicate_rows AS SELECT {copied}"
            " FROM links l JOIN articles o ON o.article_id = l.duplicate_of"
        )
    _forget_children(con, "duplicate_rows")
    _upsert_articles(con, run_id, "duplicate_rows")
    con.execute("DROP TABLE duplicate_rows")


def _link_near_duplicates(con: duckdb.DuckDBPyConnection, cleaned: list[CleanedDocument]) -> None:
    """Store the batch's story signatures and link copies of one story to its earliest article.

    Candidates share an LSH band with a stored or batch article and are kept
    when their MinHash similarity reaches the threshold. Each match stands
    for its whole story, so stories merge; the representative is the
    earliest article (by publication, then id), whatever order runs and
    batches brought them in.
    """
    signed = [d for d in cleaned if d.signature]
    if not signed:
        return
    signatures = {d.article_id: d.signature for d in signed}
    bands = [(key, d.article_id) for d in signed for key in signature_bands(d.signature)]
    frames = {
        "new_signatures": pd.DataFrame({"article_id": _strings(signatures),
                                        "minhash": [list(sig) for sig in signatures.values()]}),
        "new_bands": pd.DataFrame({"band_key": pd.array([k for k, _ in bands], dtype="int64"),
                                   "article_id": _strings(a for _, a in bands)}),
    }
    with _frames(con, **frames):
        con.execute("INSERT INTO story_signatures SELECT article_id, minhash::UINTEGER[] FROM new_signatures")
        con.execute("INSERT INTO story_bands SELECT band_key, article_id FROM new_bands")
        candidates = con.execute(
            "SELECT DISTINCT n.article_id, s.article_id FROM new_bands n JOIN story_bands s USING (band_key)"
            " WHERE s.article_id <> n.article_id"
        ).fetchall()
    if not candidates:
        return
    others = pd.DataFrame({"article_id": _strings({b for _, b in candidates} - signatures.keys())})
    with _frames(con, others=others):
        signatures.update(con.execute(
            "SELECT article_id, minhash FROM story_signatures JOIN others USING (article_id)"
        ).fetchall())
    matches = matching_pairs(candidates, signatures)
    if not matches:
        return
    involved = pd.DataFrame({"article_id": _strings({x for pair in matches for x in pair})})
    with _frames(con, involved=involved):
        story_of = dict(con.execute(
            "SELECT article_id, coalesce(duplicate_of, article_id) FROM articles JOIN involved USING (article_id)"
        ).fetchall())
    stories = _merged_stories((story_of[a], story_of[b]) for a, b in matches)
    heads = pd.DataFrame({"article_id": _strings(story for group in stories for story in group)})
    with _frames(con, heads=heads):
        published = dict(con.execute(
            "SELECT article_id, published_at FROM articles JOIN heads USING (article_id)"
        ).fetchall())
    moves = [(story, head) for group in stories
             for head in [representative([StoryMember(story, published.get(story)) for story in group])]
             for story in sorted(group - {head})]
    frame = pd.DataFrame({"story": _strings(s for s, _ in moves), "head": _strings(h for _, h in moves)})
    with _frames(con, moves=frame):
        con.execute(
            "UPDATE articles SET duplicate_of = m.head,"
            " duplicate_kind = CASE WHEN articles.article_id = m.story THEN 'near' ELSE articles.duplicate_kind END"
            " FROM moves m WHERE articles.article_id = m.story OR articles.duplicate_of = m.story"
        )
        con.execute(  # their entities now share stories: recount them at commit
            "INSERT INTO touched SELECT DISTINCT m.entity_id FROM entity_mentions m JOIN articles a USING (article_id)"
            " WHERE a.duplicate_of IN (SELECT head FROM moves) OR a.article_id IN (SELECT head FROM moves)"
        )


def _merged_stories(links: Iterable[tuple[str, str]]) -> list[set[str]]:
    """Connected groups of story ids (union-find), so A~B and B~C make one story."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, set[str]] = {}
    for x in list(parent):
        groups.setdefault(root(x), set()).add(x)
    return [g for g in groups.values() if len(g) > 1]


def _upsert_sources(con: duckdb.DuckDBPyConnection, sources: list[SourceState]) -> None:
    """Remember each fetch: validators for the next conditional request, status, failure streak."""
    latest = {s.url: s for s in sources}  # one row per URL: the batch's last fetch of it wins
    frame = pd.DataFrame({
        "url": _strings(latest),
        "kind": _strings(s.kind for s in latest.values()),
        "requested_url": _strings(s.requested_url for s in latest.values()),
        "discovered_from": _strings(s.discovered_from for s in latest.values()),
        "article_id": _strings(s.article_id for s in latest.values()),
        "etag": _strings(s.etag for s in latest.values()),
        "last_modified": _strings(s.last_modified for s in latest.values()),
        "body_hash": _strings(s.body_hash for s in latest.values()),
        "last_status": pd.array([s.status for s in latest.values()], dtype="Int32"),
        "last_outcome": _strings(s.outcome for s in latest.values()),
        "last_error": _strings(s.error for s in latest.values()),
        "last_fetched_at": pd.to_datetime([s.fetched_at for s in latest.values()]),
    })
    with _frames(con, fetched=frame):
        con.execute(
            """
            INSERT INTO sources
            SELECT url, kind, requested_url, discovered_from, article_id, etag, last_modified, body_hash,
                   last_status, last_outcome, last_error, last_fetched_at,
                   CASE WHEN last_outcome = 'fetched' THEN last_fetched_at END,
                   CASE WHEN last_outcome = 'failed' THEN 1 ELSE 0 END, last_fetched_at
            FROM fetched
            ON CONFLICT (url) DO UPDATE SET
                kind = excluded.kind, requested_url = excluded.requested_url,
                discovered_from = coalesce(excluded.discovered_from, discovered_from),
                article_id = coalesce(excluded.article_id, article_id),
                etag = CASE WHEN excluded.last_outcome = 'fetched' THEN excluded.etag ELSE etag END,
                last_modified = CASE WHEN excluded.last_outcome = 'fetched'
                                     THEN excluded.last_modified ELSE last_modified END,
                body_hash = CASE WHEN excluded.last_outcome = 'fetched' THEN excluded.body_hash ELSE body_hash END,
                last_changed_at = CASE WHEN excluded.last_outcome = 'fetched'
                                            AND excluded.body_hash IS DISTINCT FROM body_hash
                                       THEN excluded.last_fetched_at ELSE last_changed_at END,
                last_status = excluded.last_status, last_outcome = excluded.last_outcome,
                last_error = excluded.last_error, last_fetched_at = excluded.last_fetched_at,
                consecutive_failures = CASE WHEN excluded.last_outcome = 'failed'
                                            THEN consecutive_failures + 1 ELSE 0 END
            """
        )


def _insert_entities(con: duckdb.DuckDBPyConnection, docs: list[CleanedDocument]) -> None:
    """Add the batch's mentions, quotes and new entities; the entities they touch are recounted at commit."""
    if not docs:
        return
    mentions = [(d.article_id, m) for d in docs for m in d.mentions]
    quotes = [(d.article_id, q) for d in docs for q in d.quotes]
    entities = sorted({(m.entity_id, m.key, m.name, m.label) for _, m in mentions})
    frames = {
        "ran": pd.DataFrame({"article_id": _strings(d.article_id for d in docs),
                             "status": _strings(d.entity_status for d in docs)}),
        "new_mentions": pd.DataFrame({
            "article_id": _strings(aid for aid, _ in mentions),
            "entity_id": _strings(m.entity_id for _, m in mentions),
            "text": _strings(m.text for _, m in mentions),
            "label": _strings(m.label for _, m in mentions),
            "raw_label": _strings(m.raw_label for _, m in mentions),
            "start_char": pd.array([m.start_char for _, m in mentions], dtype="int32"),
            "end_char": pd.array([m.end_char for _, m in mentions], dtype="int32"),
            "in_title": pd.array([m.in_title for _, m in mentions], dtype="bool"),
        }),
        "new_entities": pd.DataFrame({
            name: _strings(e[i] for e in entities) for i, name in enumerate(["entity_id", "key", "name", "label"])
        }),
        "new_quotes": pd.DataFrame({
            "article_id": _strings(aid for aid, _ in quotes),
            "quote": _strings(q.quote for _, q in quotes),
            "speaker": _strings(q.speaker for _, q in quotes),
            "speaker_entity_id": _strings(entity_id(q.speaker_key) if q.speaker_key else None for _, q in quotes),
            "start_char": pd.array([q.start_char for _, q in quotes], dtype="int32"),
            "end_char": pd.array([q.end_char for _, q in quotes], dtype="int32"),
        }),
    }
    with _frames(con, **frames):
        con.execute("INSERT INTO touched SELECT DISTINCT entity_id FROM new_mentions")
        con.execute("INSERT INTO entity_mentions SELECT * FROM new_mentions")
        con.execute("INSERT INTO quotes SELECT * FROM new_quotes")
        con.execute("INSERT INTO entity_runs SELECT * FROM ran")
        con.execute(
            "INSERT INTO entities SELECT entity_id, key, name, label, [], 0, 0, 0 FROM new_entities"
            " ON CONFLICT (entity_id) DO NOTHING"
        )


def _recount_touched_entities(con: duckdb.DuckDBPyConnection) -> None:
    """Counts, aliases and label vote of every entity whose mentions (or their stories) this transaction changed.

    `n_stories` counts each story once: near copies of one wire story are one story, not several.
    """
    con.execute(
        """
        UPDATE entities SET n_mentions = coalesce(s.n_mentions, 0), n_articles = coalesce(s.n_articles, 0),
               n_stories = coalesce(s.n_stories, 0), aliases = coalesce(s.aliases, []),
               label = coalesce(s.label, entities.label)
        FROM (SELECT DISTINCT entity_id FROM touched) t LEFT JOIN (
            SELECT m.entity_id, count(*) AS n_mentions, count(DISTINCT m.article_id) AS n_articles,
                   count(DISTINCT coalesce(a.duplicate_of, m.article_id)) AS n_stories,
                   list(DISTINCT m.text ORDER BY m.text) AS aliases, mode(m.label) AS label
            FROM entity_mentions m JOIN articles a USING (article_id)
            WHERE m.entity_id IN (SELECT entity_id FROM touched) GROUP BY m.entity_id
        ) s USING (entity_id)
        WHERE entities.entity_id = t.entity_id
        """
    )


def _forget_children(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Drop everything derived from articles about to be rewritten: audit segments, line keys
    (uncounted), mentions (their entities marked for a recount), quotes, entity runs and story signatures."""
    con.execute(
        f"INSERT INTO touched SELECT DISTINCT entity_id FROM entity_mentions"
        f" WHERE article_id IN (SELECT article_id FROM {relation})"
    )
    con.execute(
        f"""
        UPDATE line_key_docs SET n_docs = n_docs - old.n
        FROM (SELECT line_key, count(*) AS n FROM (
                SELECT unnest(line_keys) AS line_key FROM document_lines
                WHERE article_id IN (SELECT article_id FROM {relation})) GROUP BY ALL) AS old
        WHERE line_key_docs.line_key = old.line_key
        """
    )
    for table in ("boilerplate_segments", "document_lines", "entity_mentions", "quotes", "entity_runs",
                  "story_signatures", "story_bands"):
        con.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM {relation})")


def _upsert_articles(con: duckdb.DuckDBPyConnection, run_id: str, relation: str) -> None:
    columns = ", ".join(ARTICLE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ARTICLE_COLUMNS if c != "article_id")
    con.execute(
        f"""
        INSERT INTO articles ({columns}, first_seen_at, last_seen_at, updated_at, run_id)
        SELECT {columns}, now()::TIMESTAMP, now()::TIMESTAMP, now()::TIMESTAMP, ? FROM {relation}
        ON CONFLICT (article_id) DO UPDATE SET {updates},
            last_seen_at = excluded.last_seen_at, updated_at = excluded.updated_at, run_id = excluded.run_id
        """,
        [run_id],
    )


def _strings(values: Iterable[str | None]) -> pd.api.extensions.ExtensionArray:
    """A string column that stays VARCHAR in DuckDB even when empty or all NULL."""
    return pd.array(list(values), dtype="string")


@contextmanager
def _frames(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame) -> Iterator[None]:
    """Expose DataFrames to SQL by name for one statement group (bulk loads, no row loops)."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield
    finally:
        for name in frames:
            con.unregister(name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
