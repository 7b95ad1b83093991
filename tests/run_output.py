"""Running the real CLI in processes: reading a run's output as it goes (tests that stop or kill a run part
way), and several runs at once (tests of concurrent writers and fetchers)."""

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


def run_at_once(commands: list[list[str]], timeout: float, **popen) -> list[tuple[int, str, str]]:
    """Start every command at once and wait for all: (exit status, stdout, stderr) of each, in order.
    Whatever still runs after `timeout` seconds (or when the wait fails) is killed."""
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
            for command in commands]
    try:
        outputs = [run.communicate(timeout=timeout) for run in runs]
    finally:
        for run in runs:
            run.kill()
    return [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs)]
