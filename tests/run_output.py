"""Reading a run's output as it goes, for tests that stop or kill a run part way."""

from __future__ import annotations

import subprocess
import time


def read_until_batches_loaded(process: subprocess.Popen, n: int, timeout: float, seen: list[str] | None = None) -> int:
    """Read the run's output until `n` batches landed or `timeout` seconds passed; how many landed.

    Lines read are appended to `seen` when given, for the failure message of the caller's assertion.
    """
    deadline = time.monotonic() + timeout
    loaded = 0
    for line in process.stdout:
        if seen is not None:
            seen.append(line)
        loaded += "loaded batch" in line
        if loaded >= n or time.monotonic() > deadline:
            break
    return loaded
