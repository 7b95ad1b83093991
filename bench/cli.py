"""How long the CLI takes, as a user runs it: wall time of an unchanged `newsflow ingest data/seeds`
beside its flow run time and beside `newsflow sql "SELECT 1"`, on a temporary API and on a running one;
then what each setting of the temporary API saves on its start-up.

    .venv/bin/python bench/cli.py

Uses its own PREFECT_HOME and warehouse under a temporary folder; the first ingest (which fills
the warehouse and migrates the Prefect database) is not counted. Figures from a busy machine are
noisy: the load average is printed with them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
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


def main() -> None:
    from flows import prefect_api

    with tempfile.TemporaryDirectory(prefix="newsflow-bench-cli-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
        env.update(PREFECT_HOME=f"{tmp}/prefect-home", PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        db = Path(tmp) / "news.duckdb"
        first_wall, _ = ingest_figures(env, db)  # fills the warehouse, migrates the Prefect database
        wall, run_seconds = ingest_figures(env, db)
        sql_wall, _ = timed([NEWSFLOW, "sql", "SELECT 1", "--db", str(db)], env)

        print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
        print(f"first ingest of data/seeds (fills the warehouse, migrates Prefect's database): {first_wall:.2f} s wall")
        print("unchanged `newsflow ingest data/seeds`, temporary API:")
        print(f"  wall {wall:.2f} s | flow run {run_seconds:.2f} s | `newsflow sql \"SELECT 1\"` {sql_wall:.2f} s")

        api = prefect_api.TemporaryAPI()
        os.environ["PREFECT_HOME"] = env["PREFECT_HOME"]
        api.start()
        api.wait_ready()
        try:
            reuse_env = dict(env, PREFECT_API_URL=api.api_url)
            reuse_wall, reuse_run = ingest_figures(reuse_env, db)
        finally:
            api.stop()
        print("unchanged `newsflow ingest data/seeds`, on an API already up (as under `newsflow serve`):")
        print(f"  wall {reuse_wall:.2f} s | flow run {reuse_run:.2f} s")

        print("temporary API start-up to its first healthy answer (database already migrated):")
        prefect_default = {k: v for k, v in prefect_api.CHEAP_API_ENV.items() if k.startswith("PREFECT__")}
        variants = [
            ("as Prefect starts it (services on, migration check)", {**prefect_default, "PREFECT_UI_ENABLED": "false"}),
            ("no background services", prefect_api.CHEAP_API_ENV),
            ("no services, no migration check or block registration",
             {**prefect_api.CHEAP_API_ENV, **prefect_api.ALREADY_MIGRATED_ENV}),
        ]
        for label, settings in variants:
            print(f"  {label}: {_start_with(env, settings):.2f} s")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


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
