"""What a process and all its descendants cost the machine, sampled from /proc: peak memory and CPU time.

Memory is given as PSS (proportional set size: a page shared by n processes counts 1/n in each), the
physical memory the tree takes; the summed RSS beside it counts every shared page once per process
(the interpreter, libraries and models a forked worker shares with its parent), so it overstates a
tree of workers.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flows.lifetime import descendants


class TreeSampler:
    """Peak summed PSS and RSS (bytes) of process `pid` and its descendants, and the CPU seconds they used
    (a process's CPU as last seen before it ended: up to one interval of it is missed).

    `sampling_cpu_seconds` is the CPU the sampling thread took (reading smaps_rollup is not free), so that a
    caller timing its own process can leave it out.
    """

    def __init__(self, pid: int | None = None, interval: float = 0.1):
        self.pid, self.interval = pid or os.getpid(), interval
        self.peak_pss = self.peak_rss = self.peak_processes = 0
        self.sampling_cpu_seconds = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def _run(self) -> None:
        while True:
            tree = [self.pid, *descendants(self.pid)]
            sizes = [s for s in map(memory_bytes, tree) if s is not None]
            pss = sum(p for p, _ in sizes)
            if pss > self.peak_pss:
                self.peak_pss, self.peak_rss = pss, sum(r for _, r in sizes)
                self.peak_processes = len(sizes)
            for pid in tree:
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), process_cpu_seconds(pid) or 0.0)
            if self._stop.wait(self.interval):
                break
        self.sampling_cpu_seconds = time.thread_time()


def memory_bytes(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of a process in bytes, from /proc/PID/smaps_rollup; None once it has gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in lines)
    return int(fields["Pss"].split()[0]) * 1024, int(fields["Rss"].split()[0]) * 1024


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a process, from /proc/PID/stat; None once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
