"""The ``civic-search watch`` and ``civic-search alerts`` commands: a thin layer over
:mod:`indexer.alerts`. Settings are read from the environment here, once, and passed down."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from .cli import QUERY_ARGUMENT, _closing, _index_dir, aliases_option, handle_errors, index_option


def _settings():
    from .alerts import AlertSettings

    return AlertSettings.from_environ(os.environ)


def _engine_and_store(index_dir: Path | None):
    """The engine over an existing index (no bundled fallback: alerts are about your index)
    and the alerts database beside it, both closed when the command ends."""
    from .alerts import open_store
    from .search import SearchEngine

    directory = _index_dir(index_dir)
    engine = _closing(SearchEngine(directory))
    store = open_store(directory)
    click.get_current_context().call_on_close(store.close)
    return directory, engine, store


def _existing_index_dir(index_dir: Path | None) -> Path:
    """The index folder, which must hold an index (a mistyped --index creates nothing)."""
    from .build import index_exists
    from .errors import IndexNotFound

    directory = _index_dir(index_dir)
    if not index_exists(directory):
        raise IndexNotFound(f"no index in {directory}")
    return directory


@click.group()
def watch() -> None:
    """Saved searches that send alerts (e-mail, webhook) when new meetings match."""


@watch.command("add", context_settings=QUERY_ARGUMENT)
@click.argument("query")
@index_option
@click.option("--email", default="", help="Send alerts to this e-mail address.")
@click.option("--webhook", default="", help="POST alerts as JSON to this URL (Slack, Teams, Mattermost…).")
@click.option("--speaker", default="", help="Only turns whose speaker label contains this.")
@click.option("--since", default="", help="Only meetings on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", default="", help="Only meetings on or before this date.")
@aliases_option
@handle_errors
def watch_add(query, index_dir, email, webhook, speaker, since, until, aliases) -> None:
    """Save QUERY as a watch: alert on meetings indexed from now on."""
    from .alerts import add_watch

    _, engine, store = _engine_and_store(index_dir)
    added = add_watch(engine, store, query=query, speaker=speaker, since=since, until=until, aliases=aliases,
                      email=email, webhook=webhook)
    click.echo(f"Added watch {added.id}: {_describe(added)} -> {_recipients(added)}")
    click.echo("It alerts on meetings indexed from now on; run 'civic-search alerts send' "
               "(or 'civic-search index --notify') after each index run.")


@watch.command("list")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def watch_list(index_dir, as_json) -> None:
    """List the watches."""
    from .alerts import open_store

    with open_store(_existing_index_dir(index_dir)) as store:
        watches = store.watches()
    if as_json:
        click.echo(json.dumps({"watches": [w.to_dict() for w in watches]}, ensure_ascii=False))
        return
    if not watches:
        click.echo("No watches. Add one: civic-search watch add QUERY --email ADDRESS")
        return
    for item in watches:
        since = item.confirmed_at or item.created_at
        state = f"active since {since}" if item.status == "active" else f"waiting for confirmation since {item.created_at}"
        click.echo(f"{item.id}  {_describe(item)}")
        click.echo(f"    to {_recipients(item)}")
        click.echo(f"    {state}; last alert: {item.last_notified_at or 'none yet'}; queued: {item.queued}")


@watch.command("remove")
@click.argument("watch_id", type=click.IntRange(1))
@index_option
@handle_errors
def watch_remove(watch_id, index_dir) -> None:
    """Remove the watch WATCH_ID (its queued messages are not sent)."""
    from .alerts import AlertError, open_store

    with open_store(_existing_index_dir(index_dir)) as store:
        removed = store.remove_watch(watch_id)
    if removed is None:
        raise AlertError(f"no watch with id {watch_id} (see civic-search watch list)")
    click.echo(f"Removed watch {removed.id}: {_describe(removed)} -> {_recipients(removed)}")


def _describe(item) -> str:
    filters = [f"--speaker {item.speaker}" if item.speaker else "", f"--since {item.since}" if item.since else "",
               f"--until {item.until}" if item.until else "", "--aliases" if item.aliases else ""]
    from .alerts.compose import one_line

    return one_line(" ".join([item.query, *filter(None, filters)]))


def _recipients(item) -> str:
    from .alerts.deliver import _safe_url

    return ", ".join(filter(None, [item.email, f"webhook {_safe_url(item.webhook)}" if item.webhook else ""]))


@click.group()
def alerts() -> None:
    """Send the alerts of the watches."""


@alerts.command("send")
@index_option
@click.option("--dry-run", is_flag=True, help="Print the messages instead of sending them; change nothing.")
@handle_errors
def alerts_send(index_dir, dry_run) -> None:
    """Alert every watch about its new meetings; retry what is still queued."""
    send_alerts_now(index_dir, dry_run=dry_run)


def send_alerts_now(index_dir: Path | None, *, dry_run: bool = False) -> None:
    """Run one send (also for ``index --notify``); exit 1 when something stays queued."""
    from .alerts import AlertError, secret_for, send_alerts
    from .terminal import plural

    settings = _settings()
    directory, engine, store = _engine_and_store(index_dir)
    report = send_alerts(engine, store, settings, secret_for(directory, settings), dry_run=dry_run)
    for line in report.skipped:
        click.echo(f"skipped {line}", err=True)
    if dry_run:
        for text in report.previews:
            click.echo(text)
            click.echo("")
        click.echo(f"Dry run: {plural(len(report.previews), 'message')} would be sent ({report.composed} new, "
                   f"{len(report.previews) - report.composed} queued); nothing was sent or recorded.")
        return
    for line in report.failed:
        click.echo(f"not sent: {line}", err=True)
    click.echo(report.summary())
    if report.failed:
        failed = len(report.failed)
        raise AlertError(f"{plural(failed, 'message')} could not be delivered; "
                         f"{'it stays' if failed == 1 else 'they stay'} queued for the next run")
