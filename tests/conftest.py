"""Shared fixtures: one real Prefect API per test session, real DuckDB files, real files on disk."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two test processes: each its own Prefect home
    os.environ["PREFECT_HOME"] = str(ROOT / ".prefect" / f"tests-{os.environ['PYTEST_XDIST_WORKER']}")

import flows  # noqa: E402, F401  (pins PREFECT_HOME and analytics before Prefect loads)

SEEDS = ROOT / "data" / "seeds"

# A suite started in the background of a non-interactive shell (`make test &`, nohup) inherits SIGINT
# ignored, and so would every process it starts; the tests press Ctrl-C on runs and workers, as a person would.
signal.signal(signal.SIGINT, signal.default_int_handler)

# `web`: a real HTTP server on 127.0.0.1 (tests/webserver.py); `corpus_2k`, `seeds_warehouse`: warehouses for
# search, API and report tests (tests/search_corpus.py)
pytest_plugins = ["webserver_fixtures", "search_corpus"]


@pytest.fixture(scope="session")
def prefect_api():
    """A real, temporary Prefect server for the whole session: its start-up costs seconds, not per test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield


@pytest.fixture
def prefect_api_url(prefect_api) -> str:
    """The session API's URL, for flow runs in other processes (no ephemeral server of their own)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of the stored seed corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"
