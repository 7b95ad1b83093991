"""Entity-stage speed and memory on one corpus, in one run, beside the bare baseline.

The corpus is the seeds' cleaned bodies (with titles) and the fundus-eval
ground-truth bodies, cycled to at least `--words` words; every figure below is
on those same documents. The run does `--rounds` rounds, each of:

1. the entity stage across two workers, as `flows.stages.find_entities` runs
   it: a pool from `entity_workers.pool_context` (forked from a server that
   loaded the model once), each batch of `--batch` articles cut into tasks as
   `flows.stages.in_pool` cuts it (`flows.chunking.guided_chunks`), workers
   `analyse` them (NER + speech cues), then this process resolves the batch and
   attributes its quotes. The pool is started and warm (one tiny article per
   worker) before any clock starts, as the baseline's model load is not timed;
2. bare `nlp.pipe` of the pipeline's `ner`, titles and bodies as `extract_mentions` feeds them, in
   this process, with the stage's batch size.

First, untimed, a warm-up pass of each over the corpus (the memory sample below is taken in the
stage's), so that in the rounds both have met the corpus' words before (spaCy adds each new word to its
vocabulary once per process) and both have their loaded objects frozen out of the garbage collector's
sight (`gc.freeze`, as the fork server does before forking the workers). Each round prints both rates,
their ratio (target: 2 workers >= 1.6x), the load average, and CPU seconds: per worker, and of this
process while the workers run and while it resolves. "CPU bound" is what the ratio comes to on two free
cores if the workers share the work evenly: bare CPU seconds / ((the workers' CPU seconds + this
process's while they run) / 2 + resolution's). The load of a shared machine moves it much less than the
wall ratio, as other jobs take a core from the workers (or from the bare run) and decide which worker
gets more tasks. The summary takes the median of the rounds' ratios.

Then, once, the stage in one process, split: mentions, the parse of quote sentences (target <= 25% on
top of the mentions), resolution and attribution. Peak memory is sampled during the warm-up pass of
the two-worker stage, while this process holds no model (as a flow's process): the sum of the
proportional set size (PSS: a page shared by n processes counts 1/n in each) of this process, the
fork server and the workers, every 0.5 s (target < 1 GB), beside their resident sets' sum (which
counts shared pages once per process). A last check runs tok2vec+ner on the base corpus once: same
entities, and its speed, to show what skipping the shared tok2vec saves.

    .venv/bin/python bench/ner.py [--words 200000] [--batch 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasets import shared_dataset  # noqa: E402
from bench.process_tree import TreeSampler, process_cpu_seconds  # noqa: E402
from extractors.entities import BATCH_SIZE, MODEL_PACKAGES, extract_mentions, load_pipeline, ner_pipe  # noqa: E402
from extractors.entity_resolution import canonical_entities  # noqa: E402
from extractors.entity_workers import analyse, pool_context, warm_up  # noqa: E402
from extractors.quotes import extract_quotes, speech_cues  # noqa: E402
from extractors.text_cleaning import clean_text  # noqa: E402
from flows.chunking import TASK_SIZE, guided_chunks  # noqa: E402
from flows.lifetime import descendants  # noqa: E402

DATASET = shared_dataset("fundus-eval", env="NEWSFLOW_FUNDUS")
WORKERS = 2
SAMPLE_SECONDS = 0.5

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


def attribute(docs: list[Doc], analysed: list) -> int:
    """Canonical entities and quotes of one batch from its mentions and cues; returns the number of quotes."""
    resolved = canonical_entities([mentions for mentions, _ in analysed])
    return sum(len(extract_quotes(body, ms, cues)) for (_, body), ms, (_, cues) in zip(docs, resolved, analysed))


@dataclass
class StageRun:
    seconds: float
    worker_cpu: list[float]
    """CPU seconds of each worker, busiest first."""
    waiting_cpu: float
    """CPU seconds of this process while the workers analysed (sending tasks, receiving results)."""
    resolution_cpu: float


def stage_two_workers(pool: ProcessPoolExecutor, docs: list[Doc], batch: int) -> StageRun:
    """The stage batch by batch: the batch's tasks on the workers, then its resolution here."""
    before = process_cpu(descendants(os.getpid()))
    waiting = resolving = 0.0
    start = time.perf_counter()
    for i in range(0, len(docs), batch):
        part = docs[i: i + batch]
        cpu = time.process_time()
        analysed = [result for chunk in pool.map(analyse, guided_chunks(part)) for result in chunk]
        waiting += time.process_time() - cpu
        cpu = time.process_time()
        attribute(part, analysed)
        resolving += time.process_time() - cpu
    seconds = time.perf_counter() - start
    after = process_cpu(list(before))
    used = sorted((after[pid] - before[pid] for pid in before if pid in after), reverse=True)
    return StageRun(seconds, used[:WORKERS], waiting, resolving)


def process_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each process still alive."""
    return {pid: seconds for pid in pids if (seconds := process_cpu_seconds(pid)) is not None}


def bare(docs: list[Doc]) -> None:
    for _ in ner_pipe(load_pipeline(), (t for title, body in docs for t in (title or "", body))):
        pass


def stage_one_process(docs: list[Doc], batch: int) -> dict[str, float]:
    """Seconds spent in each part of the stage, run batch by batch in this process."""
    parts = {"mentions": 0.0, "parse": 0.0, "resolution+attribution": 0.0}
    for i in range(0, len(docs), batch):
        part = docs[i: i + batch]
        start = time.perf_counter()
        mentions = extract_mentions(part)
        parts["mentions"] += time.perf_counter() - start
        start = time.perf_counter()
        cues = speech_cues([body for _, body in part])
        parts["parse"] += time.perf_counter() - start
        start = time.perf_counter()
        attribute(part, list(zip(mentions, cues)))
        parts["resolution+attribution"] += time.perf_counter() - start
    return parts


def rate(words: int, seconds: float) -> str:
    return f"{words / seconds:>7,.0f} words/s"


def tok2vec_check(docs: list[Doc]) -> None:
    import spacy

    texts = [t for title, body in docs for t in (title or "", body)]
    both = spacy.load(MODEL_PACKAGES["en"], exclude=["tagger", "parser", "senter", "attribute_ruler", "lemmatizer"])
    words = sum(n_words(d) for d in docs)
    start = time.perf_counter()
    with_tok2vec = [[(e.start_char, e.label_) for e in d.ents] for d in both.pipe(texts, batch_size=BATCH_SIZE)]
    seconds = time.perf_counter() - start
    same = with_tok2vec == [[(e.start_char, e.label_) for e in d.ents] for d in ner_pipe(load_pipeline(), texts)]
    print(f"nlp.pipe, tok2vec+ner (base corpus once): {rate(words, seconds)}; same entities as ner only: {same}")


def timed(run, *args) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds of `run(*args)`."""
    start, cpu = time.perf_counter(), time.process_time()
    run(*args)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="articles per resolution batch (flows: 500)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    docs = corpus(args.words)
    words = sum(n_words(d) for d in docs)
    print(f"corpus: {len(docs)} documents, {words:,} words; load average {os.getloadavg()[0]:.2f}")
    print(f"nlp.pipe batch_size={BATCH_SIZE}, resolution batch={args.batch} articles, {WORKERS} workers, "
          f"tasks of at most {TASK_SIZE} documents, smaller towards a batch's end")
    ratios, cpu_ratios = [], []
    with ProcessPoolExecutor(WORKERS, mp_context=pool_context()) as pool:
        start = time.perf_counter()
        list(pool.map(analyse, [[(None, "Warm-up in Paris.")]] * WORKERS))
        print(f"pool start (fork server loads the model and tables, {WORKERS} workers forked): "
              f"{time.perf_counter() - start:.2f} s")
        with TreeSampler(interval=SAMPLE_SECONDS) as memory:  # the warm-up pass: the workers see the corpus' words once
            stage_two_workers(pool, docs, args.batch)
        start = time.perf_counter()
        warm_up()
        gc.freeze()  # as the fork server does before forking the workers (entity_preload)
        print(f"model and tables load in this process (ner + parse components, gazetteer): "
              f"{time.perf_counter() - start:.2f} s")
        bare(docs)  # and so does this process
        for n in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            two = stage_two_workers(pool, docs, args.batch)
            base, base_cpu = timed(bare, docs)
            ratios.append(base / two.seconds)
            cpu_ratios.append(base_cpu / ((sum(two.worker_cpu) + two.waiting_cpu) / WORKERS + two.resolution_cpu))
            print(f"round {n}, load average {load:.2f} -> {os.getloadavg()[0]:.2f}: "
                  f"stage {WORKERS} workers {rate(words, two.seconds)}, bare nlp.pipe {rate(words, base)}: "
                  f"{ratios[-1]:.2f}x; CPU bound {cpu_ratios[-1]:.2f}x (CPU s: bare {base_cpu:.1f}; workers "
                  + ", ".join(f"{s:.1f}" for s in two.worker_cpu)
                  + f"; this process {two.waiting_cpu:.1f} sending and receiving, {two.resolution_cpu:.1f} resolving)")
    print(f"stage {WORKERS} workers / bare nlp.pipe 1 process, median of {args.rounds} rounds: "
          f"{statistics.median(ratios):.2f}x (target >= 1.6); CPU bound {statistics.median(cpu_ratios):.2f}x")
    one_cpu = time.process_time()
    parts = stage_one_process(docs, args.batch)
    one, one_cpu = sum(parts.values()), time.process_time() - one_cpu
    print(f"entity stage, 1 process: {rate(words, one)}, {base / one:.2f}x the last bare run (CPU "
          f"{one_cpu:.1f} s; wall: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items()) + ")")
    print(f"parse of quote sentences on top of the mentions: {parts['parse'] / parts['mentions']:.0%} (target <= 25%)")
    print(f"peak memory during the warm-up pass of the {WORKERS}-worker stage, {memory.peak_processes} processes: "
          f"PSS sum {memory.peak_pss / 2**20:,.0f} MB (target < 1024), RSS sum {memory.peak_rss / 2**20:,.0f} MB "
          f"(sampling took {memory.sampling_cpu_seconds:.1f} CPU s of this process)")
    tok2vec_check(base_documents())


if __name__ == "__main__":
    main()
