"""A learned story/furniture labeller for the lines of a plain-text dump.

Each line is described by its own shape (length, punctuation, sentence
ends, stopword share in the page language, capitalisation, digits and time
stamps, handles, URLs and "›" link shapes, list markers, position in the
dump), by what the hand-written rules say about it (the furniture rule it
matches, whether it recurs in other stored documents, whether it is in
another language, whether it lies in the rules' main-content region, how
many story-end lines such as comment counters lie above it), by
the same shape features of its neighbours and by the prose around it. A
gradient-boosted tree model (LightGBM, trained by scripts/train_labeller.py,
committed as extractors/data/line_labeller.txt) turns the rows into story
probabilities; `text_cleaning` smooths them into one coherent region.

The model is loaded once per process from the package, never downloaded,
and prediction runs single-threaded so results are the same everywhere.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from extractors import furniture_rules as rules
from extractors.furniture_rules import LineView

MODEL_PATH = Path(__file__).resolve().parent / "data" / "line_labeller.txt"
STORY_THRESHOLD = 0.5
"""A line whose story probability is below this is furniture."""

_SENTENCE_END = re.compile(r"[.!?。！？][\"'”’»)\]]*$")
_SENTENCE_MARK = re.compile(r"[.!?。！？](?:\s|$)")
_TIME_STAMP = re.compile(
    r"\b\d{1,2}[:.h]\d{2}\b|\b\d+\s?(?:s|m|h|d|min|mins|minutes?|hrs?|hours?|days?|weeks?|months?|years?)\s+ago\b|"
    r"\bago\b|\b(?:yesterday|today)\b|\bvor \d+|\bil y a\b|\bhace \d+",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|"
    r"\b\d{1,2}\.? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zäé]*\b|\b(?:19|20)\d{2}\b",
    re.IGNORECASE,
)
_HANDLE_OR_URL = re.compile(r"@\w|https?://|\bwww\.|\.(?:com|org|net|de|fr|co\.uk)\b|#\w")
_LINK_SHAPES = re.compile(r"[›»«‹|•·→>]")
_LIST_MARKER = re.compile(r"^(?:[•*·▪●◦–—-]\s|\d{1,2}[.)]\s|\(\d{1,2}\)\s)")
_QUOTES = re.compile(r"[\"“”„«»‘’]")
_WORD_INITIAL = re.compile(r"\b[^\W\d_]")
"""The first letter of each word that starts with a letter."""
_DIGIT = re.compile(r"\d")
_TIME_WORDS = frozenset({"ago", "yesterday", "today", "il"})
"""Tokens without which _TIME_STAMP cannot match a line that has no digit."""
STORY_ENDS_CAP = 3
"""Story-end furniture above a line (comment box, rating widget, copyright), counted up to this many:
prose under a comment counter is readers' comments, not the story."""
_NEIGHBOUR_OFFSETS = (-3, -2, -1, 1, 2, 3)
_WINDOW = 5
_WIDE_WINDOW = 12


def _reason_codes() -> dict[str, int]:
    """Each furniture reason code as a small integer (0: no rule), in declaration order, stable across runs."""
    codes: dict[str, int] = {}
    for rule in (*rules.LABEL_RULES, *rules.PREDICATE_RULES, *rules.PAGE_RULES):
        codes.setdefault(rule.reason, len(codes) + 1)
    return codes


REASON_CODES = _reason_codes()

OWN_FEATURES = (
    "log_words", "log_chars", "mean_word_length", "ends_sentence", "ends_colon", "no_end_punctuation",
    "sentences_per_word", "commas_per_word", "stopword_share", "capitalised_share", "all_caps",
    "digit_share", "time_stamp", "date", "handle_or_url", "link_shapes", "list_marker", "quotes",
    "is_prose", "is_title_like", "rule_reason", "rule_cut_reason", "recurring", "page_repeats",
    "foreign_language", "in_rule_region", "blank_before", "blank_after", "position", "char_position",
    "prose_share_before", "words_vs_longest", "story_ends_before",
)
NEIGHBOUR_FEATURES = ("log_words", "ends_sentence", "stopword_share", "is_prose", "rule_cut_reason", "recurring")
CONTEXT_FEATURES = (
    "prose_words_near", "prose_words_wide", "prose_lines_near", "lines_to_prose_before", "lines_to_prose_after",
    "recurring_near", "rule_cuts_near", "prose_near_vs_densest", "prose_wide_vs_densest", "log_page_prose_words",
)
FEATURE_NAMES = (
    *OWN_FEATURES,
    *(f"{name}@{offset:+d}" for offset in _NEIGHBOUR_OFFSETS for name in NEIGHBOUR_FEATURES),
    *CONTEXT_FEATURES,
)
CATEGORICAL = tuple(i for i, name in enumerate(FEATURE_NAMES) if name.split("@")[0] in ("rule_reason", "rule_cut_reason"))
_OWN = {name: i for i, name in enumerate(OWN_FEATURES)}
_NEIGHBOUR_COLUMNS = [_OWN[name] for name in NEIGHBOUR_FEATURES]
RECURRENCE_COLUMNS = [i for i, name in enumerate(FEATURE_NAMES) if name.split("@")[0] in ("recurring", "recurring_near")]
RULE_CUT_COLUMNS = [i for i, name in enumerate(FEATURE_NAMES) if name.split("@")[0] == "rule_cut_reason"]


@dataclass(frozen=True, slots=True)
class RuleView:
    """What the hand-written passes said about a page, as the labeller's inputs."""

    lines: Sequence[LineView]
    matched: Sequence[rules.FurnitureRule | None]
    """The line rule each line matches on its own."""
    cut: dict[int, str]
    """Reason code of each line the rules cut (line rules, their neighbours, recurrence, language)."""
    recurring: frozenset[int]
    """Lines whose key recurs across stored documents."""
    region: tuple[int, int] | None
    """The rules' main-content region."""
    language: str | None
    language_hits: Sequence[Counter[str]]
    """`language_scores` of each line's words."""


def line_features(view: RuleView) -> np.ndarray:
    """One row of FEATURE_NAMES per line of the page."""
    lines = view.lines
    n = len(lines)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    repeats = Counter(line.text for line in lines)
    total_chars = sum(len(line.text) for line in lines) or 1
    prose_total = sum(line.words for line in lines if line.is_prose) or 1
    longest = max(line.words for line in lines) or 1
    region = view.region or (0, 0)
    of_text: dict[str, tuple[float, ...]] = {}
    rows = []
    chars_before = prose_before = story_ends = 0
    for i, line in enumerate(lines):
        text = line.text
        shape = of_text.get(text)
        if shape is None:
            shape = of_text[text] = _text_shape(line, view.language_hits[i], view.language)
        matched = view.matched[i]
        cut = view.cut.get(i)
        rows.append((
            *shape,
            REASON_CODES.get(matched.reason, 0) if matched is not None else 0,
            REASON_CODES.get(cut or "", 0),
            i in view.recurring,
            repeats[text] - 1,
            cut == rules.FOREIGN_LANGUAGE.reason,
            region[0] <= i < region[1],
            i == 0 or lines[i - 1].position != line.position - 1,
            i == n - 1 or lines[i + 1].position != line.position + 1,
            i / n,
            chars_before / total_chars,
            prose_before / prose_total,
            line.words / longest,
            min(story_ends, STORY_ENDS_CAP),
        ))
        if matched is not None and matched.region_cost >= rules.STORY_END_REGION_COST:
            story_ends += 1
        chars_before += len(text)
        if line.is_prose:
            prose_before += line.words
    own = np.array(rows, dtype=np.float32)
    neighbours = own[:, _NEIGHBOUR_COLUMNS]
    padded = np.full((n + 2 * 3, neighbours.shape[1]), -1.0, dtype=np.float32)
    padded[3 : 3 + n] = neighbours
    shifted = [padded[3 + offset : 3 + offset + n] for offset in _NEIGHBOUR_OFFSETS]
    return np.hstack([own, *shifted, _context(view, own)])


def _text_shape(line: LineView, language_hits: Counter[str], language: str | None) -> tuple[float, ...]:
    """The OWN_FEATURES that depend on the line's text alone (up to is_title_like): computed once per
    distinct text of a page, as menus and labels repeat."""
    text = line.text
    words = line.words or 1
    initials = "".join(_WORD_INITIAL.findall(text))
    # The regular expressions below cost the most; each runs only where its literal parts occur.
    has_digit = _DIGIT.search(text) is not None
    may_stamp = has_digit or not _TIME_WORDS.isdisjoint(line.tokens)
    may_link = _may_link(text)
    return (
        math.log1p(line.words),
        math.log1p(len(text)),
        sum(map(len, line.tokens)) / words,
        _SENTENCE_END.search(text) is not None,
        text.endswith(":"),
        text[-1].isalnum(),
        len(_SENTENCE_MARK.findall(text)) / words,
        text.count(",") / words,
        language_hits[language] / words if language and line.tokens else 0.0,
        sum(map(str.isupper, initials)) / (len(initials) or 1),
        text.isupper(),
        sum(map(str.isdigit, line.tokens)) / words,
        may_stamp and _TIME_STAMP.search(text) is not None,
        has_digit and _DATE.search(text) is not None,
        len(_HANDLE_OR_URL.findall(text)) if may_link else 0,
        len(_LINK_SHAPES.findall(text)),
        _LIST_MARKER.match(text) is not None,
        len(_QUOTES.findall(text)),
        line.is_prose,
        line.is_title_like,
    )


def _may_link(text: str) -> bool:
    """Whether `text` holds a literal part of every _HANDLE_OR_URL alternative: without one it cannot match."""
    return ("@" in text or "#" in text or "://" in text or "www." in text or ".co" in text or ".org" in text
            or ".net" in text or ".de" in text or ".fr" in text)


def _context(view: RuleView, own: np.ndarray) -> np.ndarray:
    """Prose, recurrence and rule cuts around each line: where the story mass is."""
    n = len(view.lines)
    prose_words = np.array([line.words if line.is_prose else 0 for line in view.lines], dtype=np.float64)
    prose_lines = (prose_words > 0).astype(np.float64)
    recurring = own[:, _OWN["recurring"]].astype(np.float64)
    cut = (own[:, _OWN["rule_cut_reason"]] > 0).astype(np.float64)

    def window_sum(values: np.ndarray, radius: int) -> np.ndarray:
        cumulative = np.concatenate([[0.0], np.cumsum(values)])
        index = np.arange(n)
        return cumulative[np.minimum(index + radius + 1, n)] - cumulative[np.maximum(index - radius, 0)]

    before = np.full(n, float(n))
    after = np.full(n, float(n))
    last = None
    for i in range(n):
        if last is not None:
            before[i] = i - last
        if prose_lines[i]:
            last = i
    last = None
    for i in range(n - 1, -1, -1):
        if last is not None:
            after[i] = last - i
        if prose_lines[i]:
            last = i
    near, wide = window_sum(prose_words, _WINDOW), window_sum(prose_words, _WIDE_WINDOW)
    return np.column_stack([
        np.log1p(near),
        np.log1p(wide),
        window_sum(prose_lines, _WINDOW),
        np.minimum(before, 50),
        np.minimum(after, 50),
        window_sum(recurring, _WINDOW),
        window_sum(cut, _WINDOW),
        near / max(near.max(), 1.0),
        wide / max(wide.max(), 1.0),
        np.full(n, np.log1p(prose_words.sum())),
    ]).astype(np.float32)


@cache
def _booster(path: Path = MODEL_PATH):
    import lightgbm

    return lightgbm.Booster(model_file=str(path))


@dataclass(frozen=True, slots=True)
class Judgement:
    """The model's reading of rows: story probabilities, and the tree leaf each row reached in each
    tree (what explains a score, without running the trees again)."""

    scores: np.ndarray
    leaves: np.ndarray


def judge(features: np.ndarray, model_path: Path = MODEL_PATH) -> Judgement:
    """Probability that each row's line is story text, from one pass through the trees.

    The binary model's probability is the logistic of the sum of the leaf values reached.
    """
    if len(features) == 0:
        return Judgement(np.zeros(0), np.zeros((0, 0), dtype=np.intp))
    leaves = _booster(model_path).predict(features, num_threads=1, pred_leaf=True).astype(np.intp)
    leaf_values, _ = _tree_tables(model_path)
    raw = leaf_values[np.arange(leaf_values.shape[0])[None, :], leaves].sum(axis=1)
    return Judgement(1.0 / (1.0 + np.exp(-raw)), leaves)


def strongest_features(features: np.ndarray, leaves: np.ndarray, model_path: Path = MODEL_PATH,
                       top: int = 3) -> list[list[str]]:
    """For each row, the features that pushed its score down most, readable.

    Contributions are path attributions (each split's change of the tree's
    value is credited to its feature), read from the leaves the row reached
    (`Judgement.leaves`): exact for the score, and a table lookup instead of
    TreeSHAP's cost.
    """
    if len(features) == 0:
        return []
    _, table = _tree_tables(model_path)
    contributions = table[np.arange(table.shape[0])[None, :], leaves].sum(axis=1)
    explained = []
    for row, values in zip(features, contributions):
        order = np.argsort(values, kind="stable")[:top]
        explained.append([f"{FEATURE_NAMES[k]}={_readable(k, row[k])}" for k in order if values[k] < 0])
    return explained


@cache
def _tree_tables(model_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(tree, leaf) -> the leaf's value; and (tree, leaf, feature) -> what the splits on that feature
    add on the way from the root to that leaf."""
    booster = _booster(model_path)
    trees = booster.dump_model()["tree_info"]
    n_leaves = max(t["num_leaves"] for t in trees)
    values = np.zeros((len(trees), n_leaves), dtype=np.float64)
    table = np.zeros((len(trees), n_leaves, booster.num_feature()), dtype=np.float32)
    for t, tree in enumerate(trees):
        stack = [(tree["tree_structure"], {})]
        while stack:
            node, path = stack.pop()
            if "split_feature" not in node:
                values[t, node.get("leaf_index", 0)] = node["leaf_value"]
                for feature, delta in path.items():
                    table[t, node.get("leaf_index", 0), feature] += delta
                continue
            for child in (node["left_child"], node["right_child"]):
                value = child["leaf_value"] if "split_feature" not in child else child["internal_value"]
                feature = node["split_feature"]
                stack.append((child, {**path, feature: path.get(feature, 0.0) + value - node["internal_value"]}))
    return values, table


_REASON_OF_CODE = {code: reason for reason, code in REASON_CODES.items()}


def _readable(column: int, value: float) -> str:
    """A feature value as a person reads it: rule reasons by name, flags and counts as integers."""
    if column in CATEGORICAL:
        return _REASON_OF_CODE.get(int(value), "none")
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
