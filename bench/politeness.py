"""Politeness across workers: the PostgreSQL host leases against Prefect's global concurrency limits.

    .venv/bin/python bench/politeness.py [--turns 200]

Times one turn at a host (take, then give back at once) both ways, from one
client, on this machine: `warehouse.host_leases.HostLeases` on a scratch
PostgreSQL database, and `prefect.concurrency.sync.concurrency` (acquire and
release one slot of a limit made for the host) on a temporary Prefect API.
Then checks what a per-host limit costs to keep: Prefect's `concurrency()`
on a limit nobody made (a host seen for the first time) does not wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {ordered[int(len(ordered) * 0.95)] * 1000:.1f} ms"


def leases_turns(turns: int) -> list[float]:
    from tests.postgres import scratch_database
    from warehouse.host_leases import HostLeases

    with scratch_database("newsflow_bench") as name, \
            HostLeases(f"dbname={name} host=127.0.0.1 user=postgres", turn_lapse=60) as leases:
        samples = []
        for _ in range(turns):
            started = time.perf_counter()
            turn = leases.take("example.org", 0.0, 1)
            leases.give_back(turn, 0.0)
            samples.append(time.perf_counter() - started)
        return samples


def prefect_turns(turns: int) -> tuple[list[float], bool]:
    """Seconds per acquire+release of a made limit, and whether two holders of a missing limit overlapped."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="host:example.org", limit=1))
    samples = []
    for _ in range(turns):
        started = time.perf_counter()
        with concurrency("host:example.org", occupy=1):
            pass
        samples.append(time.perf_counter() - started)

    inside, most = 0, 0
    lock = threading.Lock()

    def holder() -> None:
        nonlocal inside, most
        with concurrency("host:never-made.example", occupy=1):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.5)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=holder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, most > 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"host leases (PostgreSQL):       {_ms(leases_turns(args.turns))} per turn")

    from flows.prefect_api import TemporaryAPI

    api = TemporaryAPI()
    api.start()
    try:
        api.wait_ready()
        os.environ["PREFECT_API_URL"] = api.api_url
        samples, overlapped = prefect_turns(args.turns)
    finally:
        api.stop()
    print(f"Prefect concurrency() slot:     {_ms(samples)} per turn")
    print(f"Prefect limit never made: two holders at once = {overlapped}")


if __name__ == "__main__":
    main()
