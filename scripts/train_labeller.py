"""Train the text-mode line labeller (extractors/data/line_labeller.txt) and score it leave-publisher-out.

Training pages: ../shared/datasets/fundus-eval/ (English, 16 publishers) and
../shared/datasets/fundus-parsers/ (130 publishers, 34 countries), each in
three renderings: the two the datasets ship (inscriptis, Chromium innerText)
and our own "select all, copy" rendering (scripts/render_dumps.py), plus the
seed dumps' hand-checked line expectations (tests/fixtures/seeds_expected).
Recurrence is computed per dataset and rendering from its own documents, as
the warehouse does from its corpus (bench/extraction.py does the same).

A line's label comes from the ground-truth body: story when at least half of
its 4-word shingles are in the truth (a line shorter than a shingle: when it
is a truth paragraph, or a run of two or more words inside one). Rows are
weighted by line length, as the shingle metric weighs them.

Scoring: group k-fold over publishers (a publisher's pages are never in the
fold that trains the model that cleans them); each held-out page goes
through the full `clean_text` with that fold's model and is scored with the
metric of bench/extraction.py, beside today's rules (`--rules-only` path:
the model region with the rules' own decisions).

    python scripts/train_labeller.py            # cross-validate, then write the model
    python scripts/train_labeller.py --no-cv    # write the model only
    python scripts/train_labeller.py --check    # the committed model is what this script makes

Training is deterministic (one thread, fixed seeds, row-wise histograms): the
same inputs give the same model file byte for byte.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from bench.extraction import page_scores, shingles, story_text  # noqa: E402
from extractors.line_labeller import CATEGORICAL, FEATURE_NAMES, MODEL_PATH, line_features  # noqa: E402
from extractors.text_cleaning import clean_text, recurring_keys, rule_view  # noqa: E402

SHARED = Path(os.environ.get("NEWSFLOW_SHARED", ROOT.parent.parent / "shared"))
DATASETS = ("fundus-eval", "fundus-parsers")
SEEDS_EXPECTED = ROOT / "tests" / "fixtures" / "seeds_expected"
SEEDS = ROOT / "data" / "seeds"
SHIPPED_RENDERINGS = ("chromium", "inscriptis")
OWN_RENDERING = "copy"
FOLDS = 5
CROP_MARGIN = 8
SEED_WEIGHT = 10.0
"""The seeds' lines were labelled by hand one by one; they weigh as much as ten pages' lines."""
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.075,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_cat_to_onehot": 8,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,
    "verbosity": -1,
}
ROUNDS = 200
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Document:
    dataset: str
    name: str
    publisher: str
    rendering: str
    text: str
    truth: str
    """The ground-truth body ("" for seeds, which carry line labels instead)."""
    labels: dict[str, int] | None = None
    """Seeds: stripped line text -> 1 story / 0 not story."""
    crop: bool = False
    """A training-only excerpt of a page (see `cropped`), never scored."""


def _shared_root() -> Path:
    candidates = [SHARED, Path("/work/shared")]
    return next((c for c in candidates if (c / "datasets" / DATASETS[0]).is_dir()), SHARED)


def load_documents() -> list[Document]:
    """Every page of both dev sets in every rendering, and the seeds."""
    import render_dumps

    documents = []
    for dataset in DATASETS:
        root = _shared_root() / "datasets" / dataset
        truth_file = json.loads((root / "ground_truth.json").read_text())
        for key, entry in sorted(truth_file.items()):
            name = key.removesuffix(".html.gz")
            publisher = entry.get("publisher") or name.rsplit("_", 1)[0]
            truth = "\n\n".join(entry["body"])
            for rendering in SHIPPED_RENDERINGS:
                text = (root / f"text_{rendering}" / f"{name}.txt").read_text()
                documents.append(Document(dataset, name, publisher.lower(), rendering, text, truth))
            html = root / "html" / f"{name}.html.gz"
            if html.exists():
                text = render_dumps.render(gzip.decompress(html.read_bytes()))
                documents.append(Document(dataset, name, publisher.lower(), OWN_RENDERING, text, truth))
    documents.extend([cropped(doc) for doc in documents])
    return documents + load_seed_documents()


def load_seed_documents() -> list[Document]:
    """The seed dumps, labelled line by line by their expectation files."""
    documents = []
    for expected_file in sorted(SEEDS_EXPECTED.glob("*.expected.json")):
        expected = json.loads(expected_file.read_text())
        seed = ROOT / expected["source"]
        labels = {line.strip(): 1 for line in expected.get("body_lines", [])}
        for key in ("furniture_lines", "metadata_lines"):
            labels.update({line.strip(): 0 for line in expected.get(key, [])})
        documents.append(Document("seeds", seed.stem, f"seed-{seed.stem}", "seed", seed.read_text(), "", labels))
    return documents


def cropped(doc: Document) -> Document:
    """A short story in a thin frame: two to five story lines of the page and the eight lines around them,
    for one page in two without its blank lines.

    Dev pages are long; briefs and small dumps are not, and the model must
    not learn that a story needs a page of prose around it. Which lines is
    fixed by the page's name, so training stays deterministic.
    """
    raw = doc.text.split("\n")
    truth = _truth_parts(doc.truth)
    story = [i for i, line in enumerate(raw) if line.strip() and line_label(_TOKEN.findall(line.lower()), *truth)]
    if not story:
        return replace(doc, crop=True)
    pick = int(hashlib.sha1(f"{doc.name}/{doc.rendering}".encode()).hexdigest(), 16)
    first = pick % len(story)
    last = story[min(len(story) - 1, first + 1 + pick // 7 % 4)]
    start, end = max(0, story[first] - CROP_MARGIN), min(len(raw), last + 1 + CROP_MARGIN)
    excerpt = raw[start:end]
    if pick % 2:
        excerpt = [line for line in excerpt if line.strip()]
    return replace(doc, text="\n".join(excerpt), crop=True)


def _truth_parts(truth: str) -> tuple[set, set[str], str]:
    paragraphs = {" ".join(_TOKEN.findall(p.lower())) for p in truth.split("\n\n")}
    return shingles(truth), paragraphs, f" {' '.join(_TOKEN.findall(truth.lower()))} "


def line_label(tokens: list[str], truth_shingles: set, truth_paragraphs: set[str], truth_joined: str) -> int:
    if len(tokens) >= 4:
        own = {tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3)}
        return int(len(own & truth_shingles) * 2 >= len(own))
    joined = " ".join(tokens)
    return int(joined in truth_paragraphs or (len(tokens) >= 2 and f" {joined} " in truth_joined))


def recurrence_by_corpus(documents: list[Document]) -> dict[tuple[str, str], frozenset[str]]:
    corpora = defaultdict(list)
    for doc in documents:
        if not doc.crop:
            corpora[doc.dataset, doc.rendering].append(doc.text)
    return {key: recurring_keys(texts) for key, texts in corpora.items()}


def document_rows(doc: Document, recurring: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, weights) of a document's labelled lines."""
    _, _, view = rule_view(doc.text, recurring)
    features = line_features(view)
    if doc.labels is not None:
        keep = [i for i, line in enumerate(view.lines) if line.text in doc.labels]
        labels = [doc.labels[view.lines[i].text] for i in keep]
    else:
        truth = _truth_parts(doc.truth)
        keep = list(range(len(view.lines)))
        labels = [line_label(_TOKEN.findall(line.text.lower()), *truth) for line in view.lines]
    weights = [np.sqrt(1 + view.lines[i].words) * (SEED_WEIGHT if doc.labels is not None else 1.0) for i in keep]
    return features[keep], np.array(labels, dtype=np.float32), np.array(weights, dtype=np.float32)


def train(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rounds: int = ROUNDS):
    import lightgbm

    features = np.vstack([r[0] for r in rows])
    labels = np.concatenate([r[1] for r in rows])
    weights = np.concatenate([r[2] for r in rows])
    data = lightgbm.Dataset(
        features, labels, weight=weights, feature_name=[_safe(n) for n in FEATURE_NAMES],
        categorical_feature=list(CATEGORICAL), free_raw_data=True,
    )
    return lightgbm.train(PARAMS, data, num_boost_round=rounds)


def _safe(name: str) -> str:
    """LightGBM feature names may not hold '@', '+' or '-'."""
    return name.replace("@+", "_next").replace("@-", "_prev")


def fold_of(publisher: str, folds: int) -> int:
    """A publisher's fold: fixed by its name, so every run splits the same way."""
    return int(hashlib.sha1(publisher.encode()).hexdigest(), 16) % folds


def fold_models(documents: list[Document], rows, folds: int, directory: Path) -> dict[str, Path]:
    """One model per fold, trained without that fold's publishers; returns publisher -> the model that never saw it."""
    models = {}
    for fold in range(folds):
        training = [rows[i] for i, doc in enumerate(documents) if fold_of(doc.publisher, folds) != fold]
        model_file = directory / f"fold{fold}.txt"
        train(training).save_model(str(model_file))
        models.update({doc.publisher: model_file for doc in documents if fold_of(doc.publisher, folds) == fold})
        print(f"fold {fold + 1}/{folds} trained", file=sys.stderr)
    return models


def cross_validate(documents: list[Document], recurring, rows, folds: int) -> None:
    results: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        models = fold_models(documents, rows, folds, Path(tmp))
        for doc in documents:
            if doc.dataset != "seeds" and not doc.crop:
                article = clean_text(doc.text, recurring[doc.dataset, doc.rendering], model_path=models[doc.publisher])
                results[doc.dataset, doc.rendering].append(page_scores(story_text(article), doc.truth))
    print(f"leave-publisher-out ({folds}-fold by publisher), clean_text with the fold's model:")
    print(f"{'dataset':<16} {'rendering':<11} {'P':>6} {'R':>6} {'F1':>6} {'pages':>6}")
    for (dataset, rendering), pairs in sorted(results.items()):
        p = sum(x for x, _ in pairs) / len(pairs)
        r = sum(y for _, y in pairs) / len(pairs)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{dataset:<16} {rendering:<11} {p:6.3f} {r:6.3f} {f1:6.3f} {len(pairs):6d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-cv", action="store_true", help="skip the leave-publisher-out scores")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the committed model is reproduced")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()

    documents = load_documents()
    recurring = recurrence_by_corpus(documents)
    rows = [document_rows(doc, recurring[doc.dataset, doc.rendering]) for doc in documents]
    print(f"{len(documents)} documents, {sum(len(r[1]) for r in rows)} labelled lines", file=sys.stderr)
    if not args.no_cv and not args.check:
        cross_validate(documents, recurring, rows, args.folds)
    model = train(rows)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "model.txt"
            model.save_model(str(fresh))
            same = fresh.read_bytes() == args.out.read_bytes()
        print("model reproduced" if same else f"{args.out} differs from a fresh training run")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
