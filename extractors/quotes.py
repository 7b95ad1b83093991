"""Direct quotations in an article body and who said them, read from the sentence's parse.

A quotation is text between double quotes (straight or curly) or between curly
single quotes used as quote marks (an opening ‘ after a space or bracket, a
closing ’ not followed by a letter, so "Trump’s" is an apostrophe). It may
span line breaks but not a paragraph break, except in the press convention
where a quote runs on into the next paragraph: the paragraph leaves it open and
the next one opens again.

Attribution parses, with the dependency parser of the same spaCy pipeline,
only the sentences that hold a quotation and the speech-word sentences next to
them, batched across articles, each quotation replaced by a placeholder (the parser then reads "“Q,” said X" and not the
quoted words, and the cost stays small). A sentence gives speech cues: the
subject of a speech verb (climbing from a participle, "..., saying “Q”", to
the verb that has one; the agent of a passive), the object of "according to",
the noun phrase before "X: “Q”", the owner of "His response was: “Q”", the
subject of an informal "X's all like, “Q”"; "X told Y" gives X (Y is the
listener); "X was asked", "asked X" mark whom a question went to.

A quote takes the cue of its own sentence, else of the sentence before it when
that one ends with a colon, else of the next sentence without a quote of its
own, else the paragraph's current speaker, else, when it opens a paragraph, the
speaker of the quote that ended the previous one. A cue resolves to the
PERSON / ORG / GPE mention it covers; a pronoun to the nearest person of the
pronoun's gender (the current speaker first; a possessive "his response" to
whom the question went); "the president" to the person the article names with
that title; any other noun phrase ("a senior official") stays a role:
`speaker_role`, with no speaker entity.

Quotes of fewer than `MIN_UNATTRIBUTED_WORDS` words with no speaker are scare
quotes ("a ‘win-win’"), not speech, and are skipped.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.entity_names import load_aliases
from extractors.entity_resolution import ResolvedMention

MIN_UNATTRIBUTED_WORDS = 3
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE"})
GENDER_WINDOW = 300
"""A he/she pronoun votes for the gender of the one person named in the characters before it."""
MAX_ROLE_TOKENS = 10
PLACEHOLDER = "Q"
PARSE_BATCH_SIZE = 256
"""Sentences per parser batch: they are short (the quotation is one placeholder word), and small
batches cost a third more per word."""

_SPEECH_VERBS = {
    "say": "said", "tell": "told", "write": "wrote", "add": "added", "ask": "asked", "state": "stated",
    "stress": "stressed", "note": "noted", "argue": "argued", "warn": "warned", "claim": "claimed",
    "explain": "explained", "insist": "insisted", "declare": "declared", "recall": "recalled",
    "reply": "replied", "respond": "responded", "continue": "continued", "conclude": "concluded",
    "post": "posted", "announce": "announced", "acknowledge": "acknowledged", "emphasize": "emphasized",
    "emphasise": "emphasised", "suggest": "suggested", "admit": "admitted", "concede": "conceded",
    "caution": "cautioned", "remark": "remarked", "quip": "quipped", "joke": "joked", "tweet": "tweeted",
    "boast": "boasted", "complain": "complained", "predict": "predicted", "promise": "promised",
    "vow": "vowed", "urge": "urged", "observe": "observed", "counter": "countered", "retort": "retorted",
    "shout": "shouted", "mutter": "muttered", "muse": "mused", "pledge": "pledged", "assert": "asserted",
    "affirm": "affirmed", "confirm": "confirmed", "deny": "denied", "reiterate": "reiterated",
    "underline": "underlined", "underscore": "underscored", "testify": "testified", "comment": "commented",
    "lament": "lamented", "speak": "spoke", "tout": "touted",
    "contend": "contended", "maintain": "maintained", "recount": "recounted", "answer": "answered",
    "question": "questioned", "wonder": "wondered", "exclaim": "exclaimed", "agree": "agreed",
}
_IRREGULAR = {"said": ("say",), "told": ("tell",), "wrote": ("write",), "written": ("write",),
              "spoke": ("speak",), "spoken": ("speak",)}


def _forms() -> dict[str, str]:
    forms = {}
    for base, past in _SPEECH_VERBS.items():
        stem = base[:-1] if base.endswith("e") and base not in {"agree"} else base
        if base.endswith("y") and base not in {"say"}:
            third, ing = base[:-1] + "ies", base + "ing"
        else:
            third, ing = (base + "es" if base.endswith(("s", "sh")) else base + "s"), stem + "ing"
        for form in (base, third, past, ing):
            forms[form] = base
    forms["says"], forms["saying"] = "say", "say"
    for form, (base,) in _IRREGULAR.items():
        forms[form] = base
    return forms


SPEECH_FORMS = _forms()
"""Word form -> speech verb."""
RESPONSE_NOUNS = frozenset({"response", "reply", "answer", "message", "words", "verdict", "comment",
                            "retort", "explanation", "advice", "warning", "view", "reaction", "statement"})
QUESTION_VERBS = frozenset({"ask", "question", "press"})
_SPEECH_WORD = re.compile(r"\b(?:" + "|".join(sorted(SPEECH_FORMS, key=len, reverse=True))
                          + r"|according|pressed|response|reply|answer)\b", re.IGNORECASE)
_QUESTION_WORD = re.compile(r"\b(?:" + "|".join(sorted(f for f, base in SPEECH_FORMS.items() if base in QUESTION_VERBS))
                            + r"|pressed)\b", re.IGNORECASE)
"""A word an "asked" cue starts from (`_read_cues`)."""
_CUE_START = re.compile(r"\b(?:" + "|".join(sorted(SPEECH_FORMS, key=len, reverse=True)) + r"|pressed)\b"
                        rf"|\baccording\s+to\b|(?:\blike|:)[\W_]*{PLACEHOLDER}\b|:\s*$", re.IGNORECASE)
_RESPONSE_NOUN = re.compile(r"\b(?:" + "|".join(sorted(RESPONSE_NOUNS)) + r")\b", re.IGNORECASE)
_COPULA = re.compile(r"\b(?:was|is|were)", re.IGNORECASE)
"""A prefix, so that "wasn't" (tokens "was", "n't") has one."""
_LINE = r"(?:[^\n]|\n(?![ \t]*\n))"
_QUOTE = re.compile(
    rf"“((?:(?![“”]){_LINE})+)”"
    rf'|"((?:(?!"){_LINE})+)"'
    rf"|(?<![\w’'])‘((?:(?![‘’]){_LINE}|’(?=\w))+)’(?!\w)"
)
_PARAGRAPH = re.compile(r"[^\n]+(?:\n(?![ \t]*\n)[^\n]*)*")
_SENTENCE_END = re.compile(r"[.!?][”\"’)]*(?=\s+[“\"‘(]?[A-Z0-9])|\n[ \t]*\n")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.)+$|\b(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Gov|Lt|Col|No|Jr|Sr)\.$")
_TRAILING = ",;: \n\t"
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers)\b", re.IGNORECASE)
MALE, FEMALE = "m", "f"
PRONOUN_GENDER = {"he": MALE, "him": MALE, "his": MALE, "she": FEMALE, "her": FEMALE, "hers": FEMALE}
TITLE_GENDER = {"mr": MALE, "mr.": MALE, "sir": MALE, "king": MALE, "mrs": FEMALE, "mrs.": FEMALE,
                "ms": FEMALE, "ms.": FEMALE, "miss": FEMALE, "queen": FEMALE, "lady": FEMALE}
NOT_PERSON_TITLES = frozenset({"state", "house", "white", "kremlin", "press", "economy", "interior", "treasury",
                               "finance", "defense", "defence", "foreign", "of", "first", "former"})
"""Words of the title list that, as the head of "the X said", do not name a person ("the state said")."""
_SUBJECTS = ("nsubj", "nsubjpass")
_PHRASE_PARTS = frozenset({"compound", "amod", "det", "poss", "case", "nmod", "nummod", "prep", "pobj",
                           "quantmod", "advmod", "npadvmod", "appos", "flat", "cc", "conj"})
_NAME_PARTS = frozenset({"compound", "appos", "flat"})


@dataclass(frozen=True, slots=True)
class Quote:
    """A quotation: `start_char`/`end_char` index its text (inside the marks) in the body;
    `quote` is that text with whitespace runs collapsed; `speaker` is the canonical entity name;
    `speaker_role` the words naming a speaker who is no entity ("a senior official")."""

    quote: str
    speaker: str | None
    start_char: int
    end_char: int
    speaker_mention_text: str | None
    speaker_key: str | None = None
    speaker_role: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechCue:
    """What the parse of one sentence says about a speaker (body offsets throughout)."""

    kind: str
    """"speaker" (who speaks) or "asked" (whom a question went to)."""
    frame: int
    """Index of the sentence group (`frames`) it was read in."""
    anchor: int
    """Offset of the word that made it a cue (the verb, "according", the colon)."""
    head: str
    head_tag: str
    name_spans: tuple[tuple[int, int], ...]
    """The head noun with its compounds and appositions: where a mention must be to be the speaker."""
    phrase: str
    """The whole noun phrase, for a role ("a senior official at the ministry")."""
    possessive: bool = False
    """The speaker is the owner of a response noun ("His response was")."""
    via: str = "verb"
    """What made it a cue: "verb", "according" (often the medium that reported a speaker), "colon", "like"."""


def quote_spans(body: str) -> list[tuple[int, int]]:
    """Offsets of each quotation's text (inside its marks)."""
    spans = [(m.start(m.lastindex), m.end(m.lastindex)) for m in _QUOTE.finditer(body)]
    paragraphs = [(p.start(), p.end()) for p in _PARAGRAPH.finditer(body)]
    for (a, b), (next_a, _) in zip(paragraphs, paragraphs[1:]):
        opening = body.rfind("“", a, b)
        if opening < 0 or "”" in body[opening:b] or any(s <= opening < e for s, e in spans):
            continue
        if body[next_a] == "“" and b - opening > 1:
            spans.append((opening + 1, b))
    return sorted(spans)


def frames(body: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences, those joined that one quotation spans."""
    starts, reach = [s for s, _ in spans], []
    for _, e in spans:
        reach.append(max(e, reach[-1]) if reach else e)
    out: list[tuple[int, int]] = []
    for a, b in _sentences(body):
        k = bisect_left(starts, out[-1][1]) - 1 if out else -1  # the spans that start before the group's end:
        if k >= 0 and reach[k] >= out[-1][1] and body[out[-1][0]:a].count("\n\n") == 0:  # does one reach it?
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _group_of(groups: Sequence[tuple[int, int]], offset: int) -> int:
    """Index of the group (`frames`) that holds `offset`."""
    return bisect_right(groups, offset, key=lambda g: g[1])


def _holds_quote(spans: Sequence[tuple[int, int]], a: int, b: int) -> bool:
    """Whether a quotation of the sorted `spans` starts in [a, b)."""
    k = bisect_left(spans, a, key=lambda span: span[0])
    return k < len(spans) and spans[k][0] < b


def speech_cues(bodies: Sequence[str]) -> list[list[SpeechCue]]:
    """Speech cues of each body, from batched parses of the sentences attribution reads: first those that
    hold a quotation and a word a cue starts from; then, for a quotation sentence that names no speaker of
    its own, the neighbours attribution can read (`_Plan.neighbours_read`)."""
    plans = [_Plan.of(body) for body in bodies]
    cues: list[list[SpeechCue]] = [[] for _ in bodies]
    holding = [(n, i, *plan.job(i)) for n, plan in enumerate(plans) for i in sorted(plan.holding)]
    _parse_into(cues, [job for job in holding if _may_give_cue(job[2])])
    settled = {(n, c.frame) for n, found in enumerate(cues) for c in found if _names_speaker(c)}
    wanted = {(n, j) for n, plan in enumerate(plans) for i in plan.holding if (n, i) not in settled
              for j in plan.neighbours_read(i)}
    _parse_into(cues, [(n, i, *plans[n].job(i)) for n, i in sorted(wanted)])
    return [sorted(c, key=lambda cue: (cue.frame, cue.anchor)) for c in cues]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One body's quotation spans, sentence groups and the groups that hold a quotation."""

    body: str
    spans: list[tuple[int, int]]
    groups: list[tuple[int, int]]
    holding: frozenset[int]
    outside: str
    """The body with its quotations blanked (`_blank_out`)."""

    @classmethod
    def of(cls, body: str) -> _Plan:
        spans = quote_spans(body)
        groups = frames(body, spans) if spans else []
        holding = frozenset(i for i, (a, b) in enumerate(groups) if _holds_quote(spans, a, b))
        return cls(body, spans, groups, holding, _blank_out(body, spans) if spans else body)

    def neighbours_read(self, i: int) -> set[int]:
        """The groups next to quotation group `i` whose cues attribution (`_Context.attribute`) can read when
        `i` names no speaker: the next one in its paragraph; the one before when a colon ends it or a
        quotation of `i` opens a paragraph; any of the two before and the next that may say whom a question
        went to (a possessive "his response" reads those); of these, the ones that may give a cue at all."""
        a, b = self.groups[i]
        read = {j for j in (i - 2, i - 1, i + 1)
                if 0 <= j < len(self.groups) and _QUESTION_WORD.search(self.body, *self.groups[j])}
        if i + 1 < len(self.groups) and _same_paragraph(self.body, a, self.groups[i + 1][0]):
            read.add(i + 1)
        if i > 0 and (_after_colon(self.outside, a) or any(
                _opens_paragraph(self.body, self.outside, s) for s, _ in self.spans if a <= s < b)):
            read.add(i - 1)
        return {j for j in read if self._may_cue(j)}

    def _may_cue(self, i: int) -> bool:
        if i < 0 or i >= len(self.groups) or i in self.holding:
            return False
        a, b = self.groups[i]
        return bool(_SPEECH_WORD.search(self.body, a, b)) or self.body[a:b].rstrip().endswith(":")

    def job(self, i: int) -> tuple[str, list[int]]:
        """The group's text to parse, with its quotations as placeholders, and each character's body offset."""
        a, b = self.groups[i]
        inside = self.spans[bisect_left(self.spans, a, key=lambda span: span[0]): bisect_left(
            self.spans, b, key=lambda span: span[0])]
        return _with_placeholders(self.body, a, b, inside)


def _may_give_cue(text: str) -> bool:
    """Whether the parse of a group's text (quotations as placeholders) can give a cue at all: only then is
    it parsed. Each branch of `_read_cues` needs its words: a speech verb or "pressed"; "according to";
    "like" or a colon before a quotation (punctuation between them); a colon that ends the text; a response
    noun with "was", "is" or "were" for its verb."""
    return bool(_CUE_START.search(text) or (_RESPONSE_NOUN.search(text) and _COPULA.search(text)))


def _parse_into(cues: list[list[SpeechCue]], jobs: Sequence[tuple[int, int, str, list[int]]]) -> None:
    """Parse the (body index, group, text, offsets) jobs in one batch; add their cues to each body's."""
    if not jobs:
        return
    from extractors.entities import PARSE_COMPONENTS, load_pipeline

    nlp = load_pipeline()
    parsed = nlp.pipe((text for *_, text, _ in jobs), batch_size=PARSE_BATCH_SIZE,
                      disable=[c for c in nlp.pipe_names if c not in PARSE_COMPONENTS])
    for (n, i, text, offsets), doc in zip(jobs, parsed):
        cues[n] += _read_cues(doc, i, offsets, text.rstrip().endswith(":"))


def _names_speaker(cue: SpeechCue) -> bool:
    """Whether a cue names a speaker attribution can use without the neighbours of its group."""
    return cue.kind == "speaker" and not cue.possessive and not _is_nobody(cue)


def _is_nobody(cue: SpeechCue) -> bool:
    """A subject that names no one ("it", "they", "who", the quotation itself)."""
    tag = cue.head_tag
    return (cue.head.lower() not in PRONOUN_GENDER and tag.startswith("PRP")) or tag in {"WP", "WDT", "DT", "EX"} \
        or cue.head == PLACEHOLDER


def extract_quotes(
    body: str, mentions: Sequence[ResolvedMention], cues: Sequence[SpeechCue] | None = None, language: str = "en"
) -> list[Quote]:
    """The direct quotations of `body` with their speakers, in order (`cues` parsed here when not given;
    none in a language without a parse)."""
    from extractors.entities import PARSED_LANGUAGES

    spans = quote_spans(body)
    if not spans:
        return []
    if cues is None:
        cues = speech_cues([body])[0] if language in PARSED_LANGUAGES else []
    groups = frames(body, spans)
    outside = _blank_out(body, spans)
    in_body = sorted((m for m in mentions if not m.in_title), key=lambda m: m.start_char)
    speakers = [m for m in in_body if m.label in SPEAKER_LABELS and outside[m.start_char] != " "]
    context = _Context(body, outside, spans, groups, cues, speakers, _genders(outside, speakers))
    quotes: list[Quote] = []
    for start, end in spans:
        text = body[start:end]
        end -= len(text) - len(text.rstrip(_TRAILING))
        text = " ".join(body[start:end].split())
        short = len(re.findall(r"\w+", text)) < MIN_UNATTRIBUTED_WORDS
        found = context.attribute(start, own_sentence_only=short)
        if found is None and short:
            continue
        context.said(start, found)
        if isinstance(found, ResolvedMention):
            quotes.append(Quote(text, found.name, start, end, found.text, found.key))
        elif isinstance(found, str):
            quotes.append(Quote(text, None, start, end, None, None, found))
        else:
            quotes.append(Quote(text, None, start, end, None))
    return quotes


Speaker = ResolvedMention | str | None
"""A mention, a role's words, or nobody."""


@dataclass(slots=True)
class _Context:
    body: str
    outside: str
    spans: list[tuple[int, int]]
    groups: list[tuple[int, int]]
    cues: Sequence[SpeechCue]
    speakers: list[ResolvedMention]
    genders: dict[str, str]
    last: tuple[int, Speaker] | None = None
    """Where the previous quotation started and who said it."""
    starts: list[int] = field(init=False)
    """The speakers' start offsets (they are in that order), for bisection."""
    longest: int = field(init=False)

    def __post_init__(self) -> None:
        self.starts = [m.start_char for m in self.speakers]
        self.longest = max((m.end_char - m.start_char for m in self.speakers), default=0)

    def attribute(self, start: int, own_sentence_only: bool = False) -> Speaker:
        """The speaker of the quotation at `start`; only from its own sentence for a few words, which
        are more often scare quotes than speech."""
        frame = _group_of(self.groups, start)
        own = self._from_frame(frame, start)
        if own is not None or own_sentence_only:
            return own
        a = self.groups[frame][0]
        if frame > 0 and _after_colon(self.outside, a):
            before = self._from_frame(frame - 1, start)
            if before is not None:
                return before
        if frame + 1 < len(self.groups) and self._same_paragraph(a, self.groups[frame + 1][0]):
            na, nb = self.groups[frame + 1]
            if not _holds_quote(self.spans, na, nb) and (after := self._from_frame(frame + 1, start)):
                return after
        if frame > 0 and self._opens_paragraph(start):
            pa, pb = self.groups[frame - 1]
            if not _holds_quote(self.spans, pa, pb) and (reported := self._from_frame(frame - 1, start)):
                return reported
        if self.last is not None and self.last[1] is not None:
            previous = self.last[0]
            if self._same_paragraph(previous, start) or self._opens_paragraph(start):
                return self.last[1]
        return None

    def said(self, start: int, speaker: Speaker) -> None:
        if speaker is not None or self.last is None or not self._same_paragraph(self.last[0], start):
            self.last = (start, speaker)

    def _from_frame(self, frame: int, quote_start: int) -> Speaker:
        cues = [c for c in self.cues if c.frame == frame and c.kind == "speaker"]
        for cue in sorted(cues, key=lambda c: (c.via in {"according", "colon"}, abs(c.anchor - quote_start))):
            found = self._resolve(cue, quote_start)
            if found is not None:
                return found
        return None

    def _resolve(self, cue: SpeechCue, quote_start: int) -> Speaker:
        """The mention on the cue's head word; else the person the head names by surname; else a mention
        in the head's appositions ("Comer, R-Ky.," is Comer, not Kentucky); else by pronoun, title or role."""
        at_head = self._covered(cue.name_spans[:1]) if cue.head != PLACEHOLDER else []
        if at_head:
            return min(at_head, key=lambda m: (m.label != "PERSON", m.start_char))
        head = cue.head.lower()
        if cue.head_tag.startswith("NNP"):
            named = [m for m in self.speakers if m.text.split()[-1] == cue.head or m.name.split()[-1] == cue.head]
            if named:
                return min(named, key=lambda m: abs(m.start_char - cue.anchor))
        covered = self._covered(cue.name_spans)
        if covered:
            return min(covered, key=lambda m: (m.label != "PERSON", m.start_char))
        if head in PRONOUN_GENDER:
            if cue.possessive and (asked := self._asked_before(cue.frame)) is not None:
                return asked
            return self._person(PRONOUN_GENDER[head], min(quote_start, cue.anchor))
        if _is_nobody(cue):
            return None
        if head in load_aliases().titles and head not in NOT_PERSON_TITLES and cue.phrase.lower().startswith("the "):
            before = min(quote_start, cue.anchor)  # "the president said": the one the article calls so, else the
            titled = self._titled(cue.phrase, before) or self._person(None, before)  # salient person, as for "he"
            if titled is not None:
                return titled
        return cue.phrase or None

    def _covered(self, spans: Sequence[tuple[int, int]]) -> list[ResolvedMention]:
        """The speakers that overlap any of `spans`, in order (only those starting at most `longest`
        characters before a span can reach into it)."""
        found = {k for a, b in spans
                 for k in range(bisect_left(self.starts, a - self.longest), bisect_left(self.starts, b))
                 if a <= self.starts[k] or a < self.speakers[k].end_char}
        return [self.speakers[k] for k in sorted(found)]

    def _asked_before(self, frame: int) -> ResolvedMention | None:
        for cue in sorted((c for c in self.cues if c.kind == "asked" and frame - 2 <= c.frame <= frame),
                          key=lambda c: -c.anchor):
            found = self._resolve(replace_kind(cue), cue.anchor)
            if isinstance(found, ResolvedMention):
                return found
        return None

    def _person(self, gender: str | None, before: int) -> ResolvedMention | None:
        """The nearest person of `gender` (else of unknown gender; any, for None) named since the previous
        quotation, else the current speaker when compatible, else the nearest such person before. A name
        in the possessive ("Biden’s account", "Rob Edwards’ team") is not what a pronoun stands for."""
        before_quote = [m for m in self.speakers
                        if m.label == "PERSON" and m.end_char <= before and not self._possessive(m)]
        since = [m for m in before_quote if self.last is None or m.start_char > self.last[0]]
        if self.last is not None and isinstance(self.last[1], ResolvedMention):
            current = self.last[1]
            if current.label == "PERSON" and gender in {None, self.genders.get(current.key, gender)}:
                since = [m for m in since if m.key != current.key] or [current]
        for pool in (since, before_quote):
            known = [m for m in pool if gender is None or self.genders.get(m.key) == gender]
            unknown = [m for m in pool if m.key not in self.genders]
            if known or unknown:
                return self._first_of_last_sentence(known or unknown)
        return None

    def _first_of_last_sentence(self, candidates: list[ResolvedMention]) -> ResolvedMention:
        """Of the candidates in the latest sentence that has any, the first: a sentence's subject comes first
        more often than not ("Mr. Biden took the swipe ... that he and Mr. Trump are both old")."""
        frame = _group_of(self.groups, candidates[-1].start_char)
        a = self.groups[frame][0]
        return next(m for m in candidates if m.start_char >= a)

    def _possessive(self, m: ResolvedMention) -> bool:
        after = self.body[m.end_char: m.end_char + 2]
        return after[:1] in {"’", "'", "‘"} and (after[1:] in {"s", ""} or not after[1].isalpha())

    def _titled(self, phrase: str, before: int) -> ResolvedMention | None:
        """The person the article names with the title in `phrase` ("the president" -> "President X")."""
        words = [w.lower() for w in re.findall(r"[\w.’']+", phrase)[1:]]
        persons = [m for m in self.speakers if m.label == "PERSON"]
        scored = []
        for m in persons:
            lead = re.findall(r"[\w.’']+", self.outside[max(0, m.start_char - 60): m.start_char].lower())[-4:]
            if words[-1] in lead:
                scored.append((sum(w in lead for w in words), m.start_char < before, -abs(m.start_char - before), m))
        return max(scored, key=lambda s: s[:3])[3] if scored else None

    def _same_paragraph(self, a: int, b: int) -> bool:
        return _same_paragraph(self.body, a, b)

    def _opens_paragraph(self, start: int) -> bool:
        return _opens_paragraph(self.body, self.outside, start)


def _same_paragraph(body: str, a: int, b: int) -> bool:
    return "\n\n" not in body[min(a, b): max(a, b)].replace("\n \n", "\n\n")


def _opens_paragraph(body: str, outside: str, start: int) -> bool:
    """Whether only blanks or quotations (blanked in `outside`) precede `start` on its line."""
    line_start = body.rfind("\n", 0, start) + 1
    return not outside[line_start:start].strip()


def _after_colon(outside: str, a: int) -> bool:
    """Whether the text before `a`, quotations left out, ends with a colon (it introduces what follows)."""
    return outside[:a].rstrip().endswith(":")


def replace_kind(cue: SpeechCue) -> SpeechCue:
    return SpeechCue("speaker", cue.frame, cue.anchor, cue.head, cue.head_tag, cue.name_spans, cue.phrase)


def _genders(outside: str, speakers: Sequence[ResolvedMention]) -> dict[str, str]:
    """Entity key -> gender, from a title before a mention ("Mr", "Mrs") and from the he/she pronouns
    that follow a stretch naming one person only."""
    votes: dict[str, Counter] = {}
    persons = [m for m in speakers if m.label == "PERSON"]
    starts = [m.start_char for m in persons]
    for m in persons:
        lead = outside[max(0, m.start_char - 6): m.start_char].split()
        if lead and lead[-1].lower() in TITLE_GENDER:
            votes.setdefault(m.key, Counter())[TITLE_GENDER[lead[-1].lower()]] += 3
    for p in _PRONOUN.finditer(outside):
        before = persons[bisect_left(starts, p.start() - GENDER_WINDOW): bisect_left(starts, p.start())]
        if before and len({m.key for m in before}) == 1:
            votes.setdefault(before[0].key, Counter())[PRONOUN_GENDER[p.group(1).lower()]] += 1
    return {key: c.most_common(1)[0][0] for key, c in votes.items()
            if len(c) == 1 or c.most_common(2)[0][1] > 2 * c.most_common(2)[1][1]}


def _with_placeholders(body: str, a: int, b: int, inside: Sequence[tuple[int, int]]) -> tuple[str, list[int]]:
    """The text of body[a:b] with each quotation (marks included) as “Q”, and each character's body offset."""
    text, offsets, at = [], [], a
    for s, e in inside:
        open_at, close_at = s - 1, min(e + 1, b) if e < len(body) and body[e] in "”\"’" else e
        text.append(body[at:open_at])
        offsets += range(at, open_at)
        stand_in = f"“{PLACEHOLDER}{',' if body[s:e].rstrip().endswith(',') else ''}”"
        text.append(stand_in)
        offsets += [s] * len(stand_in)
        at = max(close_at, open_at)
    text.append(body[at:b])
    offsets += range(at, b)
    return "".join(text).replace("\n", " "), offsets


def _read_cues(doc, frame: int, offsets: list[int], ends_with_colon: bool) -> list[SpeechCue]:
    cues = []
    for tok in doc:
        if tok.text == PLACEHOLDER:
            continue
        word = tok.lower_
        if word in SPEECH_FORMS and tok.tag_.startswith("VB"):
            subject = _speaker_of(tok)
            if subject is not None:
                cues.append(_cue("speaker", frame, tok, subject, offsets))
            if SPEECH_FORMS[word] in QUESTION_VERBS:
                asked = _asked(tok)
                if asked is not None:
                    cues.append(_cue("asked", frame, tok, asked, offsets))
        elif word == "pressed" and (asked := _asked(tok)) is not None:
            cues.append(_cue("asked", frame, tok, asked, offsets))
        elif word == "according" and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
            objects = [c for c in doc[tok.i + 1].children if c.dep_ == "pobj"]
            if objects:
                cues.append(_cue("speaker", frame, tok, objects[0], offsets, via="according"))
        elif word in RESPONSE_NOUNS and tok.dep_ == "nsubj" and tok.head.lower_ in {"was", "is", "were"}:
            owners = [c for c in tok.children if c.dep_ == "poss"]
            if owners:
                cues.append(_cue("speaker", frame, tok, owners[0], offsets, possessive=True))
        elif word == "like" and tok.i + 1 < len(doc) and _placeholder_follows(doc, tok.i + 1):
            owner = next((t for t in reversed(doc[: tok.i]) if t.tag_ in {"NNP", "PRP", "NN", "NNPS"}), None)
            if owner is not None:
                cues.append(_cue("speaker", frame, tok, owner, offsets))
        elif word == ":" and _placeholder_follows(doc, tok.i + 1) and tok.i > 0:
            owner = doc[tok.i - 1]
            while owner.dep_ in _NAME_PARTS and owner.head.i > owner.i and owner.head.i < tok.i:
                owner = owner.head
            if owner.tag_ in {"NNP", "NN", "NNPS", "NNS"} and not any(t.lower_ in SPEECH_FORMS for t in doc[: tok.i]):
                cues.append(_cue("speaker", frame, tok, owner, offsets))
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is not None and ends_with_colon and not cues:
        subjects = [c for c in root.children if c.dep_ == "nsubj"]
        if subjects:  # "Bessent framed the deal as proof:" introduces the next paragraph's quote
            cues.append(_cue("speaker", frame, root, subjects[0], offsets, via="colon"))
    return cues


def _placeholder_follows(doc, i: int) -> bool:
    words = [t.text for t in doc[i: i + 3] if not t.is_punct]
    return bool(words) and words[0] == PLACEHOLDER


def _speaker_of(verb):
    """The subject of a speech verb, climbing from a participle or a conjunct to the verb that has one;
    the agent of a passive speech verb; the noun a relative "who" stands for."""
    tok, climbed = verb, False
    for _ in range(4):
        if climbed and tok.lower_ not in SPEECH_FORMS and tok.dep_ == "ccomp" and tok.head.lower_ in SPEECH_FORMS:
            tok = tok.head  # "X stressed that her country ..., stating “Q”": X states it
            continue
        subjects = [c for c in tok.children if c.dep_ in _SUBJECTS and c.text != PLACEHOLDER]
        if subjects and not (climbed is False and subjects[0].dep_ == "nsubjpass"):
            subject = subjects[0]
            if subject.tag_ in {"WP", "WDT"} and tok.dep_ == "relcl":
                return tok.head
            return subject
        if any(c.dep_ == "auxpass" for c in tok.children):
            agents = [g for c in tok.children if c.dep_ == "agent" for g in c.children if g.dep_ == "pobj"]
            return agents[0] if agents else None
        if tok.dep_ in {"advcl", "xcomp", "conj", "pcomp", "ccomp", "acl"} and tok.head is not tok:
            tok = tok.head if tok.dep_ != "pcomp" else tok.head.head
            climbed = True
            continue
        return None
    return None


def _asked(verb):
    passive = [c for c in verb.children if c.dep_ == "nsubjpass"]
    if passive:
        return passive[0]
    objects = [c for c in verb.children if c.dep_ in {"dobj", "dative"} and c.text != PLACEHOLDER]
    return objects[0] if objects else None


def _cue(kind: str, frame: int, anchor, head, offsets: list[int], possessive: bool = False,
         via: str = "verb") -> SpeechCue:
    parts = _NAME_PARTS if head.tag_.startswith("NNP") else {"appos"}  # "a Kremlin spokesman" is no Kremlin
    names = [head] + [c for c in head.children if c.dep_ in parts]
    names += [g for c in head.children if c.dep_ == "appos" for g in c.subtree]
    phrase = [t for t in _phrase(head) if t.text != PLACEHOLDER]
    spans = tuple((offsets[t.idx], offsets[t.idx + len(t) - 1] + 1) for t in names if t.text != PLACEHOLDER)
    text = " ".join(t.text for t in phrase[:MAX_ROLE_TOKENS]).replace(" ’s", "’s").replace(" 's", "'s")
    return SpeechCue(kind, frame, offsets[anchor.idx], head.text, head.tag_, spans, text.strip(" ,"), possessive, via)


def _phrase(head):
    tokens, stack = [head], [c for c in head.children if c.dep_ in _PHRASE_PARTS]
    while stack:
        tok = stack.pop()
        if tok.is_punct and tok.text != "’s":
            continue
        tokens.append(tok)
        stack += [c for c in tok.children if c.dep_ in _PHRASE_PARTS]
    return sorted(tokens, key=lambda t: t.i)


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
    """`body` with every quotation's text and marks turned to spaces, offsets and line breaks kept."""
    chars = list(body)
    for start, end in spans:
        close = end + 1 if end < len(body) and body[end] in "”\"’" else end
        for i in range(start - 1, close):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)

