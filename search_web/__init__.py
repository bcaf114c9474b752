"""The web front end: a Flask app over :class:`indexer.search.SearchEngine`."""

from .app import create_app

__all__ = ["create_app"]
