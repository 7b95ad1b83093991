"""Where the shared development sets are, from any checkout (the main one or a worktree)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dataset(name: str, env: str | None = None) -> Path:
    """`$env` when set, else `shared/datasets/<name>` in the nearest folder above the checkout that has
    it, else /work/shared/datasets/<name>."""
    if env and os.environ.get(env):
        return Path(os.environ[env])
    for folder in ROOT.parents:
        candidate = folder / "shared" / "datasets" / name
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/datasets") / name
