"""The installed newsflow version, from package metadata: pyproject.toml is the one place it is written.

A module of its own so that the CLI and the settings can read it without importing anything heavy.
"""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    try:
        return metadata.version("newsflow")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
