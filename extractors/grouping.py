"""Connected groups of linked items (union-find): one implementation for stories and entity spellings."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def connected_groups(links: Iterable[tuple[T, T]], items: Iterable[T] = ()) -> list[set[T]]:
    """Groups of items joined by links, so a~b and b~c make one group {a, b, c}.

    Every item of `items` and every linked item is in exactly one group (an
    item without links is a group of one). Groups come in the order of their
    smallest member; with path halving and union towards the smaller root,
    the root of each group is its smallest member.
    """
    parent: dict[T, T] = {}

    def root(x: T) -> T:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x in items:
        parent.setdefault(x, x)
    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[T, set[T]] = {}
    for x in list(parent):
        groups.setdefault(root(x), set()).add(x)
    return [groups[r] for r in sorted(groups)]
