"""Ingestion speed and memory, end to end through the CLI.

Builds a corpus of stored text dumps in a temporary folder (the fundus-eval
pages rendered to visible text by two renderers, plus the seeds, each copy
varied by a unique paragraph so no two files are byte-identical), then:

1. times, on the same documents in one process with reading excluded, bare
   trafilatura (`trafilatura.extract`, given each dump as HTML: every
   non-blank line an escaped `<p>` in `<html><body>`, built before timing),
   once with its defaults and once with the options newsflow passes it for
   pages (metadata on, as bench/warc.py), and newsflow's own `clean_text`;
2. runs `newsflow ingest` on the corpus (a fresh warehouse), sampling the
   resident memory of the whole process tree (CLI, Prefect's temporary API
   server, cleaning workers);
3. runs it again over the unchanged corpus.

The entity stage (NER) is left out (`--no-entities`): it has its own
benchmark, bench/ner.py, and would measure spaCy rather than ingestion.

It prints documents per second for each, the ratio of end-to-end to each bare baseline,
peak memory for two corpus sizes (to show it stays flat), and the re-run's
share of the first run. Times are given both as wall time of the command
and as the flow's own time (which excludes Prefect's fixed start-up of a
temporary API server, about 6-10 s on this machine).

    .venv/bin/python bench/ingest.py [--docs 5000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasets import shared_dataset  # noqa: E402
from bench.process_tree import TreeSampler  # noqa: E402
from extractors.text_cleaning import clean_text  # noqa: E402

DATASET = shared_dataset("fundus-eval", env="NEWSFLOW_FUNDUS")
NEWSFLOW_TRAFILATURA_OPTIONS = {"favor_precision": True, "include_comments": False, "include_tables": True,
                                "with_metadata": True}
"""The options `extractors.html_extraction.extract_html` passes trafilatura for a page."""


def base_documents() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "seeds").glob("*.txt"))]
    for renderer in ("text_chromium", "text_inscriptis"):
        rendered = sorted((DATASET / renderer).glob("*.txt"))
        if not rendered:
            raise SystemExit(f"no {renderer} dumps in {DATASET}: set NEWSFLOW_FUNDUS to the fundus-eval folder")
        texts += [p.read_text(encoding="utf-8") for p in rendered]
    return texts


def build_corpus(folder: Path, n_docs: int, seed: int = 7) -> list[Path]:
    """n_docs distinct dumps in sub-folders of 500, each with a unique paragraph in its story."""
    rng = random.Random(seed)
    bases = base_documents()
    paths = []
    for i in range(n_docs):
        lines = bases[i % len(bases)].split("\n")
        at = len(lines) // 3 + rng.randrange(max(1, len(lines) // 3))
        lines.insert(at, f"\nThe correspondent's note number {i} adds that officials met again on day {i % 28 + 1}.\n")
        path = folder / f"part{i // 500:03d}" / f"doc_{i:06d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def as_html(text: str) -> str:
    """A text dump as trafilatura takes it: each non-blank line a paragraph (trafilatura finds
    nothing in plain text)."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n") if line.strip())
    return f"<html><body>{paragraphs}</body></html>"


def bare_rates(paths: list[Path]) -> dict[str, tuple[float, float]]:
    """(documents per second, CPU seconds per document) of each bare baseline, one process, reading (and the
    HTML wrapping) excluded."""
    import trafilatura

    texts = [p.read_text(encoding="utf-8") for p in paths]
    pages = [as_html(text) for text in texts]
    baselines = {
        "trafilatura defaults": lambda n: [trafilatura.extract(page) for page in pages[:n]],
        "trafilatura newsflow options": lambda n: [
            trafilatura.extract(page, **NEWSFLOW_TRAFILATURA_OPTIONS) for page in pages[:n]],
        "clean_text": lambda n: [clean_text(text) for text in texts[:n]],
    }
    rates = {}
    for name, run in baselines.items():
        run(1)  # loaded once, untimed: the workers load their models before their first batch too
        started, cpu = time.perf_counter(), time.process_time()
        run(len(texts))
        rates[name] = (len(texts) / (time.perf_counter() - started), (time.process_time() - cpu) / len(texts))
    return rates


@dataclass(frozen=True)
class CliRun:
    """One `newsflow COMMAND ...` as measured from outside."""

    wall: float
    summary: dict
    """The run summary (--json)."""
    peak: int
    """Peak memory (PSS) of the process tree (CLI, Prefect's temporary API, workers), bytes."""
    peak_rss: int
    """The summed RSS at that peak, which counts pages the workers share with their parent once each."""
    cpu: float
    """CPU seconds of the whole tree: on a shared machine, the work done, whatever the wall."""


def run_cli(command: list[str], env: dict, accepted: tuple[int, ...] = (0,)) -> CliRun:
    """Run `newsflow COMMAND ... --json --no-entities` and measure it."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *command, "--json", "--no-entities"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, text=True,
    )
    with TreeSampler(process.pid) as memory:
        out, _ = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode not in accepted:
        raise SystemExit(f"newsflow {command[0]} exited {process.returncode}:\n{out}")
    return CliRun(wall, json.loads(out), memory.peak_pss, memory.peak_rss, memory.cpu_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=5000, help="corpus size (default 5000)")
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="newsflow-bench-"))
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    try:
        rows = []
        for n_docs in (args.docs // 2, args.docs):
            corpus = work / f"corpus-{n_docs}"
            shutil.rmtree(corpus, ignore_errors=True)
            paths = build_corpus(corpus, n_docs)
            db = work / f"bench-{n_docs}.duckdb"
            db.unlink(missing_ok=True)
            # exit 1: some inputs failed (a near-empty page is "no story text found"); the rest landed
            first = run_cli(["ingest", str(corpus), "--db", str(db)], env, accepted=(0, 1))
            again = run_cli(["ingest", str(corpus), "--db", str(db)], env, accepted=(0, 1))
            assert first.summary["n_new"] + first.summary["n_failed"] == n_docs, first.summary
            # what landed stays
            assert again.summary["n_seen"] == n_docs and again.summary["n_unchanged"] == first.summary["n_new"], again
            rows.append((n_docs, first, again, paths))
            print(f"{n_docs} docs, seconds per stage (the driver's clock; stages overlap): first run "
                  f"{first.summary.get('stage_seconds')}, re-run {again.summary.get('stage_seconds')}", flush=True)
        n_docs, first, again, paths = rows[-1]
        first_flow, again_flow = first.summary["seconds"], again.summary["seconds"]
        rates = bare_rates(paths)
        print(f"corpus: {n_docs} stored text dumps (fundus-eval renderings + seeds, varied), {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}; {first.summary['n_failed']} failed (no story text found)")
        for name, (rate, cpu) in rates.items():
            print(f"bare {name}, one process:{'':{30 - len(name)}} {rate:8.1f} docs/s  ({cpu * 1000:5.2f} ms CPU/doc)")
        for label, seconds in (("flow time", first_flow), ("wall incl. Prefect start", first.wall)):
            ratios = ", ".join(f"{n_docs / seconds / rate:.2f}x {name}" for name, (rate, _) in rates.items())
            print(f"end to end, {label}:{'':{36 - len(label)}} {n_docs / seconds:8.1f} docs/s  ({ratios}; target >= 1.3x)")
        # On a shared machine the wall says how busy it was; CPU says how much work each side does. With every
        # core busy and no waits, end to end could reach cores x (bare CPU/doc) / (end-to-end CPU/doc) of bare.
        ceiling = ", ".join(f"{os.cpu_count() * cpu / (first.cpu / n_docs):.2f}x {name}" for name, (_, cpu) in rates.items())
        print(f"end to end, CPU of the whole tree:    {first.cpu / n_docs * 1000:8.2f} ms/doc  "
              f"(ceiling with {os.cpu_count()} cores busy and no waits: {ceiling})")
        for size, run, *_ in rows:
            print(f"peak memory, process tree, {size:6d} docs: {run.peak / 2**20:8.1f} MiB PSS  (target < 1024, flat;"
                  f" summed RSS {run.peak_rss / 2**20:.0f} MiB)")
        print(f"re-run over unchanged corpus, flow:    {again_flow:8.2f} s = {again_flow / first_flow:6.1%} of first "
              f"({first_flow:.2f} s); target < 10%")
        print(f"re-run over unchanged corpus, wall:    {again.wall:8.2f} s = {again.wall / first.wall:6.1%} of first "
              f"({first.wall:.2f} s)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
