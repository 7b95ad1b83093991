"""HTML pages through trafilatura, on real pages from fundus-eval (MIT) kept in tests/fixtures/html."""

import datetime as dt
import gzip
from pathlib import Path

from extractors.dispatch import extract_many
from extractors.html_extraction import extract_html, html_language, parse_iso_date, split_authors

PAGES = Path(__file__).parent / "fixtures" / "html"


def _page(name: str) -> str:
    path = PAGES / name
    return gzip.decompress(path.read_bytes()).decode("utf-8") if name.endswith(".gz") else path.read_text("utf-8")


def test_real_page_gives_story_and_metadata():
    article = extract_html(_page("FreeBeacon_2.html.gz"))
    assert article.extractor == "trafilatura"
    assert article.title and article.site and article.published_at is not None
    assert article.language == "en"
    assert len(article.paragraphs) >= 5 and "\n\n" in article.body
    assert article.title not in article.paragraphs


def test_page_without_a_story_is_refused_by_the_dispatcher():
    (result,) = extract_many([("html", "<html lang='de'><body><nav><a href='/'>Start</a></nav></body></html>")])
    assert result.article is None and "no story text" in result.error


def test_language_falls_back_to_the_text_when_the_page_does_not_declare_it():
    story = "".join(
        f"<p>Le gouvernement a présenté mercredi un projet de loi sur les retraites numéro {i}, "
        "et les syndicats ont annoncé une journée de grève dans tout le pays.</p>"
        for i in range(6)
    )
    article = extract_html(f"<html><body><article><h1>Retraites</h1>{story}</article></body></html>")
    assert article.body and article.language == "fr"


def test_helpers():
    assert html_language('<html class="x" lang="en-GB">') == "en"
    assert html_language("<html>") is None
    assert split_authors("Ann Lee; Bo Chen") == ["Ann Lee", "Bo Chen"] and split_authors(None) == []
    assert parse_iso_date("2024-02-28") == dt.datetime(2024, 2, 28) and parse_iso_date("soon") is None
