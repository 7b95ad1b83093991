"""Stable identities for documents and their content.

`article_id` names where a story came from, so it survives edits and
re-runs; `content_hash` names what it says, so an unchanged file is
recognised before any cleaning and two files with the same text are known
to be one story.
"""

from __future__ import annotations

import hashlib


def article_id(source_uri: str) -> str:
    """Stable id of the article stored at `source_uri` (20 hex chars of SHA-256)."""
    return hashlib.sha256(source_uri.encode("utf-8")).hexdigest()[:20]


def content_hash(text: str) -> str:
    """Fingerprint of a document's decoded text, blind to trailing spaces and blank-line runs."""
    canonical = "\n".join(filter(None, map(str.rstrip, text.split("\n"))))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
