"""The ``civic-search watch`` and ``civic-search alerts`` commands: a thin layer over
:mod:`indexer.alerts`.

They join the command line through the ``civic_search.commands`` entry point (setup.cfg), as
``serve`` does, so that :mod:`indexer.cli` never imports them (they build on its helpers) and a
search's cold start loads nothing of the alerts. The alert settings are the ``alerts`` section of
the command's one :class:`~indexer.settings.Settings` (:func:`indexer.cli.command_settings`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .cli import QUERY_ARGUMENT, command_settings, filter_options, handle_errors, index_option


def _engine_and_store(index_dir: Path | None):
    """The settings, the engine over an existing index (no bundled fallback: alerts are about
    your index) and the alerts database beside it, both closed when the command ends."""
    from .alerts import open_store
    from .search import SearchEngine

    settings = command_settings(index_dir)
    context = click.get_current_context()
    engine = SearchEngine(settings=settings)
    context.call_on_close(engine.close)
    store = open_store(settings.index_dir)
    context.call_on_close(store.close)
    return settings, engine, store


def _existing_index_dir(index_dir: Path | None) -> Path:
    """The index folder, which must hold an index (a mistyped --index creates nothing)."""
    from .errors import IndexNotFound
    from .indexdir import index_exists

    directory = command_settings(index_dir).index_dir
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
@filter_options
@handle_errors
def watch_add(query, index_dir, email, webhook, speaker, since, until, aliases) -> None:
    """Save QUERY as a watch: alert on meetings indexed from now on."""
    from .alerts import add_watch

    _, engine, store = _engine_and_store(index_dir)
    added = add_watch(engine, store, query=query, speaker=speaker or "", since=since or "", until=until or "",
                      aliases=aliases, email=email, webhook=webhook)
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
    from .alerts.deliver import safe_url

    return ", ".join(filter(None, [item.email, f"webhook {safe_url(item.webhook)}" if item.webhook else ""]))


@click.group()
def alerts() -> None:
    """Send the alerts of the watches."""


@alerts.command("send")
@index_option
@click.option("--dry-run", is_flag=True, help="Print the messages instead of sending them; change nothing.")
@handle_errors
def alerts_send(index_dir, dry_run) -> None:
    """Alert every watch about its new meetings; retry what is still queued (exit 1 when
    something stays queued). ``index --notify`` runs this command after a successful run."""
    from .alerts import AlertError, secret_for, send_alerts
    from .terminal import plural

    settings, engine, store = _engine_and_store(index_dir)
    report = send_alerts(engine, store, settings.alerts, secret_for(settings.index_dir, settings.alerts),
                         dry_run=dry_run)
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
    click.echo(_summary(report))
    if report.failed:
        failed = len(report.failed)
        raise AlertError(f"{plural(failed, 'message')} could not be delivered; "
                         f"{'it stays' if failed == 1 else 'they stay'} queued for the next run")


def _summary(report) -> str:
    from .terminal import plural

    line = (f"Alerts: {plural(report.watches, 'watch', 'watches')} checked, "
            f"{plural(report.new_meetings, 'new or changed meeting')}, "
            f"{plural(report.composed, 'message')} composed, {report.sent} sent")
    if report.queued:
        line += f", {report.queued} still queued for the next run"
    return line + "."
