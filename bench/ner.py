"""Entity-stage speed and memory on one corpus, in one run.

The corpus is the seeds' cleaned bodies (with titles) and the fundus-eval
ground-truth bodies, cycled to at least `--words` words. On it this prints
words per second of:

1. bare `nlp.pipe` with only the component used (`ner`), titles and bodies as
   `extract_mentions` feeds them;
2. the whole entity stage in one process: mentions, canonical entities over
   each batch, quotes. The warehouse load is not part of it yet;
3. the same stage across two worker processes (spawned, each loading the
   model once): workers find mentions in chunks, the parent resolves each
   batch and finds its quotes while the workers go on with the next;

then the ratios to the bare figure (targets: 0.85 and 1.6), and peak memory
(max resident set of this process and of the largest worker). A last check
runs tok2vec+ner on the base corpus once: same entities, and its speed, to
show what dropping the shared tok2vec saves.

    .venv/bin/python bench/ner.py [--words 200000] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from extractors.entities import BATCH_SIZE, MODEL_PACKAGES, extract_mentions, load_pipeline  # noqa: E402
from extractors.entity_resolution import canonical_entities  # noqa: E402
from extractors.quotes import extract_quotes  # noqa: E402
from extractors.text_cleaning import clean_text  # noqa: E402

DATASET = Path(os.environ.get("NEWSFLOW_FUNDUS", ROOT.parent / "shared" / "datasets" / "fundus-eval"))
WORKERS = 2
CHUNK = 50
"""Documents per worker task: large enough to fill `nlp.pipe` batches, small enough to balance."""

Doc = tuple[str | None, str]


def base_documents() -> list[Doc]:
    docs: list[Doc] = []
    for path in sorted((ROOT / "data" / "seeds").glob("*.txt")):
        article = clean_text(path.read_text(encoding="utf-8"))
        docs.append((article.title, article.body))
    truth = json.loads((DATASET / "ground_truth.json").read_text(encoding="utf-8"))
    docs += [(None, "\n\n".join(page["body"])) for page in truth.values()]
    return docs


def corpus(min_words: int) -> list[Doc]:
    docs, words = [], 0
    for doc in cycle(base_documents()):
        if words >= min_words:
            return docs
        docs.append(doc)
        words += n_words(doc)


def n_words(doc: Doc) -> int:
    return len((doc[0] or "").split()) + len(doc[1].split())


def resolve_batch(docs: list[Doc], mentions: list) -> int:
    """Canonical entities and quotes of one batch; returns the number of quotes."""
    resolved = canonical_entities(mentions)
    return sum(len(extract_quotes(body, ms)) for (_, body), ms in zip(docs, resolved))


def bare(docs: list[Doc]) -> None:
    nlp = load_pipeline()
    for _ in nlp.pipe((t for title, body in docs for t in (title or "", body)), batch_size=BATCH_SIZE):
        pass


def stage_one_process(docs: list[Doc], batch: int) -> None:
    for i in range(0, len(docs), batch):
        part = docs[i: i + batch]
        resolve_batch(part, extract_mentions(part))


def stage_two_workers(docs: list[Doc], batch: int) -> None:
    chunks = [docs[i: i + CHUNK] for i in range(0, len(docs), CHUNK)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=load_pipeline) as pool:
        pending: list = []
        done = 0
        for mentions in pool.map(extract_mentions, chunks):
            pending += mentions
            if len(pending) >= batch:
                resolve_batch(docs[done: done + len(pending)], pending)
                done, pending = done + len(pending), []
        if pending:
            resolve_batch(docs[done:], pending)


def timed(label: str, words: int, run, *args) -> float:
    start = time.perf_counter()
    run(*args)
    rate = words / (time.perf_counter() - start)
    print(f"{label:<44} {rate:>9,.0f} words/s")
    return rate


def tok2vec_check(docs: list[Doc]) -> None:
    import spacy

    texts = [t for title, body in docs for t in (title or "", body)]
    ner, both = load_pipeline(), spacy.load(MODEL_PACKAGES["en"], exclude=["tagger", "parser", "senter",
                                                                            "attribute_ruler", "lemmatizer"])
    words = sum(n_words(d) for d in docs)
    start = time.perf_counter()
    with_tok2vec = [[(e.start_char, e.label_) for e in d.ents] for d in both.pipe(texts, batch_size=BATCH_SIZE)]
    rate = words / (time.perf_counter() - start)
    same = with_tok2vec == [[(e.start_char, e.label_) for e in d.ents] for d in ner.pipe(texts, batch_size=BATCH_SIZE)]
    print(f"{'nlp.pipe, tok2vec+ner (base corpus once)':<44} {rate:>9,.0f} words/s; same entities as ner only: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="articles per resolution batch")
    args = parser.parse_args()

    docs = corpus(args.words)
    words = sum(n_words(d) for d in docs)
    start = time.perf_counter()
    load_pipeline()
    print(f"corpus: {len(docs)} documents, {words:,} words; model load (ner only) {time.perf_counter() - start:.2f} s")
    print(f"nlp.pipe batch_size={BATCH_SIZE}, resolution batch={args.batch} articles, {WORKERS} workers x {CHUNK} docs")
    base = timed("bare nlp.pipe (ner only), 1 process", words, bare, docs)
    one = timed("entity stage (no load), 1 process", words, stage_one_process, docs, args.batch)
    two = timed(f"entity stage (no load), {WORKERS} workers", words, stage_two_workers, docs, args.batch)
    print(f"stage / bare, 1 process: {one / base:.2f}x (target >= 0.85)")
    print(f"stage {WORKERS} workers / bare 1 process: {two / base:.2f}x (target >= 1.6)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: this process {own:.0f} MB, largest worker {child:.0f} MB, "
          f"all three at once at most {own + WORKERS * child:.0f} MB (target < 1024)")
    tok2vec_check(base_documents())


if __name__ == "__main__":
    main()
