"""Scaling out: a Prefect server on PostgreSQL, the process work pool with two workers, one DuckLake, and
politeness that holds across workers.

Everything is real and local: the server is `prefect server start` on a
scratch PostgreSQL database (what `newsflow serve --database` starts), the
workers are `newsflow worker` processes, each shard a flow-run subprocess;
fetching workers are `newsflow fetch` processes against one 127.0.0.1 server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from postgres import scratch_database
from run_output import run_at_once

from flows.prefect_api import PrefectServer
from test_cli import NEWSFLOW, ROOT, _varied_corpus
from test_ducklake import _check_exactly_once, _lake_rows, lake  # noqa: F401  (the `lake` fixture)
from test_fetching import CLOCK_TOLERANCE, HTML, PAGE, _senders
from warehouse import connection


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_prefect(tmp_path, monkeypatch) -> Iterator[str]:
    """A Prefect API whose database is a scratch PostgreSQL database; its URL."""
    with scratch_database("newsflow_prefect") as name:
        monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
        server = PrefectServer("127.0.0.1", _free_port())
        try:
            server.start({})
            server.wait_ready(timeout=240)
            yield server.api_url
        finally:
            server.stop(grace=15)


def test_a_sharded_run_over_two_workers_lands_the_sum_of_its_shards(tmp_path, lake, postgres_prefect):
    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 16)
    env = dict(os.environ, PREFECT_API_URL=postgres_prefect, PREFECT_WORKER_QUERY_SECONDS="1",
               PREFECT_LOGGING_LEVEL="INFO")
    env.pop("PREFECT_API_DATABASE_CONNECTION_URL")  # the clients talk to the API, never to its database
    workers = [subprocess.Popen(NEWSFLOW + ["worker", "--name", f"worker-{i}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
               for i in range(2)]
    try:
        parent = subprocess.run(
            NEWSFLOW + ["ingest-sharded", str(corpus), "--warehouse", lake, "--shard-size", "8", "--batch-size", "4",
                        "--no-entities", "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )
    finally:
        for worker in workers:
            os.killpg(worker.pid, 2)  # Ctrl-C: the worker stops polling and exits
        logs = [worker.communicate(timeout=60)[0] for worker in workers]
    assert parent.returncode == 0, parent.stderr[-4000:]
    summary = json.loads(parent.stdout)
    assert (summary["status"], summary["n_seen"], summary["n_new"], summary["n_failed"]) == ("completed", 16, 16, 0)

    shards = _lake_rows(lake, "SELECT flow_name, status, n_seen, n_new, prefect_flow_run_id FROM ingest_runs"
                              " WHERE flow_name = 'ingest_stored' ORDER BY prefect_flow_run_id")
    (links,), = _lake_rows(lake, "SELECT shard_flow_run_ids FROM ingest_runs WHERE flow_name = 'ingest_sharded'")
    assert sorted(links) == [run_id for *_, run_id in shards] and len(shards) == 2
    assert [row[1:4] for row in shards] == [("completed", 8, 8)] * 2
    _check_exactly_once(lake, 16)
    assert all("Submitting flow run" in log or "submitting flow run" in log.lower() for log in logs), \
        [log[-2000:] for log in logs]


def test_many_workers_reporting_at_once_to_the_postgresql_backed_server_get_no_server_errors(postgres_prefect):
    """Eight clients at once make the calls a worker and its flow runs make (heartbeat, poll, create a run,
    move it through its states, send logs), twenty rounds each, on their own connections; the raw
    statuses are kept, since Prefect's own client retries a 5xx out of sight."""
    import asyncio
    import datetime as dt

    import httpx

    statuses: list[int] = []

    async def call(client: httpx.AsyncClient, path: str, body: object) -> dict | list:
        response = await client.post(path, json=body)
        statuses.append(response.status_code)
        return response.json() if response.status_code < 300 and response.content else {}

    async def worker(n: int, flow_id: str) -> None:
        async with httpx.AsyncClient(base_url=postgres_prefect + "/", timeout=60) as client:
            for round_ in range(20):
                await call(client, "work_pools/load-pool/workers/heartbeat", {"name": f"worker-{n}"})
                await call(client, "work_pools/load-pool/get_scheduled_flow_runs", {})
                run = await call(client, "flow_runs/", {"flow_id": flow_id, "name": f"load-{n}-{round_}",
                                                        "state": {"type": "PENDING"}})
                for state in ("RUNNING", "COMPLETED"):
                    await call(client, f"flow_runs/{run['id']}/set_state", {"state": {"type": state}})
                now = dt.datetime.now(dt.UTC).isoformat()
                await call(client, "logs/", [{"name": "load", "level": 20, "message": f"batch {i} loaded",
                                              "timestamp": now, "flow_run_id": run["id"]} for i in range(5)])

    async def load() -> None:
        async with httpx.AsyncClient(base_url=postgres_prefect + "/", timeout=60) as client:
            await call(client, "work_pools/", {"name": "load-pool", "type": "process"})
            flow = await call(client, "flows/", {"name": "load-test"})
        await asyncio.gather(*(worker(n, flow["id"]) for n in range(8)))

    asyncio.run(load())
    assert len(statuses) == 2 + 8 * 20 * 6
    assert [s for s in statuses if s >= 500] == []
    assert all(200 <= s < 300 for s in statuses), sorted(set(statuses))


def _children(pid: int) -> list[int]:
    return [int(child) for task in os.listdir(f"/proc/{pid}/task")
            for child in open(f"/proc/{pid}/task/{task}/children").read().split()]


def test_a_shard_whose_worker_dies_is_retried_on_another_worker(tmp_path, lake, postgres_prefect):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    corpus = tmp_path / "corpus"
    _varied_corpus(corpus, 12)
    connection.connect(lake).close()  # created and migrated, so this test can watch it
    env = dict(os.environ, PREFECT_API_URL=postgres_prefect, PREFECT_WORKER_QUERY_SECONDS="1",
               PREFECT_LOGGING_LEVEL="INFO")
    env.pop("PREFECT_API_DATABASE_CONNECTION_URL")
    workers = [subprocess.Popen(NEWSFLOW + ["worker", "--name", f"worker-{i}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
               for i in range(2)]
    logs: list[list[str]] = [[], []]
    readers = [threading.Thread(target=lambda w=w, log=log: log.extend(iter(w.stdout.readline, "")), daemon=True)
               for w, log in zip(workers, logs)]
    for reader in readers:
        reader.start()
    parent = subprocess.Popen(
        NEWSFLOW + ["ingest-sharded", str(corpus), "--warehouse", lake, "--shard-size", "12", "--batch-size", "3",
                    "--workers", "1", "--no-entities", "--json"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not _lake_rows(lake, "SELECT count(*) FROM ingest_runs WHERE flow_name = 'ingest_stored'")[0][0]:
            assert time.monotonic() < deadline and parent.poll() is None, "the shard never started"
            time.sleep(0.5)
        (dying,) = [i for i, worker in enumerate(workers) if _children(worker.pid)]
        for child in _children(workers[dying].pid):
            os.kill(child, signal.SIGKILL)  # the shard's flow-run process dies mid-run
        while not any("as crashed" in line for line in logs[dying]):  # its worker reports it crashed...
            assert time.monotonic() < deadline, "".join(logs[dying])[-3000:]
            time.sleep(0.1)
        os.kill(workers[dying].pid, signal.SIGINT)  # ...and leaves the pool before the retry is submitted
        out, err = parent.communicate(timeout=400)
    finally:
        parent.kill()
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGINT)
        for worker in workers:
            worker.wait(timeout=60)
    assert parent.returncode == 0, err[-4000:]
    summary = json.loads(out)
    assert (summary["status"], summary["n_seen"], summary["n_failed"]) == ("completed", 12, 0)
    _check_exactly_once(lake, 12)

    (tries,), = _lake_rows(lake, "SELECT shard_flow_run_ids FROM ingest_runs WHERE flow_name = 'ingest_sharded'")
    with temporary_settings({PREFECT_API_URL: postgres_prefect}), get_client(sync_client=True) as client:
        runs = [client.read_flow_run(run_id) for run_id in tries]
    assert [run.state.type.value for run in runs] == ["CRASHED", "COMPLETED"]
    assert all(run.parameters["workers"] == 1 for run in runs)  # --workers reaches each shard run
    ran_by = [[i for i, log in enumerate(logs) if any(f"'{run.name}' submitted to infrastructure" in line
                                                      for line in log)] for run in runs]
    assert ran_by == [[dying], [1 - dying]], ran_by


@pytest.mark.parametrize("shared", [True, False], ids=["with-politeness-db", "without"])
def test_two_fetch_processes_keep_one_hosts_delay_only_with_a_politeness_db(web, tmp_path, prefect_api_url, shared):
    delay, n_pages = 0.5, 12  # 6 s of fetching each without the leases: longer than the processes' start-up skew
    for who in ("one", "two"):
        for n in range(n_pages):
            web.route(f"/{who}/{n}", PAGE, headers={"Content-Type": HTML})
    env = dict(os.environ, PREFECT_API_URL=prefect_api_url, PREFECT_LOGGING_LEVEL="WARNING")
    with scratch_database("newsflow_politeness") as name:
        politeness = ["--politeness-db", f"dbname={name} host=127.0.0.1 user=postgres"] if shared else []
        outputs = run_at_once([
            NEWSFLOW + ["fetch", *(web.url(f"/{who}/{n}") for n in range(n_pages)), "--warehouse",
                        str(tmp_path / f"{who}.duckdb"), "--allow-private", "--delay", str(delay), "--contact", who,
                        "--no-entities", "--workers", "1", "--json", *politeness]
            for who in ("one", "two")], timeout=300, cwd=ROOT, env=env)
    assert [status for status, _, _ in outputs] == [0, 0], [err[-3000:] for _, _, err in outputs]
    assert [json.loads(out)["n_new"] for _, out, _ in outputs] == [n_pages] * 2
    senders = _senders(web)
    assert sum(a != b for a, b in zip(senders, senders[1:])) >= 2, senders  # they fetched at once
    if shared:
        assert web.max_concurrency() == 1
        assert web.min_gap() >= delay - CLOCK_TOLERANCE
        assert len(web.requests_to("/robots.txt")) == 1
    else:
        assert web.min_gap() < delay - CLOCK_TOLERANCE  # each process kept its own delay, not the host's
