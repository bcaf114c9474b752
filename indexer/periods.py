"""Period arithmetic for timelines: years and months as consecutive numbers.

Vocabulary
----------
period
    A year (``2022``) or a month (``2022-09``), by :data:`~indexer.options.PERIODS`; the period of
    a meeting without a date is ``unknown``.
month index
    A month counted from year 0 (``year * 12 + month - 1``): consecutive periods are consecutive
    numbers (a year steps by 12), so a run of periods is a ``range``.

>>> periods_between("2021-11", "2022-02", "month")
['2021-11', '2021-12', '2022-01', '2022-02']
>>> periods_between("2020", "2022", "year"), period_of("2022-09-05", "month"), period_of("", "year")
(['2020', '2021', '2022'], '2022-09', 'unknown')
"""

from __future__ import annotations

UNKNOWN = "unknown"

__all__ = ["UNKNOWN", "end_month_index", "month_index", "period_name", "period_of", "periods_between"]


def period_of(date: str, by: str) -> str:
    """The period (``by``: year or month) of an ISO date; ``unknown`` for no date."""
    if not date:
        return UNKNOWN
    return date[:4] if by == "year" else date[:7]


def month_index(value: str) -> int | None:
    """``2022`` → January 2022 as a month index, ``2022-09`` / ``2022-09-05`` → September
    (None when ``value`` is not a date)."""
    try:
        year = int(value[:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
    except ValueError:
        return None
    return year * 12 + month - 1


def end_month_index(value: str) -> int | None:
    """Like :func:`month_index`, but a bare year ends in December."""
    start = month_index(value)
    if start is not None and len(value) == 4:
        return start + 11
    return start


def period_name(index: int, by: str) -> str:
    """The period that month ``index`` falls in: ``2022`` (by year) or ``2022-09`` (by month)."""
    year, month = divmod(index, 12)
    return f"{year:04d}" if by == "year" else f"{year:04d}-{month + 1:02d}"


def periods_between(first: str, last: str, by: str) -> list[str]:
    """Every period from ``first`` to ``last`` (both of kind ``by``), empty ones included."""
    step = 12 if by == "year" else 1
    return [period_name(i, by) for i in range(month_index(first), month_index(last) + 1, step)]
