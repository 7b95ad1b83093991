"""pytest fixture `web`: a started `WebServer` per test (register with `pytest_plugins`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webserver import WebServer


@pytest.fixture
def web() -> Iterator[WebServer]:
    """A real HTTP server on 127.0.0.1 with a free port, stopped after the test."""
    with WebServer() as server:
        yield server
