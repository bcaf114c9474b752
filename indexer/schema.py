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
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.formats import Existence, Positions

from .analysis import BigramTokenizer, bigrams

#: Bumped whenever the schema or the analysis changes in a way that needs a rebuild.
SCHEMA_VERSION = 5

TURN = "turn"
MEETING = "meeting"
#: Whoosh's index name inside the index directory (its files are MAIN_<segment>.*).
INDEX_NAME = "MAIN"


class GramsField(TEXT):
    """Indexed bigrams of a folded text, document ids only (``Existence`` postings).

    Positions would cost the writer more per posting and give nothing: exactness comes from
    verifying candidates against their folded text. ``index`` produces the postings directly
    from :func:`~indexer.analysis.bigrams` (what :class:`BigramTokenizer` emits, without a Token
    per bigram): Whoosh's writer is pure Python and this is its hottest loop.
    """

    def __init__(self):
        super().__init__(analyzer=BigramTokenizer(), phrase=False, stored=False)
        self.format = Existence(field_boost=1.0)
        self.scorable = False

    def index(self, value, **kwargs):
        return [(gram.encode("utf-8"), 1, 1.0, b"") for gram in sorted(bigrams(value))]


class WordsField(TEXT):
    """Folded jieba words with ordinal positions (``Positions`` postings).

    The value is the words joined by spaces; ``index`` builds the postings directly, as
    Whoosh's ``Positions`` format would from a space-separated tokenizer.
    """

    def __init__(self):
        super().__init__(analyzer=SpaceSeparatedTokenizer(), phrase=True, stored=False)
        self.format = Positions(field_boost=1.0)
        self.scorable = False

    def index(self, value, **kwargs):
        positions: dict[str, list[int]] = {}
        for pos, word in enumerate(value.split()):
            positions.setdefault(word, []).append(pos)
        encode = self.format.encode
        return [
            (word.encode("utf-8"), len(poses), float(len(poses)), encode(poses))
            for word, poses in sorted(positions.items())
        ]


class TurnCodec(W3Codec):
    """Whoosh's codec without per-document length statistics.

    Scores are computed by the search API from the folded texts, never by Whoosh's scorers, and
    the stock codec stats a file for every posting it writes to fetch those lengths.
    """

    length_stats = False


def make_schema() -> Schema:
    """Build the index schema."""
    return Schema(
        # Indexed: kind (to list meeting documents) and meeting_id (to delete a meeting's
        # documents). Everything else is stored only: filters and scores never ask Whoosh.
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
    )
