"""Scaling out, measured: 1, 2 and 4 workers writing one DuckLake warehouse, and the same corpus into the file.

    .venv/bin/python bench/scale.py [--docs 10000] [--workers 1 2 4] [--entities both|no|yes]

Makes a corpus of distinct stored dumps (bench/ingest.py's: the seeds and the
fundus-eval renderings, 165 pages, each copy with a paragraph of its own; a
corpus made from the five seeds alone links every document to a fifth of the
table as near-duplicates, the worst case of story linking), then for each
worker count starts that many `ingest_stored` runs at once, each on its own share of the files (what `ingest_sharded`
hands the pool's workers), against a fresh DuckLake on the machine's
PostgreSQL; one run loads the whole corpus into a DuckDB file for
comparison. Each worker is one process cleaning in-process (`--workers 1`:
on 2 cores, more processes per worker only oversubscribe). Prints per
configuration: documents/s over the wall time, commit conflicts and retries,
mean time per write (a batch's SQL and its commit, or a run's own row) and
per batch commit (where a lake's snapshot enters the catalog), peak
memory per worker, and how many rows landed (each document exactly once).
A Prefect server (SQLite is enough for 4 clients) is started for the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def worker_main(args: argparse.Namespace) -> None:
    """One worker: an ingest_stored run over its file list, then its figures as one JSON line."""
    from flows.ingest_stored import ingest_stored
    from warehouse import backends

    started = time.perf_counter()
    summary = ingest_stored(paths_file=args.file_list, db=args.warehouse, batch_size=args.batch_size, workers=1,
                            entities=args.entities)
    print(json.dumps({
        "seconds": time.perf_counter() - started, "n_new": summary["n_new"], "n_seen": summary["n_seen"],
        "writes": backends.stats.writes, "conflicts": backends.stats.conflicts,
        "write_seconds": backends.stats.seconds, "commits": backends.stats.commits,
        "commit_seconds": backends.stats.commit_seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_configuration(files: list[str], warehouse: str, n_workers: int, entities: bool, batch_size: int,
                      env: dict, scratch: Path) -> dict:
    from flows.listings import write_listing

    shares = [files[i::n_workers] for i in range(n_workers)]
    procs = []
    started = time.perf_counter()
    for i, share in enumerate(shares):
        listing = write_listing(share, str(scratch))
        command = [sys.executable, __file__, "worker", "--warehouse", warehouse, "--file-list", str(listing),
                   "--batch-size", str(batch_size)] + (["--entities"] if entities else [])
        procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - started
    from warehouse import connection

    con = connection.connect(warehouse, read_only=True)
    rows, distinct, failed = con.execute(
        "SELECT count(*), count(DISTINCT article_id), (SELECT count(DISTINCT source_uri) FROM failures)"
        " FROM articles").fetchone()
    con.close()
    writes, commits = sum(r["writes"] for r in results), sum(r["commits"] for r in results)
    return {
        "workers": n_workers, "entities": entities, "docs": len(files), "wall_s": wall,
        "docs_per_s": len(files) / wall, "conflicts": sum(r["conflicts"] for r in results),
        "writes": writes, "ms_per_write": 1000 * sum(r["write_seconds"] for r in results) / max(writes, 1),
        "ms_per_commit": 1000 * sum(r["commit_seconds"] for r in results) / max(commits, 1),
        "peak_mb_per_worker": max(r["peak_mb"] for r in results), "rows": rows, "distinct": distinct, "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("worker")
    worker.add_argument("--warehouse", required=True)
    worker.add_argument("--file-list", required=True)
    worker.add_argument("--batch-size", type=int, default=500)
    worker.add_argument("--entities", action="store_true")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--entities", choices=("both", "no", "yes"), default="both")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-file", action="store_true", help="skip the DuckDB-file comparison")
    args = parser.parse_args()
    if args.command == "worker":
        worker_main(args)
        return

    from bench.ingest import build_corpus
    from extractors.stored_files import discover
    from flows.prefect_api import PrefectServer
    from tests.postgres import scratch_database

    scratch = Path(tempfile.mkdtemp(prefix="newsflow-scale-"))
    build_corpus(scratch / "corpus", args.docs)
    files = [str(p) for p in discover([scratch / "corpus"])]
    env = dict(os.environ, PREFECT_HOME=str(scratch / "prefect-home"), PREFECT_LOGGING_LEVEL="WARNING")
    server = PrefectServer("127.0.0.1", _free_port())
    os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
    server.start({})
    server.wait_ready(timeout=240)
    env["PREFECT_API_URL"] = server.api_url
    print(f"corpus: {len(files)} documents; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    header = ("| warehouse | workers | entities | docs/s | conflicts / writes | ms per write | ms per batch commit"
              " | peak MB per worker | rows (distinct) | failed |")
    print(header + "\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    modes = {"both": [False, True], "no": [False], "yes": [True]}[args.entities]
    try:
        for entities in modes:
            configurations = [("ducklake", n) for n in args.workers] + ([] if args.no_file else [("file", 1)])
            for kind, n_workers in configurations:
                with scratch_database("newsflow_scale") if kind == "ducklake" else nullcontext() as name:
                    if name:
                        warehouse = f"ducklake:postgres:dbname={name} host=127.0.0.1 user=postgres"
                        env["NEWSFLOW_DATA_PATH"] = str(scratch / f"{name}-data")
                    else:
                        warehouse = str(scratch / f"file-{uuid.uuid4().hex[:8]}.duckdb")
                    try:
                        os.environ.update({k: env[k] for k in ("NEWSFLOW_DATA_PATH",) if k in env})
                        from warehouse import connection

                        connection.connect(warehouse).close()  # created and migrated before the workers race
                        r = run_configuration(files, warehouse, n_workers, entities, args.batch_size, env, scratch)
                    finally:
                        if name:
                            from warehouse import backends

                            backends.forget_lakes()  # before the catalog database is dropped
                print(f"| {kind} | {n_workers} | {'yes' if entities else 'no'} | {r['docs_per_s']:.1f} |"
                      f" {r['conflicts']} / {r['writes']} | {r['ms_per_write']:.0f} | {r['ms_per_commit']:.0f} |"
                      f" {r['peak_mb_per_worker']:.0f} |"
                      f" {r['rows']} ({r['distinct']}) | {r['failed']} |", flush=True)
    finally:
        server.stop(grace=15)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end (2 cores; other work on the machine inflates times)")


if __name__ == "__main__":
    main()
