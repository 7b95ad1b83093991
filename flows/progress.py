"""A long command's progress on the terminal: inputs done of the total (when known), rate, failures so far.

Drawn with rich on standard error, so standard output stays what scripts
read (the summary, or its JSON); nothing at all is drawn when standard error
is not a terminal, or with --quiet / --json. The numbers come from the ingest
driver's progress hook, called after each batch lands.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType


class ProgressDisplay:
    """`update(done, total, failures)` as batches land; a context manager that draws only when `enabled`."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._started = time.monotonic()

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                console=Console(file=sys.stderr), transient=True, refresh_per_second=4,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None, counts="starting")
        return self

    def update(self, done: int, total: int | None, failures: int) -> None:
        if self._progress is None:
            return
        elapsed = max(time.monotonic() - self._started, 1e-6)
        counts = f"{done:,}" + (f"/{total:,}" if total is not None else "") + f" | {done / elapsed:.1f}/s"
        counts += f" | {failures:,} failed"
        self._progress.update(self._task, completed=done, total=total, counts=counts)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
