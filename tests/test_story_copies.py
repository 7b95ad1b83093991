"""Copies of one story never shorten each other (issue 10, point 2).

A seed and ten lightly edited copies (three words changed, one sentence
added, each copy differently) are ingested in one batch and, in another
warehouse, one run at a time. Recurrence counts distinct stories, so the
lines the copies share are not "recurring furniture": every copy keeps every
story line of the seed that it still holds, and the copies make one story.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from flows.ingest_stored import ingest_stored

pytestmark = pytest.mark.usefixtures("prefect_api")

ROOT = Path(__file__).resolve().parent.parent
SEED = "000"
COPIES = 10
_WORD = re.compile(r"\b[a-z]{5,}\b")


def _seed() -> tuple[str, list[str]]:
    expected = json.loads((ROOT / "tests" / "fixtures" / "seeds_expected" / f"{SEED}.expected.json").read_text())
    return (ROOT / expected["source"]).read_text(), [line.strip() for line in expected["body_lines"]]


def _edited(text: str, body_lines: list[str], k: int) -> str:
    """Copy k: three words of three different paragraphs changed, one sentence added to another."""
    long_lines = [line for line in body_lines if len(line.split()) > 20]
    for n in range(3):
        line = long_lines[(k + 3 * n) % len(long_lines)]
        word = _WORD.findall(line)[k % 4]
        text = text.replace(line, line.replace(word, f"{word[:-1]}{'xyz'[n]}", 1), 1)
    grown = long_lines[(k * 7 + 1) % len(long_lines)]
    return text.replace(grown, f"{grown} Officials gave no further details on {k + 1} points.", 1)


@pytest.fixture
def copies(tmp_path: Path) -> list[Path]:
    text, body_lines = _seed()
    folder = tmp_path / "copies"
    folder.mkdir()
    files = [folder / "seed.txt"]
    files[0].write_text(text)
    for k in range(COPIES):
        files.append(folder / f"copy_{k:02d}.txt")
        files[-1].write_text(_edited(text, body_lines, k))
    return files


def _check(db: Path, files: list[Path]) -> None:
    _, body_lines = _seed()
    con = duckdb.connect(str(db), read_only=True)
    try:
        bodies = dict(con.execute("SELECT source_uri, body FROM articles").fetchall())
        stories = con.execute("SELECT count(*) FROM v_stories").fetchone()[0]
    finally:
        con.close()
    assert len(bodies) == len(files)
    for uri, body in bodies.items():
        source = next(f for f in files if uri.endswith(f.name)).read_text().split("\n")
        kept = set(body.split("\n\n"))
        lost = [line for line in body_lines if line in source and line not in kept]
        assert not lost, f"{uri} lost {len(lost)} story lines, e.g. {lost[0][:80]!r}"
    assert stories == 1


def test_one_batch_of_copies_keeps_every_story_whole(copies, db_path):
    summary = ingest_stored(paths=[str(copies[0].parent)], db=str(db_path), entities=False)
    assert summary["n_failed"] == 0
    _check(db_path, copies)


def test_copies_in_separate_runs_keep_every_story_whole(copies, db_path):
    for path in copies:
        summary = ingest_stored(paths=[str(path)], db=str(db_path), entities=False)
        assert summary["n_failed"] == 0
    _check(db_path, copies)
