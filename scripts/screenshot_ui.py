"""Screenshots of the Prefect UI of `newsflow serve` after one ingest run (not part of `make test`).

Starts `newsflow serve` on a free port with a private PREFECT_HOME, a copy of data/seeds and its own
warehouse file in a temporary directory (the project's .prefect/ and data/news.duckdb are not
touched), triggers the stored-hourly deployment through the API, waits for the run, then has
headless Chromium (Debian's /usr/bin/chromium: `apt-get install chromium`) save

    docs/ui-flow-run.png      the flow run's page (/runs/flow-run/<id>)
    docs/ui-deployments.png   the deployments page (/deployments)

and stops serve with SIGINT, as Ctrl-C would. Usage:

    .venv/bin/python scripts/screenshot_ui.py [--out-dir docs] [--budget-ms 15000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import flows  # noqa: F401  (project-local PREFECT_HOME, analytics off: before Prefect loads)

CHROMIUM = "/usr/bin/chromium"
FLOW, NAME = "ingest_stored", "stored-hourly"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--budget-ms", type=int, default=15000, help="Chromium's --virtual-time-budget")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for start-up, and for the run")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="newsflow-ui-") as tmp_dir:
        tmp = Path(tmp_dir)
        prefect_yaml = _private_prefect_yaml(tmp)
        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
        env.update(PREFECT_HOME=str(tmp / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
        log = tmp / "serve.log"
        started = time.monotonic()
        with open(log, "wb") as out:
            serve = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", "--port", str(port), "--prefect-yaml", str(prefect_yaml)],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_deployment(serve, api_url, args.timeout, log)
            print(f"serving after {time.monotonic() - started:.1f} s at {api_url}")
            flow_run_id = _trigger(api_url, args.timeout)
            ui = api_url.removesuffix("/api")
            _screenshot(f"{ui}/runs/flow-run/{flow_run_id}", args.out_dir / "ui-flow-run.png", args.budget_ms, tmp)
            _screenshot(f"{ui}/deployments", args.out_dir / "ui-deployments.png", args.budget_ms, tmp)
        finally:
            _stop(serve)
    return 0


def _private_prefect_yaml(tmp: Path) -> Path:
    """The project's deployments writing to a private warehouse, stored-hourly over a copy of the seeds."""
    seeds = tmp / "seeds"
    shutil.copytree(ROOT / "data" / "seeds", seeds)
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for entry in config["deployments"]:
        entry["parameters"] = {**entry["parameters"], "db": str(tmp / "warehouse.duckdb")}
        if entry["name"] == NAME:
            entry["parameters"]["paths"] = [str(seeds)]
    path = tmp / "prefect.yaml"
    path.write_text(yaml.safe_dump({"name": "newsflow-screenshots", "deployments": config["deployments"]}))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_deployment(serve: subprocess.Popen, api_url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise SystemExit(f"newsflow serve exited ({serve.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{api_url}/deployments/name/{FLOW}/{NAME}", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"deployment not served within {timeout} s:\n{log.read_text()[-4000:]}")


def _trigger(api_url: str, timeout: float) -> str:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        flow_run = run_deployment(name=f"{FLOW}/{NAME}", timeout=timeout)
    print(f"flow run {flow_run.id}: {flow_run.state.name if flow_run.state else '?'}")
    if not (flow_run.state and flow_run.state.is_final()):
        raise SystemExit("the run did not finish in time")
    time.sleep(3)  # let the run's last logs reach the API, so the page shows them
    return str(flow_run.id)


def _screenshot(url: str, out: Path, budget_ms: int, tmp: Path) -> None:
    profile = tmp / f"chromium-{out.stem}"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1400,1000", f"--virtual-time-budget={budget_ms}",
        "--hide-scrollbars", f"--screenshot={out}", url,
    ]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0 or not out.exists():
        raise SystemExit(f"chromium failed ({result.returncode}):\n{result.stderr[-3000:]}")
    print(f"{out} ({out.stat().st_size // 1024} KB, {time.monotonic() - started:.1f} s) <- {url}")


def _stop(serve: subprocess.Popen) -> None:
    if serve.poll() is not None:
        return
    os.killpg(serve.pid, signal.SIGINT)
    try:
        serve.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait(timeout=10)
    print(f"newsflow serve stopped (exit {serve.returncode})")


if __name__ == "__main__":
    sys.exit(main())
