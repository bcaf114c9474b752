"""The Whoosh schema: the one place that names the index's fields.

The index holds two kinds of document:

turn document (``kind == "turn"``)
    One speaker turn. ``grams`` (folded text bigrams, document ids only) finds candidate turns
    for a text term; ``words`` holds the folded jieba words (with ordinal positions) for ranking.
    Meeting fields (id, title, date, source) are denormalised for filtering and display.
    ``speaker:``, ``title:`` and date filters need no postings: they are evaluated on the few
    thousand distinct labels held in each segment's turn store (see :mod:`indexer.store`).
meeting document (``kind == "meeting"``)
    One per transcript file: its metadata, the path it was read from and the content hash that
    makes indexing incremental. Committing meetings and turns in the same Whoosh commit keeps
    them consistent: a crash leaves either the old index or the new one, never a mix.
"""

from __future__ import annotations

from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Existence, Positions

from .analysis import BigramTokenizer

#: Bumped whenever the schema or the analysis changes in a way that needs a rebuild.
SCHEMA_VERSION = 1

TURN = "turn"
MEETING = "meeting"


def _grams_field() -> TEXT:
    field = TEXT(analyzer=BigramTokenizer(), phrase=False, stored=False)
    # Document ids only: a posting costs the writer the same per entry whatever it holds, and
    # exactness comes from verifying candidates against their folded text, not from positions.
    field.format = Existence(field_boost=1.0)
    field.scorable = False
    return field


def _words_field() -> TEXT:
    field = TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=True, stored=False)
    field.format = Positions(field_boost=1.0)
    field.scorable = False
    return field


class TurnCodec(W3Codec):
    """Whoosh's codec without per-document length statistics.

    Scores are computed by the search API from the folded texts, never by Whoosh's scorers, and
    the stock codec stats a file for every posting it writes to fetch those lengths.
    """

    length_stats = False


def make_schema() -> Schema:
    """Build the index schema."""
    return Schema(
        kind=ID(stored=True),
        meeting_id=ID(stored=True),
        turn=NUMERIC(int, stored=True),
        date=ID(stored=True, sortable=False),
        title=STORED(),
        source=STORED(),
        speaker=STORED(),
        speaker_name=STORED(),
        organisation=STORED(),
        section=STORED(),
        text=STORED(),
        grams=_grams_field(),
        words=_words_field(),
        # meeting documents only
        path_key=ID(stored=True),
        content_hash=STORED(),
        time=STORED(),
        location=STORED(),
        chair=STORED(),
        recorder=STORED(),
        turn_count=STORED(),
    )
