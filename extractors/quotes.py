"""Direct quotations in an article body and who said them.

A quotation is text between double quotes (straight or curly) or between curly
single quotes used as quote marks (an opening ‘ after a space or bracket, a
closing ’ not followed by a letter, so "Trump’s" is an apostrophe). It may
span line breaks but not a paragraph break.

The speaker is a PERSON, ORG or GPE mention outside the quotation in the
quote's own sentences, else in the sentence after it, else in the sentence
before it when that one ends with a colon, standing in a speech pattern: "X
said", "X, the minister, said", "said X", "according to X", "X told Y", "X:".
A person wins over an organisation or place, then the nearest wins. "he
said"/"she said" takes the nearest PERSON mentioned before the quotation:
right in reported speech nearly always, wrong when two people alternate.

Quotes of fewer than `MIN_UNATTRIBUTED_WORDS` words with no speaker are scare
quotes ("a ‘win-win’"), not speech, and are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from extractors.entity_names import load_aliases
from extractors.entity_resolution import ResolvedMention

MIN_UNATTRIBUTED_WORDS = 3
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE"})
MAX_WORDS_BETWEEN_VERB_AND_NAME = 4
"""Room for a title between "said" and the name: "said Kremlin spokesman Dmitry Peskov"."""

_VERBS = (
    r"(?:said|says|say|told|tells|added|adds|asked|asks|stated|states|stressed|stresses|noted|notes|wrote|"
    r"writes|argued|argues|warned|warns|claimed|claims|explained|explains|insisted|insists|declared|"
    r"recalled|replied|responded|continued|concluded|posted|announced|acknowledged|emphasi[sz]ed|"
    r"stressing|stating|saying|adding|telling|noting|writing|warning|arguing|insisting|explaining)"
)
_LINE = r"(?:[^\n]|\n(?![ \t]*\n))"
_QUOTE = re.compile(
    rf"“((?:(?![“”]){_LINE})+)”"
    rf'|"((?:(?!"){_LINE})+)"'
    rf"|(?<![\w’'])‘((?:(?![‘’]){_LINE}|’(?=\w))+)’(?!\w)"
)
_AFTER_NAME = re.compile(rf"^(?:\s*,[^,“”\"\n]{{1,80}},)?\s+{_VERBS}\b|^\s*:\s*$")
_BEFORE_NAME = re.compile(rf"(?:\b{_VERBS}\s+((?:\S+\s+){{0,{MAX_WORDS_BETWEEN_VERB_AND_NAME}}})|\baccording to\s+(?:the\s+)?)$")
_PRONOUN = re.compile(rf"\b(?:he|she)\s+{_VERBS}\b|\b{_VERBS},?\s+(?:he|she)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?][”\"’)]*(?=\s+[“\"‘(]?[A-Z0-9])|\n[ \t]*\n")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.)+$|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|No|Jr|Sr)\.$")
_TRAILING = ",;: \n\t"


@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation: `start_char`/`end_char` index its text (inside the marks) in the body;
    `quote` is that text with whitespace runs collapsed; `speaker` is the canonical entity name."""

    quote: str
    speaker: str | None
    start_char: int
    end_char: int
    speaker_mention_text: str | None
    speaker_key: str | None = None


def extract_quotes(body: str, mentions: Sequence[ResolvedMention]) -> list[Quote]:
    """The direct quotations of `body` with their speakers, in order."""
    in_body = sorted((m for m in mentions if not m.in_title), key=lambda m: m.start_char)
    spans = [(m.start(m.lastindex), m.end(m.lastindex)) for m in _QUOTE.finditer(body)]
    if not spans:
        return []
    outside = _blank_out(body, spans)
    sentences = _sentences(body)
    speakers = [m for m in in_body if m.label in SPEAKER_LABELS and outside[m.start_char] != " "]
    quotes = []
    for start, end in spans:
        text = body[start:end]
        end -= len(text) - len(text.rstrip(_TRAILING))
        text = " ".join(body[start:end].split())
        speaker = _speaker(outside, start, end, sentences, spans, speakers)
        if speaker is None and len(re.findall(r"\w+", text)) < MIN_UNATTRIBUTED_WORDS:
            continue
        if speaker:
            quotes.append(Quote(text, speaker.name, start, end, speaker.text, speaker.key))
        else:
            quotes.append(Quote(text, None, start, end, None))
    return quotes


def _sentences(body: str) -> list[tuple[int, int]]:
    bounds, at = [], 0
    for m in _SENTENCE_END.finditer(body):
        if m.group()[0] == "." and _ABBREVIATION.search(body[max(0, m.start() - 8): m.start() + 1]):
            continue
        bounds.append((at, m.end()))
        at = m.end()
    bounds.append((at, len(body)))
    return bounds


def _blank_out(body: str, spans: list[tuple[int, int]]) -> str:
    """`body` with every quotation's text and marks turned to spaces, offsets kept."""
    parts, at = [], 0
    for start, end in spans:
        parts += [body[at: start - 1], " " * (end - start + 2)]
        at = end + 1
    parts.append(body[at:])
    return "".join(parts)


def _speaker(
    outside: str,
    start: int,
    end: int,
    sentences: list[tuple[int, int]],
    spans: list[tuple[int, int]],
    speakers: Sequence[ResolvedMention],
) -> ResolvedMention | None:
    """The speaker of the quotation at start:end; `outside` is the body with quotations blanked."""
    first = next(i for i, (_, b) in enumerate(sentences) if b > start - 1)
    last = next(i for i, (_, b) in enumerate(sentences) if b >= end)
    windows = [(sentences[first][0], sentences[last][1])]
    if last + 1 < len(sentences):
        a, b = sentences[last + 1]
        if not any(a <= s < b for s, _ in spans):
            windows.append((a, b))
    if first > 0 and outside[: sentences[first][0]].rstrip().endswith(":"):
        windows.append(sentences[first - 1])
    for a, b in windows:
        found = _named_speaker(outside, a, b, start, speakers) or _pronoun_speaker(outside, a, b, start, speakers)
        if found:
            return found
    return None


def _named_speaker(
    outside: str, a: int, b: int, quote_start: int, speakers: Sequence[ResolvedMention]
) -> ResolvedMention | None:
    candidates = [m for m in speakers if a <= m.start_char < b and _in_speech_pattern(outside, m, a, b)]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (m.label != "PERSON", abs(m.start_char - quote_start)))


def _in_speech_pattern(outside: str, m: ResolvedMention, a: int, b: int) -> bool:
    after = outside[m.end_char: min(b, m.end_char + 100)]
    if _AFTER_NAME.search(after.split("  ")[0]):  # a blanked quotation ends the clause
        return True
    before = _BEFORE_NAME.search(outside[max(a, m.start_char - 80): m.start_char])
    if before is None:
        return False
    between = (before.group(1) or "").split()
    titles = load_aliases().titles
    return all(w.lower() in titles or w[0].isupper() for w in between)


def _pronoun_speaker(
    outside: str, a: int, b: int, quote_start: int, speakers: Sequence[ResolvedMention]
) -> ResolvedMention | None:
    if not _PRONOUN.search(outside, a, b):
        return None
    before = [m for m in speakers if m.label == "PERSON" and m.end_char <= quote_start]
    return before[-1] if before else None
