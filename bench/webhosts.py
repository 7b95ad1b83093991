"""Local web hosts for the benchmarks: fundus-eval pages served by real HTTP servers on loopback.

The server is tests/webserver.py's `WebServer` (stdlib, logs every request
with monotonic start and end times), loaded by file path so the benchmarks
need neither pytest nor tests/ on sys.path. Nothing here touches the network
beyond 127.0.0.0/8: Linux routes the whole block to the loopback interface,
so one machine can play twenty hosts, each with its own address.
"""

from __future__ import annotations

import gzip
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = Path("/work/shared/datasets/fundus-eval")
FALLBACK_PAGES = ROOT / "tests" / "fixtures" / "web" / "pages"
ROBOTS_TXT = "User-agent: *\nAllow: /\n"


def webserver_module() -> ModuleType:
    """tests/webserver.py as a module (loaded once, by path)."""
    name = "newsflow_bench_webserver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "webserver.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


def WebServer(host: str = "127.0.0.1", port: int = 0):  # stands for the class: WebServer(host).start()
    return webserver_module().WebServer(host, port)


def page_files(dataset: Path | None) -> list[Path]:
    """The dataset's html/*.html.gz pages, or the test fixture pages when the dataset is missing."""
    folder = (dataset or DEFAULT_DATASET) / "html"
    files = sorted(folder.glob("*.html.gz"))
    if not files:
        files = sorted(FALLBACK_PAGES.glob("*.html.gz"))
        print(f"note: no pages in {folder}; using the {len(files)} test fixture pages in {FALLBACK_PAGES}")
    if not files:
        raise SystemExit("no pages to serve")
    return files


def raw_pages(files: list[Path]) -> dict[str, bytes]:
    """Page name (file name without .html.gz) -> the HTML bytes exactly as stored."""
    return {path.name.removesuffix(".html.gz"): gzip.decompress(path.read_bytes()) for path in files}


def local_hosts(n: int, first: int = 2) -> list[str]:
    """n loopback addresses 127.0.0.<first> ... ; each binds its own server."""
    if first + n - 1 > 254:
        raise SystemExit(f"at most {255 - first} hosts fit in 127.0.0.{first}-254")
    return [f"127.0.0.{first + i}" for i in range(n)]
