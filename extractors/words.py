"""Words in any script: the one way newsflow counts and splits text into words.

Chinese and Japanese are written without spaces, so splitting on whitespace
(or on runs of word characters) turns a whole sentence into one "word": a
Japanese story of 900 characters came out as "9 words" and was refused as
no story. Here each Han, Hiragana or Katakana character counts as one word
(the usual measure of CJK text length); other text counts what spaces
separate, as long as it holds a letter or digit. Korean puts spaces between its words, so Hangul counts
by runs like Latin script.
"""

from __future__ import annotations

import re

_CJK_CHAR = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
"""Hiragana, Katakana (and their extensions, half-width forms), CJK ideographs."""
_TOKEN = re.compile(rf"[{_CJK_CHAR}]|[^\s{_CJK_CHAR}]*[^\W_{_CJK_CHAR}][^\s{_CJK_CHAR}]*")
_CJK = re.compile(rf"[{_CJK_CHAR}]")


def words(text: str) -> list[str]:
    """Words of `text` in order: each CJK character on its own, else what spaces separate
    ("O'Brien", "6–1", "p.m." are one word each), punctuation standing alone ("—", "|") none."""
    return _TOKEN.findall(text)


def word_count(text: str) -> int:
    """How many words `text` has, CJK counted by characters (see `words`)."""
    return len(_TOKEN.findall(text))


def token_count(tokens: list[str]) -> int:
    """How many words already-split tokens make, a token with CJK characters counting each of them
    (for callers that split text their own way, e.g. runs of letters and digits)."""
    if _CJK.search("".join(tokens)) is None:  # one search per line, not per token
        return len(tokens)
    return sum(1 if t.isascii() or not _CJK.search(t) else len(_TOKEN.findall(t)) for t in tokens)


def has_cjk(text: str) -> bool:
    """Whether `text` holds Chinese or Japanese characters."""
    return _CJK.search(text) is not None
