"""Child processes that never outlive newsflow: the temporary Prefect API, the Prefect server, worker processes.

A command killed with SIGKILL runs no cleanup, so each child watches its
parent itself: a server child gets the kernel's parent-death signal
(`prctl(PR_SET_PDEATHSIG)`, Linux), and a worker process exits when the
process that made its pool has ended (a pidfd, Linux). Only the standard library here: spawned
workers import this module before anything else.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """`preexec_fn` for a child: the kernel sends it `sig` when the process (thread) that started it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup is all there is
        pass


def worker_initializer(owner: int) -> None:
    """Initializer of extraction worker processes: Ctrl-C is the owner's to handle, and they die with the owner.

    Ctrl-C in a terminal signals the whole process group; the owner (the
    command or flow run that made the pool) stops the pool itself, so a
    worker must not die mid-task with a traceback of its own. The owner, not
    the parent: forkserver workers' parent is the fork server, which lives
    as long as any worker does.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()


def _exit_with(owner: int) -> None:
    """Exit this process as soon as process `owner` has ended (a pidfd turns readable then; Linux 5.3+)."""
    try:
        handle = os.pidfd_open(owner)
    except AttributeError:  # not Linux: the owner's own cleanup is all there is
        return
    except OSError:  # the owner is gone already
        os._exit(1)
    select.select([handle], [], [])
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


class StopWatchdog:
    """SIGINT and SIGTERM stop a command the normal way (KeyboardInterrupt), within a bounded time.

    The first signal raises KeyboardInterrupt in the main thread (the code in
    flight rolls back and cleans up) and starts a timer; if the process has
    not exited after `grace` seconds, or when a second signal comes,
    `hard_stop` runs, every child process gets SIGKILL, and the process exits
    with 128 + the signal number, saying so on one line. Once a signal came,
    leaving the `armed` block keeps the timer and the handlers: the way out
    goes on after the block (interpreter exit waits for threads, Prefect's
    included), and the bound is on the whole of it.
    """

    def __init__(self, name: str, grace: float, hard_stop: Callable[[], None] = lambda: None,
                 status: Callable[[int], int] = lambda signum: 128 + signum) -> None:
        self.name, self.grace, self.hard_stop, self.status = name, grace, hard_stop, status
        self.signum: int | None = None
        self._timer: threading.Timer | None = None

    @contextmanager
    def armed(self) -> Iterator[StopWatchdog]:
        previous = {sig: signal.signal(sig, self.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            if self.signum is None:
                self.cancel()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    def on_signal(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            self._stop_hard("stopping now")
        self.signum = signum
        self._timer = threading.Timer(self.grace, self._stop_hard, args=(f"still stopping after {self.grace:.0f} s; "
                                                                          "stopping hard",))
        self._timer.daemon = True
        self._timer.start()
        raise KeyboardInterrupt

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def _stop_hard(self, why: str) -> None:
        print(f"{self.name}: {why}", file=sys.stderr, flush=True)
        try:
            self.hard_stop()
        finally:
            kill_descendants()
            os._exit(self.status(self.signum or signal.SIGINT))
