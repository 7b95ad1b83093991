"""Entity names: when two spellings name the same thing.

A name's key drops what spellings of one name disagree on: case, accents, dots,
apostrophes, a possessive, a leading "the", doubled letters and y/i, so "the
U.S." and "US", "Zelensky" and "Zelenskyy", "Dmitry" and "Dmitri" share a key.
Variants a key cannot see (Kiev/Kyiv, Britain/UK) come from the curated alias
file, which users edit. Fuzzy matching catches the remaining near-spellings,
token by token and with a stricter bar for the surname, so people who share a
surname ("Donald Trump", "Melania Trump") stay apart.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import Indel

ALIAS_FILE = Path(__file__).parent / "data" / "entity_aliases.json"

TOKEN_MIN_SIMILARITY = 0.85
"""Fuzzy bar for each token but the last: "Dmitriy"/"Dmitry" pass, "Maria"/"Mario" (0.80) do not."""
SURNAME_MIN_SIMILARITY = 0.90
"""Fuzzy bar for the last token, where a one-letter slip more often means another person or place
("Austria"/"Australia" is 0.875)."""

_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])$")
_WORD = re.compile(r"[^\W_]+")
_DOUBLED = re.compile(r"(.)\1+")


@dataclass(frozen=True, slots=True)
class CuratedEntity:
    """An entry of the alias file: the name to show and the label it always gets."""

    name: str
    label: str


@dataclass(frozen=True, slots=True)
class AliasFile:
    by_key: dict[str, CuratedEntity]
    titles: frozenset[str]
    """Lower-case words that precede a person's name and are not part of it."""


@lru_cache(maxsize=65536)
def canonical_key(name: str) -> str:
    """The key two spellings of one name share; the entity id is derived from it."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().strip()
    text = _POSSESSIVE.sub("", text).replace(".", "").replace("'", "").replace("’", "")
    words = _WORD.findall(text)
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(_DOUBLED.sub(r"\1", w.replace("y", "i")) for w in words)


@lru_cache(maxsize=None)
def load_aliases(path: Path = ALIAS_FILE) -> AliasFile:
    data = json.loads(path.read_text(encoding="utf-8"))
    by_key: dict[str, CuratedEntity] = {}
    for entry in data["entities"]:
        entity = CuratedEntity(entry["name"], entry["label"])
        for spelling in (entry["name"], *entry["aliases"]):
            by_key[canonical_key(spelling)] = entity
    return AliasFile(by_key, frozenset(t.lower() for t in data["titles"]))


def curated(name: str) -> CuratedEntity | None:
    return load_aliases().by_key.get(canonical_key(name))


def curated_name(name: str) -> str:
    """The alias file's name for `name`, else `name` itself."""
    entry = curated(name)
    return entry.name if entry else name


def similar_names(a: str, b: str) -> bool:
    """Whether two keys with the same number of tokens are near-spellings of one name."""
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb) or a == b:
        return a == b
    if Indel.normalized_similarity(ta[-1], tb[-1]) < SURNAME_MIN_SIMILARITY:
        return False
    return all(Indel.normalized_similarity(x, y) >= TOKEN_MIN_SIMILARITY for x, y in zip(ta[:-1], tb[:-1]))


def is_short_form(short: str, full: str) -> bool:
    """Whether key `short` is a surname, trailing part or first name of the longer key `full`."""
    ts, tf = short.split(), full.split()
    if len(ts) >= len(tf):
        return False
    return tf[-len(ts):] == ts or (len(ts) == 1 and tf[0] == ts[0])
