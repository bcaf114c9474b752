"""civic-search: exact full-text search for Traditional Chinese civic meeting transcripts.

The library: parsing (:mod:`indexer.transcripts`), analysis (:mod:`indexer.analysis`), the index
(:mod:`indexer.schema`, :mod:`indexer.build`) and the search API (:mod:`indexer.search`). The
command line (:mod:`indexer.cli`) and the web app (``search_web``) are thin layers over it.
"""

__version__ = "0.1.0"
