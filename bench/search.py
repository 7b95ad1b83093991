"""Search latency and index upkeep cost at two corpus sizes.

For each size it builds a warehouse of real-text articles (tests/search_corpus.py: paragraphs of the
fundus-eval bodies, planted articles in four languages, a story with copies), then measures:

- full build: every language's index from scratch (`refresh_index(force=True)`);
- upkeep after a run that added 10 articles (the English index is rebuilt: fts cannot update in place);
- upkeep after a run that changed nothing (a read-only fingerprint, no write lock);
- search latency on a read-only connection: the first query of a fresh connection (extension load
  included) and the median / 95th percentile of 60 queries of six kinds (two words, a rare word, a common
  word, a phrase, an exclusion, with date and site filters);
- the size of the warehouse file with and without the index.

    .venv/bin/python bench/search.py [--sizes 2000 10000]

Figures vary with the load on the machine (2 cores shared): `uptime` is printed with them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import duckdb  # noqa: E402

from search_corpus import _cleaned, build_corpus, paragraphs  # noqa: E402
from warehouse import connection, runs, search  # noqa: E402
from warehouse.load import load_batch  # noqa: E402
from warehouse.records import LoadBatch  # noqa: E402

QUERIES = [
    ("two words", "minerals deal", {}),
    ("rare word", "Kolwezi", {}),
    ("common word", "said", {}),
    ("phrase", '"the White House"', {}),
    ("exclusion", "election -Trump", {}),
    ("filters", "president", {"since": "2025-05-01", "until": "2025-05-20", "site": "www.ledger.example"}),
]


def _added_run(db: Path, n: int) -> None:
    import random

    from search_corpus import _article

    rng, pool = random.Random(99), paragraphs()
    docs = [_cleaned(f"bench://added/{i}", _article(rng, pool, 100_000 + i)) for i in range(n)]
    with connection.writing(db) as con:
        run_id = runs.begin_run(con, "bench_added", None)
        load_batch(con, run_id, LoadBatch(cleaned=docs))
        runs.finish_run(con, run_id, "completed")


def _file_mb(db: Path) -> float:
    return db.stat().st_size / 2**20


def measure(size: int, folder: Path) -> dict:
    db = folder / f"corpus-{size}.duckdb"
    started = time.perf_counter()
    build_corpus(db, size)
    built = time.perf_counter() - started
    with connection.writing(db) as con:
        full = search.refresh_index(con, force=True)
    with_index = _file_mb(db)

    _added_run(db, 10)
    with connection.writing(db) as con:
        after_run = search.refresh_index(con)
    started = time.perf_counter()
    with connection.reading(db) as con:
        search.load_fts(con)
        stale = search.stale_indexes(con)
    unchanged_check = time.perf_counter() - started
    assert not stale

    started = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as con:
        search.load_fts(con)
        search.search(con, "minerals deal").fetchall()
    first = time.perf_counter() - started
    timings: dict[str, list[float]] = {kind: [] for kind, _, _ in QUERIES}
    with duckdb.connect(str(db), read_only=True) as con:
        search.load_fts(con)
        for _ in range(10):
            for kind, query, filters in QUERIES:
                started = time.perf_counter()
                search.search(con, query, **filters).fetchall()
                timings[kind].append(time.perf_counter() - started)

    bare = folder / f"bare-{size}.duckdb"
    shutil.copy(db, bare)
    with duckdb.connect(str(bare)) as con:
        search.load_fts(con)
        for key in search.stale_indexes(con) or [r[0] for r in con.execute("SELECT index_key FROM search_index_state").fetchall()]:
            con.execute(f"PRAGMA drop_fts_index('search_docs_{key}')")
            con.execute(f"DROP TABLE search_docs_{key}")
        con.execute("CHECKPOINT")
    without_index = _file_mb(bare)
    every = [t for values in timings.values() for t in values]
    return {
        "size": size, "corpus_build": built, "full": full, "after_run": after_run, "unchanged_check": unchanged_check,
        "first": first, "timings": timings, "median": statistics.median(every),
        "p95": statistics.quantiles(every, n=20)[-1], "with_index": with_index, "without_index": without_index,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} (1, 5, 15 min) on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="newsflow-bench-search-") as tmp:
        results = [measure(size, Path(tmp)) for size in args.sizes]
    print(f"\n{'articles':>28}" + "".join(f"{r['size']:>12,}" for r in results))
    rows = [
        ("full index build, s", [r["full"].seconds for r in results]),
        ("  of which English, s", [r["full"].rebuilt["en"][1] for r in results]),
        ("upkeep, run added 10, s", [r["after_run"].seconds for r in results]),
        ("upkeep, nothing changed, s", [r["unchanged_check"] for r in results]),
        ("first query (incl. LOAD), s", [r["first"] for r in results]),
        ("query median, s", [r["median"] for r in results]),
        ("query p95, s", [r["p95"] for r in results]),
    ]
    rows += [(f"  {kind}, median s", [statistics.median(r["timings"][kind]) for r in results]) for kind, _, _ in QUERIES]
    rows += [
        ("file with index, MiB", [r["with_index"] for r in results]),
        ("file without index, MiB", [r["without_index"] for r in results]),
    ]
    for label, values in rows:
        print(f"{label:>28}" + "".join(f"{v:>12.3f}" for v in values))
    builds = ", ".join(f"{r['corpus_build']:.0f} s" for r in results)
    print(f"rebuilt after the run: {', '.join(results[-1]['after_run'].rebuilt)} (corpus build, not timed above: {builds})")
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")


if __name__ == "__main__":
    main()
