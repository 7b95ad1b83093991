"""Inputs given in listing files, and the cap Prefect puts on the size of a flow run's parameters.

Prefect refuses a flow run whose parameters take more than `server.api.max_parameter_size` bytes of JSON
(512 KiB by default: about 8,000 paths of 60 characters; HTTP 422). So a list of inputs longer than
`parameter_budget()` travels as a listing file (one entry per line), and shards sent to a work pool are
cut to fit.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


def read_listing(items: Sequence[str] | None, listing: str | None) -> list[str]:
    """Entries given directly, then those of a listing file (one per line; blank lines and # comments skipped)."""
    listed = list(items or [])
    if listing:
        lines = (line.strip() for line in Path(listing).read_text(encoding="utf-8").splitlines())
        listed.extend(line for line in lines if line and not line.startswith("#"))
    return listed


def write_listing(items: Iterable[str], folder: str | None = None) -> Path:
    """A new listing file of `items` (the caller removes it)."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", prefix="newsflow-inputs-",
                                     dir=folder, delete=False) as handle:
        handle.write("".join(f"{item}\n" for item in items))
    return Path(handle.name)


def parameter_bytes(items: Sequence[str]) -> int:
    """What a list takes in a flow run's parameters, serialized as Prefect measures it."""
    return len(json.dumps(list(items), separators=(",", ":")).encode())


PREFECT_PARAMETER_CAP = 524_288
"""Prefect's default `server.api.max_parameter_size` (a test holds it to the installed Prefect's)."""


def parameter_budget() -> int:
    """Bytes one list may take in a flow run's parameters: half of Prefect's cap, leaving room for the rest of
    them (0: no cap). The cap is the server's setting, taken from this process's environment the way Prefect
    reads it, without importing Prefect: the CLI must not load Prefect's settings before it has chosen its API."""
    return int(os.environ.get("PREFECT_SERVER_API_MAX_PARAMETER_SIZE") or PREFECT_PARAMETER_CAP) // 2


def cut_within(items: Sequence[str], size: int, budget: int) -> list[list[str]]:
    """Consecutive shards of at most `size` items, each cut short where it would take more than `budget`
    bytes of parameters (0: no byte limit)."""
    shards: list[list[str]] = []
    shard: list[str] = []
    used = 2  # the brackets
    for item in items:
        cost = len(json.dumps(item).encode()) + 1  # the item and its comma
        if shard and (len(shard) == size or (budget and used + cost > budget)):
            shards.append(shard)
            shard, used = [], 2
        shard.append(item)
        used += cost
    return [*shards, shard] if shard else shards


@contextmanager
def path_parameters(paths: Sequence[str]) -> Iterator[dict]:
    """Input paths as flow parameters: `paths` itself, or (a shell glob of many thousand files) a listing file
    in `paths_file`, removed after the run, where the list would not fit in a flow run's parameters."""
    budget = parameter_budget()
    if not budget or parameter_bytes(paths) <= budget:
        yield {"paths": list(paths)}
        return
    listing = write_listing(paths)
    try:
        yield {"paths": [], "paths_file": str(listing)}
    finally:
        listing.unlink(missing_ok=True)
