"""The Prefect API a command talks to: one already up, a temporary one, or `newsflow serve`'s server.

A flow run needs a Prefect API. In order of cost:
1. one that already answers: $PREFECT_API_URL, else the server of a running `newsflow serve`
   (it records its address in $PREFECT_HOME/serve-api.json while it serves);
2. a temporary API for this command alone: the server Prefect itself starts for an "ephemeral"
   run (uvicorn on `prefect.server.api.server:create_app`), started at once, while the command
   still imports its flows, and made cheaper than Prefect's own: no background services (no
   task-run recorder, event persister, triggers, event and log streams: nobody reads a temporary
   API's history), and no migration check or block registration once this Prefect version has
   migrated the home's database. It runs in its own session (Ctrl-C in the terminal reaches the
   command, not the API it still needs to record the end of the run) and gets SIGTERM from the
   kernel if the command dies (`lifetime.die_with_parent`).
`PrefectServer` is the full `prefect server start` (UI, scheduler, services) that `newsflow serve` runs.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from flows import lifetime

STOP_GRACE = 5.0
SEND_WITHIN = 2.0
"""Seconds a temporary API waits, before it stops, for the logs and events this process still queues for it."""
SERVE_RECORD = "serve-api.json"

CHEAP_API_ENV = {
    # What Prefect's own ephemeral server sets:
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # The services an ephemeral server still runs, off: they keep the history nobody reads afterwards.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_LOGGER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": "false",
}
TEMPORARY_RUN_SETTINGS = {
    # No heartbeat thread: heartbeats let a lasting server tell a crashed run, but a temporary API dies with
    # the command (and the warehouse's ledger marks a dead run interrupted); the end of each run waited up
    # to a second for that thread (it sleeps in 1 s steps).
    "flows.heartbeat_frequency": None,
}
"""Prefect client settings of a run on a temporary API."""
ALREADY_MIGRATED_ENV = {
    "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
    "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
}


class APIError(Exception):
    """No API to run against: a message for the user, no traceback."""


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


def port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")


def running_api() -> str | None:
    """The URL of an API that answers now: the configured one (which must answer), else a serving `newsflow serve`'s.

    Configured: $PREFECT_API_URL, or, when Prefect is loaded already (a caller in Python), its settings.
    """
    configured = os.environ.get("PREFECT_API_URL")
    if not configured and "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        configured = PREFECT_API_URL.value()
    if configured:
        if api_healthy(configured, os.environ.get("PREFECT_API_KEY"), timeout=5):
            return configured
        raise APIError(f"no Prefect API answers at PREFECT_API_URL={configured} (unset it to run on a temporary API)")
    try:
        record = json.loads((prefect_home() / SERVE_RECORD).read_text())
        os.kill(int(record["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record["api_url"] if api_healthy(record["api_url"], timeout=2) else None


def record_serving(api_url: str) -> Path:
    """Tell later commands of this PREFECT_HOME that `newsflow serve` answers at `api_url` (remove when done)."""
    path = prefect_home() / SERVE_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"api_url": api_url, "pid": os.getpid()}))
    return path


class TemporaryAPI:
    """Prefect's ephemeral API server for one command, without its background services."""

    def __init__(self) -> None:
        self.home = prefect_home()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log_path = self.home / "temporary-api.log"
        self.process: subprocess.Popen | None = None
        self._migrating = False

    def start(self) -> None:
        """Start the server process and return at once (`wait_ready` waits for it)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._migrating = not self._migrated()
        env = {**os.environ, **CHEAP_API_ENV, **({} if self._migrating else ALREADY_MIGRATED_ENV)}
        env.pop("PREFECT_API_URL", None)
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, preexec_fn=lifetime.die_with_parent,
            )

    def wait_ready(self) -> None:
        """Until the API answers, within Prefect's own limit for an ephemeral server (see flows/__init__.py)."""
        timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 180)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise APIError(f"the temporary Prefect API exited with status {self.process.returncode} before "
                               f"answering (log: {self.log_path}):\n{_tail(self.log_path)}")
            if api_healthy(self.api_url, timeout=2):
                if self._migrating:
                    self._stamp().write_text(self._schema_key())
                return
            time.sleep(0.05)
        raise APIError(f"the temporary Prefect API did not answer within {timeout:.0f} s (log: {self.log_path})")

    def stop(self, grace: float = STOP_GRACE, send_within: float = SEND_WITHIN) -> None:
        """Let this process's Prefect client send what it queues (`send_within` seconds at most), then SIGTERM,
        then SIGKILL after `grace` seconds; idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if send_within > 0:
            send_queued(send_within)
        stop_process_group(process, grace)

    def _migrated(self) -> bool:
        """Whether this home's own SQLite database was migrated by this Prefect version (else: migrate)."""
        if _database_url() or not (self.home / "prefect.db").exists():
            return False
        try:
            return self._stamp().read_text() == self._schema_key()
        except OSError:
            return False

    def _stamp(self) -> Path:
        return self.home / ".newsflow-api-migrated"

    @staticmethod
    def _schema_key() -> str:
        return f"prefect {importlib.metadata.version('prefect')}"


def send_queued(timeout: float) -> None:
    """Drain Prefect's client-side queues (logs, then events) into the API, waiting `timeout` seconds at most for each.

    Prefect sends run logs and task-run events from background workers, and the interpreter's exit waits for
    them: were the API gone by then, each would retry a refused connection for a minute or more.
    """
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=timeout, at_exit=False)


def _database_url() -> str | None:
    return os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL") or os.environ.get(
        "PREFECT_API_DATABASE_CONNECTION_URL")


class PrefectServer:
    """`prefect server start` (API, UI, scheduler and services) as a child process in its own process group."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.api_url = f"http://{url_host(host)}:{port}/api"
        home = prefect_home()
        home.mkdir(parents=True, exist_ok=True)
        self.log_path = home / "serve-server.log"
        self.process: subprocess.Popen | None = None

    def start(self, env_updates: dict[str, str]) -> None:
        """Start the server and return at once (`wait_ready` waits for it)."""
        env = {
            **os.environ,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "true",
            "PREFECT_API_URL": self.api_url,  # the UI talks to this server, whatever the caller had set
            **env_updates,
        }
        env.pop("PREFECT_API_KEY", None)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, preexec_fn=lifetime.die_with_parent,
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise APIError(f"the Prefect server exited with status {self.process.returncode} "
                               f"before answering:\n{self.log_tail()}")
            if api_healthy(self.api_url, timeout=2):
                return
            time.sleep(0.2)
        raise APIError(f"the Prefect server did not answer at {self.api_url}/health within {timeout:.0f} s:\n"
                       f"{self.log_tail()}")

    def stop(self, grace: float) -> None:
        """SIGTERM to the server's process group, SIGKILL after `grace` seconds; idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        stop_process_group(process, grace)
        print("newsflow serve: Prefect server stopped", flush=True)

    def log_tail(self) -> str:
        return _tail(self.log_path)


def stop_process_group(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the group `process` leads, SIGKILL to what is left after `grace` seconds."""
    group = process.pid  # start_new_session: the child leads its own process group
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


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
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
