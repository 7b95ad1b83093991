"""Prefect orchestration of newsflow's ingestion.

Importing this package first pins Prefect to a project-local home with
analytics off, before any Prefect module reads its settings, so that every
entry point (CLI, `prefect deploy`, tests) behaves the same offline.
"""

import os
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_HOME_BASE = _PROJECT_ROOT if (_PROJECT_ROOT / "prefect.yaml").exists() else Path.cwd()

os.environ.setdefault("PREFECT_HOME", str(_HOME_BASE / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The temporary API of an ephemeral run migrates a fresh database first: slow on a busy 2-core box.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
