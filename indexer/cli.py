"""The ``civic-search`` command line: a thin layer over :mod:`indexer.build` and :mod:`indexer.search`.

Errors are one line on stderr with exit code 1 (2 for usage errors), never a traceback. Each
command reads its :class:`~indexer.settings.Settings` once, from the environment, the
configuration file and its options, and passes them to the library.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import sys
from pathlib import Path

import click

from . import __version__
from .errors import CivicSearchError, IndexNotFound, IndexOutdated, QueryError
from .options import DEFAULT_PERIOD, DEFAULT_SORT, DEFAULT_WIDTH, MAX_LIMIT, MAX_PAGE, MAX_WIDTH, PERIODS, SORTS
from .settings import ENV_DEBUG, Settings

# A query may start with '-' (an exclusion, "-排放 淨零"): unknown options are query text.
QUERY_ARGUMENT = {"ignore_unknown_options": True}


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def handle_errors(func):
    """Turn the library's named errors (and OS errors) into one-line CLI errors."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except QueryError as err:
            raise _fail(f"invalid query: {err}") from None
        except IndexNotFound as err:
            raise _fail(f"{err}. Run 'civic-search index' first.") from None
        except IndexOutdated as err:
            raise _fail(f"{err}. Run 'civic-search index --rebuild'.") from None
        except CivicSearchError as err:
            raise _fail(str(err)) from None
        except BrokenPipeError:
            # The reader went away (`civic-search search … | head`): stop quietly, as Unix
            # tools do; point stdout at /dev/null so the interpreter's final flush cannot fail.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except OSError as err:
            where = f" ({err.filename})" if err.filename else ""
            raise _fail(f"{err.strerror or err}{where}") from None
        except UnicodeError as err:  # undecodable bytes in an argument or a file name
            raise _fail(f"text that is not valid UTF-8 ({err.reason}); check the encoding of the "
                        "command line and of the file names") from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as err:  # a bug: still one line; CIVIC_SEARCH_DEBUG=1 shows the traceback
            if _debug():
                raise
            detail = " ".join(f"{type(err).__name__}: {err}".split())
            raise _fail(f"unexpected error ({detail}); please report it (CIVIC_SEARCH_DEBUG=1 shows "
                        "the traceback)") from None

    return wrapper


def index_option(func):
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Index directory (default: $CIVIC_SEARCH_INDEX, else a per-user data directory).",
    )(func)


_SETTINGS = "civic_search.settings"
SPEAKER_HELP = "Only turns whose speaker label, or the person behind it, contains this."


def command_settings(index_dir: Path | None = None) -> Settings:
    """This command's settings: the environment and the configuration file, read once per
    command, with ``--index`` over them."""
    meta = click.get_current_context().meta
    if _SETTINGS not in meta:
        overrides = {"INDEX_DIR": index_dir} if index_dir is not None else None
        meta[_SETTINGS] = Settings.from_environ(os.environ, overrides=overrides)
    elif index_dir is not None and meta[_SETTINGS].index_dir != index_dir:
        meta[_SETTINGS] = meta[_SETTINGS].replace(index_dir=index_dir)
    return meta[_SETTINGS]


def _debug() -> bool:
    """Whether to show the traceback of an unexpected error (``$CIVIC_SEARCH_DEBUG``)."""
    context = click.get_current_context(silent=True)
    settings = context.meta.get(_SETTINGS) if context is not None else None
    return settings.debug if settings is not None else bool(os.environ.get(ENV_DEBUG, "").strip())


def _echo_skip(item) -> None:
    click.echo(f"skipped {item.path}: {item.reason}", err=True)


def ensure_index(index_dir: Path | None) -> Settings:
    """The settings, with an index built from the bundled corpus when there is none."""
    from .indexdir import index_exists

    settings = command_settings(index_dir)
    if not index_exists(settings.index_dir):
        from .build import build_index  # the write path, only when there is no index yet

        click.echo(f"No index in {settings.index_dir} yet: building it from the bundled corpus…", err=True)
        report = build_index(None, on_skip=_echo_skip, settings=settings)
        click.echo(report.summary(), err=True)
    return settings


def open_engine(index_dir: Path | None):
    """Open the search engine, building the index from the bundled corpus when there is none."""
    from .search import SearchEngine

    return _closing(SearchEngine(settings=ensure_index(index_dir)))


def _closing(engine):
    """Close the engine (its open index files) when the command ends."""
    click.get_current_context().call_on_close(engine.close)
    return engine


#: The entry point group through which front ends installed beside the library add commands
#: (``search_web`` adds ``serve``): the library never imports them.
COMMANDS_ENTRY_POINTS = "civic_search.commands"


class CommandGroup(click.Group):
    """The command group: its own commands, and those of the ``civic_search.commands`` entry
    points, loaded only when named or listed (a search's cold start reads no metadata)."""

    def _plugins(self) -> dict:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=COMMANDS_ENTRY_POINTS)}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            plugin = self._plugins().get(name)
            command = plugin.load() if plugin is not None else None
        return command


def _run_command(path: tuple[str, ...], **params) -> None:
    """Run the command ``path`` names (``("alerts", "send")``) with ``params``, found as the
    command line finds it: through the entry points, so this module never imports it."""
    context = click.get_current_context()
    command = context.find_root().command
    for name in path:
        found = command.get_command(context, name) if isinstance(command, click.Group) else None
        if found is None:
            raise _fail(f"the command 'civic-search {' '.join(path)}' is not installed; reinstall civic-search")
        command = found
    context.invoke(command, **params)


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="civic-search")
def main() -> None:
    """Search Traditional Chinese civic meeting transcripts: who said a phrase, when, and where."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@index_option
@click.option("--rebuild", is_flag=True, help="Start over: re-index every file.")
@click.option("--strict", is_flag=True, help="Treat any skipped file as an error (exit 1).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default: the cores, at most 4).")
@click.option("--wait", type=click.FloatRange(0, 3600), default=0.0, help="Seconds to wait for another indexer to finish.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--notify", is_flag=True, help="Then send the alerts of the watches (as 'alerts send'), if indexing succeeded.")
@handle_errors
def index(paths, index_dir, rebuild, strict, workers, wait, quiet, notify) -> None:
    """Index meeting records in PATHS (files or folders; default: the bundled corpus)."""
    from .build import build_index
    from .indexdir import dictionary_outdated, index_exists

    settings = command_settings(index_dir)
    directory = settings.index_dir
    if not rebuild and index_exists(directory) and dictionary_outdated(directory, settings.analysis.user_dictionaries):
        click.echo("The dictionaries changed since the last build: rebuilding the index.", err=True)
        rebuild = True
    report = build_index(
        list(paths) or None,
        settings=settings,
        rebuild=rebuild,
        workers=workers,
        progress=not quiet and sys.stderr.isatty(),
        wait=wait,
        on_skip=_echo_skip,
    )
    click.echo(report.summary())
    if strict and report.skipped:
        raise _fail(f"{len(report.skipped)} files could not be indexed (--strict)")
    if notify:
        _run_command(("alerts", "send"), index_dir=index_dir)


_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _who(label: str, person: str) -> str:
    """The label as written, with the person when the label does not already show them: 主席 (李鎮宇)."""
    if not label:
        return "(no speaker)"
    return f"{label} ({person})" if person and person not in label else label


def _terminal_snippet(snippet: str) -> str:
    parts = []
    last = 0
    for match in _MARK.finditer(snippet):
        parts.append(html.unescape(snippet[last : match.start()]))
        parts.append(click.style(html.unescape(match.group(1)), fg="red", bold=True))
        last = match.end()
    parts.append(html.unescape(snippet[last:]))
    return "".join(parts)


def aliases_option(func):
    return click.option(
        "--aliases", is_flag=True, help="Expand terms with the alias list (數位部 → 數位部 OR 數位發展部)."
    )(func)


def filter_options(func):
    """--speaker, --since, --until and --aliases: the options every query command takes."""
    func = aliases_option(func)
    func = click.option("--until", help="Only meetings on or before this date.")(func)
    func = click.option("--since", help="Only meetings on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")(func)
    return click.option("--speaker", help=SPEAKER_HELP)(func)


def _echo_explanation(query, *, speaker, since, until, aliases, as_json, settings: Settings) -> None:
    """How the query was read, on stderr: text, or one JSON object with ``as_json``."""
    from .explain import explain
    from .terminal import explanation_lines

    explanation = explain(query, speaker=speaker, since=since, until=until, aliases=aliases, settings=settings)
    if as_json:
        click.echo(json.dumps(explanation.to_dict(), ensure_ascii=False), err=True)
    else:
        click.echo("\n".join(explanation_lines(explanation)), err=True)


@main.command(context_settings=QUERY_ARGUMENT)
@click.argument("query")
@index_option
@click.option("--limit", type=click.IntRange(0, MAX_LIMIT), default=10, show_default=True, help="Hits per page; 0 for all.")
@click.option("--page", type=click.IntRange(1, MAX_PAGE), default=1, show_default=True)
@click.option("--speaker", help=SPEAKER_HELP)
@click.option("--since", help="Only meetings on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", help="Only meetings on or before this date.")
@click.option("--sort", type=click.Choice(SORTS), default=DEFAULT_SORT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every hit as CSV (UTF-8 with BOM), one row per turn.")
@aliases_option
@click.option("--explain", "explain_query", is_flag=True, help="Show how the query was read, on stderr (JSON with --json).")
@handle_errors
def search(query, index_dir, limit, page, speaker, since, until, sort, as_json, as_csv, aliases, explain_query) -> None:
    """Search for QUERY: exact phrases, OR, -exclude, speaker:, title:, date:."""
    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be combined")
    settings = command_settings(index_dir)
    if explain_query:
        _echo_explanation(query, speaker=speaker, since=since, until=until, aliases=aliases, as_json=as_json,
                          settings=settings)
    engine = open_engine(index_dir)
    if as_csv:
        from .export import export_rows, write_csv

        result_set = engine.run(query, speaker=speaker, since=since, until=until, aliases=aliases)
        stream = sys.stdout
        try:
            # The CSV is UTF-8 with its own line ends, whatever the console's code page.
            stream.reconfigure(encoding="utf-8", newline="")
        except (AttributeError, ValueError):
            pass
        write_csv(export_rows(result_set, sort=sort), stream)
        stream.flush()
        return
    result = engine.search(
        query, page=page, limit=limit, speaker=speaker, since=since, until=until, sort=sort, aliases=aliases
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    click.echo(f"{result.total} turns in {result.meetings} meetings")
    for hit in result.hits:
        click.echo("")
        on_page = f", page {hit.page}" if hit.page else ""
        click.echo(f"{hit.date or '(no date)'}  {hit.title}  [{hit.meeting_id} #{hit.turn}{on_page}]")
        click.echo(f"  {_who(hit.speaker, hit.person)}: {_terminal_snippet(hit.snippet)}")
    if limit and result.total > page * limit:
        pages = -(-result.total // limit)
        click.echo("")
        click.echo(f"Page {page} of {pages}; next: --page {page + 1}")


@main.command()
@click.argument("meeting_id")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def show(meeting_id, index_dir, as_json) -> None:
    """Print the whole meeting MEETING_ID."""
    engine = open_engine(index_dir)
    meeting = engine.meeting(meeting_id)
    if as_json:
        click.echo(json.dumps(meeting.to_dict(), ensure_ascii=False))
        return
    click.echo(meeting.title)
    for label, value in (
        ("Date", meeting.date),
        ("Time", meeting.time),
        ("Location", meeting.location),
        ("Chair", meeting.chair),
        ("Recorder", meeting.recorder),
        ("Source", meeting.source),
        ("Format", meeting.format),
    ):
        if value:
            click.echo(f"{label}: {value}")
    section = ""
    for turn in meeting.turns:
        if turn.section and turn.section != section:
            section = turn.section
            click.echo(f"\n== {section}")
        page = f"  (page {turn.page})" if turn.page else ""
        click.echo(f"\n[{turn.turn}] {_who(turn.speaker, turn.person)}{page}")
        click.echo(turn.text)


@main.command()
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def stats(index_dir, as_json) -> None:
    """Show what the index holds."""
    from .aliases import alias_version
    from .search import SearchEngine

    settings = command_settings(index_dir)
    engine = _closing(SearchEngine(settings=settings))
    info = engine.stats()
    version = alias_version(settings.query.alias_files)
    people_version = engine.person_list().version
    if as_json:
        click.echo(json.dumps({**info.to_dict(), "alias_version": version, "people_version": people_version},
                              ensure_ascii=False))
        return
    click.echo(f"Index: {info.index_dir}")
    click.echo(f"Meetings: {info.meetings}")
    click.echo(f"Turns: {info.turns}")
    click.echo(f"Speakers: {info.speakers}")
    click.echo(f"Persons: {info.persons}")
    if info.first_date:
        click.echo(f"Dates: {info.first_date} to {info.last_date}")
    click.echo(f"Segments: {info.segments}")
    click.echo(f"Size: {info.size_bytes / 1e6:.1f} MB")
    click.echo(f"Aliases: version {version}")
    click.echo(f"People: version {people_version}")


# --- research tools: keyword in context, timeline, speakers ------------------------------------


def _echo_csv(rows: list[dict], columns: tuple[str, ...] | None = None) -> None:
    from .export import COLUMNS, write_csv

    stream = sys.stdout
    try:
        # The CSV is UTF-8 with its own line ends, whatever the console's code page.
        stream.reconfigure(encoding="utf-8", newline="")
    except (AttributeError, ValueError):
        pass
    write_csv(rows, stream, columns=columns or COLUMNS)
    stream.flush()


def _no_terms_note(result_set) -> None:
    if result_set.total and not result_set.terms:
        click.echo("Note: the query has only filters (speaker:, title:, date:), so no text occurs.", err=True)


@main.command(context_settings=QUERY_ARGUMENT)
@click.argument("query")
@index_option
@click.option("--width", type=click.IntRange(1, MAX_WIDTH), default=DEFAULT_WIDTH, show_default=True,
              help="Characters of context on each side.")
@filter_options
@click.option("--sort", type=click.Choice(SORTS[::-1]), default="date", show_default=True, help="date: newest meeting first.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (UTF-8 with BOM), one row per occurrence.")
@handle_errors
def kwic(query, index_dir, width, speaker, since, until, aliases, sort, as_json, as_csv) -> None:
    """List every occurrence of QUERY in context (keyword in context)."""
    from .research import kwic_object, occurrence_rows
    from .terminal import kwic_lines, plural

    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be combined")
    result_set = open_engine(index_dir).run(query, speaker=speaker, since=since, until=until, aliases=aliases)
    _no_terms_note(result_set)
    rows = occurrence_rows(result_set, width=width, sort=sort)
    if as_csv:
        _echo_csv(rows)
        return
    data = kwic_object(result_set, rows, width)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"{plural(data['occurrences'], 'occurrence')} in {plural(data['turns'], 'turn')}, "
        f"{plural(data['meetings'], 'meeting')}"
    )
    style = functools.partial(click.style, fg="red", bold=True)
    for line in kwic_lines(rows, style=style):
        click.echo(line)


def _bar_width(periods) -> int:
    """40 columns, or what the terminal leaves beside the labels and counts."""
    from .terminal import FIXED_BAR_WIDTH

    if not sys.stdout.isatty():
        return FIXED_BAR_WIDTH
    import shutil

    # Beside the bar: the period (up to 9 columns), the two counts (11 and 8) and three gaps.
    columns = shutil.get_terminal_size((80, 24)).columns
    return max(10, min(120, columns - 9 - 11 - 8 - 6 - 1))


@main.command(context_settings=QUERY_ARGUMENT)
@click.argument("query")
@index_option
@click.option("--by", type=click.Choice(PERIODS), default=DEFAULT_PERIOD, show_default=True, help="Period of each bar.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def timeline(query, index_dir, by, speaker, since, until, aliases, as_json) -> None:
    """Chart the mentions of QUERY per year or month."""
    from .research import timeline as periods_of
    from .research import timeline_object
    from .terminal import bar_chart, plural

    result_set = open_engine(index_dir).run(query, speaker=speaker, since=since, until=until, aliases=aliases)
    _no_terms_note(result_set)
    periods = periods_of(result_set, by)
    data = timeline_object(result_set, periods, by)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"{plural(data['occurrences'], 'occurrence')} in {plural(data['meetings'], 'meeting')}, "
        f"per {by}"
    )
    for line in bar_chart(periods, _bar_width(periods)):
        click.echo(line)


@main.command(context_settings=QUERY_ARGUMENT)
@click.argument("query")
@index_option
@click.option("--limit", type=click.IntRange(0, MAX_LIMIT), default=20, show_default=True, help="Speakers to list; 0 for all.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def speakers(query, index_dir, limit, speaker, since, until, aliases, as_json) -> None:
    """Rank who said QUERY: occurrences, meetings, first and last date."""
    from .research import speakers_object
    from .terminal import plural, speaker_table

    result_set = open_engine(index_dir).run(query, speaker=speaker, since=since, until=until, aliases=aliases)
    ranked = result_set.by_speaker()
    shown = ranked[:limit] if limit else ranked
    data = speakers_object(result_set, ranked, limit)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    more = f" (the first {len(shown)}; --limit 0 for all)" if len(shown) < len(ranked) else ""
    click.echo(
        f"{plural(len(ranked), 'speaker')} in {plural(result_set.total, 'turn')}, "
        f"{plural(result_set.meeting_count, 'meeting')}{more}"
    )
    if shown:
        for line in speaker_table(shown):
            click.echo(line)


@main.command()
@click.argument("name", required=False, default="")
@index_option
@click.option("--limit", type=click.IntRange(0, MAX_LIMIT), default=0, show_default=True, help="Persons to list; 0 for all.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (UTF-8 with BOM), one row per person.")
@handle_errors
def people(name, index_dir, limit, as_json, as_csv) -> None:
    """List the persons behind the speaker labels (those whose name contains NAME)."""
    from .person_views import PEOPLE_COLUMNS, people_csv_rows, people_object, person_summaries
    from .terminal import people_table, plural

    if as_json and as_csv:
        raise click.UsageError("--json and --csv cannot be combined")
    engine = open_engine(index_dir)
    summaries = person_summaries(engine, name)
    data = people_object(engine, summaries, limit)
    shown = summaries[:limit] if limit else summaries
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    elif as_csv:
        _echo_csv(people_csv_rows(shown), PEOPLE_COLUMNS)
    else:
        more = f" (the first {len(shown)}; --limit 0 for all)" if len(shown) < len(summaries) else ""
        click.echo(f"{plural(data['persons'], 'person')} behind {plural(data['labels'], 'speaker label')}{more}")
        for line in people_table(shown) if shown else ():
            click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
