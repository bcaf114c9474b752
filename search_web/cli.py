"""``civic-search serve``: the web app's command, added to the command line through the
``civic_search.commands`` entry point (setup.cfg), so that the library's command line never
imports the web app.
"""

from __future__ import annotations

from pathlib import Path

import click

from indexer.cli import command_settings, ensure_index, handle_errors, index_option, open_engine

from . import serving


@click.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True, help="Threads per worker process.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the port (searching is CPU-bound: up to one per core).")
@handle_errors
def serve(index_dir, host, port, threads, workers) -> None:
    """Serve the search page and JSON API with waitress."""
    if workers > 1 and not serving.CAN_FORK:
        raise click.BadParameter("more than 1 needs os.fork, which Windows does not have; use --workers 1",
                                 param_hint="'--workers'")
    serving.listen_addresses(host, port)  # an unknown host is a one-line error before the index is opened

    def started(directory) -> None:
        processes = f" with {workers} worker processes" if workers > 1 else ""
        click.echo(f"Serving {directory} at http://{host}:{port}/{processes} (Ctrl+C to stop)", err=True)

    if workers == 1:
        from waitress import serve as waitress_serve

        app = _web_app(index_dir)
        started(command_settings().index_dir)
        waitress_serve(app, host=host, port=port, threads=threads, ident="civic-search")
        return
    # Build a missing index once, here, rather than in every worker; each worker opens its own
    # engine after the fork (see search_web.serving).
    directory = ensure_index(index_dir).index_dir
    sockets = serving.bind(host, port)
    serving.serve_forked(handle_errors(lambda: _web_app(index_dir)), sockets, workers=workers, threads=threads,
                         on_ready=lambda: started(directory))


def _web_app(index_dir: Path | None):
    """The web app over a newly opened engine (once per serving process)."""
    from .app import create_app

    engine = open_engine(index_dir)
    return create_app({"ENGINE": engine}, settings=engine.settings)
