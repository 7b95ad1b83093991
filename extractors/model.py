"""The records every extractor returns: plain data, no I/O, no database.

One path for data: a stored file or fetched page becomes a `RawDocument`,
an extractor turns it into an `Article`, and the warehouse loads the
`Article` as it is. Everything an extractor cut from the page travels with
the article as `CutSegment`s so the audit trail lands in the same load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple


class CutSegment(NamedTuple):
    """A piece of page furniture removed from an article, kept for audit.

    `position` is the 0-based index of the line in the source text (lines
    split on newlines, blank lines included), so a reviewer can find it;
    for an HTML page, its line in the extractor's body (paragraphs separated
    by blank lines).
    `reason` is the code of the rule that cut it (see furniture_rules).
    """

    position: int
    text: str
    reason: str


@dataclass
class Article:
    """One cleaned article, ready to load."""

    body: str
    """Story text only: paragraphs, subheadings, bullets and quotes, in
    order, separated by blank lines; no title, byline or furniture."""
    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    """As precise as the page states it: timezone-aware when it gives an offset,
    naive when it gives a time without one, midnight when it gives only a day."""
    published_date_only: bool = False
    """The page states only the publication day, no time."""
    section: str | None = None
    language: str | None = None
    site: str | None = None
    url: str | None = None
    extractor: str = ""
    """Which extractor produced the body, e.g. "text-labeller" or "trafilatura"."""
    cut: list[CutSegment] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p.strip()]
