"""Reading search options from a request: forgiving for pages, strict for the JSON API.

Pages never fail on a bad ``page``, ``sort``, ``view`` or ``width`` (they fall back to the
default); the API answers 400 with the one error shape instead, so that scripts learn about their
mistakes. Either way the request becomes one :class:`SearchParams`, and
:attr:`SearchParams.query_args` is the one way its query and filters reach the engine, for a page
and for its JSON twin alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from indexer.errors import BadParameter
from indexer.options import (
    DEFAULT_SORT,
    DEFAULT_WIDTH,
    MAX_LIMIT,
    MAX_PAGE,
    MAX_WIDTH,
    SORTS,
    describe_filters,
    sort_error,
)

VIEWS = ("meetings", "turns")
#: Hits per API page (the command line allows more: a script wanting all uses limit=0 there).
API_MAX_LIMIT = 100
API_MAX_PAGE = MAX_PAGE
#: Lists where limit=0 means all, as the command line's --limit.
API_MAX_LIST = MAX_LIMIT
#: Keyword-in-context width on the pages (the API and the command line allow MAX_WIDTH).
MAX_WEB_WIDTH = 60


@dataclass(frozen=True)
class SearchParams:
    """The query and its filters, as they appear in a results URL."""

    q: str = ""
    speaker: str = ""
    since: str = ""
    until: str = ""
    sort: str = DEFAULT_SORT
    view: str = "meetings"
    page: int = 1
    aliases: bool = False  # expand terms with the alias list (?aliases=1)
    explain: bool = False  # show how the query was read (?explain=1)

    @classmethod
    def from_args(cls, args) -> "SearchParams":
        """Forgiving: a page that is not a positive integer is 1; an unknown sort or view is the default."""
        page = args.get("page", 1, type=int)
        sort = args.get("sort", DEFAULT_SORT)
        view = args.get("view", "meetings")
        return cls(
            q=args.get("q", "").strip(),
            speaker=args.get("speaker", "").strip(),
            since=args.get("since", "").strip(),
            until=args.get("until", "").strip(),
            sort=sort if sort in SORTS else DEFAULT_SORT,
            view=view if view in VIEWS else "meetings",
            page=page if page is not None and page >= 1 else 1,
            aliases=flag(args, "aliases"),
            explain=flag(args, "explain"),
        )

    @classmethod
    def from_api_args(cls, args, *, paged: bool = False) -> "SearchParams":
        """The API's reading: the query kept as given (it is echoed in the JSON object, as
        ``civic-search search --json`` echoes it); with ``paged``, ``page`` and ``sort`` too,
        strictly (BadParameter when they are not valid)."""
        params = cls(
            q=args.get("q", ""),
            speaker=args.get("speaker", ""),
            since=args.get("since", ""),
            until=args.get("until", ""),
            aliases=flag(args, "aliases"),
        )
        if paged:
            params = params.with_(page=strict_int(args, "page", 1, 1, API_MAX_PAGE), sort=strict_sort(args))
        return params

    @property
    def filters(self) -> dict[str, str | bool | None]:
        """Keyword arguments for ``SearchEngine.run`` beside the query."""
        return {
            "speaker": self.speaker or None,
            "since": self.since or None,
            "until": self.until or None,
            "aliases": self.aliases,
        }

    @property
    def query_args(self) -> dict[str, str | bool | None]:
        """Keyword arguments for ``SearchEngine.run`` and ``SearchEngine.search``: the query and
        its filters."""
        return {"query": self.q, **self.filters}

    @property
    def filter_summary(self) -> str:
        """The filters as the pages and the feed name them (``發言人：陳委員，從 2024``)."""
        return describe_filters(self.speaker, self.since, self.until, self.aliases)

    @property
    def has_filters(self) -> bool:
        return bool(self.speaker or self.since or self.until)

    def with_(self, **changes) -> "SearchParams":
        return replace(self, **changes)

    def url_args(self, **changes) -> dict[str, str | int]:
        """URL query arguments (for ``url_for``) with the defaults and empty values left out."""
        values = asdict(replace(self, **changes))
        defaults = asdict(SearchParams())
        return {
            k: (1 if v is True else v)
            for k, v in values.items()
            if v not in ("", None) and v != defaults[k]
        }

    def filter_args(self, **changes) -> dict[str, str]:
        """Like :meth:`url_args` without page and view: what an export needs."""
        args = self.url_args(**changes)
        args.pop("page", None)
        args.pop("view", None)
        args.pop("explain", None)
        return args


def flag(args, name: str) -> bool:
    """A checkbox option: ``1``, ``true``, ``on`` or ``yes`` is on; anything else is off."""
    return args.get(name, "").strip().lower() in ("1", "true", "on", "yes")


def strict_int(args, name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer option for the API: absent → ``default``; not a whole number or out of range → BadParameter."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadParameter(f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"from {low}"
        raise BadParameter(f"{name} must be a whole number {bounds}")
    return value


def strict_sort(args) -> str:
    sort = args.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise BadParameter(sort_error(sort))
    return sort


def kwic_width(args) -> int:
    """Context characters each side on the pages: a whole number from 1 to MAX_WEB_WIDTH, else
    the default."""
    width = args.get("width", DEFAULT_WIDTH, type=int)
    return width if width is not None and 1 <= width <= MAX_WEB_WIDTH else DEFAULT_WIDTH


def api_kwic_width(args) -> int:
    """Context characters each side for the API: as the command line's ``--width``."""
    return strict_int(args, "width", DEFAULT_WIDTH, 1, MAX_WIDTH)
