"""`newsflow report`: one self-contained HTML page that shows what the warehouse holds.

The plots are matplotlib figures inlined as SVG (text kept as text), the styling is inline CSS and
there is no script at all: the file opens offline, from disk or as a mail attachment, and loads
nothing. The numbers come from `warehouse.report_queries` on one short read-only connection.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from warehouse import report_queries as rq
from warehouse.queries import read_only

TOP_SITES = 8
TOP_ENTITIES = 15
ENTITY_TIMELINES = 6
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
STATUS_COLOURS = {"completed": "#2ca02c", "failed": "#d62728", "interrupted": "#ff7f0e", "running": "#1f77b4"}


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, read in one go."""

    db: str
    since: str | None
    totals: dict
    per_day: pd.DataFrame
    entities: pd.DataFrame
    entity_days: pd.DataFrame
    speakers: pd.DataFrame
    cuts: pd.DataFrame
    story_sizes: pd.DataFrame
    largest_stories: pd.DataFrame
    runs: pd.DataFrame
    runs_per_day: pd.DataFrame
    failures_per_day: pd.DataFrame
    failure_reasons: pd.DataFrame


def read_report_data(db: str | os.PathLike, since: str | None = None) -> ReportData:
    with read_only(db) as con:
        entities = rq.entities(con, limit=TOP_ENTITIES, since=since)
        return ReportData(
            db=str(db), since=since, totals=rq.totals(con, since), per_day=rq.articles_per_day(con, since),
            entities=entities,
            entity_days=rq.entity_days(con, entities["entity_id"].head(ENTITY_TIMELINES).tolist(), since),
            speakers=rq.top_speakers(con, since), cuts=rq.cut_reasons(con, since),
            story_sizes=rq.story_sizes(con, since),
            largest_stories=rq.stories(con, min_copies=2, since=since).head(10),
            runs=rq.runs(con, since, limit=15), runs_per_day=rq.runs_per_day(con, since),
            failures_per_day=rq.failures_per_day(con, since), failure_reasons=rq.failure_reasons(con, since),
        )


def write_report(db: str | os.PathLike, out: str | os.PathLike = "report.html", since: str | None = None) -> Path:
    """Render the report of the warehouse at `db` into `out` (written aside, then renamed into place)."""
    page = render(read_report_data(db, since))
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return target


# --- the page -------------------------------------------------------------------------------------


def render(data: ReportData) -> str:
    t = data.totals
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    scope = f"articles published (or, undated, first seen) since {data.since}" if data.since else "everything"
    cards = [
        ("articles", t["articles"]), ("stories", t["stories"]), ("sites", t["sites"]),
        ("entities", t["entities"]), ("quotes", t["quotes"]), ("runs", t["runs"]), ("failures", t["failures"]),
    ]
    days = f"{t['first_day']} to {t['last_day']}" if t["first_day"] else "no dated articles"
    sections = [
        _section("Articles per day, by site", "articles-per-day", _articles_per_day(data),
                 f"By publication day ({days}); {t['undated']:,} undated article(s) are not plotted."),
        _section("Top entities", "entities", _entities(data),
                 "People, organisations and places by the number of stories naming them (copies count once), "
                 f"then the daily mentions of the top {ENTITY_TIMELINES}."),
        _section("Top quoted speakers", "speakers", _speakers(data), "Direct quotations attributed to a named speaker."),
        _section("What was cut, and why", "cuts", _cuts(data),
                 "Lines the cleaner removed from the articles, by the rule that cut them (kept in boilerplate_segments)."),
        _section("Duplicates and stories", "stories", _stories(data),
                 f"{t['identical_copies']:,} identical copies and {t['near_copies']:,} near copies (syndicated or "
                 f"lightly edited) are linked to {t['stories']:,} stories."),
        _section("Runs and failures over time", "runs", _runs(data), "Flow runs per start day by how they ended, "
                 "and inputs that did not land per day by stage."),
    ]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>newsflow report: {html.escape(Path(data.db).name)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>newsflow report</h1>
<p class="meta">Warehouse <code>{html.escape(str(Path(data.db).absolute()))}</code> · {html.escape(scope)} · generated {generated}</p>
<div class="cards">{''.join(f'<div class="card"><b>{value:,}</b><span>{label}</span></div>' for label, value in cards)}</div>
<nav>{' · '.join(f'<a href="#{anchor}">{title}</a>' for title, anchor in _SECTIONS)}</nav>
</header>
{''.join(sections)}
</body>
</html>
"""


_SECTIONS = [("Articles per day", "articles-per-day"), ("Entities", "entities"), ("Speakers", "speakers"),
             ("Cuts", "cuts"), ("Stories", "stories"), ("Runs", "runs")]
_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1rem 2rem 3rem; color: #222; background: #fff; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }
.meta, .note { color: #555; font-size: .9rem; } code { font-size: .85rem; }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .5rem .9rem; min-width: 6rem; }
.card b { display: block; font-size: 1.4rem; } .card span { color: #555; font-size: .85rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .8rem 0; width: 100%; }
th, td { border-bottom: 1px solid #eee; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #777; font-style: italic; }
"""


def _section(title: str, anchor: str, body: str, note: str) -> str:
    return f'<section id="{anchor}">\n<h2>{html.escape(title)}</h2>\n<p class="note">{html.escape(note)}</p>\n{body}\n</section>\n'


def _empty(what: str) -> str:
    return f'<p class="empty">Nothing to show yet: {html.escape(what)}.</p>'


def _figure(draw: Callable[[Figure], None], caption: str, width: float = 10.5, height: float = 3.6) -> str:
    """A matplotlib figure as inline SVG, with text kept as text and ids unique to this figure."""
    import matplotlib

    figure = Figure(figsize=(width, height), layout="constrained")
    draw(figure)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": caption, "font.size": 9}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return (f'<figure role="img" aria-label="{html.escape(caption)}">{svg}'
            f"<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>")


def _table(frame: pd.DataFrame, numeric: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            if isinstance(value, (list, tuple, np.ndarray)):
                text = ", ".join(map(str, value))
            else:
                text = "" if pd.isna(value) else str(value)
            css = ' class="n"' if column in numeric else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _day_axis(ax, first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Days on the x axis, with half a day of room at both ends, so one day of data is a bar, not a smear."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, DateFormatter, DayLocator
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(first - pd.Timedelta(hours=18), last + pd.Timedelta(hours=18))
    if (last - first).days <= 14:
        ax.xaxis.set_major_locator(DayLocator())
        ax.xaxis.set_major_formatter(DateFormatter("%d %b %Y" if first == last else "%d %b"))
    else:
        locator = AutoDateLocator(maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.grid(axis="y", alpha=.3)
    ax.spines[["top", "right"]].set_visible(False)


def _articles_per_day(data: ReportData) -> str:
    if data.per_day.empty:
        return _empty("no dated articles")
    frame = data.per_day.copy()
    top = frame.groupby("site")["articles"].sum().sort_values(ascending=False).index[:TOP_SITES]
    frame["site"] = frame["site"].where(frame["site"].isin(top), "other sites")
    table = frame.pivot_table(index="day", columns="site", values="articles", aggfunc="sum", fill_value=0)
    table.index = pd.to_datetime(table.index)
    table = table.reindex(pd.date_range(table.index.min(), table.index.max(), freq="D"), fill_value=0)
    order = [s for s in top if s in table.columns] + (["other sites"] if "other sites" in table.columns else [])

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        bottom = None
        for i, site in enumerate(order):
            values = table[site].to_numpy()
            ax.bar(table.index, values, bottom=bottom, width=.85, label=site, color=PALETTE[i % len(PALETTE)])
            bottom = values if bottom is None else bottom + values
        ax.set_ylabel("articles")
        _day_axis(ax, table.index.min(), table.index.max())
        figure.legend(fontsize=8, ncols=min(len(order), 5), frameon=False, loc="outside upper center")

    return _figure(draw, "Articles per publication day, stacked by site")


def _entities(data: ReportData) -> str:
    if data.entities.empty:
        return _empty("no entities (ingest with the entity stage on)")
    frame = data.entities.iloc[::-1]

    def bars(figure: Figure) -> None:
        ax = figure.subplots()
        ax.barh(frame["name"] + " (" + frame["label"] + ")", frame["stories"], color=PALETTE[0])
        ax.set_xlabel("stories naming it")
        ax.spines[["top", "right"]].set_visible(False)

    parts = [_figure(bars, "Top entities by stories", height=max(2.5, .28 * len(frame) + 1))]
    if not data.entity_days.empty:
        names = dict(zip(data.entities["entity_id"], data.entities["name"]))
        days = data.entity_days.copy()
        days["day"] = pd.to_datetime(days["day"])
        span = pd.date_range(days["day"].min(), days["day"].max(), freq="D")
        ids = [i for i in data.entities["entity_id"].head(ENTITY_TIMELINES) if i in set(days["entity_id"])]

        def timelines(figure: Figure) -> None:
            axes = figure.subplots(len(ids), 1, sharex=True, squeeze=False)[:, 0]
            for i, (ax, entity_id) in enumerate(zip(axes, ids)):
                series = days[days["entity_id"] == entity_id].set_index("day")["mentions"].reindex(span, fill_value=0)
                ax.bar(series.index, series.to_numpy(), width=.85, color=PALETTE[i % len(PALETTE)])
                ax.set_ylabel(names[entity_id], rotation=0, ha="right", va="center", fontsize=8)
                _day_axis(ax, span[0], span[-1])

        parts.append(_figure(timelines, "Mentions per publication day of the top entities", height=.75 * len(ids) + 1))
    return "\n".join(parts)


def _speakers(data: ReportData) -> str:
    if data.speakers.empty:
        return _empty("no quotes with a named speaker")
    frame = data.speakers.iloc[::-1]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.barh(frame["speaker"], frame["quotes"], color=PALETTE[2])
        ax.set_xlabel("quotes")
        ax.spines[["top", "right"]].set_visible(False)

    return (_figure(draw, "Top quoted speakers", height=max(2.2, .28 * len(frame) + 1))
            + _table(data.speakers.rename(columns={"example": "longest quote"}), numeric=("quotes", "articles")))


def _cuts(data: ReportData) -> str:
    if data.cuts.empty:
        return _empty("nothing was cut")
    frame = data.cuts.iloc[::-1]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.barh(frame["reason"], frame["segments"], color=PALETTE[1])
        ax.set_xlabel("lines cut")
        ax.spines[["top", "right"]].set_visible(False)

    return _figure(draw, "Lines cut, by reason", height=max(2.2, .26 * len(frame) + 1)) + _table(
        data.cuts, numeric=("segments", "articles"))


def _stories(data: ReportData) -> str:
    if data.story_sizes.empty:
        return _empty("no articles")
    sizes = data.story_sizes

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.bar(sizes["copies"].astype(str), sizes["stories"], color=PALETTE[4])
        ax.set_xlabel("articles in the story")
        ax.set_ylabel("stories")
        ax.set_yscale("log")
        for x, y in zip(sizes["copies"].astype(str), sizes["stories"]):
            ax.annotate(f"{y:,}", (x, y), ha="center", va="bottom", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)

    largest = data.largest_stories[["title", "site", "published_at", "n_copies", "n_near_copies", "sites"]]
    table = _table(largest, numeric=("n_copies", "n_near_copies")) if not largest.empty else _empty("no story has copies")
    return _figure(draw, "Stories by number of articles (log scale)", height=3) + table


def _runs(data: ReportData) -> str:
    if data.runs_per_day.empty:
        return _empty("no runs")
    runs = data.runs_per_day.copy()
    runs["day"] = pd.to_datetime(runs["day"])
    by_status = runs.pivot_table(index="day", columns="status", values="runs", aggfunc="sum", fill_value=0)
    failures = data.failures_per_day.copy()

    def draw(figure: Figure) -> None:
        top, bottom = figure.subplots(2, 1, sharex=True)
        base = None
        for status in by_status.columns:
            values = by_status[status].to_numpy()
            top.bar(by_status.index, values, bottom=base, width=.8, label=status,
                    color=STATUS_COLOURS.get(status, PALETTE[7]))
            base = values if base is None else base + values
        top.set_ylabel("runs")
        top.legend(fontsize=8, frameon=False, ncols=4, loc="upper left", bbox_to_anchor=(1, 1))
        first, last = by_status.index.min(), by_status.index.max()
        if failures.empty:
            bottom.text(.5, .5, "no failures", transform=bottom.transAxes, ha="center", va="center", color="#777")
        else:
            failures["day"] = pd.to_datetime(failures["day"])
            first, last = min(first, failures["day"].min()), max(last, failures["day"].max())
            by_stage = failures.pivot_table(index="day", columns="stage", values="failures", aggfunc="sum", fill_value=0)
            base = None
            for i, stage in enumerate(by_stage.columns):
                values = by_stage[stage].to_numpy()
                bottom.bar(by_stage.index, values, bottom=base, width=.8, label=stage, color=PALETTE[(i + 3) % len(PALETTE)])
                base = values if base is None else base + values
            bottom.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        bottom.set_ylabel("failures")
        for ax in (top, bottom):
            _day_axis(ax, first, last)

    latest = data.runs[["started_at", "flow_name", "status", "n_seen", "n_new", "n_updated", "n_unchanged",
                        "n_duplicates", "n_failed", "seconds"]].copy()
    latest["started_at"] = latest["started_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    reasons = (_table(data.failure_reasons, numeric=("failures",)) if not data.failure_reasons.empty
               else _empty("no failures"))
    return (_figure(draw, "Runs per day by status, and failures per day by stage", height=4.2)
            + "<h3>Latest runs</h3>" + _table(latest, numeric=tuple(c for c in latest.columns if c.startswith("n_")) + ("seconds",))
            + "<h3>Commonest failure reasons</h3>" + reasons)
