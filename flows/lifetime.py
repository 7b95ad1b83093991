"""Child processes that never outlive newsflow: the temporary Prefect API, the Prefect server, worker processes.

A command killed with SIGKILL runs no cleanup, so each child watches its
parent itself: a server child gets the kernel's parent-death signal
(`prctl(PR_SET_PDEATHSIG)`, Linux), and a worker process exits when it is
orphaned (its parent pid changes). Only the standard library here: spawned
workers import this module before anything else.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
ORPHAN_CHECK_SECONDS = 0.5


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """`preexec_fn` for a child: the kernel sends it `sig` when the process (thread) that started it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup is all there is
        pass


def worker_initializer() -> None:
    """Initializer of extraction worker processes: Ctrl-C is the parent's to handle, and an orphan exits.

    Ctrl-C in a terminal signals the whole process group; the parent stops the
    pool itself, so a worker must not die mid-task with a traceback of its own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="orphan-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(1)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def kill_descendants(pid: int | None = None) -> None:
    """SIGKILL every process below `pid` (default: this one)."""
    for child in descendants(os.getpid() if pid is None else pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
