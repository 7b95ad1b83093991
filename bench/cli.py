"""How long the CLI takes, as a user runs it: wall time of an unchanged `newsflow ingest data/seeds`
beside its flow run time and beside `newsflow sql "SELECT 1"`, on a temporary API and on a running one;
then what each setting of the temporary API and of its runs saves.

    .venv/bin/python bench/cli.py [--rounds 3]

Wall: from the start of the `newsflow` process to its exit, as `time` shows it (Python start-up,
imports, the temporary API's start-up and stop, the Prefect flow run, the summary). Flow run: the
run's own seconds (`--json`), from its entry in `ingest_runs` to its end. Each figure is the median of
`--rounds` runs, every run listed beside it. Uses its own PREFECT_HOME and warehouse under a temporary
folder; the first ingest (which fills the warehouse and migrates the Prefect database) is not
counted. Figures from a busy machine are noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEWSFLOW = str(ROOT / ".venv" / "bin" / "newsflow")
sys.path.insert(0, str(ROOT))


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return wall, result.stdout


def ingest_figures(env: dict[str, str], db: Path) -> tuple[float, float]:
    wall, out = timed([NEWSFLOW, "ingest", "data/seeds", "--db", str(db), "--json"], env)
    return wall, json.loads(out)["seconds"]


def median_of(figures: list[float]) -> str:
    """"median s (each, each, ...)"."""
    return f"{statistics.median(figures):.2f} s ({', '.join(f'{f:.2f}' for f in figures)})"


def rounds(n: int, measure: Callable[[], float]) -> str:
    return median_of([measure() for _ in range(n)])


def ingest_rounds(n: int, env: dict[str, str], db: Path) -> tuple[str, str]:
    """The unchanged ingest n times: (wall, flow run), each as `median_of` prints it."""
    walls, runs = zip(*(ingest_figures(env, db) for _ in range(n)))
    return median_of(list(walls)), median_of(list(runs))


def load() -> str:
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure (median printed), default 3")
    n = parser.parse_args().rounds
    from flows import prefect_api

    with tempfile.TemporaryDirectory(prefix="newsflow-bench-cli-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
        env.update(PREFECT_HOME=f"{tmp}/prefect-home", PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        db = Path(tmp) / "news.duckdb"
        print(f"start: {load()}")
        first_wall, _ = ingest_figures(env, db)  # fills the warehouse, migrates the Prefect database
        print(f"first ingest of data/seeds (fills the warehouse, migrates Prefect's database): {first_wall:.2f} s wall")

        wall, run = ingest_rounds(n, env, db)
        sql = rounds(n, lambda: timed([NEWSFLOW, "sql", "SELECT 1", "--db", str(db)], env)[0])
        print(f"unchanged `newsflow ingest data/seeds` on a temporary API, median of {n} ({load()}):")
        print(f"  wall {wall} | flow run {run} | `newsflow sql \"SELECT 1\"` wall {sql}")

        os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
        api = prefect_api.TemporaryAPI()
        api.start()
        api.wait_ready()
        try:
            reuse_wall, reuse_run = ingest_rounds(n, dict(env, PREFECT_API_URL=api.api_url), db)
            print(f"unchanged `newsflow ingest data/seeds` on an API already up (as under `newsflow serve`) ({load()}):")
            print(f"  wall {reuse_wall} | flow run {reuse_run}")
            print(f"one run's flow call in a warm process, on the API already up ({load()}):")
            for label, updates in (("Prefect's settings (heartbeat thread every 180 s)", {}),
                                   ("as on a temporary API (no heartbeat thread)", prefect_api.TEMPORARY_RUN_SETTINGS)):
                print(f"  {label}: {rounds(n, lambda: _flow_call(api.api_url, db, updates))}")
        finally:
            api.stop()

        print(f"temporary API start-up to its first healthy answer, database already migrated ({load()}):")
        prefect_default = {k: v for k, v in prefect_api.CHEAP_API_ENV.items() if k.startswith("PREFECT__")}
        variants = [
            ("as Prefect starts it (services on, migration check)", {**prefect_default, "PREFECT_UI_ENABLED": "false"}),
            ("no background services", prefect_api.CHEAP_API_ENV),
            ("no services, no migration check or block registration",
             {**prefect_api.CHEAP_API_ENV, **prefect_api.ALREADY_MIGRATED_ENV}),
        ]
        for label, settings in variants:
            print(f"  {label}: {rounds(n, lambda: _start_with(env, settings))}")
        print(f"end: {load()}")


def _flow_call(api_url: str, db: Path, updates: dict) -> float:
    """Seconds of one `ingest_stored` call in this process (Prefect imported once), with `updates` to its settings."""
    os.environ.update(PREFECT_API_URL=api_url, PREFECT_LOGGING_LEVEL="WARNING")
    from prefect.settings import temporary_settings

    from flows.ingest_stored import ingest_stored

    with temporary_settings(updates=updates):
        started = time.perf_counter()
        ingest_stored(paths=[str(ROOT / "data" / "seeds")], db=str(db))
        return time.perf_counter() - started


def _start_with(env: dict[str, str], settings: dict[str, str]) -> float:
    """Start-up seconds of Prefect's ephemeral server command with exactly `settings` on top of `env`."""
    from flows import prefect_api

    api = prefect_api.TemporaryAPI()
    command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
               "--host", "127.0.0.1", "--port", str(api.port), "--log-level", "error", "--lifespan", "on"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**env, **settings}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not prefect_api.api_healthy(api.api_url, timeout=2):
            if process.poll() is not None:
                sys.exit(f"the API exited with {process.returncode}")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
