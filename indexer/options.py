"""The option values every front end accepts, defined once: sort orders, periods and limits.

The command line (``--sort``, ``--limit``, ``--page``, ``--by``, ``--width``), the JSON API and
the library's own checks all read these, so a value one front end accepts the others accept too.
"""

from __future__ import annotations

#: Result orders: best first, or newest meeting first (then by turn).
SORTS = ("relevance", "date")
DEFAULT_SORT = "relevance"
#: The periods of a timeline: a year (``2022``) or a month (``2022-09``).
PERIODS = ("year", "month")
DEFAULT_PERIOD = "year"

#: Hits per page, and entries of a list where 0 means all (``--limit``).
MAX_LIMIT = 10_000
#: The last page number a request may ask for (``--page``).
MAX_PAGE = 100_000
#: Characters of context on each side of a keyword in context (``--width``).
DEFAULT_WIDTH = 20
MAX_WIDTH = 200


def describe_filters(speaker: str | None = "", since: str | None = "", until: str | None = "",
                     aliases: bool = False) -> str:
    """The filters beside a query as the pages, the feed and the alert messages name them
    (empty when there are none).

    >>> describe_filters("陳委員", "2024", aliases=True)
    '發言人：陳委員，從 2024，含同義詞'
    """
    parts = [f"發言人：{speaker}" if speaker else "", f"從 {since}" if since else "",
             f"到 {until}" if until else "", "含同義詞" if aliases else ""]
    return "，".join(filter(None, parts))


def sort_error(sort: str) -> str:
    """The one message for an unknown sort order."""
    return f"unknown sort '{sort}' (use {' or '.join(SORTS)})"


def period_error(period: str) -> str:
    """The one message for an unknown period."""
    return f"unknown period '{period}' (use {' or '.join(PERIODS)})"
