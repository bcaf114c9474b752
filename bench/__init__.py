"""Benchmark harness for civic-search: speed, memory, size and exact recall, with baselines.

Run ``python -m bench --help``. Vocabulary used across the harness:

turn key
    ``(source, turn)``: the display path of a transcript as indexed and the turn ordinal. Every
    engine and baseline is compared on sets of turn keys, never on scores or order.
oracle
    The brute-force scan over every folded turn text held in memory (:mod:`bench.oracle`). It
    defines the expected answer of each query; recall is measured against it.
baseline
    Another way to answer the same queries (Whoosh + jieba, SQLite FTS5 trigram, tantivy over
    the engine's folded bigrams, and the brute-force scan itself), measured in the same run so
    that ratios hold on a noisy machine.
"""
