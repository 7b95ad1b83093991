"""`newsflow worker` and `newsflow ingest-sharded`: the CLI of scaling out over the work pool `newsflow-pool`."""

from __future__ import annotations

import argparse
import os
import sys

from flows import settings
from flows.cli import EXIT_NOTHING, EXIT_OK, EXIT_PARTIAL, _run_flow, _run_options
from flows.listings import path_parameters


def add_parsers(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker",
        help="run shards of ingest-sharded runs: a worker of the process work pool newsflow-pool",
        description="Create the process work pool newsflow-pool and its ingest-shard deployment on the Prefect "
        "API at $PREFECT_API_URL when missing, then run `prefect worker start --pool newsflow-pool`: each shard "
        "run it picks up executes in a subprocess. Start one per machine or core; stop with Ctrl-C.",
    )
    worker.add_argument("--name", help="worker name shown in the UI (default: Prefect's)")
    worker.add_argument("--limit", type=int, default=1, metavar="N",
                        help="shard runs this worker executes at once (default 1)")
    worker.set_defaults(handler=_worker)

    sharded = commands.add_parser(
        "ingest-sharded",
        help="ingest a big stored corpus as shards on the work pool's workers",
        description="List the stored files under PATHs, cut them into shards and run each as an ingest-shard "
        "flow run on the work pool newsflow-pool (start workers with `newsflow worker`); a failed shard is "
        "submitted again. The warehouse should be a DuckLake, which takes many writers at once. Exit status as "
        "for ingest.",
    )
    sharded.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to ingest")
    _run_options(sharded, settings.DEFAULTS)
    sharded.add_argument("--shard-size", type=int, default=None, metavar="N", help="files per shard (default 2000)")
    sharded.add_argument("--batch-size", type=int, default=None, help="documents per batch/transaction (default 500)")
    sharded.set_defaults(handler=_ingest_sharded)


def _worker(args: argparse.Namespace) -> int:
    from flows.sharded import POOL, ensure_pool_and_deployment

    try:
        ensure_pool_and_deployment()
    except Exception as exc:
        print(f"newsflow worker: cannot set up pool {POOL} (is a Prefect API at $PREFECT_API_URL?): {exc}",
              file=sys.stderr)
        return EXIT_NOTHING
    command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
               "--limit", str(args.limit)]
    if args.name:
        command += ["--name", args.name]
    os.execv(sys.executable, command)
    return EXIT_OK  # not reached: the worker replaced this process


def _ingest_sharded(args: argparse.Namespace) -> int:
    from flows.sharded import DEFAULT_SHARD_SIZE

    with path_parameters(args.paths) as paths:
        summary = _run_flow(args, "flows.sharded", "ingest_sharded", "source:stored", dict(
            **paths, shard_size=args.shard_size or DEFAULT_SHARD_SIZE, batch_size=args.batch_size,
            workers=args.workers, entities=not args.no_entities,
        ))
    if summary is None or summary["n_seen"] == summary["n_failed"]:
        return EXIT_NOTHING
    return EXIT_PARTIAL if summary["n_failed"] else EXIT_OK
