"""Screenshot of `newsflow report` in headless Chromium, for the README: docs/report.png (not part of `make test`).

Without --db it builds a demo warehouse in a temporary folder: the 2,000-article corpus of the tests
(tests/search_corpus.py) plus the five seeds ingested by `newsflow ingest` (so entities, quotes and
cut furniture show), writes the report, opens it in Debian's Chromium (/usr/bin/chromium) over the
DevTools protocol, checks it loaded without errors or requests, and saves the whole page.

    .venv/bin/python scripts/screenshot_report.py [--db FILE] [--out docs/report.png]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser import Chromium  # noqa: E402


def demo_warehouse(folder: Path) -> Path:
    from search_corpus import build_corpus

    db = folder / "demo.duckdb"
    build_corpus(db, 2000)
    subprocess.run([sys.executable, "-m", "flows.cli", "ingest", str(ROOT / "data" / "seeds"), "--db", str(db)],
                   cwd=ROOT, check=True)
    return db


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="report this warehouse instead of the demo one")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    from flows.report import write_report

    with tempfile.TemporaryDirectory(prefix="newsflow-report-") as tmp:
        db = args.db or demo_warehouse(Path(tmp))
        page = write_report(db, Path(tmp) / "report.html")
        with Chromium(width=args.width) as browser:
            load = browser.load(page.as_uri())
            if load.errors or load.requests != [page.as_uri()]:
                print(f"the page did not load cleanly: {load.errors} {load.requests}", file=sys.stderr)
                return 2
            args.out.parent.mkdir(parents=True, exist_ok=True)
            width, height = browser.screenshot(args.out, width=args.width)
    print(f"{args.out} ({width}x{height}, {args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
