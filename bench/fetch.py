"""Politeness without waste: `ingest_urls` over 20 local hosts, timed against the floor the delay forces.

Serves 500 article pages from 20 local hosts (a real HTTP server on each of
127.0.0.2 ... 127.0.0.21, 25 pages each, plus a robots.txt that allows all),
ingests them all in one `ingest_urls` flow run (in-process, on Prefect's
temporary API, a fresh warehouse file, entities off, default 1 s host delay)
and prints:

- the wall time of the flow call, and the run's own span from the first
  request any server saw to the flow's return (Prefect's start-up excluded);
- the politeness floor: per host, (requests to it - 1) x delay. Counting the
  robots.txt request (26 requests) the floor is 25 s; pages only, 24 s. The
  ratio is taken against the pages-only floor, the smaller one and so the
  stricter reading (target <= 1.25x); the other is printed beside it;
- per host, from the servers' own logs: the most requests in progress at
  once (must be 1) and the least pause from the end of one response to the
  start of the next request (must be >= the delay, less 2 ms of tolerance);
- n_new / n_failed from the run summary, and how many articles the warehouse
  linked as near or identical copies;
- extraction speed: bare `extractors.dispatch.extract_documents` on the same
  served pages, in one process and on the worker count the flow used;
- overlap: the tail from the last response any server sent to the flow's
  return, beside what extracting all pages takes. Had extraction waited for
  the fetching to end the tail would be at least that; pipelined, only the
  last batch (and its load, and Prefect's finishing) is left for the tail;
- context for the times: CPU seconds spent during the flow call by this
  process, its extraction workers and Prefect's temporary API server, the
  machine's load average, and per host the time spent serving and waiting
  beyond the delay (what the fetch side adds to the floor).

Pages: the 80 fundus-eval pages (html/*.html.gz; the test fixture pages when
the dataset is missing), reused round-robin. A reused page must still be a
distinct article for the warehouse, or the near-duplicate check would link
its copies (MinHash of 5-word shingles, linked at estimated Jaccard >= 0.5,
extractors/near_duplicates.py) and a declared canonical URL could merge them.
So every served copy is rewritten:
- its own path on its own host, and its <link rel=canonical> / og:url
  replaced by that URL (the originals point to the publishers' sites and
  would be ignored as cross-site anyway; now each copy declares itself);
- in every run of prose (a text node of 8+ words outside scripts and
  styles: story paragraphs, whatever their tag, but not menus or buttons,
  which stay identical across a site as they do on the web), every 4th word
  is replaced by another word of the same page, drawn by a generator seeded
  with the copy's number. Every 5-word window then holds a replaced word, so
  two copies of one page share almost no shingles (no near copies), while
  the page keeps its markup, size, word lengths and language: what the
  extractor works on is unchanged, only the story reads scrambled. A copy's
  text is not the ground truth any more; this benchmark measures speed and
  politeness, bench/extraction.py measures quality on the original pages.
The near copies the warehouse found anyway (stories made of short text
nodes) are counted and printed, not hidden.

URL order: host by host (all 25 of host 1, then host 2, ...), not
interleaved: the fetcher keeps one queue per host, so the order given must
not matter, and block order is the one a naive fetcher would serialise.

Exit status 1 when a politeness check fails or not every page was fetched
once; speed is printed, never asserted.

    .venv/bin/python -m bench.fetch [--hosts 20] [--pages-per-host 25] [--delay 1.0] [--workers N]
                                    [--dataset DIR] [--prefect-home DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.webhosts import ROBOTS_TXT, WebServer, local_hosts, page_files, raw_pages

GAP_TOLERANCE = 0.002
"""Seconds a server-side gap may fall short of the delay (clock reads, not politeness)."""
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_WORD = re.compile(r"\w{2,}", re.UNICODE)
_NOT_TEXT = frozenset({"script", "style", "noscript", "template", "textarea"})
MIN_PROSE_WORDS = 8
"""A text node of this many words is prose (a story paragraph); shorter ones (menus, buttons) are furniture."""
REPLACE_EVERY = 4
"""Every 4th word replaced: each 5-word shingle then contains a replaced word."""


@dataclass(frozen=True)
class ServedPage:
    host: int
    path: str
    url: str
    base: str
    html: str


def vary_page(raw: bytes, own_url: str, seed: int) -> str:
    """A distinct copy of a page: its own canonical URL, and every 4th story word replaced (see docstring)."""
    import lxml.html

    text = _XML_DECLARATION.sub("", raw.decode("utf-8", "replace"), count=1)
    root = lxml.html.document_fromstring(text)
    for element in root.xpath('//link[contains(concat(" ", normalize-space(translate(@rel, "CANONIL", "canonil")),'
                              ' " "), " canonical ")] | //meta[@property="og:url" or @name="og:url"]'):
        element.getparent().remove(element)
    head = root.find("head")
    if head is None:
        head = lxml.html.Element("head")
        root.insert(0, head)
    head.append(lxml.html.Element("link", rel="canonical", href=own_url))
    head.append(lxml.html.Element("meta", property="og:url", content=own_url))

    body = root.find("body")
    nodes = []  # (element, "text" or "tail") of every run of prose: 8+ words, outside scripts and styles
    for el in (body.iter() if body is not None else ()):
        if not isinstance(el.tag, str) or el.tag in _NOT_TEXT:
            continue
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if value and len(_WORD.findall(value)) >= MIN_PROSE_WORDS:
                nodes.append((el, attr))
    vocabulary = sorted({w for el, attr in nodes for w in _WORD.findall(getattr(el, attr)) if len(w) >= 4})
    rng = random.Random(seed)
    counter = 0

    def swap(match: re.Match) -> str:
        nonlocal counter
        counter += 1
        if counter % REPLACE_EVERY:
            return match.group(0)
        word = rng.choice(vocabulary)
        return word.capitalize() if match.group(0)[0].isupper() else word

    for el, attr in nodes:
        setattr(el, attr, _WORD.sub(swap, getattr(el, attr)))
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def serve(servers: list, bases: dict[str, bytes], pages_per_host: int) -> list[ServedPage]:
    """Route robots.txt and `pages_per_host` distinct copies on every server; URLs in host-block order."""
    names = sorted(bases)
    served = []
    for h, web in enumerate(servers):
        web.route("/robots.txt", ROBOTS_TXT, headers={"Content-Type": "text/plain; charset=utf-8"})
        for k in range(pages_per_host):
            n = h * pages_per_host + k
            base = names[n % len(names)]
            path = f"/news/{base.lower().replace('_', '-')}-copy-{n // len(names)}.html"
            html = vary_page(bases[base], web.url(path), seed=n)
            web.route(path, html)  # str: sent as text/html; charset=utf-8
            served.append(ServedPage(h, path, web.url(path), base, html))
    return served


def bare_extraction(pages: list[tuple[str, str]], workers: int) -> tuple[float, float]:
    """Seconds for `extract_documents` over all pages: one process, and `workers` spawned processes
    (the pool's own guided chunks, flows.chunking; pool start-up excluded)."""
    from extractors.dispatch import extract_documents
    from extractors.documents import Document
    from flows.chunking import guided_chunks

    pages = [Document(url, url=url, text=html) for url, html in pages]

    started = time.perf_counter()
    extract_documents(pages)
    single = time.perf_counter() - started
    if workers < 2:
        return single, single
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(extract_documents, [pages[:1]] * workers))  # start and warm the workers
        started = time.perf_counter()
        list(pool.map(extract_documents, guided_chunks(pages)))
        pooled = time.perf_counter() - started
    return single, pooled


def live_children_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each live descendant process (Prefect's temporary API server), by pid."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            stats[int(entry)] = (int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / tick)
    found, todo = {}, [os.getpid()]
    while todo:
        parent = todo.pop()
        for pid, (ppid, cmdline, cpu) in stats.items():
            if ppid == parent:
                found[pid] = (cmdline, cpu)
                todo.append(pid)
    return found


def cpu_snapshot() -> tuple[float, float, dict[int, tuple[str, float]]]:
    """(this process, reaped children, live descendants) CPU seconds."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime, live_children_cpu()


def copies_linked(db: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT coalesce(duplicate_kind, 'none'), count(*) FROM articles GROUP BY 1").fetchall()
    return dict(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages-per-host", type=int, default=25)
    parser.add_argument("--delay", type=float, default=1.0, help="host_delay, seconds (default 1.0)")
    parser.add_argument("--workers", type=int, default=None, help="extraction processes (default: all cores)")
    parser.add_argument("--dataset", type=Path, default=None, help="fundus-eval folder (with html/)")
    parser.add_argument("--prefect-home", type=Path, default=None,
                        help="PREFECT_HOME for the run (default: a temporary folder, removed afterwards)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsflow-bench-fetch-"))
    os.environ["PREFECT_HOME"] = str(args.prefect_home or work / "prefect-home")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    import flows  # noqa: F401  (Prefect defaults, before any Prefect import)
    from flows.ingest_web import DEFAULT_BATCH_SIZE, ingest_urls

    workers = args.workers or os.cpu_count() or 1
    servers = [WebServer(address) for address in local_hosts(args.hosts)]
    try:
        for web in servers:
            web.start()
        bases = raw_pages(page_files(args.dataset))
        served = serve(servers, bases, args.pages_per_host)
        db = work / "bench.duckdb"

        load_before = os.getloadavg()[0]
        cpu_before = cpu_snapshot()
        called = time.monotonic()
        summary = ingest_urls(urls=[p.url for p in served], db=str(db), allow_private=True,
                              host_delay=args.delay, entities=False, workers=args.workers)
        returned = time.monotonic()
        cpu_after = cpu_snapshot()
        load_after = os.getloadavg()[0]

        logs = [web.requests for web in servers]
        all_requests = [r for log in logs for r in log]
        first_request = min(r.started for r in all_requests)
        last_response = max(r.finished for r in all_requests if r.finished is not None)
        problems = []
        per_host = []
        for web, log, page_count in zip(servers, logs, [args.pages_per_host] * len(servers)):
            pages_seen = [r for r in log if r.path != "/robots.txt"]
            concurrency, gap = web.max_concurrency(log), web.min_gap(log)
            per_host.append((web.base_url, len(log), concurrency, gap))
            if concurrency > 1:
                problems.append(f"{web.base_url}: {concurrency} requests at once")
            if gap < args.delay - GAP_TOLERANCE:
                problems.append(f"{web.base_url}: requests {gap:.3f} s apart, under the {args.delay:g} s delay")
            if len(pages_seen) != page_count or len({r.path for r in pages_seen}) != page_count:
                problems.append(f"{web.base_url}: {len(pages_seen)} page requests for {page_count} pages")
        requests_per_host = max(n for _, n, _, _ in per_host)
        floor_pages = (args.pages_per_host - 1) * args.delay
        floor_all = (requests_per_host - 1) * args.delay
        span = returned - first_request
        flow_wall = returned - called

        service = [sum(r.finished - r.started for r in log if r.finished is not None) for log in logs]
        waits = [sum(b.started - a.finished - args.delay for a, b in pairwise(log)) for log in
                 (sorted(log, key=lambda r: r.started) for log in logs)]
        live = {pid: cpu - cpu_before[2].get(pid, ("", 0.0))[1] for pid, (_, cpu) in cpu_after[2].items()}
        server_cpu = sum(cpu for pid, cpu in live.items() if "prefect.server" in cpu_after[2][pid][0])
        other_live_cpu = sum(live.values()) - server_cpu
        linked = copies_linked(db) if db.exists() else {}
        single, pooled = bare_extraction([(p.url, p.html) for p in served], workers)
        n = len(served)
        last_batch = min(DEFAULT_BATCH_SIZE, n)

        print(f"{n} pages on {args.hosts} hosts ({args.pages_per_host} each, {len(bases)} base pages varied), "
              f"host delay {args.delay:g} s, {os.cpu_count()} cores, {workers} extraction workers; "
              f"URLs listed host by host (not interleaved); 1-min load average {load_before:.1f} before the run, "
              f"{load_after:.1f} after (other jobs on the machine slow both fetching and extraction)")
        print(f"flow call, wall (incl. Prefect start-up):   {flow_wall:7.2f} s")
        print(f"  Prefect start-up (call -> first request): {first_request - called:7.2f} s")
        print(f"  run span (first request -> flow return):  {span:7.2f} s")
        print(f"  fetching (first request -> last response):{last_response - first_request:7.2f} s")
        print(f"  run's own time (summary 'seconds'):       {summary.get('seconds', float('nan')):7.2f} s")
        print(f"  per host, mean: {sum(service) / len(service):.2f} s serving its requests, "
              f"{sum(waits) / len(waits):.2f} s of waits beyond the delay")
        print(f"CPU seconds during the flow call ({os.cpu_count()} cores x {flow_wall:.0f} s = "
              f"{(os.cpu_count() or 1) * flow_wall:.0f} available): this process {cpu_after[0] - cpu_before[0]:.1f}, "
              f"its ended children (extraction workers) {cpu_after[1] - cpu_before[1]:.1f}, "
              f"Prefect's API server {server_cpu:.1f}, other live children {other_live_cpu:.1f}")
        print(f"politeness floor: {floor_pages:.0f} s (pages only), {floor_all:.0f} s with robots.txt "
              f"({requests_per_host} requests to a host)")
        print(f"ratio, run span / pages-only floor (stricter): {span / floor_pages:5.2f}x  (target <= 1.25x); "
              f"vs {floor_all:.0f} s floor: {span / floor_all:.2f}x; "
              f"whole flow call / pages-only floor: {flow_wall / floor_pages:.2f}x")
        worst_gap = min(g for *_, g in per_host)
        print(f"per host: max concurrency {max(c for _, _, c, _ in per_host)} (must be 1), "
              f"min gap {worst_gap:.3f} s (must be >= {args.delay:g} s), over {len(per_host)} hosts")
        for url, count, concurrency, gap in per_host:
            print(f"  {url:<24} {count:3d} requests  max concurrency {concurrency}  min gap {gap:.3f} s")
        print(f"summary: n_new {summary.get('n_new')}  n_failed {summary.get('n_failed')}  "
              f"n_duplicates {summary.get('n_duplicates')}  status {summary.get('status')}")
        print(f"warehouse links: {linked.get('near', 0)} near copies, {linked.get('identical', 0)} identical, "
              f"{linked.get('none', 0)} unlinked articles")
        print(f"bare extract_documents: {n / single:6.1f} pages/s one process ({single:.2f} s); "
              f"{n / pooled:6.1f} pages/s on {workers} workers ({pooled:.2f} s)")
        print(f"overlap: tail after the last response {returned - last_response:.2f} s, against "
              f"{pooled:.2f} s to extract all {n} pages ({pooled * last_batch / n:.2f} s for one batch of "
              f"{last_batch}); {max(0.0, 1 - (returned - last_response) / pooled):.0%} of the extraction time "
              f"did not show in the tail")
        if summary.get("n_new") != n or summary.get("n_failed"):
            problems.append(f"{summary.get('n_new')} new and {summary.get('n_failed')} failed of {n} pages")
        for problem in problems:
            print(f"FAIL: {problem}")
        return 1 if problems else 0
    finally:
        for web in servers:
            web.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
