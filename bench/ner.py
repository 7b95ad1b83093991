"""Entity-stage speed and memory on one corpus, in one run.

The corpus is the seeds' cleaned bodies (with titles) and the fundus-eval
ground-truth bodies, cycled to at least `--words` words. On it this prints
words per second of:

1. the entity stage across two workers, as the flows run it: a pool from
   `entity_workers.pool_context` (forked from a server that loaded the model
   once), workers `analyse` chunks (NER + speech cues), this process resolves
   each batch and attributes its quotes while the workers go on; the pool is
   started and warm before the clock starts (start-up printed apart), as the
   bare figure's model load is not timed either. Measured first, while this
   process holds no model, as a flow's process;
2. bare `nlp.pipe` with only `ner`, titles and bodies as `extract_mentions` feeds them, one process;
3. the entity stage in one process, split: mentions, the parse of quote sentences, resolution and attribution;

then the ratios to the bare figure (targets: 2 workers >= 1.6x, parse <= 25% on top of NER), and peak
memory during 1: the sum of the proportional set size (PSS: a page shared by n processes counts 1/n in
each) of this process, the fork server and the workers, sampled every 0.5 s (target < 1 GB), beside the
sum of their resident sets (which counts shared pages once per process). A last check runs
tok2vec+ner on the base corpus once: same entities, and its speed, to show what skipping the shared
tok2vec saves.

    .venv/bin/python bench/ner.py [--words 200000] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import cycle
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasets import shared_dataset  # noqa: E402
from extractors.entities import BATCH_SIZE, MODEL_PACKAGES, extract_mentions, load_pipeline, ner_pipe  # noqa: E402
from extractors.entity_resolution import canonical_entities  # noqa: E402
from extractors.entity_workers import analyse, pool_context, warm_up  # noqa: E402
from extractors.quotes import extract_quotes, speech_cues  # noqa: E402
from extractors.text_cleaning import clean_text  # noqa: E402
from flows.lifetime import descendants  # noqa: E402

DATASET = shared_dataset("fundus-eval", env="NEWSFLOW_FUNDUS")
WORKERS = 2
CHUNK = 16
"""Documents per worker task, as `flows.stages.in_pool` sends them."""
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


def analyse_timed(docs: list[Doc]) -> tuple[list, float, int]:
    """`analyse` in a worker, with the CPU seconds it took there and the worker's pid."""
    start = time.process_time()
    analysed = analyse(docs)
    return analysed, time.process_time() - start, os.getpid()


def stage_two_workers(pool: ProcessPoolExecutor, docs: list[Doc], batch: int) -> dict[int, float]:
    """Run the stage; returns CPU seconds per worker pid (and this process's under pid 0)."""
    chunks = [docs[i: i + CHUNK] for i in range(0, len(docs), CHUNK)]
    cpu: dict[int, float] = {}
    pending: list = []
    done = 0
    start = time.process_time()
    for analysed, seconds, pid in pool.map(analyse_timed, chunks):
        cpu[pid] = cpu.get(pid, 0.0) + seconds
        pending += analysed
        if len(pending) >= batch:
            attribute(docs[done: done + len(pending)], pending)
            done, pending = done + len(pending), []
    if pending:
        attribute(docs[done:], pending)
    cpu[0] = time.process_time() - start
    return cpu


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


class MemorySampler:
    """Peak, over samples, of the summed PSS and RSS (MB) of this process and all its descendants."""

    def __init__(self) -> None:
        self.peak_pss = self.peak_rss = 0.0
        self.peak_processes = 0
        self.cpu_seconds = 0.0
        """CPU time the sampling itself took (reading smaps_rollup is not free), not the stage's."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        pids = [os.getpid(), *descendants(os.getpid())]  # the pool is started: its processes stay the same
        while not self._stop.wait(SAMPLE_SECONDS):
            sizes = [s for s in map(memory_kb, pids) if s is not None]
            pss, rss = sum(p for p, _ in sizes) / 1024, sum(r for _, r in sizes) / 1024
            if pss > self.peak_pss:
                self.peak_pss, self.peak_rss, self.peak_processes = pss, rss, len(sizes)
        self.cpu_seconds = time.thread_time()


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(PSS, RSS) of a process in kB, from /proc/PID/smaps_rollup; None once it has gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    except OSError:
        return None
    return int(fields["Pss"].split()[0]), int(fields["Rss"].split()[0])


def rate(words: int, seconds: float) -> str:
    return f"{words / seconds:>9,.0f} words/s"


def tok2vec_check(docs: list[Doc]) -> None:
    import spacy

    texts = [t for title, body in docs for t in (title or "", body)]
    both = spacy.load(MODEL_PACKAGES["en"], exclude=["tagger", "parser", "senter", "attribute_ruler", "lemmatizer"])
    words = sum(n_words(d) for d in docs)
    start = time.perf_counter()
    with_tok2vec = [[(e.start_char, e.label_) for e in d.ents] for d in both.pipe(texts, batch_size=BATCH_SIZE)]
    seconds = time.perf_counter() - start
    same = with_tok2vec == [[(e.start_char, e.label_) for e in d.ents] for d in ner_pipe(load_pipeline(), texts)]
    print(f"{'nlp.pipe, tok2vec+ner (base corpus once)':<46} {rate(words, seconds)}; same entities as ner only: {same}")


def timed(run, *args) -> tuple[float, float, object]:
    """Wall seconds, this process's CPU seconds and the result of `run(*args)`."""
    start, cpu = time.perf_counter(), time.process_time()
    result = run(*args)
    return time.perf_counter() - start, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500, help="articles per resolution batch")
    args = parser.parse_args()

    docs = corpus(args.words)
    words = sum(n_words(d) for d in docs)
    print(f"corpus: {len(docs)} documents, {words:,} words; load average {os.getloadavg()[0]:.2f}")
    print(f"nlp.pipe batch_size={BATCH_SIZE}, resolution batch={args.batch} articles, {WORKERS} workers x {CHUNK} docs")
    start = time.perf_counter()
    with ProcessPoolExecutor(WORKERS, mp_context=pool_context()) as pool:
        list(pool.map(analyse_timed, [[(None, "Warm-up in Paris.")]] * WORKERS))
        print(f"pool start (fork server loads the model and tables, {WORKERS} workers forked): "
              f"{time.perf_counter() - start:.2f} s")
        with MemorySampler() as memory:
            two, _, cpu = timed(stage_two_workers, pool, docs, args.batch)
    start = time.perf_counter()
    warm_up()
    print(f"model and tables load in this process (ner + parse components, gazetteer): "
          f"{time.perf_counter() - start:.2f} s")
    base, base_cpu, _ = timed(bare, docs)
    one_cpu = time.process_time()
    parts = stage_one_process(docs, args.batch)
    one, one_cpu = sum(parts.values()), time.process_time() - one_cpu
    busiest = max(seconds for pid, seconds in cpu.items() if pid)
    print(f"{'bare nlp.pipe (ner only), 1 process':<46} {rate(words, base)}  (CPU {base_cpu:.1f} s)")
    print(f"{'entity stage, 1 process':<46} {rate(words, one)}  (CPU {one_cpu:.1f} s: "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in parts.items()) + " wall)")
    print(f"{f'entity stage, {WORKERS} workers':<46} {rate(words, two)}  (CPU: workers "
          + ", ".join(f"{seconds:.1f} s" for pid, seconds in sorted(cpu.items()) if pid)
          + f"; this process {cpu[0] - memory.cpu_seconds:.1f} s, memory sampling {memory.cpu_seconds:.1f} s)")
    print(f"parse of quote sentences on top of NER: {parts['parse'] / parts['mentions']:.0%} (target <= 25%)")
    print(f"stage / bare, 1 process: {base / one:.2f}x (CPU time: {base_cpu / one_cpu:.2f}x)")
    print(f"stage {WORKERS} workers / bare 1 process: {base / two:.2f}x (target >= 1.6); "
          f"bare CPU / busiest worker's CPU: {base_cpu / busiest:.2f}x (the wall ratio on {WORKERS} free cores, "
          f"less this process's share)")
    print(f"peak memory during the {WORKERS}-worker stage, {memory.peak_processes} processes: "
          f"PSS sum {memory.peak_pss:,.0f} MB (target < 1024), RSS sum {memory.peak_rss:,.0f} MB")
    tok2vec_check(base_documents())


if __name__ == "__main__":
    main()
