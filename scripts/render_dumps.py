"""Render fundus-eval pages into plain-text dumps and their expectation files.

Why a renderer of our own: the cleaner is developed against the seeds and the
two renderings shipped with fundus-eval (inscriptis, Chromium innerText). The
fixtures made here imitate a third way a page ends up as text -- "select all,
copy" -- (extractors/page_text.py says how), so the cleaner is tested on a
third layout.

Body lines are derived, not hand-picked: a dump line is a body line when,
after whitespace normalisation (ignoring its bullet and letter case), it
equals a ground-truth paragraph; truth paragraphs are matched in order.
Everything else is judged by reading each dump and listed per page in
render_dumps_pages.json: title, subtitle, authors, date, section,
title/byline/date lines (``metadata``), furniture lines (menus, footers,
share buttons, promos, related headlines, captions) and truth paragraphs to
leave out (``not_body``). A listed line missing from the dump, or furniture
equal to a body line, is reported on stderr and left out.

Usage: python scripts/render_dumps.py [--check]
(--check verifies the committed fixtures are exactly what this script makes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from pathlib import Path

from extractors.page_text import render_text

DATASET = Path(os.environ.get("FUNDUS_EVAL", "/work/shared/datasets/fundus-eval"))
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dumps"
PAGES = Path(__file__).with_name("render_dumps_pages.json")
"""Which pages to render, under which fixture name, with the metadata and
furniture lines judged by reading each rendered dump."""


def render(html: bytes) -> str:
    """Return the "select all + copy" text of a page (extractors.page_text)."""
    try:
        text = html.decode("utf-8")
    except UnicodeDecodeError:
        text = html.decode("cp1252", errors="replace")
    return render_text(text)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def _same_text(line: str, para: str) -> bool:
    """Whole-line equality; case is ignored because ground truth keeps
    CSS-uppercased lead-ins ("IN LATE OCTOBER, ...") that the page source
    writes in mixed case."""
    return _norm(_unbullet(line)).casefold() == _norm(para).casefold()


def _unbullet(s: str) -> str:
    return s[2:] if s.startswith("• ") else s


def body_lines(dump: str, truth: list[str]) -> list[str]:
    """Dump lines equal to truth paragraphs, matched in order (greedy)."""
    lines = dump.split("\n")
    found: list[str] = []
    start = 0
    for para in truth:
        if not _norm(para):
            continue
        for i in range(start, len(lines)):
            if _same_text(lines[i], para):
                found.append(lines[i])
                start = i + 1
                break
    return found


def expectation(name: str, dump: str, truth: list[str], meta: dict) -> dict:
    # Truth paragraphs judged ambiguous as page text (e.g. a bare video
    # prompt like "Watch below.") are left out of the assertions.
    dropped = {_norm(line) for line in meta.get("not_body", [])}
    body = [line for line in body_lines(dump, truth) if _norm(line) not in dropped]
    body_set = {_norm(b) for b in body}
    present = {_norm(x) for x in dump.split("\n")}
    furniture = []
    for line in meta.get("furniture", []):
        n = _norm(line)
        if n not in present:
            print(f"{name}: furniture line not in dump: {line!r}", file=sys.stderr)
        elif n in body_set:
            print(f"{name}: furniture line is a body line: {line!r}", file=sys.stderr)
        elif n not in {_norm(f) for f in furniture}:
            furniture.append(line)
    exp: dict = {"source": meta["source"]}
    for key in ("title", "subtitle", "authors", "published", "section", "language"):
        if key in meta:
            exp[key] = meta[key]
    metadata = [line for line in meta.get("metadata", []) if _norm(line) in present]
    if metadata:
        exp["metadata_lines"] = metadata
    exp["body_lines"] = body
    exp["furniture_lines"] = furniture
    return exp


def build() -> dict[Path, str]:
    truth = json.loads((DATASET / "ground_truth.json").read_text())
    spec = json.loads(PAGES.read_text(encoding="utf-8"))
    files: dict[Path, str] = {}
    for page, meta in spec.items():
        html = gzip.decompress((DATASET / "html" / page).read_bytes())
        dump = render(html)
        name = meta["name"]
        meta = {**meta, "source": f"fundus-eval html/{page} via scripts/render_dumps.py"}
        exp = expectation(name, dump, truth[page]["body"], meta)
        files[OUT / f"{name}.txt"] = dump
        files[OUT / f"{name}.expected.json"] = json.dumps(exp, ensure_ascii=False, indent=2) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    files = build()
    stale = [p for p, text in files.items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"differs: {p}")
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for p, text in files.items():
        p.write_text(text, encoding="utf-8")
        print(f"{p.name}: {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
