"""Which stored files newsflow reads, and how each kind becomes text.

A stored document is either a plain-text dump of a page's visible text
(`.txt`) or a saved page (`.html`, `.htm`, `.html.gz`). Reading never raises
for bad input: it returns a `RawDocument` or a `RejectedInput` reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from extractors.decoding import DEFAULT_MAX_BYTES, RejectedInput, decode_text, decompress_gzip

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A stored document decoded to text, before any cleaning."""

    source_uri: str
    kind: str
    """"text" for visible-text dumps, "html" for saved pages."""
    text: str


def document_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(TEXT_SUFFIXES):
        return "text"
    if name.endswith(HTML_SUFFIXES):
        return "html"
    return None


def source_uri(path: Path) -> str:
    """The stored file's identity: its absolute path as a file URI."""
    return path.absolute().as_uri()


def discover(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Every file under the given files and folders, recursively, in a stable order.

    Unsupported files are yielded too, so that they are reported, not
    silently ignored; hidden files and folders are skipped.
    """
    for given in paths:
        root = Path(given)
        if root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(folder) / name
        else:
            yield root


def read_document(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> RawDocument:
    """Read and decode one stored file; raises `RejectedInput` with the reason."""
    kind = document_kind(path)
    if kind is None:
        raise RejectedInput(
            f"unsupported file type {''.join(path.suffixes) or '(none)'}: "
            f"expected one of {', '.join(TEXT_SUFFIXES + HTML_SUFFIXES)}"
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RejectedInput(f"file is {size:,} bytes, over the {max_bytes:,} byte limit")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise RejectedInput("file disappeared before it could be read") from exc
    except IsADirectoryError as exc:
        raise RejectedInput("not a regular file") from exc
    except OSError as exc:
        raise RejectedInput(f"unreadable file: {exc.strerror or exc}") from exc
    if path.name.lower().endswith(".gz"):
        data = decompress_gzip(data, max_bytes)
    return RawDocument(source_uri=source_uri(path), kind=kind, text=decode_text(data, max_bytes))
