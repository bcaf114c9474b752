"""Child process for measured builds: run ``build_index`` once and print its report as JSON.

    python -m bench.build_runner --index DIR [--rebuild] [--workers N] PATH...

The harness runs this in a subprocess so that the build's worker processes count towards its
CPU time and memory, and so that the build starts cold (imports, dictionaries) as a user's would.
"""

from __future__ import annotations

import argparse
import json
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--index", required=True)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from indexer.build import build_index  # timed: a user's build pays for its imports too

    imported = time.perf_counter()
    report = build_index(args.paths, args.index, rebuild=args.rebuild, workers=args.workers)
    done = time.perf_counter()
    print(json.dumps({
        "import_seconds": imported - started,
        "build_seconds": done - imported,
        "scanned": report.scanned,
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "turns": report.turns,
        "skipped": [f"{s.path}: {s.reason}" for s in report.skipped],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
