"""Which stored files newsflow reads, and how each kind becomes text.

A stored document is either a plain-text dump of a page's visible text
(`.txt`) or a saved page (`.html`, `.htm`, `.html.gz`). Reading never raises
for bad input: it returns a `RawDocument` or a `RejectedInput` reason.

Symbolic links inside input folders are followed, each folder read once: a
link back into the tree it sits in (a loop, or a second route to a folder
read under its own path) is not followed but yielded, so that it is
reported with its reason like any other input that could not be read.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from extractors.decoding import DEFAULT_MAX_BYTES, RejectedInput, decode_bytes
from extractors.decompression import inflate_gzip

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A stored document decoded to text, before any cleaning."""

    source_uri: str
    kind: str
    """"text" for visible-text dumps, "html" for saved pages."""
    text: str
    encoding: str = "utf-8"
    replaced_bytes: int = 0
    """Bytes that did not fit the encoding and became U+FFFD (see `extractors.decoding.Decoded.note`)."""


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
    silently ignored; hidden files and folders are skipped. Yielded as well,
    for `read_document` to explain: a given path that does not exist, a
    given folder with nothing to read, and each symbolic link to a folder
    that is not followed (see the module docstring).
    """
    given = [Path(p) for p in paths]
    roots = [p.resolve() for p in given if p.is_dir()]
    walked: set[Path] = set()
    for root in given:
        if not root.is_dir():
            yield root
        elif root.resolve() not in walked:
            found = False
            for path in _walk(root, roots, walked):
                found = True
                yield path
            if not found:
                yield root


def input_problem(path: Path) -> str | None:
    """Why a path given as input has nothing to read (missing, dangling link, empty folder), else None.

    For a command line to check its arguments before any work starts.
    """
    if path.is_dir():
        return _empty_folder(path) if next(iter(discover([path]))) == path else None
    return _missing(path)


def read_document(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> RawDocument:
    """Read and decode one stored file; raises `RejectedInput` with the reason."""
    problem = _missing(path)
    if problem:
        raise RejectedInput(problem)
    if path.is_dir():
        raise RejectedInput(_folder_problem(path))
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
    except OSError as exc:
        raise RejectedInput(f"unreadable file: {exc.strerror or exc}") from exc
    if path.name.lower().endswith(".gz"):
        data = inflate_gzip(data, max_bytes)
    decoded = decode_bytes(data, kind=kind, max_bytes=max_bytes)
    return RawDocument(source_uri(path), kind, decoded.text, decoded.encoding, decoded.replaced)


def _walk(folder: Path, roots: list[Path], walked: set[Path]) -> Iterator[Path]:
    """Files of `folder` in name order, then its folders, each real folder walked once."""
    walked.add(folder.resolve())
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        yield folder  # unreadable folder: read_document words the error
        return
    folders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=True):
            folders.append(Path(entry.path))
        else:
            yield Path(entry.path)  # files, and links that lead nowhere
    for sub in folders:
        target = sub.resolve()
        if sub.is_symlink() and (target in walked or any(target.is_relative_to(root) for root in roots)):
            yield sub  # a loop, or a folder read under its own path: refused, and reported
        elif target not in walked:
            yield from _walk(sub, roots, walked)


def _missing(path: Path) -> str | None:
    """Why nothing is at `path` (no such path, a dangling or looping link), else None."""
    if path.is_symlink():
        try:
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return f"symbolic link loop: {path} -> {os.readlink(path)}"
            return f"dangling symbolic link -> {os.readlink(path)}"
        return None
    if not os.path.lexists(path):
        return f"no such file or folder: {path}"
    return None


def _folder_problem(path: Path) -> str:
    """Why a folder was handed to `read_document`: a link `discover` refused, or a folder with nothing to read."""
    if not path.is_symlink():
        return _empty_folder(path)
    shown = f"{path} -> {os.readlink(path)}"
    if path.parent.resolve().is_relative_to(path.resolve()):
        return f"symbolic link loop: {shown} leads back to a folder that contains it; not followed"
    return f"symbolic link to a folder read through another path: {shown}; not read twice"


def _empty_folder(path: Path) -> str:
    try:
        os.scandir(path).close()
    except OSError as exc:
        return f"unreadable folder: {exc.strerror or exc}"
    return f"empty folder: no files to read in {path} (hidden files and folders are skipped)"
