"""The timeline: matching turns per year (or per month) as bar geometry for an inline SVG.

Per month when the searched range spans at most two years (24 months), else per year. The
range is ``since``..``until`` where given, else the first and last matching dates. Bars run
from the first to the last period with matches, empty periods included, so time reads evenly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


def _month_index(value: str) -> int | None:
    """``2022`` → January 2022 as months since year 0, ``2022-09`` / ``2022-09-05`` → September."""
    try:
        year = int(value[:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
    except ValueError:
        return None
    return year * 12 + month - 1


def _end_month_index(value: str) -> int | None:
    """Like :func:`_month_index`, but a bare year ends in December."""
    if len(value) == 4:
        start = _month_index(value)
        return start + 11 if start is not None else None
    return _month_index(value)


def _period_name(index: int, by: str) -> str:
    year, month = divmod(index, 12)
    return f"{year:04d}" if by == "year" else f"{year:04d}-{month + 1:02d}"


def describe(period: str, by: str) -> str:
    if by == "year":
        return f"{period} 年"
    return f"{period[:4]} 年 {int(period[5:7])} 月"


def build_timeline(result_set, since: str = "", until: str = "") -> Timeline | None:
    """The timeline for a :class:`~indexer.search.ResultSet`, or None when no match has a date."""
    years = result_set.by_period("year")
    unknown = sum(p.turns for p in years if p.period == "unknown")
    known = [p for p in years if p.period != "unknown"]
    if not known:
        return None
    first = _month_index(since) if since else None
    last = _end_month_index(until) if until else None
    if first is None:
        first = _month_index(known[0].period)
    if last is None:
        last = _end_month_index(known[-1].period)
    by = "year"
    periods = known
    if last - first < MAX_MONTH_SPAN:
        months = [p for p in result_set.by_period("month") if p.period != "unknown"]
        if months:
            # A year-only range ("2021..2022") may still hold dates whose first match comes later.
            by, periods = "month", months
    counts = {p.period: p for p in periods}
    step = 12 if by == "year" else 1
    start = _month_index(periods[0].period)
    stop = _month_index(periods[-1].period)
    names = [_period_name(i, by) for i in range(start, stop + 1, step)]
    slot = 44 if by == "year" else 30
    width = max(len(names) * slot, 240)
    offset = (width - len(names) * slot) / 2
    peak = max(p.turns for p in periods) or 1
    timeline = Timeline(by=by, width=width, unknown=unknown)
    for i, name in enumerate(names):
        entry = counts.get(name)
        turns = entry.turns if entry else 0
        meetings = entry.meetings if entry else 0
        height = round(BAR_AREA * turns / peak, 1) if turns else 0.0
        x = offset + i * slot + slot * 0.18
        bar_width = slot * 0.64
        if by == "year":
            label, year_label = name, ""
        else:
            label = f"{int(name[5:7])}月"
            year_label = name[:4] if (i == 0 or name.endswith("-01")) else ""
        timeline.bars.append(
            Bar(
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
        )
    unit = "每年" if by == "year" else "每月"
    parts = [f"{describe(b.period, by)} {b.turns} 段" for b in timeline.bars if b.turns]
    timeline.summary = f"{unit}符合的發言數：" + "、".join(parts)
    if unknown:
        timeline.summary += f"；另有 {unknown} 段發言的會議日期不詳"
    return timeline
