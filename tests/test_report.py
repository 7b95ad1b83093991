"""`newsflow report` on the seeds and on a 2,000-article corpus, and the page in a real browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from browser import Chromium
from flows.cli import main

SECTIONS = ("articles-per-day", "entities", "speakers", "cuts", "stories", "runs")


def _report(capsys, db: Path, out: Path, *extra: str) -> str:
    assert main(["report", "--db", str(db), "--out", str(out), *extra]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    return out.read_text(encoding="utf-8")


def _card(page: str, label: str) -> int:
    return int(re.search(rf"<b>([\d,]+)</b><span>{label}</span>", page)[1].replace(",", ""))


def _self_contained(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", page), "the page must not load anything"
    assert not re.search(r"url\(\s*['\"]?(?!#)", page)


@pytest.fixture(scope="module")
def corpus_with_seeds(corpus_2k, tmp_path_factory, prefect_api) -> Path:
    """The 2,000-article corpus plus the seeds ingested by a real run (so entities, quotes and cuts exist)."""
    from flows.ingest_stored import ingest_stored

    db = tmp_path_factory.mktemp("report") / "corpus.duckdb"
    shutil.copy(corpus_2k.db, db)
    summary = ingest_stored(paths=[str(Path(__file__).parent.parent / "data" / "seeds")], db=str(db))
    assert summary["n_new"] == 5
    return db


def test_report_on_the_seeds(seeds_warehouse, tmp_path, capsys):
    page = _report(capsys, seeds_warehouse, tmp_path / "seeds.html")
    _self_contained(page)
    assert _card(page, "articles") == 5 and _card(page, "runs") == 1 and _card(page, "failures") == 0
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in page
    assert page.count("<svg") == 7  # per day, entities, entity timelines, speakers, cuts, stories, runs
    assert ">Donald Trump (PERSON)<" in page  # SVG text stays text
    assert "related_links" in page and "Nothing to show yet: no story has copies" in page


def test_report_on_a_2000_article_corpus(corpus_with_seeds, tmp_path, capsys):
    page = _report(capsys, corpus_with_seeds, tmp_path / "corpus.html")
    _self_contained(page)
    assert _card(page, "articles") == 2005 and _card(page, "runs") == 2
    assert page.count("<svg") == 7
    assert "Kolwezi refinery ships first cobalt" in page  # the largest story, with its copies
    recent = _report(capsys, corpus_with_seeds, tmp_path / "may.html", "--since", "2025-05-15")
    assert 0 < _card(recent, "articles") < 2005


def test_report_needs_a_warehouse(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_the_report_renders_in_chromium_with_its_plots(seeds_warehouse, corpus_with_seeds, tmp_path, capsys):
    pages = {name: tmp_path / f"{name}.html" for name in ("seeds", "corpus")}
    _report(capsys, seeds_warehouse, pages["seeds"])
    _report(capsys, corpus_with_seeds, pages["corpus"])
    with Chromium() as browser:
        for name, path in pages.items():
            load = browser.load(path.as_uri())
            assert load.errors == [], name
            assert load.requests == [path.as_uri()], f"{name}: the page fetched something"
            plots = browser.evaluate(
                "[...document.querySelectorAll('figure svg')].map(svg => {"
                " const box = svg.getBoundingClientRect();"
                " return {width: box.width, height: box.height, shapes: svg.querySelectorAll('path, rect, use').length,"
                " section: svg.closest('section').id}; })"
            )
            assert len(plots) == 7, name
            assert {p["section"] for p in plots} == set(SECTIONS)
            for plot in plots:
                assert plot["width"] > 300 and plot["height"] > 100 and plot["shapes"] > 10, (name, plot)
            images_ok = browser.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
            assert images_ok is True
            assert browser.evaluate("document.title").startswith("newsflow report")
