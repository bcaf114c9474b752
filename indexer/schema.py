"""The Whoosh schema: the one place that names the index's fields.

The index holds two kinds of document:

turn document (``kind == "turn"``)
    One speaker turn. ``grams`` (folded text bigrams, ids and counts) finds candidate turns
    for a text term; ``words`` holds the folded jieba words (ids only) for ranking. Its meeting,
    turn number, speaker and text are in the segment's turn store (see :mod:`indexer.store`):
    ``speaker:``, ``title:`` and date filters need no postings, they are evaluated on the few
    thousand distinct labels held there.
meeting document (``kind == "meeting"``)
    One per transcript file: its metadata, the path it was read from and the content hash that
    makes indexing incremental. Committing meetings and turns in the same Whoosh commit keeps
    them consistent: a crash leaves either the old index or the new one, never a mix.
"""

from __future__ import annotations

from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.formats import Existence

from .analysis import BigramTokenizer, gram_counts
from .codec import TurnCodec

__all__ = ["SCHEMA_VERSION", "TURN", "MEETING", "INDEX_NAME", "GramsField", "WordsField", "TurnCodec", "make_schema"]

#: Bumped whenever the schema or the analysis changes in a way that needs a rebuild.
SCHEMA_VERSION = 9

TURN = "turn"
MEETING = "meeting"
#: Whoosh's index name inside the index directory (its files are MAIN_<segment>.*).
INDEX_NAME = "MAIN"


class CompactField(TEXT):
    """An indexed, unstored, unscored field of ``Existence`` postings (no positions), which
    :class:`~indexer.codec.TurnCodec` writes in its compact format.

    Scores are computed by the search API from the folded texts, never by Whoosh's scorers.
    """

    compact_postings = True

    def __init__(self, analyzer):
        super().__init__(analyzer=analyzer, phrase=False, stored=False)
        self.format = Existence(field_boost=1.0)
        self.scorable = False


class GramsField(CompactField):
    """Indexed bigrams and characters of a folded text: document ids and how often each occurs.

    No positions: exactness comes from verifying candidates against their folded text. The
    counts let a one- or two-character term (most common queries: 的, 我們, 這個, 問) be answered
    and scored from its postings alone, without reading the texts of tens of thousands of turns.
    ``index`` produces the postings directly from :func:`~indexer.analysis.gram_counts`
    (without a Token per gram): Whoosh's writer is pure Python and this is its hottest loop.
    Its pool (:class:`~indexer.pool.TermPool`) sorts the terms, so they are given unsorted.
    """

    #: The compact format keeps each bigram's count per turn too.
    compact_counts = True

    def __init__(self):
        super().__init__(BigramTokenizer())

    def index(self, value, **kwargs):
        return [(gram.encode("utf-8"), n, float(n), b"") for gram, n in gram_counts(value).items()]


class WordsField(CompactField):
    """Folded jieba words, document ids only (``Existence`` postings, compact format).

    The value is the words joined by spaces. Searching asks one thing of this field, which turns
    have a term as a whole word (a ranking bonus), so positions would only cost space.
    """

    def __init__(self):
        super().__init__(SpaceSeparatedTokenizer())

    def index(self, value, **kwargs):
        return [(word.encode("utf-8"), 1, 1.0, b"") for word in sorted(set(value.split()))]


def make_schema() -> Schema:
    """Build the index schema."""
    return Schema(
        # Indexed: kind (to list meeting documents) and meeting_id (to delete a meeting's
        # documents). Everything else is stored only: filters and scores never ask Whoosh.
        # Turn documents store only speaker_name, organisation and section, where not empty
        # (see indexer.writing.whoosh_fields): the rest is in the turn store.
        kind=ID(stored=True),
        meeting_id=ID(stored=True),
        turn=STORED(),
        date=STORED(),
        title=STORED(),
        source=STORED(),
        speaker=STORED(),
        speaker_name=STORED(),
        organisation=STORED(),
        section=STORED(),
        # The turn text itself lives in the turn store (indexer.store), not here.
        grams=GramsField(),
        words=WordsField(),
        # meeting documents only
        path_key=STORED(),
        content_hash=STORED(),
        time=STORED(),
        location=STORED(),
        chair=STORED(),
        recorder=STORED(),
        turn_count=STORED(),
        format=STORED(),  # the kind the file was read as: md, txt, odt, docx, doc, pdf, html
    )
