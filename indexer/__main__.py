"""``python -m indexer`` runs the ``civic-search`` command line."""

from .cli import main

main(prog_name="civic-search")
