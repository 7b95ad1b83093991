"""`newsflow serve`: a Prefect API with its UI, and every deployment of prefect.yaml served on its schedule.

1. API. When a Prefect API already answers at $PREFECT_API_URL (an existing server, or Prefect Cloud
   with $PREFECT_API_KEY) it is reused; so is one answering at http://HOST:PORT/api. Otherwise
   `prefect server start` runs as a child process in its own process group (`prefect_api.PrefectServer`),
   with the project-local PREFECT_HOME, analytics off and the UI on; its output goes to
   $PREFECT_HOME/serve-server.log. `--no-server` never starts one: an API must answer. While serving,
   $PREFECT_HOME/serve-api.json tells other newsflow commands to run on this API instead of starting one.
2. Deployments: prefect.yaml's, built through Prefect's public API (`flows.deployments`). Served runs
   execute in this process's children, in the project root (relative parameters mean the project's
   files); a run without a `db` parameter writes $NEWSFLOW_DB as the CLI would (made absolute here,
   before the move to the project root), else data/news.duckdb.
3. Ready when it says so: the deployments are created, then serve waits until the scheduler has
   scheduled the first runs of every deployment with an active schedule (its burst of writes is what
   made a run requested at that moment fail with 503 on SQLite), and only then prints the UI's address.
4. Ctrl-C (SIGINT) or SIGTERM stops serving: the runner pauses the schedules it served and cancels
   runs in flight. A cancelled ingest run leaves no half-written batch behind, since every batch
   lands in one transaction. Then the server's process group gets SIGTERM, and SIGKILL after a grace
   period, so nothing is left running; were serve itself killed, the server gets SIGTERM from the
   kernel (`lifetime.die_with_parent`). Exit status 0; 2 when the API or the deployments cannot be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from flows import lifetime, prefect_api
from flows.deployments import DEFAULT_PREFECT_YAML, PROJECT_ROOT, DeploymentError, load_deployments

EXIT_OK, EXIT_ERROR = 0, 2
SERVER_START_TIMEOUT = 120.0
"""Seconds `prefect server start` may take to answer (a fresh database is migrated first: ~20 s on 2 cores)."""
SERVER_STOP_GRACE = 15.0
SHUTDOWN_GRACE = 20.0
"""Seconds the served runner may take to shut down after Ctrl-C before serve stops hard."""
SCHEDULED_WAIT = 60.0
"""Seconds serve waits for the scheduler's first runs before it announces itself anyway."""


class ServeError(Exception):
    """Set-up failed: a message for the user, no traceback."""


def add_parser(commands: argparse._SubParsersAction, full: bool = True) -> None:
    """Register `newsflow serve` on the CLI's subcommands (`full=False`: its one-line help only)."""
    serve = commands.add_parser(
        "serve",
        help="serve prefect.yaml's deployments on their schedules, with the Prefect UI",
        description=(
            "Start a local Prefect server with its UI (or reuse the Prefect API that answers at "
            "$PREFECT_API_URL), then serve every deployment of prefect.yaml: their schedules run, and runs "
            "triggered from the UI or `prefect deployment run` execute here. To use an existing server or "
            "Prefect Cloud, set PREFECT_API_URL (and PREFECT_API_KEY for Cloud). Served runs work in the "
            "project root, so relative paths in parameters mean the project's files; a run without a db "
            "parameter writes $NEWSFLOW_DB (else data/news.duckdb). Other newsflow commands run on this "
            "API while it serves. Ctrl-C or SIGTERM stops serving and the server it started. Exit status: "
            "0 after a clean stop, 2 when the API or the deployments cannot be set up."
        ),
    )
    if not full:
        return
    from flows import settings

    defaults = settings.DEFAULTS
    serve.add_argument("--host", default=defaults.serve_host,
                       help=f"address of a started server (default {defaults.serve_host})")
    serve.add_argument("--port", type=int, default=defaults.serve_port,
                       help=f"port of a started server (default {defaults.serve_port})")
    serve.add_argument("--no-server", action="store_true",
                       help="never start a server: use the API at $PREFECT_API_URL, which must answer")
    serve.add_argument("--prefect-yaml", default=str(DEFAULT_PREFECT_YAML), metavar="PATH",
                       help="deployments file (default: the project's prefect.yaml)")
    serve.add_argument("--deployment", action="extend", nargs="+", metavar="NAME", dest="deployments",
                       help="serve only these deployments (name in prefect.yaml, or flow/name); default: all")
    serve.add_argument("--server-timeout", type=float, default=SERVER_START_TIMEOUT, metavar="SECONDS",
                       help=f"how long a started server may take to answer (default {SERVER_START_TIMEOUT:.0f})")
    serve.add_argument("--database", metavar="URL",
                       help="database of a started server, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/prefect "
                       "for many workers (default: $PREFECT_API_DATABASE_CONNECTION_URL, else SQLite in PREFECT_HOME)")
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """The `newsflow serve` command: returns the exit status."""
    server: prefect_api.PrefectServer | None = None
    if args.database:  # read by the `prefect server start` child
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = args.database
    record: Path | None = None

    def stop_server_now() -> None:
        if server is not None:
            server.stop(grace=5)

    # Ctrl-C / SIGTERM: the runner pauses its schedules and the server stops; were the runner's shutdown to
    # hang (seen once on a busy machine: it waited on the API for over a minute), serve stops hard.
    watchdog = lifetime.StopWatchdog("newsflow serve", SHUTDOWN_GRACE, stop_server_now, status=lambda signum: EXIT_OK)
    with watchdog.armed():
        try:
            configured = os.environ.get("PREFECT_API_URL")
            api_url, server = _find_or_start_api(args, configured, os.environ.get("PREFECT_API_KEY"))
            record = prefect_api.record_serving(api_url)
            return _serve(args, api_url)
        except (ServeError, DeploymentError, prefect_api.APIError) as exc:
            print(f"newsflow serve: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            if record is not None:
                record.unlink(missing_ok=True)
            if server is not None:
                server.stop(grace=SERVER_STOP_GRACE)


def _find_or_start_api(
    args: argparse.Namespace, configured: str | None, api_key: str | None
) -> tuple[str, prefect_api.PrefectServer | None]:
    if configured and prefect_api.api_healthy(configured, api_key):
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
    local = f"http://{prefect_api.url_host(args.host)}:{args.port}/api"
    if prefect_api.api_healthy(local):
        print(f"newsflow serve: using the Prefect API already running at {local}", flush=True)
        return local, None
    if prefect_api.port_in_use(args.host, args.port):
        raise ServeError(
            f"port {args.port} on {args.host} is in use by something that is not a Prefect API; "
            "choose another with --port"
        )
    server = prefect_api.PrefectServer(args.host, args.port)
    print(f"newsflow serve: starting the Prefect server at {server.api_url} (log: {server.log_path})", flush=True)
    started = time.monotonic()
    try:
        server.start({})
        server.wait_ready(args.server_timeout)
    except BaseException:
        server.stop(grace=5)
        raise
    print(f"newsflow serve: server up in {time.monotonic() - started:.1f} s", flush=True)
    return local, server


def _serve(args: argparse.Namespace, api_url: str) -> int:
    # The runner and the flow-run subprocesses it spawns both read the API from the environment.
    os.environ["PREFECT_API_URL"] = api_url
    if os.environ.get("NEWSFLOW_DB"):  # served runs work in the project root: keep the user's meaning
        os.environ["NEWSFLOW_DB"] = str(Path(os.environ["NEWSFLOW_DB"]).expanduser().absolute())
    from prefect.runner import Runner
    from prefect.exceptions import TerminationSignal

    prefect_yaml = Path(args.prefect_yaml).expanduser().absolute()  # relative to where serve was started
    # Prefect 3.8's runner answers SIGTERM with a sync stop() that, called on the event loop, only builds a
    # coroutine (and warns that it was never awaited), then sys.exit(0): shutdown still runs as on Ctrl-C.
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    os.chdir(PROJECT_ROOT)  # served runs inherit it: relative parameters mean the project's files
    deployments = load_deployments(prefect_yaml, args.deployments)
    runner = Runner(pause_on_shutdown=True)
    ids = [runner.add_deployment(deployment) for deployment in deployments]
    scheduled = [i for i, d in zip(ids, deployments) if any(s.active for s in d.schedules or [])]
    _wait_for_first_scheduled_runs(scheduled)
    ui = api_url.removesuffix("/").removesuffix("/api")
    print(f"newsflow serve: ready: serving {len(deployments)} deployment(s) from {prefect_yaml} "
          f"in {PROJECT_ROOT}; UI at {ui}; Ctrl-C to stop", flush=True)
    try:
        asyncio.run(runner.start())
    except TerminationSignal:
        pass
    return EXIT_OK


def _wait_for_first_scheduled_runs(deployment_ids: Sequence, timeout: float = SCHEDULED_WAIT) -> None:
    """Until every deployment given has a scheduled run (the scheduler's first pass over them is done)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    waiting = list(deployment_ids)
    deadline = time.monotonic() + timeout
    scheduled = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
    with get_client(sync_client=True) as client:
        while waiting and time.monotonic() < deadline:
            waiting = [d for d in waiting if not client.count_flow_runs(
                flow_run_filter=scheduled, deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[d])))]
            if waiting:
                time.sleep(0.5)
    if waiting:
        print(f"newsflow serve: {len(waiting)} deployment(s) have no scheduled run after {timeout:.0f} s; "
              "serving anyway", file=sys.stderr, flush=True)
