"""Flow `ingest_sharded`: a big stored corpus fanned out over the process work pool `newsflow-pool`.

The parent lists the input's files, cuts them into shards and starts each
shard as a run of the `ingest-shard` deployment (the `ingest_stored` flow)
on the pool, where whichever worker is free picks it up (`newsflow worker`,
or `prefect worker start --pool newsflow-pool`). The workers write one
warehouse at once, so it should be a DuckLake (`--warehouse ducklake:...`):
a DuckDB file takes one writer at a time, so its shards would wait in turn.
A shard whose run fails or crashes is submitted again, up to SHARD_ATTEMPTS
times, for the next free worker. The parent's own `ingest_runs` row adds up
its shards' counts and lists their Prefect flow run ids in
`shard_flow_run_ids`.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment

from extractors.stored_files import discover
from flows.listings import cut_within, parameter_budget, read_listing
from flows.stages import recorded_run
from warehouse import runs

POOL = "newsflow-pool"
SHARD_DEPLOYMENT_NAME = "ingest-shard"
SHARD_DEPLOYMENT = f"ingest_stored/{SHARD_DEPLOYMENT_NAME}"
DEFAULT_SHARD_SIZE = 2000
SHARD_ATTEMPTS = 3
POLL_SECONDS = 2.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def ensure_pool_and_deployment() -> None:
    """Create the process work pool and the shard deployment on the API when missing (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.deployments.runner import EntrypointType
    from prefect.exceptions import ObjectAlreadyExists

    from flows.ingest_stored import ingest_stored

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        except ObjectAlreadyExists:
            pass
    ingest_stored.to_deployment(
        name=SHARD_DEPLOYMENT_NAME, entrypoint_type=EntrypointType.MODULE_PATH,  # importable wherever a worker runs
        description="One shard of an ingest_sharded run: a list of stored files, run by a newsflow-pool worker.",
        job_variables={"working_dir": str(PROJECT_ROOT)},
        tags=["source:stored", "shard"],
    ).apply(work_pool_name=POOL)


@flow(name="ingest_sharded")
def ingest_sharded(
    paths: list[str],
    db: str | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    batch_size: int | None = None,
    workers: int | None = None,
    entities: bool = True,
    lock_wait: float | None = None,
    paths_file: str | None = None,
) -> dict:
    """Ingest stored files as shards of `shard_size` files run on the work pool's workers; returns the
    parent run's summary (the sum of its shards). `workers`: extraction processes in each shard run
    (default: one per core of the machine running it). A shard is cut shorter where its paths would not fit
    in a flow run's parameters. `paths_file`: a listing file of more inputs, one per line."""
    logger = get_run_logger()
    ensure_pool_and_deployment()
    files = [str(path.absolute()) for path in discover(read_listing(paths, paths_file))]
    shards = cut_within(files, shard_size, parameter_budget())
    with recorded_run("ingest_sharded", db, lock_wait) as record:
        parameters = {"db": record.warehouse.path, "entities": entities, "lock_wait": lock_wait, "workers": workers,
                      **({"batch_size": batch_size} if batch_size else {})}
        logger.info("%d files in %d shards of up to %d for pool %s", len(files), len(shards), shard_size, POOL)
        tries = _run_shards(shards, parameters)
        completed = [str(tried[-1].id) for tried in tries if tried[-1].state.is_completed()]
        every_try = [str(run.id) for tried in tries for run in tried]
        record.warehouse.write(lambda con: runs.gather_shards(con, record.run_id, completed, every_try))
        if len(completed) < len(shards):
            raise RuntimeError(f"{len(shards) - len(completed)} of {len(shards)} shards failed {SHARD_ATTEMPTS} times")
    return record.summary


def _run_shards(shards: list[list[str]], parameters: dict) -> list[list[FlowRun]]:
    """Submit every shard to the pool at once, then follow them; a shard that ends failed, crashed or
    cancelled is submitted again (up to SHARD_ATTEMPTS tries). Every try of each shard, in order."""
    from prefect.client.orchestration import get_client

    logger = get_run_logger()

    def submit(index: int) -> FlowRun:
        return run_deployment(SHARD_DEPLOYMENT, parameters={**parameters, "paths": shards[index]}, timeout=0,
                              flow_run_name=f"shard-{index}-try-{len(tries[index]) + 1}")

    tries: list[list[FlowRun]] = [[] for _ in shards]
    for index in range(len(shards)):
        tries[index].append(submit(index))
    with get_client(sync_client=True) as client:
        while True:
            following = [i for i, tried in enumerate(tries) if not tried[-1].state or not tried[-1].state.is_final()]
            if not following:
                return tries
            time.sleep(POLL_SECONDS)
            for index in following:
                run = tries[index][-1] = client.read_flow_run(tries[index][-1].id)
                if run.state.is_final() and not run.state.is_completed() and len(tries[index]) < SHARD_ATTEMPTS:
                    logger.warning("shard %d (%d files) ended %s on try %d; submitting it again",
                                   index, len(shards[index]), run.state.name, len(tries[index]))
                    tries[index].append(submit(index))
