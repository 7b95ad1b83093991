"""A page's visible text as a person copies it ("select all, copy"), one block per line.

The text labeller reads dumps like this one; the HTML path renders a page
this way so the labeller can judge trafilatura's paragraphs against the page
they came from (scripts/render_dumps.py makes the test fixtures with it):

- script, style, noscript, template, svg, select and elements with the
  ``hidden`` attribute or an inline ``display:none`` are dropped; menus,
  footers and asides are kept;
- every block element starts a new line, ``<br>`` breaks a line, whitespace
  inside a line is collapsed;
- list items get a "• " bullet, table cells are joined with " | ";
- paragraphs and headings are followed by a blank line, other blocks are not.
"""

from __future__ import annotations

import re

import lxml.html

DROPPED = {"script", "style", "noscript", "template", "svg", "select", "head",
           "iframe", "object", "canvas"}
BLOCKS = {"address", "article", "aside", "blockquote", "dd", "details", "dialog",
          "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
          "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
          "ol", "p", "pre", "section", "summary", "table", "tr", "ul", "caption",
          "picture", "label"}
SPACED = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
CELLS = {"td", "th"}
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _visible(el) -> bool:
    if el.get("hidden") is not None:
        return False
    if el.get("aria-hidden") == "true" and el.tag in {"span", "div", "ul"}:
        return False
    return not HIDDEN_STYLE.search(el.get("style") or "")


class _Lines:
    """Accumulates text into lines; a block boundary ends the current line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.bullet = False  # a list item started and has no line yet

    def text(self, s: str | None) -> None:
        if s:
            self.current.append(s)

    def end_line(self, blank_after: bool = False) -> None:
        line = re.sub(r"\s+", " ", "".join(self.current)).strip()
        self.current = []
        if line:
            if self.bullet:
                line, self.bullet = "• " + line, False
            self.lines.append(line)
        if blank_after and self.lines and self.lines[-1] != "":
            self.lines.append("")


def _walk(el, out: _Lines) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag:  # comments, processing instructions
        out.text(el.tail)
        return
    tag = tag.lower()
    if tag in DROPPED or not _visible(el):
        out.text(el.tail)
        return
    if tag == "br":
        out.end_line()
        out.text(el.tail)
        return
    block = tag in BLOCKS
    if block:
        out.end_line()
        if tag == "li":
            out.bullet = True
    if tag in CELLS and out.current and "".join(out.current).strip():
        out.text(" | ")
    out.text(el.text)
    for child in el:
        _walk(child, out)
    if block:
        out.end_line(blank_after=tag in SPACED)
        if tag == "li":
            out.bullet = False
    out.text(el.tail)


def render_text(html: str) -> str:
    """Return the "select all + copy" text of a page."""
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)  # lxml refuses str with an encoding declaration
    doc = lxml.html.document_fromstring(text)
    body = doc.find("body")
    out = _Lines()
    _walk(body if body is not None else doc, out)
    out.end_line()
    lines = out.lines
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
