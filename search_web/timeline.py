"""The timeline: matching turns per year (or per month) as bar geometry for an inline SVG.

Per month when the searched range spans at most two years (24 months), else per year. The
range is ``since``..``until`` where given, else the first and last matching dates. Bars run
from the first to the last period with matches, empty periods included, so time reads evenly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.periods import UNKNOWN, end_month_index, month_index, periods_between

#: SVG geometry (user units; the SVG scales to its container).
TOP = 20
BAR_AREA = 100
BOTTOM = 36
MAX_MONTH_SPAN = 24


@dataclass
class Bar:
    period: str  # "2022" or "2022-09"
    label: str  # text under the bar
    year_label: str  # a year under month bars (first bar and every January), else ""
    turns: int
    meetings: int
    x: float
    y: float
    width: float
    height: float
    text_x: float
    description: str  # "2022 年：2 段發言，1 場會議"


@dataclass
class Timeline:
    by: str  # "year" or "month"
    bars: list[Bar] = field(default_factory=list)
    width: int = 0
    height: int = TOP + BAR_AREA + BOTTOM
    baseline: int = TOP + BAR_AREA
    unknown: int = 0  # matching turns in meetings without a date
    summary: str = ""


def describe(period: str, by: str) -> str:
    if by == "year":
        return f"{period} 年"
    return f"{period[:4]} 年 {int(period[5:7])} 月"


def build_timeline(result_set, since: str = "", until: str = "") -> Timeline | None:
    """The timeline for a :class:`~indexer.search.ResultSet`, or None when no match has a date."""
    years = result_set.by_period("year")
    known = [p for p in years if p.period != UNKNOWN]
    if not known:
        return None
    by, periods = _granularity(result_set, known, since, until)
    counts = {p.period: p for p in periods}
    names = periods_between(periods[0].period, periods[-1].period, by)
    slot = 44 if by == "year" else 30
    width = max(len(names) * slot, 240)
    offset = (width - len(names) * slot) / 2
    peak = max(p.turns for p in periods) or 1
    timeline = Timeline(by=by, width=width, unknown=sum(p.turns for p in years if p.period == UNKNOWN))
    for i, name in enumerate(names):
        timeline.bars.append(_bar(i, name, counts.get(name), by, offset + i * slot + slot * 0.18, slot * 0.64, peak))
    unit = "每年" if by == "year" else "每月"
    parts = [f"{describe(b.period, by)} {b.turns} 段" for b in timeline.bars if b.turns]
    timeline.summary = f"{unit}符合的發言數：" + "、".join(parts)
    if timeline.unknown:
        timeline.summary += f"；另有 {timeline.unknown} 段發言的會議日期不詳"
    return timeline


def _granularity(result_set, known_years: list, since: str, until: str) -> tuple[str, list]:
    """``("month", months)`` when the searched range spans at most MAX_MONTH_SPAN months, else
    ``("year", known_years)``."""
    first = month_index(since) if since else None
    last = end_month_index(until) if until else None
    if first is None:
        first = month_index(known_years[0].period)
    if last is None:
        last = end_month_index(known_years[-1].period)
    if last - first < MAX_MONTH_SPAN:
        months = [p for p in result_set.by_period("month") if p.period != UNKNOWN]
        if months:
            # A year-only range ("2021..2022") may still hold dates whose first match comes later.
            return "month", months
    return "year", known_years


def _bar(i: int, name: str, entry, by: str, x: float, bar_width: float, peak: int) -> Bar:
    turns = entry.turns if entry else 0
    meetings = entry.meetings if entry else 0
    height = round(BAR_AREA * turns / peak, 1) if turns else 0.0
    if by == "year":
        label, year_label = name, ""
    else:
        label = f"{int(name[5:7])}月"
        year_label = name[:4] if (i == 0 or name.endswith("-01")) else ""
    return Bar(
        period=name,
        label=label,
        year_label=year_label,
        turns=turns,
        meetings=meetings,
        x=round(x, 1),
        y=round(TOP + BAR_AREA - height, 1),
        width=round(bar_width, 1),
        height=height,
        text_x=round(x + bar_width / 2, 1),
        description=f"{describe(name, by)}：{turns} 段發言，{meetings} 場會議",
    )
