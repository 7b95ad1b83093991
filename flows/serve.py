"""`newsflow serve`: a Prefect API with its UI, and every deployment of prefect.yaml served on its schedule.

1. API. When a Prefect API already answers at $PREFECT_API_URL (an existing server, or Prefect Cloud
   with $PREFECT_API_KEY) it is reused; so is one answering at http://HOST:PORT/api. Otherwise
   `prefect server start` runs as a child process in its own process group, with the project-local
   PREFECT_HOME (its database lives there), analytics off and the UI on; its output goes to
   $PREFECT_HOME/serve-server.log. `--no-server` never starts one: an API must answer.
2. Deployments. Each entry of prefect.yaml's `deployments:` (entrypoint `path/to/file.py:flow`,
   parameters, schedules, tags, description, ...) becomes a served deployment, so entries added to
   prefect.yaml later are served without code changes. `work_pool`, `pull`, `build` and `push` are
   for `prefect deploy` (a worker runs those runs) and are ignored here: the runs execute in this
   process's children. Entrypoints and relative parameters (`data/seeds`, `data/news.duckdb`)
   resolve against the project root: serve works there whatever directory it was started from.
3. `prefect.serve(...)` creates the deployments and their schedules on the API and executes
   scheduled and triggered runs (each in a spawned subprocess, which re-imports the main module:
   every entry point that serves keeps its `if __name__ == "__main__":` guard).
4. Ctrl-C (SIGINT) or SIGTERM stops serving: the runner pauses the schedules it served and cancels
   runs in flight. A cancelled ingest run leaves no half-written batch behind, since every batch
   lands in one transaction; batches already landed stay, and the next run sees them as
   unchanged. Then the server's process group gets SIGTERM, and SIGKILL after a grace period, so
   nothing is left running. Exit status 0; 2 when the API or the deployments cannot be set up.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR = 0, 2
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
SERVER_START_TIMEOUT = 120.0
"""Seconds `prefect server start` may take to answer (a fresh database is migrated first: ~20 s on 2 cores)."""
SERVER_STOP_GRACE = 15.0
SHUTDOWN_GRACE = 20.0
"""Seconds the served runner may take to shut down after Ctrl-C before serve stops hard."""
SERVER_LOG_NAME = "serve-server.log"

# Keys of a prefect.yaml deployment that `newsflow serve` hands to `Flow.to_deployment`
# (besides name, entrypoint and schedules), and the ones that only concern `prefect deploy`.
_PASSED_KEYS = ("description", "parameters", "tags", "version", "concurrency_limit", "enforce_parameter_schema",
                "paused")
_DEPLOY_ONLY_KEYS = ("work_pool", "build", "push", "pull", "job_variables")


class ServeError(Exception):
    """Set-up failed: a message for the user, no traceback."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `newsflow serve` on the CLI's subcommands."""
    serve = commands.add_parser(
        "serve",
        help="serve prefect.yaml's deployments on their schedules, with the Prefect UI",
        description=(
            "Start a local Prefect server with its UI (or reuse the Prefect API that answers at "
            "$PREFECT_API_URL), then serve every deployment of prefect.yaml: their schedules run, and runs "
            "triggered from the UI or `prefect deployment run` execute here. To use an existing server or "
            "Prefect Cloud, set PREFECT_API_URL (and PREFECT_API_KEY for Cloud). Served runs work in the "
            "project root, so relative paths in parameters mean the project's files. Ctrl-C or SIGTERM "
            "stops serving and the server it started. Exit status: 0 after a clean stop, 2 when the API or "
            "the deployments cannot be set up."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address of a started server (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4200, help="port of a started server (default 4200)")
    serve.add_argument("--no-server", action="store_true",
                       help="never start a server: use the API at $PREFECT_API_URL, which must answer")
    serve.add_argument("--prefect-yaml", default=str(DEFAULT_PREFECT_YAML), metavar="PATH",
                       help="deployments file (default: the project's prefect.yaml)")
    serve.add_argument("--deployment", action="extend", nargs="+", metavar="NAME", dest="deployments",
                       help="serve only these deployments (name in prefect.yaml, or flow/name); default: all")
    serve.add_argument("--server-timeout", type=float, default=SERVER_START_TIMEOUT, metavar="SECONDS",
                       help=f"how long a started server may take to answer (default {SERVER_START_TIMEOUT:.0f})")
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """The `newsflow serve` command: returns the exit status."""
    server: PrefectServer | None = None
    watchdog = ShutdownWatchdog(lambda: server)
    previous = {sig: signal.signal(sig, watchdog.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        from prefect.settings import PREFECT_API_KEY, PREFECT_API_URL

        configured = PREFECT_API_URL.value()
        api_key = PREFECT_API_KEY.value()
        api_key = api_key.get_secret_value() if hasattr(api_key, "get_secret_value") else api_key
        api_url, server = _find_or_start_api(args, configured, api_key)
        return _serve(args, api_url)
    except ServeError as exc:
        print(f"newsflow serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        if server is not None:
            try:
                server.stop()
            except KeyboardInterrupt:  # a second Ctrl-C while stopping: stop harder, still leave nothing
                server.stop(grace=0)
        watchdog.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ShutdownWatchdog:
    """Ctrl-C and SIGTERM stop serving; if the runner's own shutdown hangs, stop hard after a grace period.

    The first signal starts a timer and raises KeyboardInterrupt, the normal
    path (the runner pauses its schedules, the server is stopped). When that
    path has not finished within SHUTDOWN_GRACE seconds (seen once on a busy
    machine: the runner waited on the API for over a minute), the timer
    stops the server, kills this process's children, and exits 0.
    """

    def __init__(self, server: Callable[[], PrefectServer | None]) -> None:
        self._server = server
        self._timer: threading.Timer | None = None

    def on_signal(self, signum: int, frame: Any) -> None:
        if self._timer is None:
            self._timer = threading.Timer(SHUTDOWN_GRACE, self._stop_hard)
            self._timer.daemon = True
            self._timer.start()
        raise KeyboardInterrupt

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _stop_hard(self) -> None:
        print(f"newsflow serve: shutdown still running after {SHUTDOWN_GRACE:.0f} s; stopping hard",
              file=sys.stderr, flush=True)
        server = self._server()
        if server is not None:
            server.stop(grace=5)
        for pid in _descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(EXIT_OK)


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _find_or_start_api(
    args: argparse.Namespace, configured: str | None, api_key: str | None
) -> tuple[str, PrefectServer | None]:
    if configured and api_healthy(configured, api_key):
        print(f"newsflow serve: using the Prefect API at {configured}", flush=True)
        return configured, None
    if args.no_server:
        raise ServeError(
            f"no Prefect API answers at PREFECT_API_URL={configured!r}" if configured
            else "--no-server needs PREFECT_API_URL set to a running Prefect API"
        )
    if configured:
        print(f"newsflow serve: no Prefect API answers at PREFECT_API_URL={configured}; starting a local server",
              file=sys.stderr, flush=True)
    local = f"http://{_url_host(args.host)}:{args.port}/api"
    if api_healthy(local):
        print(f"newsflow serve: using the Prefect API already running at {local}", flush=True)
        return local, None
    if _port_in_use(args.host, args.port):
        raise ServeError(
            f"port {args.port} on {args.host} is in use by something that is not a Prefect API; "
            "choose another with --port"
        )
    server = PrefectServer(args.host, args.port)
    try:
        server.start(timeout=args.server_timeout)
    except BaseException:
        server.stop(grace=5)
        raise
    return local, server


def _serve(args: argparse.Namespace, api_url: str) -> int:
    # The runner and the flow-run subprocesses it spawns both read the API from the settings/environment.
    os.environ["PREFECT_API_URL"] = api_url
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    prefect_yaml = Path(args.prefect_yaml).expanduser().absolute()  # relative to where serve was started
    # Prefect 3.8's runner answers SIGTERM with a sync stop() that, called on the event loop, only builds a
    # coroutine (and warns that it was never awaited), then sys.exit(0): shutdown still runs as on Ctrl-C.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        os.chdir(PROJECT_ROOT)  # served runs inherit it: relative parameters mean the project's files
        deployments = load_deployments(prefect_yaml, args.deployments)
        ui = api_url.removesuffix("/").removesuffix("/api")
        print(f"newsflow serve: serving {len(deployments)} deployment(s) from {prefect_yaml} "
              f"in {PROJECT_ROOT}; UI at {ui}; Ctrl-C to stop", flush=True)
        serve(*deployments)
    return EXIT_OK


def load_deployments(prefect_yaml: Path, names: Sequence[str] | None = None) -> list:
    """One RunnerDeployment per deployment of prefect.yaml (or per named one)."""
    import yaml

    try:
        config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ServeError(f"cannot read {prefect_yaml}: {exc}") from exc
    entries = config.get("deployments") or []
    wanted = {n.rpartition("/")[2] for n in names or ()}
    selected = [d for d in entries if not wanted or d.get("name") in wanted]
    missing = wanted - {d.get("name") for d in selected}
    if missing:
        raise ServeError(f"no deployment named {', '.join(sorted(missing))} in {prefect_yaml}")
    if not selected:
        raise ServeError(f"no deployments in {prefect_yaml}")
    return [_to_deployment(entry, prefect_yaml) for entry in selected]


def _to_deployment(entry: dict, source: Path):
    from prefect.cli.deploy._schedules import (
        _schedule_config_to_deployment_schedule,  # what `prefect deploy` uses
    )

    name = entry.get("name")
    if not name or not entry.get("entrypoint"):
        raise ServeError(f"{source}: every deployment needs a name and an entrypoint ({entry!r})")
    try:
        flow = load_flow(entry["entrypoint"])
        schedules = [_schedule_config_to_deployment_schedule(s) for s in entry.get("schedules") or []]
        options = {key: entry[key] for key in _PASSED_KEYS if entry.get(key) is not None}
        return flow.to_deployment(name=name, schedules=schedules, **options)
    except ServeError:
        raise
    except Exception as exc:
        raise ServeError(f"{source}: deployment {name!r}: {type(exc).__name__}: {exc}") from exc


def load_flow(entrypoint: str):
    """The flow of `path/to/file.py:flow_name` (relative to the project root).

    A file of the project's packages is imported as its module (`flows.ingest_stored`), so the flow
    object pickles by reference into the run subprocesses; other files load through Prefect.
    """
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    path_text, _, attribute = entrypoint.rpartition(":")
    path = Path(path_text)
    path = path if path.is_absolute() else PROJECT_ROOT / path
    if not path.is_file():
        raise ServeError(f"entrypoint {entrypoint!r}: no file {path}")
    try:
        relative = path.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        relative = None
    if relative is not None and path.suffix == ".py" and (PROJECT_ROOT / relative.parts[0] / "__init__.py").exists():
        module = importlib.import_module(".".join(relative.with_suffix("").parts))
        flow = getattr(module, attribute, None)
    else:
        flow = load_flow_from_entrypoint(f"{path}:{attribute}")
    if not isinstance(flow, Flow):
        raise ServeError(f"entrypoint {entrypoint!r} is not a Prefect flow")
    return flow


def api_healthy(api_url: str, api_key: str | None = None, timeout: float = 3.0) -> bool:
    """Whether a Prefect API answers GET {api_url}/health with 200."""
    request = urllib.request.Request(api_url.rstrip("/") + "/health")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class PrefectServer:
    """`prefect server start` as a child process in its own process group."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.api_url = f"http://{_url_host(host)}:{port}/api"
        home = Path(os.environ.get("PREFECT_HOME") or PROJECT_ROOT / ".prefect")
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / SERVER_LOG_NAME
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        env = {
            **os.environ,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "true",
            "PREFECT_API_URL": self.api_url,  # the UI talks to this server, whatever the caller had set
        }
        env.pop("PREFECT_API_KEY", None)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port)]
        print(f"newsflow serve: starting the Prefect server at {self.api_url} (log: {self.log_path})", flush=True)
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,
            )
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServeError(f"the Prefect server exited with status {self.process.returncode} "
                                 f"before answering:\n{self.log_tail()}")
            if api_healthy(self.api_url, timeout=2):
                print(f"newsflow serve: server up in {time.monotonic() - started:.1f} s", flush=True)
                return
            time.sleep(0.5)
        raise ServeError(f"the Prefect server did not answer at {self.api_url}/health within {timeout:.0f} s:\n"
                         f"{self.log_tail()}")

    def stop(self, grace: float = SERVER_STOP_GRACE) -> None:
        """SIGTERM to the server's process group, SIGKILL after `grace` seconds; idempotent."""
        process = self.process
        if process is None:
            return
        group = process.pid  # start_new_session: the server leads its own process group
        _signal_group(group, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait(timeout=10)
        deadline = time.monotonic() + grace
        while _group_alive(group) and time.monotonic() < deadline:  # children that outlived the leader
            time.sleep(0.1)
        if _group_alive(group):
            _signal_group(group, signal.SIGKILL)
        self.process = None
        print("newsflow serve: Prefect server stopped", flush=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False
