"""Clean a plain-text dump of a news page into an `Article`.

The dump is a page's visible text, one block per line, furniture included.
Cleaning leaves an audit trail of `CutSegment`s and runs in five steps:

1. line rules (`furniture_rules`) cut labels, widgets, captions,
   promos and link lists wherever they are;
2. page rules mark what only the page as a whole reveals: lines that recur
   across distinct stored stories, sidebar lines in another language, the
   rules' own densest-prose region;
3. the learned line labeller (`line_labeller`) scores every line as story
   or furniture from its shape, the rules' verdicts and its neighbours; a
   sequence step lets a subheading follow the paragraph or list it introduces;
4. the story region is the maximum-sum run of that evidence (never a
   comment thread when a story stands above it), so the story
   comes out as one coherent region: lines outside it are cut, lines inside
   it that the labeller scores as furniture are cut with reason `model`;
5. the header around the region start yields title, standfirst, byline,
   date and section; those lines are cut to metadata, not lost.

Recurrence is one signal among others: copies of one story do not make its
lines recur (`story_counts`), and a recurring prose line the labeller keeps
when recurrence is ignored is never cut, so syndicated copies keep their body.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from extractors import furniture_rules as rules
from extractors.furniture_rules import LineView, Takes
from extractors.grouping import connected_groups
from extractors.language import dominant_language, language_scores
from extractors.metadata import clean_authors, site_keys, strip_site_name, text_key
from extractors.line_labeller import (
    MODEL_PATH, REASON_CODES, RECURRENCE_COLUMNS, RULE_CUT_COLUMNS, STORY_THRESHOLD, RuleView, judge, line_features,
    strongest_features,
)
from extractors.model import Article, CutSegment
from extractors.text_metadata import (
    MetaLine,
    parse_dateline,
    parse_meta_line,
    parse_name_line,
    parse_slash_header,
    section_label,
)

RECURRING_MIN_DOCS = 3
"""A line key seen in this many distinct documents is treated as recurring."""

NON_PROSE_COST = 3
"""Region score of a kept non-prose line, in prose words: short headings and
bullets inside a story are cheap to bridge, long menus are not."""

EVIDENCE_SLOPE = 2.5
"""Region evidence per unit of story score above the threshold: a line scored 0.9 counts all its words."""
HEADING_LEAD_SCORE = 0.8
"""A short heading right above a paragraph scored this high belongs to that paragraph's section."""
HEADING_MAX_WORDS = 12
STORY_BEFORE_THREAD_SHARE = 0.25
"""A story-like run above a comment thread wins over a run in the thread holding up to four times its evidence."""
HEADING_LIST_LINES = 3
"""A heading above this many story-scored list lines in a row introduces them."""
HEADER_LOOKBACK = 25
HEADER_LOOKAHEAD = 8
TITLE_MIN_WORDS = 4
TITLE_MAX_WORDS = 30
UPPER_TITLE_MIN_WORDS = 6
"""Above a standfirst, a headline this long; shorter lines there are menu items."""
STANDFIRST_MIN_WORDS = 5
STANDFIRST_MAX_WORDS = 60
CAPTION_MAX_WORDS = 30
LIST_MAX_LINES = 15
LIST_LINE_MAX_WORDS = 20
FOREIGN_MIN_HITS = 3
_SCRIPT_SHARED = {("ja", "zh")}
"""(page language, line language): Japanese writes lines in kanji alone (place lists, names), which read as
Chinese; on a Japanese page they are no sidebar in another language."""
ORPHAN_HEADING_MAX_WORDS = 10
STRAY_DATELINE_MAX_WORDS = 8
LINKED_HEADLINE_MIN_WORDS = 10
"""Lines this long under a "Read more" link continue its box; a story's subheadings are shorter."""
TEASER_CARD_MAX_LINES = 4
KICKER_MAX_WORDS = 3
KEY_MAX_CHARS = 80
"""Characters of a line that make its recurrence key."""
STORY_KEY_MIN_CHARS = 60
"""A line key this long comes from a prose-length line: what tells one story from another."""
COPY_MIN_JACCARD = 0.6
"""Share of their prose-length lines two copies of one story have in common (light edits change a few)."""
COPY_MAX_DOCS = 50
"""A prose-length line in more documents of a batch than this is site furniture, no sign of a copy."""
KEY_CACHE_SIZE = 1 << 16
"""Line keys kept in memory (a few MB): enough for the furniture of many sites."""

_KEY_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*$")
_GLUED_WORDS = re.compile(r"[a-z][A-Z]")


@lru_cache(maxsize=KEY_CACHE_SIZE)
def line_key(line: str) -> str:
    """Normalised form of a line for cross-document recurrence.

    Case, punctuation, spacing and numbers are ignored, so "Updated 5 mins
    ago" and "Updated 16 mins ago" share a key. Only the first
    KEY_MAX_CHARS characters count: furniture lines are shorter, and a long
    line that opens like lines in other documents is a shared paragraph.
    The ingest flow keys every line of every new document before cleaning
    it, so the work is bounded by the prefix and keys are cached: menus and
    footers, most of the lines, repeat across documents, and cleaning looks
    the same lines up again.
    """
    return _DIGITS.sub("0", " ".join(_KEY_WORD.findall(line[:KEY_MAX_CHARS].lower())))


def recurring_keys(texts: Iterable[str], min_docs: int = RECURRING_MIN_DOCS) -> frozenset[str]:
    """Keys of lines that occur in at least `min_docs` distinct stories (copies of one story count once)."""
    keys = {str(i): frozenset(filter(None, map(line_key, text.split("\n")))) for i, text in enumerate(texts)}
    return frozenset(key for key, count in story_counts(keys).items() if count >= min_docs)


def story_counts(doc_keys: Mapping[str, frozenset[str]]) -> Counter[str]:
    """In how many distinct stories each line key occurs; copies of one story (`copy_groups`) count once."""
    counts: Counter[str] = Counter()
    for group in copy_groups(doc_keys):
        counts.update(frozenset().union(*(doc_keys[doc] for doc in group)))
    return counts


def copy_groups(doc_keys: Mapping[str, frozenset[str]]) -> list[set[str]]:
    """Documents that are copies of one story (identical, edited or syndicated), told by their long lines.

    Two documents are copies when their prose-length lines (keys of at least
    STORY_KEY_MIN_CHARS characters) overlap by COPY_MIN_JACCARD: different
    stories of one site share only their furniture, a few long lines at most.
    A long line found in more than COPY_MAX_DOCS documents is furniture and
    links nothing.
    """
    long_keys = {doc: {k for k in keys if len(k) >= STORY_KEY_MIN_CHARS} for doc, keys in doc_keys.items()}
    docs_of: dict[str, list[str]] = {}
    for doc, keys in long_keys.items():
        for key in keys:
            docs_of.setdefault(key, []).append(doc)
    links = []
    for doc, keys in long_keys.items():
        shared: Counter[str] = Counter()
        for key in keys:
            if len(docs_of[key]) <= COPY_MAX_DOCS:
                shared.update(other for other in docs_of[key] if other > doc)
        for other, n in shared.items():
            if n >= COPY_MIN_JACCARD * len(keys | long_keys[other]):
                links.append((doc, other))
    return connected_groups(links, doc_keys)


@dataclass(slots=True)
class _Page:
    """Working state of one cleaning run: the lines and what was cut."""

    lines: list[LineView]
    cut: dict[int, str]
    """view index -> reason code"""
    region_costs: dict[int, int]
    """view index -> region cost of the rule that cut it, when not zero"""
    matched: list[rules.FurnitureRule | None]
    """view index -> the line rule the line matches on its own, if any"""
    language_hits: list[Counter[str]]
    """view index -> `language_scores` of the line's words"""

    def adjacent(self, i: int, j: int) -> bool:
        """Lines i and j are consecutive in the input (no blank line between)."""
        return 0 <= j < len(self.lines) and abs(self.lines[i].position - self.lines[j].position) == 1

    def kept(self, i: int) -> bool:
        return i not in self.cut


def _read_lines(raw_lines: list[str]) -> _Page:
    """The page of non-blank lines: their views, the line rule each matches on its own, their language hits.

    Menus repeat within a page, so each distinct text is analysed once.
    """
    seen: dict[str, tuple[LineView, rules.FurnitureRule | None, Counter[str]]] = {}
    page = _Page([], {}, {}, [], [])
    for i, raw in enumerate(raw_lines):
        known = seen.get(raw)
        if known is None:
            if not raw or raw.isspace():
                continue
            view = LineView.of(i, raw)
            seen[raw] = known = view, rules.first_matching_rule(view), language_scores(view.tokens)
        else:
            view = LineView(i, *known[0][1:])
        page.lines.append(view)
        page.matched.append(known[1])
        page.language_hits.append(known[2])
    return page


def _apply_line_rules(page: _Page) -> None:
    for i, rule in enumerate(page.matched):
        if rule is None or not page.kept(i):
            continue
        page.cut[i] = rule.reason
        if rule.region_cost:
            page.region_costs[i] = rule.region_cost
        for j in _taken_with(page, i, rule.takes):
            page.cut.setdefault(j, rule.reason)


def _is_plain(page: _Page, j: int) -> bool:
    """Line j is kept so far and no rule of its own would cut it."""
    return page.kept(j) and page.matched[j] is None


def _taken_with(page: _Page, i: int, takes: Takes) -> list[int]:
    """View indexes a matched rule cuts along with line i."""
    lines = page.lines
    if takes is Takes.LINKED_TITLE:
        if page.adjacent(i, i + 1) and _is_plain(page, i + 1) and lines[i + 1].is_title_like:
            return _linked_block(page, i + 1)
        if page.adjacent(i, i - 1) and _is_plain(page, i - 1) and lines[i - 1].is_title_like:
            return [i - 1]
        return []
    if takes is Takes.PREVIOUS_LINE:
        return [i - 1] if i > 0 and page.kept(i - 1) else []
    if takes is Takes.CAPTION:
        j = i - 1
        return [j] if j >= 0 and _is_plain(page, j) and lines[j].words <= CAPTION_MAX_WORDS else []
    if takes is Takes.TEASER_TITLE:
        j = i - 1
        if j >= 0 and page.kept(j) and lines[j].is_title_like and not lines[j].is_prose:
            return [j]
        return []
    if takes is Takes.TITLE_LIST:
        taken = []
        for j in range(i + 1, min(i + 1 + LIST_MAX_LINES, len(lines))):
            if lines[j].words > LIST_LINE_MAX_WORDS or lines[j].is_prose:
                break
            if _is_plain(page, j):
                taken.append(j)
        return taken
    return []


def _linked_block(page: _Page, first: int) -> list[int]:
    """The linked title under a label, and the headlines set right under it.

    A "Read more" box inside a story lists several links, one a line and
    headline-long; a story's own subheadings are shorter.
    """
    block = [first]
    while page.adjacent(block[-1], block[-1] + 1) and _is_linked_headline(page, block[-1] + 1):
        block.append(block[-1] + 1)
    return block


def _is_linked_headline(page: _Page, j: int) -> bool:
    line = page.lines[j]
    return _is_plain(page, j) and line.is_title_like and line.words >= LINKED_HEADLINE_MIN_WORDS


def _apply_recurrence(page: _Page, recurring_at: frozenset[int]) -> set[int]:
    """Cut short recurring lines; return the recurring prose lines, kept but no region evidence."""
    recurring_prose = set()
    cut = page.cut
    for i, line in enumerate(page.lines):
        if i not in cut and i in recurring_at:
            if line.is_prose:
                recurring_prose.add(i)
            else:
                page.cut[i] = rules.RECURRING_LINE.reason
    return recurring_prose


def _apply_language(page: _Page) -> str | None:
    """Detect the page language from its prose; cut lines in another language."""
    cut = page.cut
    kept = [i for i, line in enumerate(page.lines) if i not in cut and line.words >= FOREIGN_MIN_HITS]
    scores = {i: page.language_hits[i] for i in kept}
    prose_scores: Counter[str] = Counter()
    for i in kept:
        if page.lines[i].is_prose:
            prose_scores.update(scores[i])
    language = dominant_language(prose_scores)
    if language is None:
        return None
    for i in kept:
        other = dominant_language(scores[i], FOREIGN_MIN_HITS)
        if other is not None and other != language and (language, other) not in _SCRIPT_SHARED:
            page.cut[i] = rules.FOREIGN_LANGUAGE.reason
    return language


def _main_region(page: _Page, no_evidence: set[int], prose_only: bool = True) -> tuple[int, tuple[int, int] | None]:
    """(score, [start, end) view range) of the maximum-sum run of line scores.

    Kept prose scores its word count, kept non-prose costs NON_PROSE_COST,
    cut lines are neutral except furniture with a region cost (story ends,
    headline lists); lines in `no_evidence` (recurring prose) score 0. Without
    `prose_only`, every kept line scores its words minus NON_PROSE_COST, for
    pages whose story is a list of short lines.
    """
    best, best_range = 0, None
    running, run_start = 0, 0
    cut, region_costs = page.cut, page.region_costs
    for i, line in enumerate(page.lines):
        if i in region_costs:
            score = -region_costs[i]
        elif i in cut or i in no_evidence:
            score = 0
        elif line.is_prose:
            score = line.words
        elif prose_only:
            score = -NON_PROSE_COST
        else:
            score = line.words - NON_PROSE_COST
        if running <= 0:
            running, run_start = 0, i
        running += score
        if running > best:
            best, best_range = running, (run_start, i + 1)
    return best, best_range


def _story_region(page: _Page, recurring_prose: set[int]) -> tuple[int, int] | None:
    """The main-content region, with fallbacks for syndicated and list stories.

    If recurring prose left no region, the page is a syndicated copy: recurrence
    is ignored. If there is no prose at all, the story may be a list of short
    lines (award winners, results), so the region counts short lines too.
    """
    _, region = _main_region(page, recurring_prose)
    if region is None and recurring_prose:
        _, region = _main_region(page, set())
    if region is None:
        _, region = _main_region(page, recurring_prose, prose_only=False)
    return region


@dataclass(slots=True)
class _Header:
    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published_at: dt.datetime | None = None
    published_date_only: bool = False
    section: str | None = None
    site: str | None = None


def _is_headline(line: LineView) -> bool:
    """Shaped like a headline: a capitalised phrase, no closing full stop, not glued menu text."""
    text = line.text
    return (
        TITLE_MIN_WORDS <= line.words <= TITLE_MAX_WORDS
        and not text.endswith(".")
        and (text[0].isupper() or text[0].isdigit() or text[0] in "\"'“‘")
        and len(_GLUED_WORDS.findall(text)) < 2
    )


def _read_header(page: _Page, region: tuple[int, int]) -> _Header:
    """Title, standfirst, byline, date and section from the lines around the region start.

    Header lines may have been cut already as recurring (dates, names) or as
    part of a headline list (a menu taking the headline under it); only lines
    that match a furniture rule of their own are out of reach. Sidebars above
    the story carry dates and names too, so the metadata nearest the story
    start wins.
    """
    start = region[0]
    window = [
        i
        for i in range(max(0, start - HEADER_LOOKBACK), min(len(page.lines), start + HEADER_LOOKAHEAD))
        if page.matched[i] is None
    ]
    metas = {
        i: meta
        for i in window
        if _in_header(page, start, i) and (meta := parse_meta_line(page.lines[i].text)) is not None
    }
    for i, meta in list(metas.items()):
        if meta.published_at or meta.updated_at:
            metas.update(_name_lines_beside(page, i, metas))
    for i, meta in metas.items():
        page.cut[i] = "byline" if meta.authors else "dateline"
    nearest_first = sorted(metas, key=lambda i: (i >= start, abs(start - i)))
    dated = next((metas[i] for i in nearest_first if metas[i].published_at), None)
    header = _Header(
        authors=next((metas[i].authors for i in nearest_first if metas[i].authors), []),
        published_at=dated.published_at if dated else None,  # never the "Updated ..." date
        published_date_only=dated.published_date_only if dated else False,
        section=next((metas[i].section for i in nearest_first if metas[i].section), None),
    )
    title_at = _find_title(page, window, metas, start)
    if title_at is not None:
        header.title = page.lines[title_at].text
        page.cut[title_at] = "title"
        _read_standfirst(page, header, title_at, region[1])
        header.section = header.section or _read_kicker(page, title_at, metas)
        header.authors = header.authors or _read_name_line_under(page, title_at, region[1])
    return header


def _read_name_line_under(page: _Page, title_at: int, region_end: int) -> list[str]:
    """A names-only line right under the headline and its standfirst is the byline."""
    under = [i for i in range(title_at + 1, region_end) if page.matched[i] is None]
    under = [i for i in under if page.cut.get(i) != "subtitle"][:1]
    if not under or page.cut.get(under[0]) in ("byline", "dateline"):
        return []
    names = parse_name_line(page.lines[under[0]].text)
    if names:
        page.cut[under[0]] = "byline"
    return names


def _in_header(page: _Page, start: int, i: int) -> bool:
    """Line i can still be header: before the region, or after at most one paragraph (a standfirst).

    Headline-shaped lines long enough to count as prose do not count.
    """
    if i < start:
        return True
    lines = page.lines
    return sum(lines[k].is_prose and not _is_headline(lines[k]) for k in range(start, i) if page.kept(k)) <= 1


def _read_kicker(page: _Page, title_at: int, metas: dict[int, MetaLine]) -> str | None:
    """A short label right above the headline ("Politics", "Local") names the section."""
    above = title_at - 1
    if above < 0 or page.matched[above] is not None or above in metas:
        return None
    label = section_label(page.lines[above].text)
    if label is not None:
        page.cut[above] = "section"
    return label


def _name_lines_beside(page: _Page, i: int, metas: dict[int, MetaLine]) -> dict[int, MetaLine]:
    """Lines holding only person names next to dateline i are its byline."""
    found = {}
    for j in (i - 1, i + 1):
        if page.adjacent(i, j) and page.matched[j] is None and j not in metas:
            names = parse_name_line(page.lines[j].text)
            if names:
                found[j] = MetaLine(authors=names)
    return found


def _find_title(page: _Page, window: list[int], metas: dict[int, MetaLine], start: int) -> int | None:
    """The headline: just above the metadata block nearest the story, else the first headline-shaped line.

    Of the two longer lines above the byline block, the upper headline-shaped
    one wins if it is headline-long (a standfirst may sit between headline
    and byline); short lines
    there (labels, credits) are skipped, and an upper line further away or
    separated by other metadata belongs to a menu or a sidebar item.
    """
    lines = page.lines
    if metas:
        before = [i for i in metas if i < start]
        anchor = max(before) if before else min(metas)
        while anchor - 1 in metas or (anchor - 2 in metas and lines[anchor - 1].words < TITLE_MIN_WORDS):
            anchor -= 1 if anchor - 1 in metas else 2
        above = [i for i in window if i < anchor and i not in metas and lines[i].words >= TITLE_MIN_WORDS]
        near = above[-2:]
        if len(near) == 2 and (near[1] - near[0] > 2 or any(k in metas for k in range(near[0], near[1]))):
            near = near[1:]
        headlines = [i for i in near if _is_headline(lines[i])]
        if len(headlines) == 2 and lines[headlines[0]].words < UPPER_TITLE_MIN_WORDS:
            headlines = headlines[1:]
        if headlines:
            return headlines[0]
    candidates = [i for i in window if i <= start and i not in metas and (not metas or i > min(metas))]
    headlines = [i for i in candidates if _is_headline(lines[i])]
    return next((i for i in headlines if page.kept(i)), headlines[0] if headlines else None)


def _is_standfirst_shaped(line: LineView) -> bool:
    return STANDFIRST_MIN_WORDS <= line.words <= STANDFIRST_MAX_WORDS


def _read_standfirst(page: _Page, header: _Header, title_at: int, region_end: int) -> None:
    """The line right after the title is a standfirst when it is shaped like one.

    Either a slash header repeating the headline, or a sentence-length line
    that has no closing full stop or is followed by a non-prose line (byline,
    heading): a first paragraph is followed by more prose. A one-paragraph
    story keeps its paragraph.
    """
    lines = page.lines
    following = [i for i in range(title_at + 1, region_end) if page.matched[i] is None]
    if not following or page.cut.get(following[0]) in ("byline", "dateline"):
        return
    first = following[0]
    slash = parse_slash_header(lines[first].text, header.title)
    if slash is not None:
        header.site = slash.site
        header.authors = header.authors or slash.authors
        header.subtitle = slash.standfirst
        page.cut[first] = "byline"
        return
    line = lines[first]
    if not _is_standfirst_shaped(line):
        return
    followed_by_prose = len(following) > 1 and lines[following[1]].is_prose
    story_follows = any(lines[i].is_prose for i in following[1:])
    if story_follows and (not _SENTENCE_END.search(line.text) or not followed_by_prose):
        header.subtitle = line.text
        page.cut[first] = "subtitle"


def _cut_orphan_headings(page: _Page, region: range) -> None:
    """Cut short headings whose section was cut: cut lines, then another heading."""
    next_kept_is_prose = True
    for i in reversed(region):
        if not page.kept(i):
            continue
        line = page.lines[i]
        if not line.is_prose and line.words <= ORPHAN_HEADING_MAX_WORDS and not next_kept_is_prose:
            if not page.kept(i + 1):
                page.cut[i] = rules.ORPHAN_HEADING.reason
                continue
        next_kept_is_prose = line.is_prose


def _cut_teaser_cards(page: _Page, region: range) -> None:
    """A date-only line inside the story closes a teaser card of another story.

    Story text never carries a bare date line; a promoted link does: kicker,
    headline and blurb above their date. Walking up from the date, the card
    ends at its headline (plus a one-to-three-word kicker above it) or at a
    line too long to be a blurb.
    """
    for i in region:
        line = page.lines[i]
        if page.kept(i) and line.words <= STRAY_DATELINE_MAX_WORDS and parse_dateline(line.text) is not None:
            page.cut[i] = "dateline"
            _cut_card_above(page, i, region.start)


def _cut_card_above(page: _Page, date_at: int, region_start: int) -> None:
    above = [j for j in range(date_at - 1, max(region_start, date_at - 1 - TEASER_CARD_MAX_LINES), -1) if page.kept(j)]
    headline_seen = False
    for j in above:
        line = page.lines[j]
        if headline_seen:
            if line.words <= KICKER_MAX_WORDS:
                page.cut[j] = "teaser"
            return
        if line.words > STANDFIRST_MAX_WORDS:
            return
        page.cut[j] = "teaser"
        headline_seen = line.is_title_like


def rule_view(text: str, recurring: Collection[str] = frozenset()) -> tuple[list[str], _Page, RuleView]:
    """The hand-written passes over a dump: line rules, recurrence, language, the prose region.

    Returns the raw lines, the working page (its cuts so far) and what the
    labeller reads of it; the training script builds its rows the same way.
    """
    raw_lines = text.split("\n")
    page = _read_lines(raw_lines)
    lines = page.lines
    _apply_line_rules(page)
    recurring_at = frozenset(i for i, line in enumerate(lines) if recurring and line_key(line.text) in recurring)
    recurring_prose = _apply_recurrence(page, recurring_at)
    language = _apply_language(page)
    region = _story_region(page, recurring_prose)
    return raw_lines, page, RuleView(lines, page.matched, dict(page.cut), recurring_at, region, language,
                                     page.language_hits)


def clean_text(text: str, recurring: Collection[str] = frozenset(), model_path: Path = MODEL_PATH) -> Article:
    """Clean a plain-text page dump into an article with an audit trail.

    `recurring` holds `line_key`s of lines seen in many stored documents
    (see `recurring_keys`); they are one of the labeller's signals, never
    enough on their own to cut what it scores as story prose.
    """
    raw_lines, page, view = rule_view(text, recurring)
    lines = page.lines
    features = line_features(view)
    judgement = judge(features, model_path)
    scores = _guarded_scores(view, features, judgement.scores, model_path)
    region = _model_region(page, view, scores)
    page.cut = {i: reason for i, reason in view.cut.items() if reason != rules.RECURRING_LINE.reason}
    header = _Header()
    model_cuts = []
    if region is not None:
        header = _read_header(page, region)
        _cut_teaser_cards(page, range(*region))
        model_cuts = [i for i in range(*region) if scores[i] < STORY_THRESHOLD and i not in page.cut]
        for i in model_cuts:
            page.cut[i] = view.cut.get(i, rules.MODEL_CUT.reason)
        _cut_orphan_headings(page, range(*region))
    inside = range(*region) if region else range(0)
    for i in range(len(lines)):
        if i not in inside:
            page.cut.setdefault(i, rules.OUTSIDE_MAIN_TEXT.reason)
    explained = [i for i in model_cuts if page.cut.get(i) == rules.MODEL_CUT.reason]
    reasons = dict(page.cut)
    for i, strongest in zip(explained, strongest_features(features[explained], judgement.leaves[explained], model_path)):
        reasons[i] = model_reason(scores[i], strongest)
    body = "\n\n".join(line.text for i, line in enumerate(lines) if i not in page.cut)
    return Article(
        body=body,
        title=strip_site_name(header.title, site_keys(header.site)) if header.title else None,
        subtitle=header.subtitle,
        authors=clean_authors(header.authors, site_keys(header.site)),
        published_at=header.published_at,
        published_date_only=header.published_date_only,
        section=header.section,
        language=view.language,
        site=header.site,
        extractor="text-labeller",
        cut=[
            CutSegment(lines[i].position, raw_lines[lines[i].position], reason)
            for i, reason in sorted(reasons.items())
        ],
    )


def cut_furniture(body: str, title: str | None = None) -> tuple[str, list[CutSegment]]:
    """An HTML extractor's body without what the furniture line rules name, and the cuts with their reasons.

    trafilatura and readability keep what sits inside the article's markup: a "Read more" box of
    related links, an embedded post, a photo credit, a promo, the headline again as the first
    paragraph (cut as `title`, as the text cleaner moves it to metadata). `body` holds paragraphs
    separated by blank lines; a cut's position is its line in `body`.
    """
    raw_lines = body.split("\n")
    page = _read_lines(raw_lines)
    _apply_line_rules(page)
    lines, reasons = page.lines, dict(page.cut)
    if title:
        headline = text_key(title)
        reasons.update({i: "title" for i, line in enumerate(lines) if i not in reasons and text_key(line.text) == headline})
    kept = "\n\n".join(line.text for i, line in enumerate(lines) if i not in reasons)
    return kept, [CutSegment(lines[i].position, raw_lines[lines[i].position], reason) for i, reason in sorted(reasons.items())]


def model_reason(score: float, strongest: list[str]) -> str:
    """`model: story score 0.08; strongest: log_words=1.1, ...`: the code, then why."""
    because = f"; strongest: {', '.join(strongest)}" if strongest else ""
    return f"{rules.MODEL_CUT.reason}: story score {score:.2f}{because}"


def _guarded_scores(view: RuleView, features: np.ndarray, model_scores: np.ndarray, model_path: Path) -> np.ndarray:
    """Story scores, where recurrence may lower a line's score but never cut prose the model keeps without it.

    Copies of one story repeat its prose; a prose line that recurs is scored
    a second time as if nothing recurred, and the higher score stands.
    """
    scores = _headings_follow_paragraphs(view, model_scores)
    suspects = [i for i in view.recurring if view.lines[i].is_prose and scores[i] < STORY_THRESHOLD]
    if suspects:
        unrecurred = features[suspects].copy()
        unrecurred[:, RECURRENCE_COLUMNS] = 0
        for column in RULE_CUT_COLUMNS:
            unrecurred[unrecurred[:, column] == REASON_CODES[rules.RECURRING_LINE.reason], column] = 0
        scores[suspects] = np.maximum(scores[suspects], judge(unrecurred, model_path).scores)
    return scores


def _headings_follow_paragraphs(view: RuleView, scores: np.ndarray) -> np.ndarray:
    """Sequence step: a short heading directly above its section is story too.

    Subheadings are short, unpunctuated and look like teaser links on their
    own; what tells them apart is what they introduce. Above a sure story
    paragraph a heading is kept (lifted to the threshold); above a list whose
    first HEADING_LIST_LINES lines are all story (the key points under "At a
    Glance") it scores as the list does, so it opens the story region with
    the list rather than being left outside it. A line that recurs across
    stories is no subheading.
    """
    lines = view.lines
    lifted = scores.copy()
    for i in range(len(lines) - 1):
        line, below = lines[i], lines[i + 1]
        heading = line.is_title_like and line.words <= HEADING_MAX_WORDS and i not in view.recurring
        if not heading or below.position - line.position > 2:
            continue
        if below.is_prose and scores[i + 1] >= HEADING_LEAD_SCORE:
            lifted[i] = max(lifted[i], STORY_THRESHOLD)
        elif not below.is_prose:
            lifted[i] = max(lifted[i], _list_score(lines, scores, i + 1))
    return lifted


def _list_score(lines: list[LineView], scores: np.ndarray, first: int) -> float:
    """Mean story score of the HEADING_LIST_LINES short lines from `first`, 0 unless all are story."""
    run = range(first, first + HEADING_LIST_LINES)
    if run.stop > len(lines) or any(
        lines[k].is_prose or lines[k].position - lines[k - 1].position > 2 or scores[k] < STORY_THRESHOLD for k in run
    ):
        return 0.0
    return float(np.mean(scores[run.start : run.stop]))


def _model_region(page: _Page, view: RuleView, scores: np.ndarray) -> tuple[int, int] | None:
    """The story as one coherent region: the best run of line evidence, but never a comment thread
    when a story-like run stands before it.

    Readers' comments are prose too, and a long thread can outweigh the
    story it sits under. A run that starts below the page's first comment
    prompt or counter ("3 Kommentare", "Join the conversation") gives way to
    the best run above it when that one holds at least
    STORY_BEFORE_THREAD_SHARE of its evidence.
    """
    best, region = _evidence_run(page, view, scores, len(page.lines))
    thread = next((i for i, rule in enumerate(page.matched) if rule is rules.comment_prompt), None)
    if region is None or thread is None or region[0] <= thread:
        return region
    above, above_region = _evidence_run(page, view, scores, thread)
    return above_region if above >= STORY_BEFORE_THREAD_SHARE * best else region


def _evidence_run(page: _Page, view: RuleView, scores: np.ndarray, stop: int) -> tuple[float, tuple[int, int] | None]:
    """(evidence, [start, end)) of the maximum-sum run of line evidence among the first `stop` lines.

    A line the labeller judges counts its length in words, times its
    evidence: from -1 (sure furniture) to 1 (score 0.9 or more: sure story);
    a line a rule already cut is neutral, except furniture that ends a story
    or lists headlines (its `region_cost`), which the region must not cross.
    """
    best, best_range = 0.0, None
    running, run_start = 0.0, 0
    for i, line in enumerate(page.lines[:stop]):
        if running <= 0:
            running, run_start = 0.0, i
        reason = view.cut.get(i)
        if i in page.region_costs:
            running -= page.region_costs[i]
        elif reason is None or reason == rules.RECURRING_LINE.reason:
            running += min(1.0, max(-1.0, EVIDENCE_SLOPE * (scores[i] - STORY_THRESHOLD))) * (1 + line.words)
        if running > best:
            best, best_range = running, (run_start, i + 1)
    return best, best_range
