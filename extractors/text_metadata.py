"""Metadata lines of a plain-text news dump: bylines, datelines, sections.

Each parser looks at ONE line and answers only when the line is shaped like
that kind of metadata, so a date inside a photo caption or a quote (a long
sentence) is never taken as the publication date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from extractors.words import word_count

_MONTH_NAMES = [
    # en, fr, de, es, it
    "jan january janvier januar enero gennaio",
    "feb february février fevrier februar febrero febbraio",
    "mar march mars märz marz marzo",
    "apr april avril abril aprile",
    "may mai mayo maggio",
    "jun june juin juni junio giugno",
    "jul july juillet juli julio luglio",
    "aug august août aout agosto",
    "sep sept september septembre septiembre settembre",
    "oct october octobre oktober octubre ottobre",
    "nov november novembre noviembre",
    "dec december décembre decembre dezember diciembre dicembre",
]
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names.split()}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DATE_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        rf"\b{_YEAR}-(?P<month_num>[01]\d)-(?P<day_num>[0-3]\d)",  # ISO 8601
        rf"\b{_MONTH}\s+{_DAY},?\s*{_YEAR}",  # May 2, 2025 / May 02,2025 / FEB 28 2024
        rf"\b{_DAY}\.?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?{_YEAR}",  # 2 Mar 2024 / 6. März 2025 / 6 de marzo de 2025
        rf"\b(?P<day_num>\d{{1,2}})[./](?P<month_num>\d{{1,2}})[./]{_YEAR}\b",  # 14/03/2025, 14.03.2025 (day first)
        rf"{_YEAR}\s*[年년]\s*(?P<month_num>[01]?\d)\s*[月월]\s*(?P<day_num>[0-3]?\d)\s*[日일]",  # 2025年1月13日, 2025년 1월 13일
        rf"\b{_YEAR}\.\s?(?P<month_num>[01]?\d)\.\s?(?P<day_num>[0-3]?\d)\b\.?",  # 2025.01.13, 2025. 1. 13. (year first)
    )
]
_DIGIT = re.compile(r"\d")
_DATELINE_LEAD = re.compile(
    r"^\s*(?:published|posted|updated|last (?:updated|modified)|first published|date|publié|mis à jour|"
    r"veröffentlicht|aktualisiert|stand|publicado|actualizado|pubblicato|aggiornato)\b",
    re.IGNORECASE,
)
_UPDATED_ONLY = re.compile(
    r"^\s*(?:updated|last (?:updated|modified)|mis à jour|aktualisiert|actualizado|aggiornato)\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?][\"”’)]?$")
_MAX_DATELINE_WORDS = 14

_BY_PREFIX = re.compile(
    r"^\s*(?:written |words |story |reporting )?(?:by|par|von|por)[:\s]+(?P<names>.+)$", re.IGNORECASE
)
_NAME_TOKEN = r"(?:[A-Z][\w'’.\-]*|de|van|von|der|da|di|al|bin|la|le)"
_NAME = re.compile(rf"^{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{0,4}}$")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\|)\s*")
_AFFILIATION = re.compile(
    # "for/of/at ..." affiliations, handles, and the wire services and broadcasters that follow names in bylines
    r"\s+(?:for|of|at|from)\s+.*$|\s*@.*$|\s*\b(?:the associated press|associated press|ap|reuters|afp|"
    r"bloomberg|fox news|cnn|cnbc|bbc|nbc news|abc news|cbs news)\b.*$",
    re.IGNORECASE,
)
_ROLE_SUFFIX = re.compile(
    r"(?:\b|staff|senior|chief|contributing|deputy|associate)\s*"
    r"(?:(?:political|sports|business|foreign|national|science|health|news|opinion)\s+)?"
    r"(?:correspondent|editor|reporter|writer|columnist|contributor|staff|producer)s?\b.*$",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"@\S*")
_OUTLET_SUFFIX = re.compile(r"\s+[-–—|]\s+.*$")
_WEEKDAY = re.compile(
    r"^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?$|^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|montag|"
    r"dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lunes|martes|miércoles|jueves|viernes|sábado|domingo)$",
    re.IGNORECASE,
)
_SECTION_MAX_WORDS = 3
_GLUED_WORDS = re.compile(r"[a-z][A-Z]")
_BY_AFTER_DATE = re.compile(r"\bby\s+(?P<names>[^|]+)$", re.IGNORECASE)


_TIME_AFTER_DATE = re.compile(
    r"^[T\s,]*(?:at|um|à|a las|alle|kl\.?|-|–|\|)?\s*(?P<hour>[0-2]?\d)\s?[:.h時시]\s?(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?[分분]?"
    r"(?:[.,]\d+)?\s*(?P<ampm>[ap]\.?\s?m\.?(?![a-z]))?(?:\s*uhr)?\s*\(?(?P<zone>Z\b|(?:UTC|GMT)?\s*[+\-−]\s*\d{1,2}(?::?\d{2})?|"
    r"[A-Z]{2,5}\b)?",
    re.IGNORECASE,
)
_ZONE_OFFSETS = {
    # fixed-offset abbreviations news pages print after times (ambiguous ones such as IST are left out)
    "z": 0, "utc": 0, "gmt": 0, "wet": 0, "bst": 60, "cet": 60, "mez": 60, "cest": 120, "mesz": 120, "eet": 120,
    "eest": 180, "msk": 180, "est": -300, "edt": -240, "cst": -360, "cdt": -300, "mst": -420, "mdt": -360,
    "pst": -480, "pdt": -420, "hkt": 480, "sgt": 480, "jst": 540, "kst": 540, "aest": 600, "aedt": 660,
}


def _first_date(text: str) -> tuple[int, int, dt.datetime] | None:
    """(start, end, date at midnight) of the first calendar date written in `text`."""
    if _DIGIT.search(text) is None:  # every date pattern has a year
        return None
    best: tuple[int, int, dt.datetime] | None = None
    for pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        parts = match.groupdict()
        month = int(parts["month_num"]) if parts.get("month_num") else _MONTHS[parts["month"].lower()]
        day = int(parts.get("day_num") or parts["day"])
        if month > 12 and day <= 12:  # a US month-first numeric date
            month, day = day, month
        try:
            found = dt.datetime(int(parts["year"]), month, day)
        except ValueError:
            continue
        if best is None or match.start() < best[0]:
            best = (match.start(), match.end(), found)
    return best


def parse_date(text: str) -> dt.datetime | None:
    """First calendar date written in `text` (naive, at midnight), if any.

    Month names in English, French, German, Spanish and Italian; numeric
    dates are read day first unless that is impossible (then month first).
    """
    found = _first_date(text)
    return found[2] if found else None


def parse_stated_datetime(text: str) -> tuple[dt.datetime, bool] | None:
    """The first date in `text` with the time and offset written right after it, and whether it is a day only.

    "14.05.2025, 20:28" is naive (no offset stated); "2025-05-14T20:28:12+03:00",
    "May 14, 2025 8:28 pm EDT" and "14. Mai 2025, 20:28 Uhr MESZ" carry their offsets.
    """
    found = _first_date(text)
    if found is None:
        return None
    _, end, day = found
    match = _TIME_AFTER_DATE.match(text[end:])
    if not match:
        return day, True
    hour, minute = int(match["hour"]), int(match["minute"])
    if match["ampm"]:
        hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
    if hour > 23:
        return day, True
    at = day.replace(hour=hour, minute=minute, second=int(match["second"] or 0))
    offset = _zone_minutes(match["zone"])
    return (at.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset))) if offset is not None else at), False


def _zone_minutes(zone: str | None) -> int | None:
    if not zone:
        return None
    zone = zone.strip().replace("−", "-")
    if zone.lower() in _ZONE_OFFSETS:
        return _ZONE_OFFSETS[zone.lower()]
    numeric = re.search(r"([+-])\s*(\d{1,2})(?::?(\d{2}))?$", zone)
    if not numeric:
        return None
    sign = 1 if numeric.group(1) == "+" else -1
    return sign * (int(numeric.group(2)) * 60 + int(numeric.group(3) or 0))


def _first_date_start(text: str) -> int:
    """Index where the first date in `text` starts (len(text) if none)."""
    found = _first_date(text)
    return found[0] if found else len(text)


def _is_dateline_shaped(line: str) -> bool:
    """A dateline is short or starts with a publishing verb; a long sentence
    that merely mentions a date (caption, quote, story text) is not one."""
    words = word_count(line)
    if words > _MAX_DATELINE_WORDS and not _DATELINE_LEAD.match(line):
        return False
    return not (words > 6 and _SENTENCE_END.search(line.strip()) and not _DATELINE_LEAD.match(line))


def parse_dateline(line: str) -> dt.datetime | None:
    """The date of a dateline ("May 2, 2025", "Published Wed, Feb 28 2024 ..."), with its time when stated."""
    stated = parse_stated_datetime(line) if _is_dateline_shaped(line) else None
    return stated[0] if stated else None


def is_update_only(line: str) -> bool:
    """A dateline that states a modification date rather than publication."""
    return bool(_UPDATED_ONLY.match(line))


def split_names(text: str) -> list[str]:
    """Person names in a byline fragment ("A and B, Fox News" -> [A, B])."""
    names = []
    for part in _NAME_SPLIT.split(text):
        part = _ROLE_SUFFIX.sub("", _AFFILIATION.sub("", part)).strip(" .,-–—")
        if part and _NAME.match(part) and len(part.split()) >= 2:
            names.append(part.title() if part.isupper() else part)
    return names


def parse_byline(line: str) -> list[str]:
    """Authors of a "By X and Y" line; empty when the line is not a byline.

    What follows a spaced dash or bar is the outlet ("By Jo Roe - The Times").
    """
    match = _BY_PREFIX.match(line.strip())
    if not match or word_count(line) > 16:
        return []
    return split_names(_OUTLET_SUFFIX.sub("", match.group("names")))


def parse_name_line(line: str) -> list[str]:
    """Authors of a line holding nothing but names ("Jo Roe, Al Li", "Jo Roe@jroe").

    Name-shaped lines are common in menus too ("Real Estate"), so callers
    only trust this next to a dateline.
    """
    text = line.strip()
    if word_count(text) > 10:
        return []
    text = _OUTLET_SUFFIX.sub("", _HANDLE.sub("", text))
    names = split_names(text)
    rest = _NAME_SPLIT.sub(" ", text).split()
    return names if names and rest == " ".join(names).split() else []


@dataclass(frozen=True, slots=True)
class MetaLine:
    """What one header line says: any of section, dates, authors."""

    section: str | None = None
    published_at: dt.datetime | None = None
    """With the time (and offset) when the line states them."""
    updated_at: dt.datetime | None = None
    authors: list[str] = field(default_factory=list)
    published_date_only: bool = False
    """The line states the publication day only."""


_SECTION_DATE_AUTHOR = re.compile(r"^(?P<section>[A-Z][\w&' ]{1,30}?)\s+(?P<rest>.+?)\s*\|\s*(?P<author>[^|]+)$")


def parse_section_date_author(line: str) -> MetaLine | None:
    """A "Section Date | Author" header line, e.g. "Politics May 02,2025 | Jo Roe"."""
    match = _SECTION_DATE_AUTHOR.match(line.strip())
    if not match or word_count(line) > 16:
        return None
    stated = parse_stated_datetime(match.group("rest"))
    authors = split_names(match.group("author"))
    if stated is None or not authors or _DATELINE_LEAD.match(line):
        return None
    return MetaLine(section=match.group("section").strip(), published_at=stated[0], authors=authors,
                    published_date_only=stated[1])


def parse_meta_line(line: str) -> MetaLine | None:
    """Whatever header metadata one line states, or None for other lines."""
    meta = parse_section_date_author(line)
    if meta is not None:
        return meta
    authors = parse_byline(line)
    stated = parse_stated_datetime(line) if _is_dateline_shaped(line) else None
    date, date_only = stated if stated else (None, False)
    section = None
    if date is not None and not authors:
        by_after = _BY_AFTER_DATE.search(line)
        authors = split_names(_OUTLET_SUFFIX.sub("", by_after.group("names"))) if by_after else []
    if date is not None and not authors and not _DATELINE_LEAD.match(line):
        prefix = line[: _first_date_start(line)].strip(" /|•,-–—")
        authors = split_names(prefix)
        section = None if authors else section_label(prefix)
    if date is not None and is_update_only(line):
        return MetaLine(section=section, updated_at=date, authors=authors)
    if date is not None or authors:
        return MetaLine(section=section, published_at=date, authors=authors, published_date_only=date_only)
    return None


def section_label(text: str) -> str | None:
    """A short capitalised label ("Politics", "Books & the Arts"): not a weekday, not glued menu text."""
    if not text or not text[0].isupper() or word_count(text) > _SECTION_MAX_WORDS:
        return None
    if _WEEKDAY.match(text) or _GLUED_WORDS.search(text):
        return None
    return text


@dataclass(frozen=True, slots=True)
class SlashHeader:
    """A "Headline/ Outlet/ CITY/ Author/ Edition/ standfirst" line."""

    site: str | None
    authors: list[str]
    standfirst: str | None


def parse_slash_header(line: str, title: str | None) -> SlashHeader | None:
    """Split a slash-separated header that repeats the headline.

    Only lines that start with the headline qualify; the author is the first
    name-shaped part after the outlet (capitalised words, not an ALL-CAPS city),
    and the standfirst is whatever follows the last "/ ".
    """
    if not title or not line.startswith(title):
        return None
    parts = [p.strip() for p in line[len(title):].split("/ ")]
    parts = [p for p in parts if p]
    if len(parts) < 3:
        return None
    site, *middle, standfirst = parts
    authors = [p for p in middle if not p.isupper() and _NAME.match(p)][:1]
    return SlashHeader(site=site, authors=authors, standfirst=standfirst)
