"""Expectation files for the text cleaner, and the per-line checks against them.

An expectation file (``NAME.expected.json``) says, for one plain-text dump,
which of its lines are story (``body_lines``, in order) and which are page
furniture (``furniture_lines``), plus the metadata the cleaner must find
(``title``, ``subtitle``, ``authors``, ``published`` as YYYY-MM-DD or null,
``section``, ``language``). ``metadata_lines`` are title, byline and date
lines: like furniture they must stay out of the body, but the cleaner turns
them into fields rather than cuts, so no CutSegment is required for them; the
expected title and subtitle are treated the same way. A key that is absent is
not checked: lines and fields that are honestly ambiguous are left out rather
than guessed.

Lines are compared with surrounding whitespace stripped, against the cleaned
body split on newlines. Every check returns a list of messages naming the
fixture and the line, so one test reports all of a fixture's misses at once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DUMPS = TESTS / "fixtures" / "dumps"
SEEDS_EXPECTED = TESTS / "fixtures" / "seeds_expected"
SEEDS = TESTS.parent / "data" / "seeds"

METADATA_KEYS = ("title", "subtitle", "authors", "published", "section", "language")


@dataclass(frozen=True)
class Case:
    """One dump and what the cleaner must make of it."""

    name: str
    dump: Path
    expected_file: Path

    @property
    def text(self) -> str:
        return self.dump.read_text(encoding="utf-8")

    @property
    def lines(self) -> list[str]:
        """The dump's lines as CutSegment.position counts them."""
        return self.text.split("\n")

    @property
    def expected(self) -> dict:
        return json.loads(self.expected_file.read_text(encoding="utf-8"))


def dump_cases() -> list[Case]:
    """tests/fixtures/dumps/NAME.txt with NAME.expected.json beside it."""
    return [
        Case(f.name.removesuffix(".expected.json"), f.with_name(f.name.replace(".expected.json", ".txt")), f)
        for f in sorted(DUMPS.glob("*.expected.json"))
    ]


def seed_cases() -> list[Case]:
    """tests/fixtures/seeds_expected/NNN.expected.json for data/seeds/NNN_*.txt."""
    cases = []
    for f in sorted(SEEDS_EXPECTED.glob("*.expected.json")):
        number = f.name.removesuffix(".expected.json")
        matches = sorted(SEEDS.glob(f"{number}_*.txt"))
        assert len(matches) == 1, f"{f.name}: expected one seed data/seeds/{number}_*.txt, found {matches}"
        cases.append(Case(f"seed {number}", matches[0], f))
    return cases


@cache
def cleaned(dump: Path):
    """The cleaner's Article for a dump (cleaned once per test session)."""
    from extractors.text_cleaning import clean_text

    return clean_text(dump.read_text(encoding="utf-8"))


def _body_lines(article) -> list[str]:
    return [line.strip() for line in article.body.split("\n") if line.strip()]


def _short(line: str, limit: int = 90) -> str:
    line = line.strip()
    return repr(line if len(line) <= limit else line[:limit] + "…")


def fixture_problems(case: Case) -> list[str]:
    """Mistakes in the expectation file itself: lines not in the dump,
    a line both body and furniture, unknown keys, empty lists."""
    exp = case.expected
    present = {line.strip() for line in case.lines}
    problems = []
    for key in ("body_lines", "furniture_lines", "metadata_lines"):
        if key != "metadata_lines" and not exp.get(key):
            problems.append(f"{case.name}: {key} is missing or empty")
        for line in exp.get(key, []):
            if line.strip() not in present:
                problems.append(f"{case.name}: {key} entry is not a line of the dump: {_short(line)}")
    both = {b.strip() for b in exp.get("body_lines", [])} & (
        {f.strip() for f in exp.get("furniture_lines", []) + exp.get("metadata_lines", [])}
        | {exp[k].strip() for k in ("title", "subtitle") if exp.get(k)})
    problems += [f"{case.name}: line is both body and non-body: {_short(line)}" for line in sorted(both)]
    unknown = set(exp) - set(METADATA_KEYS) - {"body_lines", "furniture_lines", "metadata_lines", "source", "notes"}
    if unknown:
        problems.append(f"{case.name}: unknown keys {sorted(unknown)}")
    if "published" in exp and exp["published"] is not None:
        try:
            dt.date.fromisoformat(exp["published"])
        except ValueError:
            problems.append(f"{case.name}: published is not YYYY-MM-DD: {exp['published']!r}")
    return problems


def body_misses(case: Case, article) -> list[str]:
    """Story lines missing from the body, or present but out of order."""
    got = _body_lines(article)
    got_set = set(got)
    misses = []
    cursor = 0
    for line in case.expected["body_lines"]:
        want = line.strip()
        if want not in got_set:
            misses.append(f"{case.name}: body line missing: {_short(want)}")
            continue
        try:
            cursor = got.index(want, cursor) + 1
        except ValueError:
            misses.append(f"{case.name}: body line out of order: {_short(want)}")
    return misses


def furniture_leaks(case: Case, article) -> list[str]:
    """Furniture, title, subtitle and byline/date lines that made it into
    the body."""
    exp = case.expected
    got = set(_body_lines(article))
    leaks = [
        f"{case.name}: furniture line in body: {_short(line)}"
        for line in exp["furniture_lines"]
        if line.strip() in got
    ]
    heading = [exp[k] for k in ("title", "subtitle") if exp.get(k)] + exp.get("metadata_lines", [])
    leaks += [
        f"{case.name}: title/byline/date line in body: {_short(line)}"
        for line in dict.fromkeys(line.strip() for line in heading)
        if line in got
    ]
    return leaks


def _covers(segment, index: int) -> bool:
    """A cut segment covers a line if it starts there or spans it."""
    span = max(1, len(segment.text.strip("\n").split("\n")))
    return segment.position <= index < segment.position + span


def unrecorded_cuts(case: Case, article) -> list[str]:
    """Furniture lines (every occurrence) with no CutSegment at their
    0-based line position, or one without a reason."""
    misses = []
    for line in case.expected["furniture_lines"]:
        want = line.strip()
        for index, source in enumerate(case.lines):
            if source.strip() != want:
                continue
            segments = [s for s in article.cut if _covers(s, index)]
            if not segments:
                misses.append(f"{case.name}: line {index} cut without a CutSegment: {_short(want)}")
            elif not all(s.reason and s.reason.strip() for s in segments):
                misses.append(f"{case.name}: line {index} CutSegment has no reason: {_short(want)}")
    return misses


def metadata_mismatches(case: Case, article) -> list[str]:
    """Fields whose key is in the expectation file and whose value differs."""
    exp = case.expected
    def stripped(value):
        return value.strip() if isinstance(value, str) else value

    got = {
        "title": stripped(article.title),
        "subtitle": stripped(article.subtitle),
        "authors": list(article.authors),
        "published": article.published_at.date().isoformat() if article.published_at else None,
        "section": stripped(article.section),
        "language": article.language,
    }
    return [
        f"{case.name}: {key} is {got[key]!r}, expected {exp[key]!r}"
        for key in METADATA_KEYS
        if key in exp and got[key] != exp[key]
    ]


def assert_none(messages: list[str]) -> None:
    """Fail with every message, one a line."""
    assert not messages, f"{len(messages)} problem(s):\n" + "\n".join(messages)


class CleanerExpectations:
    """The checks as pytest tests: subclass as ``Test...`` and set ``cases``.

    Each check is its own test so a report says which aspect of which
    fixture failed (body, furniture, cut audit, metadata).
    """

    cases: list[Case] = []

    def pytest_generate_tests(self, metafunc):
        if "case" in metafunc.fixturenames:
            metafunc.parametrize("case", self.cases, ids=[c.name for c in self.cases])

    def test_expectation_file_matches_its_dump(self, case):
        assert_none(fixture_problems(case))

    def test_checks_reject_an_uncleaned_dump(self, case):
        """The checks can fail: the raw dump as body with nothing cut, and an
        empty article, must each be caught."""
        from extractors.model import Article

        raw = Article(body=case.text)
        empty = Article(body="")
        assert furniture_leaks(case, raw), "furniture check passed the raw dump"
        assert unrecorded_cuts(case, raw), "cut check passed an article with no cuts"
        assert body_misses(case, empty), "body check passed an empty body"
        assert metadata_mismatches(case, empty) or not any(case.expected.get(k) for k in METADATA_KEYS), (
            "metadata check passed an article with no metadata")

    def test_story_lines_kept_in_order(self, case):
        assert_none(body_misses(case, cleaned(case.dump)))

    def test_furniture_lines_not_in_body(self, case):
        assert_none(furniture_leaks(case, cleaned(case.dump)))

    def test_furniture_lines_recorded_as_cut(self, case):
        assert_none(unrecorded_cuts(case, cleaned(case.dump)))

    def test_metadata(self, case):
        assert_none(metadata_mismatches(case, cleaned(case.dump)))
