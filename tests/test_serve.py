"""`newsflow serve` against a real Prefect server: it starts one, serves prefect.yaml's deployment,
runs it when triggered through the API, and leaves no process behind on Ctrl-C.

One `newsflow serve` for the module (its server's start-up costs ~6-25 s on 2 cores), with its own
PREFECT_HOME, seeds copy and warehouse file, started from a directory that is not the project's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml

from flows.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "seeds"
FLOW, NAME, PROBE = "ingest_stored", "stored-hourly", "stored-probe"
START_TIMEOUT = 240.0  # server (fresh database: migrations) + serve's imports and deployment, busy 2-core box
RUN_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0  # serve's own shutdown, then up to 15 s for the server's process group


@dataclass
class Served:
    process: subprocess.Popen
    api_url: str
    port: int
    home: Path
    seeds: Path
    db: Path
    probe_db: Path
    log: Path
    early_statuses: list[int] = field(default_factory=list)
    tree: set[tuple[int, str]] = field(default_factory=set)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        server_log = self.home / "serve-server.log"
        if server_log.exists():
            text += "\n--- server log ---\n" + server_log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, OSError):
        return 0, None


def _post(url: str) -> int:
    """The status of a POST with an empty JSON body, with no retry (the Prefect client would retry a 503)."""
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _proc_stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, start time) of a live process, from /proc (no psutil in the venv)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], fields[19]


def _process_tree(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of `root` and all its descendants."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            parents[int(entry.name)] = stat
    tree, frontier = set(), [root]
    while frontier:
        pid = frontier.pop()
        if pid in parents:
            tree.add((pid, parents[pid][2]))
            frontier += [child for child, (ppid, _, _) in parents.items() if ppid == pid]
    return tree


def _alive(tree: set[tuple[int, str]]) -> list[str]:
    """Processes of `tree` still running (zombies and reused pids do not count), with their command lines."""
    alive = []
    for pid, started in tree:
        stat = _proc_stat(pid)
        if stat and stat[2] == started and stat[1] != "Z":
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            alive.append(f"{pid}: {cmd}")
    return alive


def _kill_tree(served: Served) -> None:
    for pid, _ in served.tree | _process_tree(served.process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid, _ in served.tree:  # the server leads its own process group
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Served:
    tmp = tmp_path_factory.mktemp("serve")
    seeds = tmp / "seeds"
    shutil.copytree(SEEDS, seeds)
    db = tmp / "warehouse.duckdb"  # given as NEWSFLOW_DB, relative to where serve starts
    probe_db = tmp / "probe.duckdb"
    # The project's deployment, pointed at private seeds (absolute path), with no `db`: its runs must
    # write NEWSFLOW_DB. Its schedule is kept but inactive, so a top-of-the-hour run cannot race the
    # triggered run. A second deployment names its own `db` (which wins) and keeps an active schedule,
    # so the scheduler is busy right after start; it is the one the early runs are requested on.
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (entry,) = [d for d in config["deployments"] if d["name"] == NAME]
    entry = {
        **entry,
        "parameters": {**entry["parameters"], "paths": [str(seeds)]},
        "schedules": [{**s, "active": False} for s in entry["schedules"]],
    }
    probe_input = tmp / "probe-input"  # one seed: the early runs stay short
    probe_input.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], probe_input)
    probe = {**entry, "name": PROBE, "parameters": {"paths": [str(probe_input)], "db": str(probe_db)},
             "schedules": [{"cron": "*/5 * * * *", "timezone": "UTC"}]}
    prefect_yaml = tmp / "prefect.yaml"
    prefect_yaml.write_text(yaml.safe_dump({"name": "newsflow-test", "deployments": [entry, probe]}))

    port = _free_port()
    home = tmp / "prefect-home"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               NEWSFLOW_DB=db.name)
    log = tmp / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve", "--port", str(port), "--prefect-yaml", str(prefect_yaml),
             "--server-timeout", str(START_TIMEOUT)],
            cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process, f"http://127.0.0.1:{port}/api", port, home, seeds, db, probe_db, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # request runs the moment the deployment is listed, as a user at the UI would
            served.tree |= _process_tree(process.pid)
            status, deployment = _get(f"{served.api_url}/deployments/name/{FLOW}/{PROBE}")
            if status == 200:
                for _ in range(3):
                    served.early_statuses.append(_post(f"{served.api_url}/deployments/{deployment['id']}/create_flow_run"))
                break
            assert process.poll() is None, f"newsflow serve exited ({process.returncode}):\n{served.log_tail()}"
            assert time.monotonic() < deadline, f"deployment not served in {START_TIMEOUT} s:\n{served.log_tail()}"
            time.sleep(0.1)
        while "newsflow serve: ready" not in log.read_text():
            assert process.poll() is None, f"newsflow serve exited ({process.returncode}):\n{served.log_tail()}"
            assert time.monotonic() < deadline, f"serve never said it was ready:\n{served.log_tail()}"
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            _kill_tree(served)
            process.wait(timeout=10)


@pytest.fixture
def api(served):
    """This process's Prefect client pointed at the served API (and away from the project's PREFECT_HOME)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: served.api_url, PREFECT_HOME: str(served.home)}):
        yield served.api_url


def test_help_says_how_to_use_an_existing_api(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "PREFECT_API_URL" in help_text and "PREFECT_API_KEY" in help_text


def test_every_deployment_of_prefect_yaml_is_built_generically(tmp_path):
    from flows.deployments import DeploymentError, load_deployments

    prefect_yaml = tmp_path / "prefect.yaml"
    prefect_yaml.write_text(yaml.safe_dump({"deployments": [
        {"name": "feeds-15min", "entrypoint": "flows/ingest_stored.py:ingest_stored",
         "parameters": {"paths": ["data/seeds"]}, "schedules": [{"interval": 900}], "tags": ["source:feeds"],
         "work_pool": {"name": "newsflow-local"}},
        {"name": "sitemaps-daily", "entrypoint": "flows/ingest_stored.py:ingest_stored",
         "description": "daily", "schedules": [{"cron": "30 4 * * *", "timezone": "Europe/Paris"}]},
    ]}))
    feeds, sitemaps = load_deployments(prefect_yaml)
    assert (feeds.name, feeds.flow_name, feeds.parameters, feeds.tags) == (
        "feeds-15min", "ingest_stored", {"paths": ["data/seeds"]}, ["source:feeds"])
    assert feeds.schedules[0].schedule.interval.total_seconds() == 900
    assert feeds.work_pool_name is None
    assert (sitemaps.schedules[0].schedule.cron, sitemaps.schedules[0].schedule.timezone) == ("30 4 * * *", "Europe/Paris")
    assert sitemaps.description == "daily"
    assert [d.name for d in load_deployments(prefect_yaml, ["ingest_stored/sitemaps-daily"])] == ["sitemaps-daily"]
    with pytest.raises(DeploymentError, match="no deployment named nope"):
        load_deployments(prefect_yaml, ["nope"])


def _serve_fails(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    return subprocess.run([sys.executable, "-m", "flows.cli", "serve", *args], env={**clean, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_port_taken_by_something_else_is_a_clear_error(tmp_path):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class NotPrefect(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), NotPrefect) as other:
        Thread(target=other.serve_forever, daemon=True).start()
        result = _serve_fails("--port", str(other.server_address[1]), PREFECT_HOME=str(tmp_path))
        other.shutdown()
    assert result.returncode == 2
    assert "is in use by something that is not a Prefect API" in result.stderr
    assert not (tmp_path / "serve-server.log").exists()  # no server was started


def test_no_server_needs_an_answering_api(tmp_path):
    result = _serve_fails("--no-server", PREFECT_HOME=str(tmp_path))
    assert result.returncode == 2 and "--no-server needs PREFECT_API_URL" in result.stderr
    result = _serve_fails("--no-server", PREFECT_HOME=str(tmp_path), PREFECT_API_URL=f"http://127.0.0.1:{_free_port()}/api")
    assert result.returncode == 2 and "no Prefect API answers at PREFECT_API_URL" in result.stderr


def test_deployment_is_listed_with_its_cron_schedule(served, api):
    status, deployment = _get(f"{api}/deployments/name/{FLOW}/{NAME}")
    assert status == 200
    (schedule,) = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "0 * * * *"
    assert schedule["schedule"]["timezone"] == "UTC"
    assert schedule["active"] is False  # as the test's prefect.yaml says: schedule keys pass through
    assert deployment["parameters"] == {"paths": [str(served.seeds)]}  # no db: runs write NEWSFLOW_DB
    assert deployment["tags"] == ["source:stored"]
    assert deployment["work_pool_name"] is None  # served: runs execute in newsflow serve's children
    assert deployment["entrypoint"] == "flows/ingest_stored.py:ingest_stored"


def test_triggered_run_completes_with_its_artifact_and_warehouse_rows(served, api):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name=f"{FLOW}/{NAME}", timeout=RUN_TIMEOUT)
    assert flow_run.state is not None and flow_run.state.is_completed(), (
        f"flow run {flow_run.id} ended {flow_run.state!r}:\n{served.log_tail()}"
    )

    with get_client(sync_client=True) as client:
        response = client.request(  # the typed read_artifacts of this client version sends nulls (422)
            "POST", "/artifacts/filter",
            json={"artifacts": {"key": {"any_": ["ingest-stored-summary"]},
                                "flow_run_id": {"any_": [str(flow_run.id)]}}},
        )
    (artifact,) = response.json()
    assert artifact["type"] == "markdown"
    assert "| 5 | 5 | 0 | 0 | 0 | 0 |" in artifact["data"]
    assert str(served.db) in artifact["data"]

    con = duckdb.connect(str(served.db), read_only=True)
    try:
        n_articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        runs = con.execute("SELECT status, prefect_flow_run_id FROM ingest_runs").fetchall()
    finally:
        con.close()
    assert n_articles == 5  # in NEWSFLOW_DB (relative to where serve started), as the CLI would write
    assert runs == [("completed", str(flow_run.id))]


def test_runs_requested_as_soon_as_deployments_are_listed_are_accepted_and_a_given_db_wins(served, api):
    from prefect.client.orchestration import get_client

    assert served.early_statuses == [201, 201, 201], served.log_tail()
    final = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            runs = client.request("POST", "/flow_runs/filter", json={  # typed filters send nulls here (422)
                "deployments": {"name": {"any_": [PROBE]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200,
            }).json()
            manual = [r for r in runs if not r["auto_scheduled"]]
            if len(manual) == 3 and all(r["state_type"] in final for r in manual):
                break
            assert time.monotonic() < deadline, f"early runs not finished: {[r['state_type'] for r in manual]}"
            time.sleep(1)
    assert [r["state_type"] for r in manual] == ["COMPLETED"] * 3
    assert any(r["auto_scheduled"] for r in runs)  # the scheduler was at work meanwhile
    con = duckdb.connect(str(served.probe_db), read_only=True)
    try:
        landed = con.execute("SELECT prefect_flow_run_id FROM ingest_runs WHERE status = 'completed'").fetchall()
        assert {r["id"] for r in manual} <= {run_id for (run_id,) in landed}
    finally:
        con.close()


def test_a_cli_run_while_serving_uses_the_served_api(served, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    db = tmp_path / "cli.duckdb"
    result = subprocess.run([sys.executable, "-m", "flows.cli", "ingest", str(served.seeds), "--db", str(db),
                             "--no-entities", "--json"], cwd=ROOT, env={**env, "PREFECT_HOME": str(served.home)},
                            capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    with duckdb.connect(str(db), read_only=True) as con:
        (flow_run_id,) = con.execute("SELECT prefect_flow_run_id FROM ingest_runs WHERE run_id = ?",
                                     [run_id]).fetchone()
    status, flow_run = _get(f"{served.api_url}/flow_runs/{flow_run_id}")
    assert status == 200 and flow_run["state_type"] == "COMPLETED"  # the run is on the served API
    assert not (served.home / "temporary-api.log").exists()  # and no API of its own was started


def test_ctrl_c_stops_serving_and_leaves_no_process(served):
    served.tree |= _process_tree(served.process.pid)
    commands = " ".join(_alive(served.tree))
    assert "prefect server start" in commands and f"--port {served.port}" in commands

    os.killpg(served.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends (the server has its own group)
    try:
        returncode = served.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"newsflow serve still running {STOP_TIMEOUT} s after SIGINT:\n{served.log_tail()}")
    assert returncode == 0, served.log_tail()
    assert "Prefect server stopped" in served.log.read_text()
    assert _alive(served.tree) == []
    assert _get(f"{served.api_url}/health")[0] == 0


HANGING_SHUTDOWN = """
import signal, subprocess, sys, time
from flows import lifetime
watchdog = lifetime.StopWatchdog("newsflow serve", 1.0, status=lambda signum: 0)
signal.signal(signal.SIGINT, watchdog.on_signal)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
try:
    print(child.pid, flush=True)  # inside the try: the signal may come the moment the pid is read
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(60)  # a shutdown that never ends, as the served runner's once did
"""


def test_a_shutdown_that_hangs_is_cut_short_and_leaves_no_child():
    process = subprocess.Popen([sys.executable, "-c", HANGING_SHUTDOWN], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    child = int(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert "stopping hard" in process.stderr.read()
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower()
