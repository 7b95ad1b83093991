"""Benchmark body extraction on a fundus-eval style dataset.

Metric, per page: the 4-word shingle SETS of `\\w+` tokens (lowercased) of
the predicted story text and of the ground-truth body; precision = shared /
predicted shingles, recall = shared / true shingles. An empty prediction
scores P=0, R=0 unless the truth is empty too (then P=R=1). P and R are
averaged over pages and F1 is the harmonic mean of those two means.

The predicted story text is subtitle + body: fundus ground truth keeps the
standfirst (summary) in the body, while our Article moves it to `subtitle`.

Modes: text (clean_text on text_chromium/ and text_inscriptis/ renderings,
recurrence computed from the dataset's own documents, as the warehouse does
from its corpus; also "without recurrence", an empty corpus at cold start)
html (extract_html on html/, when that module exists), and url: the
html/ pages served by a local web server (127.0.0.1 only, the stored bytes
as they are, Content-Type text/html without a charset, so the page's own
<meta> or detection decides), fetched by `extractors.fetching.Fetcher` and
extracted by `extractors.dispatch.extract_documents`, the exact path
`ingest_urls` takes (fetch, charset decoding, trafilatura with the
readability fallback, canonical URL, the 10-word minimum: a page below it
counts as an empty body), beside plain `trafilatura.extract` (default
settings) on the same fetched text.
Baselines: trafilatura on the HTML, trafilatura on the renderings (each line
wrapped in <p>), jusText on both.

Metadata (datasets whose ground truth states title, authors and date:
fundus-parsers): title, authors and publication day accuracy of
extract_html beside trafilatura's metadata, see `metadata_report`.

Text mode is scored leave-publisher-out: the line labeller is learned from
both dev sets (scripts/train_labeller.py), so each page is cleaned by a fold
model trained without its publisher's pages (the same folds as the training
script; training them takes a few minutes). `--committed-model` scores the
committed model instead, which has seen every page (an in-sample figure).
Speed: clean_text documents per second beside bare trafilatura on the same
texts (each line wrapped in <p>), both single core, in process CPU time.

    python -m bench.extraction [--dataset DIR] [--per-page] [--no-baselines] [--no-url] [--committed-model] [--metadata-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html as html_lib
import importlib
import json
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extractors.line_labeller import MODEL_PATH
from extractors.model import Article
from extractors.text_cleaning import clean_text, recurring_keys

DEFAULT_DATASET = Path("/work/shared/datasets/fundus-eval")
RENDERERS = ("chromium", "inscriptis")
SHINGLE = 4
_TOKEN = re.compile(r"\w+")


def shingles(text: str) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(text.lower())
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def page_scores(predicted: str, truth: str) -> tuple[float, float]:
    """(precision, recall) of one page; see the module docstring for empties."""
    pred, true = shingles(predicted), shingles(truth)
    if not pred:
        return (1.0, 1.0) if not true else (0.0, 0.0)
    if not true:
        return 0.0, 0.0
    shared = len(pred & true)
    return shared / len(pred), shared / len(true)


@dataclass(frozen=True, slots=True)
class Score:
    mode: str
    system: str
    precision: float
    recall: float
    pages: int
    empty: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def story_text(article: Article) -> str:
    return "\n\n".join(part for part in (article.subtitle, article.body) if part)


def score(mode: str, system: str, predictions: dict[str, str], truths: dict[str, str], per_page: bool) -> Score:
    pairs = [page_scores(predictions[name], truths[name]) for name in truths]
    if per_page:
        for name, (p, r) in zip(truths, pairs):
            print(f"  {mode:<18} {system:<22} {name:<22} P={p:.3f} R={r:.3f}")
    n = len(pairs)
    return Score(
        mode, system,
        sum(p for p, _ in pairs) / n, sum(r for _, r in pairs) / n,
        n, sum(1 for name in truths if not shingles(predictions[name])),
    )


def load_dataset(root: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """(truth by page, raw html by page, renderings by renderer and page)."""
    ground_truth = json.loads((root / "ground_truth.json").read_text())
    truths = {key.removesuffix(".html.gz"): "\n\n".join(entry["body"]) for key, entry in sorted(ground_truth.items())}
    pages = {}
    for name in truths:
        path = root / "html" / f"{name}.html.gz"
        pages[name] = gzip.decompress(path.read_bytes()).decode("utf-8", "replace") if path.exists() else ""
    renderings = {
        renderer: {name: (root / f"text_{renderer}" / f"{name}.txt").read_text() for name in truths}
        for renderer in RENDERERS
        if (root / f"text_{renderer}").is_dir()
    }
    return truths, pages, renderings


def lines_as_html(text: str) -> str:
    """A text rendering as minimal HTML, one <p> per line, for HTML extractors."""
    paragraphs = "".join(f"<p>{html_lib.escape(line)}</p>" for line in text.split("\n") if line.strip())
    return f"<html><body>{paragraphs}</body></html>"


def trafilatura_body(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def trafilatura_precise_body(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, favor_precision=True) or ""


def justext_body(html: str) -> str:
    import justext

    paragraphs = justext.justext(html.encode("utf-8"), justext.get_stoplist("English"))
    return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def html_extractor() -> Callable[[str], Article] | None:
    try:
        module = importlib.import_module("extractors.html_extraction")
    except ImportError as error:
        print(f"note: HTML mode skipped, extractors.html_extraction not importable ({error})")
        return None
    return module.extract_html


def fetched_pages(root: Path, names: list[str]) -> dict[str, str | None]:
    """Each page's HTML as `ingest_urls` receives it: served locally, fetched, decoded; None if the fetch failed."""
    from bench.webhosts import WebServer
    from extractors.fetching import Fetcher, FetchPolicy, FetchRequest

    texts: dict[str, str | None] = {}
    with WebServer("127.0.0.1") as web, Fetcher(FetchPolicy(allow_private=True, host_delay=0)) as fetcher:
        web.route("/robots.txt", "User-agent: *\nAllow: /\n", headers={"Content-Type": "text/plain"})
        urls = {}
        for name in names:
            path = root / "html" / f"{name}.html.gz"
            if path.exists():
                web.route(f"/news/{name}", gzip.decompress(path.read_bytes()), headers={"Content-Type": "text/html"})
                urls[web.url(f"/news/{name}")] = name
        for result in fetcher.fetch_many([FetchRequest(url) for url in urls]):
            name = urls[result.request.url]
            texts[name] = (result.final_url, result.text) if result.outcome == "fetched" else None
            if result.outcome != "fetched":
                print(f"note: url mode, {name}: {result.outcome}: {result.error}")
    return {name: texts.get(name) for name in names}


def url_mode(root: Path, truths: dict[str, str], per_page: bool, baselines: bool) -> list[Score]:
    """Fetch -> extract_documents (the ingest_urls path) against plain trafilatura on the same fetched text."""
    from extractors.dispatch import extract_documents
    from extractors.documents import Document

    fetched = fetched_pages(root, list(truths))
    ours, plain = {}, {}
    for name, page in fetched.items():
        if page is None:
            ours[name] = plain[name] = ""
            continue
        article = extract_documents([Document(page[0], url=page[0], text=page[1])])[0].article
        ours[name] = story_text(article) if article is not None else ""
        if baselines:
            plain[name] = trafilatura_body(page[1])
    scores = [score("url", "newsflow fetch+extract", ours, truths, per_page)]
    if baselines:
        scores.append(score("url", "trafilatura", plain, truths, per_page))
    return scores


def docs_per_second(clean: Callable[[str], object], texts: list[str], rounds: int = 3) -> float:
    """Throughput of `clean` over `texts`, single core, best of `rounds`.

    Measured first, before the baselines fill memory, and in process CPU
    time, so other jobs sharing the machine skew it less.
    """
    clean(texts[0])  # the model loads once per process, not per document
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for text in texts:
            clean(text)
        best = min(best, time.process_time() - started)
    return len(texts) / best


def publishers(root: Path) -> dict[str, str]:
    """Page name -> publisher, as scripts/train_labeller.py groups pages into folds."""
    ground_truth = json.loads((root / "ground_truth.json").read_text())
    return {
        key.removesuffix(".html.gz"): (entry.get("publisher") or key.removesuffix(".html.gz").rsplit("_", 1)[0]).lower()
        for key, entry in ground_truth.items()
    }


def leave_publisher_out_models(directory: Path) -> dict[str, Path]:
    """Publisher -> the fold model trained without that publisher (both dev sets, all renderings, seeds)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import train_labeller

    documents = train_labeller.load_documents()
    recurring = train_labeller.recurrence_by_corpus(documents)
    rows = [train_labeller.document_rows(doc, recurring[doc.dataset, doc.rendering]) for doc in documents]
    return train_labeller.fold_models(documents, rows, train_labeller.FOLDS, directory)


def text_mode(
    renderings: dict[str, dict[str, str]], truths: dict[str, str], model_of: dict[str, Path], system: str, args
) -> tuple[list[Score], list[Score]]:
    """clean_text on every rendering, each page with its model, with and without recurrence, beside the baselines."""
    results, text_scores = [], []
    for renderer, texts in renderings.items():
        recurring = recurring_keys(texts.values())
        predictions = {
            name: story_text(clean_text(text, recurring, model_path=model_of[name])) for name, text in texts.items()
        }
        text_scores.append(score(f"text/{renderer}", system, predictions, truths, args.per_page))
        results.append(text_scores[-1])
        cold = {name: story_text(clean_text(text, model_path=model_of[name])) for name, text in texts.items()}
        results.append(score(f"text/{renderer}", "  without recurrence", cold, truths, args.per_page))
        if not args.no_baselines:
            for baseline_system, extract in (("trafilatura", trafilatura_body), ("jusText", justext_body)):
                baseline = {name: extract(lines_as_html(text)) for name, text in texts.items()}
                results.append(score(f"text/{renderer}", baseline_system, baseline, truths, args.per_page))
    return results, text_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--per-page", action="store_true", help="print per-page P and R")
    parser.add_argument("--no-baselines", action="store_true", help="skip trafilatura and jusText")
    parser.add_argument("--no-url", action="store_true", help="skip url mode (pages served and fetched locally)")
    parser.add_argument("--metadata-only", action="store_true", help="only title / authors / date accuracy")
    parser.add_argument("--committed-model", action="store_true",
                        help="score text mode with the committed model (in-sample) instead of leave-publisher-out")
    args = parser.parse_args()

    truths, pages, renderings = load_dataset(args.dataset)
    if args.metadata_only:
        metadata_report(args.dataset, pages, args.per_page, not args.no_baselines)
        return
    speeds = {}
    for renderer, texts in renderings.items():
        recurring = recurring_keys(texts.values())
        speeds[renderer] = (
            docs_per_second(lambda text: clean_text(text, recurring), list(texts.values())),
            docs_per_second(lambda text: trafilatura_body(lines_as_html(text)), list(texts.values()), rounds=1),
        )
    with tempfile.TemporaryDirectory() as folds:
        models = {} if args.committed_model else leave_publisher_out_models(Path(folds))
        model_of = {name: models.get(publisher, MODEL_PATH) for name, publisher in publishers(args.dataset).items()}
        system = "newsflow text (in-sample)" if args.committed_model else "newsflow text (LPO)"
        results, text_scores = text_mode(renderings, truths, model_of, system, args)
    if text_scores:
        n = len(text_scores)
        results.append(Score(
            "text/mean", text_scores[0].system,
            sum(s.precision for s in text_scores) / n, sum(s.recall for s in text_scores) / n,
            sum(s.pages for s in text_scores), sum(s.empty for s in text_scores),
        ))

    extract_html = html_extractor()
    if extract_html is not None:
        predictions = {name: story_text(extract_html(page)) for name, page in pages.items()}
        results.append(score("html", "newsflow extract_html", predictions, truths, args.per_page))
    if not args.no_baselines:
        for system, extract in (
            ("trafilatura", trafilatura_body), ("trafilatura precision", trafilatura_precise_body), ("jusText", justext_body),
        ):
            results.append(score("html", system, {n: extract(p) for n, p in pages.items()}, truths, args.per_page))
    if not args.no_url:
        results.extend(url_mode(args.dataset, truths, args.per_page, not args.no_baselines))

    print(f"{'mode':<16} {'system':<26} {'P':>6} {'R':>6} {'F1':>6} {'pages':>6} {'empty':>6}")
    for s in results:
        print(f"{s.mode:<16} {s.system:<26} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.pages:6d} {s.empty:6d}")
    for renderer, texts in renderings.items():
        size = sum(len(t) for t in texts.values()) / len(texts) / 1024
        ours, bare = speeds[renderer]
        print(f"speed on text_{renderer} (avg {size:.1f} KB), single core: clean_text {ours:.0f} docs/s,"
              f" bare trafilatura {bare:.0f} docs/s")
    metadata_report(args.dataset, pages, args.per_page, not args.no_baselines)



# ---------------------------------------------------------------- metadata (title, authors, date)

PEOPLE_GOLD = Path(__file__).parent / "data" / "fundus_parsers_people.json"


@dataclass(frozen=True, slots=True)
class ExpectedMetadata:
    publisher: str
    title: str
    authors: list[str]
    """People only (bench/data/fundus_parsers_people.json overrides Fundus' list where it names publishers etc.)."""
    fundus_authors: list[str]
    published: str | None
    """ISO 8601, with the offset where Fundus states one."""


@dataclass(frozen=True, slots=True)
class PredictedMetadata:
    title: str | None
    authors: list[str]
    published: dt.datetime | None
    date_only: bool


def load_expected_metadata(root: Path) -> dict[str, ExpectedMetadata]:
    """Expected title / authors / date by page, for datasets that state them (fundus-parsers); {} otherwise."""
    ground_truth = json.loads((root / "ground_truth.json").read_text())
    overrides = json.loads(PEOPLE_GOLD.read_text())["overrides"] if PEOPLE_GOLD.exists() else {}
    expected = {}
    for key, entry in sorted(ground_truth.items()):
        if "title" not in entry:
            continue
        name = key.removesuffix(".html.gz")
        fundus = entry.get("authors") or []
        people = overrides[name]["authors"] if name in overrides else fundus
        expected[name] = ExpectedMetadata(entry.get("publisher") or name, entry["title"] or "", people, fundus,
                                          entry.get("publishing_date"))
    return expected


def name_key(name: str) -> str:
    """Names compare with case kept (normalising capitals is part of the job), dots and spacing ignored."""
    from extractors.metadata import tidy

    text = unicodedata.normalize("NFKC", tidy(name)).replace("’", "'")
    return " ".join(text.replace(".", " ").split())


def title_right(predicted: str | None, expected: str) -> bool:
    from extractors.metadata import text_key

    return text_key(predicted or "") == text_key(expected)


def title_decorated(predicted: str | None, expected: str) -> bool:
    """The expected headline plus more at either end: a site name or section left on."""
    from extractors.metadata import text_key

    got, want = text_key(predicted or ""), text_key(expected)
    return bool(want) and got != want and (got.startswith(want) or got.endswith(want))


def authors_right(predicted: list[str], expected: list[str]) -> bool:
    return sorted(map(name_key, predicted)) == sorted(map(name_key, expected))


def date_right(predicted: dt.datetime | None, expected: str | None) -> bool:
    """The same publication day in the page's own time zone (None for None)."""
    if expected is None or predicted is None:
        return expected is None and predicted is None
    want = dt.datetime.fromisoformat(expected)
    return predicted.date() == want.date()


def instant_right(predicted: dt.datetime | None, date_only: bool, expected: str | None) -> bool | None:
    """The same instant within a minute, for pages whose expected date has a time and offset (else None)."""
    want = dt.datetime.fromisoformat(expected) if expected else None
    if want is None or want.tzinfo is None:
        return None
    if predicted is None or date_only or predicted.tzinfo is None:
        return False
    return abs((predicted - want).total_seconds()) <= 60


def newsflow_metadata(pages: dict[str, str]) -> dict[str, PredictedMetadata]:
    extract_html = html_extractor()
    out = {}
    for name, page in pages.items():
        article = extract_html(page)
        out[name] = PredictedMetadata(article.title, article.authors, article.published_at,
                                      getattr(article, "published_date_only", False))
    return out


def trafilatura_metadata(pages: dict[str, str]) -> dict[str, PredictedMetadata]:
    import trafilatura

    out = {}
    for name, page in pages.items():
        found = trafilatura.extract_metadata(page)
        date = dt.datetime.fromisoformat(found.date) if found is not None and found.date else None
        authors = [a.strip() for a in (found.author or "").split(";") if a.strip()] if found is not None else []
        out[name] = PredictedMetadata(found.title if found is not None else None, authors, date, True)
    return out


def metadata_rows(system: str, predicted: dict[str, PredictedMetadata], expected: dict[str, ExpectedMetadata],
                  per_page: bool) -> list[tuple[str, str, float, int]]:
    """(system, measure, accuracy, pages) rows."""
    names = list(expected)
    checks = {
        "title": [title_right(predicted[n].title, expected[n].title) for n in names],
        "title: site/section left on": [title_decorated(predicted[n].title, expected[n].title) for n in names],
        "authors (people only)": [authors_right(predicted[n].authors, expected[n].authors) for n in names],
        "authors (Fundus' lists)": [authors_right(predicted[n].authors, expected[n].fundus_authors) for n in names],
        "date (day)": [date_right(predicted[n].published, expected[n].published) for n in names],
    }
    instants = [instant_right(predicted[n].published, predicted[n].date_only, expected[n].published) for n in names]
    checks["date (instant, pages stating time+offset)"] = [i for i in instants if i is not None]
    if per_page:
        for i, n in enumerate(names):
            misses = [m for m in ("title", "authors (people only)", "date (day)") if not checks[m][i]]
            if misses:
                print(f"  metadata {system:<12} {n:<40} wrong: {', '.join(misses)}: "
                      f"{predicted[n].title!r} {predicted[n].authors} {predicted[n].published}")
    return [(system, measure, sum(v) / len(v), len(v)) for measure, v in checks.items() if v]


def title_order_leave_publisher_out(pages: dict[str, str], expected: dict[str, ExpectedMetadata]) -> float:
    """Title accuracy when the order of trust among a page's title statements is chosen
    on the other publishers' pages only (each publisher held out in turn)."""
    import itertools

    from extractors.metadata import TITLE_ORDER, choose_title, page_statements

    statements = {n: page_statements(pages[n]) for n in expected}
    orders = list(itertools.permutations(TITLE_ORDER))
    right = {
        (n, order): statements[n] is not None
        and title_right(choose_title(statements[n].titles, statements[n].site_keys, order), expected[n].title)
        for n in expected for order in orders
    }
    hits = 0
    for publisher in {e.publisher for e in expected.values()}:
        train = [n for n, e in expected.items() if e.publisher != publisher]
        best = max(orders, key=lambda order: (sum(right[n, order] for n in train), order == TITLE_ORDER))
        hits += sum(right[n, best] for n, e in expected.items() if e.publisher == publisher)
    return hits / len(expected)


def metadata_report(root: Path, pages: dict[str, str], per_page: bool, baselines: bool) -> None:
    """Print title / authors / date accuracy beside trafilatura's metadata (datasets with expected metadata)."""
    expected = load_expected_metadata(root)
    if not expected:
        return
    pages = {n: pages[n] for n in expected}
    rows = metadata_rows("newsflow", newsflow_metadata(pages), expected, per_page)
    if baselines:
        rows += metadata_rows("trafilatura", trafilatura_metadata(pages), expected, per_page)
    print(f"\nmetadata on {root.name} ({len(expected)} pages, "
          f"{len({e.publisher for e in expected.values()})} publishers)")
    print(f"{'system':<12} {'measure':<44} {'accuracy':>8} {'pages':>6}")
    for system, measure, accuracy, n in rows:
        print(f"{system:<12} {measure:<44} {accuracy:8.3f} {n:6d}")
    print(f"{'newsflow':<12} {'title, trust order chosen leave-publisher-out':<44} "
          f"{title_order_leave_publisher_out(pages, expected):8.3f} {len(expected):6d}")


if __name__ == "__main__":
    main()
