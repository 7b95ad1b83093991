"""A warehouse of thousands of real-text articles for search and report tests, and bench/search.py.

Bodies are made of paragraphs drawn from the 80 true article bodies of fundus-eval (committed in
tests/fixtures/web/pages/ground_truth.json.gz), six per article, so every article reads like news
and no two are copies. A few planted articles carry distinctive text (English, French, German,
Japanese), one of them syndicated: two identical copies and one edited copy on other sites.
Articles land through the warehouse's own batch load (story signatures and copy linking included),
without extraction, so thousands take seconds; then the search index is built as a run's end would.

Used as a pytest plugin (fixture `corpus_2k`) and imported by bench/search.py.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from extractors.model import Article
from extractors.near_duplicates import story_signature
from extractors.signatures import article_id, content_hash
from warehouse import connection, runs, search
from warehouse.load import load_batch
from warehouse.records import CleanedDocument, DuplicateDocument, LoadBatch

GROUND_TRUTH = Path(__file__).parent / "fixtures" / "web" / "pages" / "ground_truth.json.gz"
SITES = ("www.dailywire.example", "news.northpost.example", "www.capital-times.example", "www.harbour.example",
         "www.plainsherald.example", "www.coastline.example", "www.ledger.example", "www.morningstar.example")
FIRST_DAY = dt.datetime(2025, 4, 1, 8, 0)

COBALT = ("The cobalt refinery at Kolwezi shipped its first consignment of ingots to Antwerp on Tuesday, "
          "the mining cooperative said, after smelting trials that took eleven weeks.")
PLANTED = {
    "cobalt": ("en", "Kolwezi refinery ships first cobalt", COBALT),
    "vendanges": ("fr", "Les vendanges commencent en Bourgogne",
                  "Les vignerons de la côte de Beaune ont commencé à vendanger le pinot noir lundi, deux semaines "
                  "plus tôt que l'an dernier, à cause de la sécheresse."),
    "windpark": ("de", "Windpark vor Rügen eingeweiht",
                 "Der neue Windpark vor der Insel Rügen liefert seit Montag Strom für zweihunderttausend Haushalte, "
                 "teilte der Netzbetreiber mit."),
    "dairy": ("ja", "北海道の酪農家が新しい牛舎を公開", "北海道の酪農家は新しい牛舎を公開し、搾乳の自動化を進めると発表した。"),
}
"""key -> (language, title, distinctive first paragraph)."""


@dataclass(frozen=True)
class Corpus:
    db: Path
    n_articles: int
    planted: dict[str, str]
    """key -> article id of each planted article (the cobalt story's original)."""
    cobalt_copies: tuple[str, ...]


def paragraphs() -> list[str]:
    bodies = json.loads(gzip.decompress(GROUND_TRUTH.read_bytes()))
    pool = []
    for entry in bodies.values():
        body = entry["body"]
        pool += [p.strip() for p in (body if isinstance(body, list) else body.split("\n\n")) if len(p.split()) >= 12]
    return pool


def _article(rng: random.Random, pool: list[str], i: int, lead: str | None = None, language: str = "en",
             title: str | None = None, site: str | None = None) -> Article:
    body = "\n\n".join(([lead] if lead else []) + rng.sample(pool, 6 if lead is None else 3))
    undated = i % 10 == 9
    return Article(
        body=body, title=title or " ".join(body.split()[:8]).rstrip(".,;:"), language=language,
        site=site or SITES[i % len(SITES)], url=f"https://{site or SITES[i % len(SITES)]}/story/{i}",
        published_at=None if undated else FIRST_DAY + dt.timedelta(days=i % 61, hours=i % 13),
        authors=[f"Reporter {i % 37}"], extractor="text-rules",
    )


def _cleaned(uri: str, article: Article) -> CleanedDocument:
    return CleanedDocument(article_id(uri), uri, content_hash(article.body), article, True,
                           signature=tuple(story_signature(article.body)))


def build_corpus(db: Path, n_articles: int, seed: int = 11, batch_size: int = 500) -> Corpus:
    """A warehouse at `db` with `n_articles` articles (planted ones and copies included), indexed."""
    rng = random.Random(seed)
    pool = paragraphs()
    planted_docs = []
    for n, (key, (language, title, lead)) in enumerate(PLANTED.items()):
        planted_docs.append((key, _cleaned(f"corpus://planted/{key}", _article(
            rng, pool, n, lead=lead, language=language, title=title, site=SITES[n]))))
    original = planted_docs[0][1]
    edited = replace_first(original.article.body, "on Tuesday", "on Tuesday morning")
    near_copy = _cleaned("corpus://planted/cobalt-edited", Article(
        body=edited, title="Cobalt ingots leave Kolwezi", language="en", site=SITES[5],
        url=f"https://{SITES[5]}/cobalt", published_at=original.article.published_at + dt.timedelta(hours=5),
        extractor="text-rules"))
    identical = [DuplicateDocument(article_id(f"corpus://planted/cobalt-copy-{k}"), f"corpus://planted/cobalt-copy-{k}",
                                   original.content_hash, original.article_id, True) for k in (1, 2)]
    n_filler = n_articles - len(planted_docs) - 1 - len(identical)
    filler = [_cleaned(f"corpus://filler/{i:06d}", _article(rng, pool, i + 10)) for i in range(n_filler)]
    with connection.writing(db) as con:
        run_id = runs.begin_run(con, "search_corpus", None)
        load_batch(con, run_id, LoadBatch(cleaned=[doc for _, doc in planted_docs]))
        load_batch(con, run_id, LoadBatch(cleaned=[near_copy], duplicates=identical))
        for start in range(0, len(filler), batch_size):
            load_batch(con, run_id, LoadBatch(cleaned=filler[start:start + batch_size]))
        runs.finish_run(con, run_id, "completed")
        search.refresh_index(con)
    return Corpus(db, n_articles, {key: doc.article_id for key, doc in planted_docs},
                  (near_copy.article_id, *(d.article_id for d in identical)))


def replace_first(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.fixture(scope="session")
def corpus_2k(tmp_path_factory) -> Corpus:
    """2,000 articles in a warehouse file built once per test session; tests copy it before writing."""
    return build_corpus(tmp_path_factory.mktemp("corpus") / "corpus.duckdb", 2000)


@pytest.fixture(scope="session")
def seeds_warehouse(prefect_api, tmp_path_factory) -> Path:
    """The five seeds ingested once through `ingest_stored`, entities and quotes included; tests only read it."""
    from flows.ingest_stored import ingest_stored

    db = tmp_path_factory.mktemp("seeds") / "seeds.duckdb"
    summary = ingest_stored(paths=[str(Path(__file__).parent.parent / "data" / "seeds")], db=str(db))
    assert summary["status"] == "completed" and summary["n_new"] == 5
    return db
