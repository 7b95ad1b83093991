"""How a step's items are cut into worker tasks (`stages.in_pool`); no Prefect here, so benches use it too."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

TASK_SIZE = 16
"""Most items in one worker task."""


def guided_chunks(items: Sequence, size: int = TASK_SIZE) -> Iterator[Sequence]:
    """Consecutive chunks of at most `size` items, none more than 1/`size` of the items still left: the
    step's last tasks are small, so the workers finish together instead of one running a big one alone."""
    at = 0
    while at < len(items):
        n = max(1, min(size, (len(items) - at) // size))
        yield items[at: at + n]
        at += n
