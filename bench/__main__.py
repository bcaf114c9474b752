"""Run the civic-search benchmark and write ``docs/benchmarks.md``.

    python -m bench [--corpus PATH] [--out docs/benchmarks.md] [--sample N] [--skip-growth] [--quick]
                    [--scale N]
    python -m bench --only extraction [--json FILE]

Sections, in order: the index build from scratch (subprocess: wall, CPU, peak RSS, size);
adding one meeting; warm query latency and recall for the engine and the baselines; the CLI in
a new process; persons behind speaker labels (mapping precision and recall on the hand-checked
list, persons and labels of the corpus, person views); the web API under load (with the CLI-vs-API
consistency check); growth at ×1, ×2, ×4; office document extraction (throughput by kind, the
library comparison). ``--scale 16`` adds a ×16 growth point and the scale figures of issue #12
(see :mod:`bench.scale`) at ×1, ×4 and ×16. A section that fails is reported in the notes and
the run goes on. ``--only extraction`` runs the extraction section alone and writes its JSON (to
``--json`` or standard output), leaving docs/benchmarks.md alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .measure import REPO

QUICK = {"queries": 5, "repeats": 1, "cli_runs": 2, "load_seconds": 2.0, "compare": 5, "growth": "1,2",
         "extraction_repeats": 1}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default=os.environ.get("CIVIC_SEARCH_CORPUS") or str(REPO.parent / "shared" / "corpus"),
                   help="corpus folder (default: $CIVIC_SEARCH_CORPUS, else ../shared/corpus)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md", help="report to write")
    p.add_argument("--json", type=Path, default=None, help="also write the headline numbers as JSON here")
    p.add_argument("--sample", type=int, default=None, metavar="N", help="use a seeded sample of N files")
    p.add_argument("--skip-growth", action="store_true", help="omit the ×2/×4 growth section")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes for a smoke test: 5 queries, 1 pass, 2 CLI runs, 2 s of load, growth ×1 ×2")
    p.add_argument("--queries-file", type=Path, default=None, help="query file (default: bench/queries.txt)")
    p.add_argument("--queries", type=int, default=None, metavar="N", help="use N queries spread over categories")
    p.add_argument("--repeats", type=int, default=None, help="timed passes over the query set (default 3)")
    p.add_argument("--cli-runs", type=int, default=None, help="new-process CLI runs (default 10)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--load-seconds", type=float, default=None, help="load test duration (default 20)")
    p.add_argument("--load-max", type=int, default=100_000, help="load test request budget")
    p.add_argument("--serve-workers", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="civic-search serve --workers for the load test (default: the CPU cores)")
    p.add_argument("--compare", type=int, default=None, help="queries for the CLI-vs-API check (default 20)")
    p.add_argument("--growth", default=None, help="growth factors (default 1,2,4)")
    p.add_argument("--scale", type=int, default=None, metavar="N",
                   help="add a ×N growth point and measure the scale figures at ×1, ×4 and ×N "
                        "(new-process searches over the query set, server memory, every page)")
    p.add_argument("--baselines", default="whoosh-jieba,sqlite,brute,tantivy",
                   help="comma-separated: whoosh-jieba, sqlite, brute, tantivy (brute always runs as the oracle)")
    p.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a new temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--only", choices=["extraction"], default=None,
                   help="run one section alone and write its JSON (to --json, else standard output)")
    p.add_argument("--extraction-repeats", type=int, default=None, metavar="N",
                   help="passes over the office fixtures in the extraction section (default 3)")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # shown in the report
    defaults = {"queries": None, "repeats": 3, "cli_runs": 10, "load_seconds": 20.0, "compare": 20, "growth": "1,2,4",
                "extraction_repeats": 3}
    for key, value in (QUICK if args.quick else defaults).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only == "extraction":
        from .extraction import measure_extraction

        log("office document extraction")
        data = json.dumps(measure_extraction(args.extraction_repeats).to_dict(), ensure_ascii=False, indent=1)
        if args.json:
            args.json.write_text(data + "\n", encoding="utf-8")
            log(f"wrote {args.json}")
        else:
            print(data)
        return 0
    started = time.perf_counter()
    # A scratch folder the harness creates is removed at the end; one given with --workdir is
    # the caller's and is only emptied of what the run created.
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="civic-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    scratch = workdir if args.workdir is None else Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    try:
        results = run(args, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    results.harness_seconds = time.perf_counter() - started
    from .machine import commit, load_average

    results.load_at_end = load_average()

    # Others commit while a long run goes on: the harness process keeps the engine it imported at
    # the start, but builds, CLI runs and the server start later and load the code then on disk.
    final = commit()
    if final != results.machine.commit:
        results.notes.append(f"the code changed during the run: HEAD was {results.machine.commit} at the start "
                             f"and {final} at the end; subprocesses started later ran the newer code")
    from .report import render, summary_json

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(summary_json(results), ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"wrote {args.out} ({results.harness_seconds / 60:.1f} min)")
    return 0


def section(results, name: str):
    """Context manager: log a section, and turn its failure into a note instead of a crash."""

    class _Section:
        def __enter__(self):
            log(name)
            self.started = time.perf_counter()

        def __exit__(self, kind, err, tb):
            if err is not None and not isinstance(err, KeyboardInterrupt):
                detail = "".join(traceback.format_exception_only(kind, err)).strip()
                results.notes.append(f"{name} failed: {detail}")
                log(f"{name} FAILED:\n{''.join(traceback.format_exception(kind, err, tb))}")
                return True
            log(f"{name} done in {time.perf_counter() - self.started:.1f} s")
            return False

    return _Section()


def run(args: argparse.Namespace, workdir: Path):
    from .baselines import make_baselines
    from .build_section import measure_add_one, measure_build
    from .corpus import load_corpus, sample_corpus
    from .latency import EngineAdapter, measure_recall, time_queries
    from .machine import describe
    from .oracle import BruteForce
    from .queries import DEFAULT_QUERIES, load_queries, spread
    from .results import BaselineRun, CorpusInfo, Results

    corpus = str(Path(args.corpus).absolute())
    if not Path(corpus).is_dir():
        raise SystemExit(f"no corpus folder at {corpus} (use --corpus or $CIVIC_SEARCH_CORPUS)")
    if args.sample:
        corpus = str(sample_corpus(corpus, args.sample, workdir / "sample-corpus"))
    query_file = args.queries_file or DEFAULT_QUERIES
    queries = load_queries(query_file)
    if args.queries:
        queries = spread(queries, args.queries)
    shown_file = os.path.relpath(query_file, REPO) if Path(query_file).is_absolute() else str(query_file)
    log(f"corpus {corpus}; {len(queries)} queries; scratch {workdir}")
    parsed = load_corpus(corpus)
    results = Results(
        machine=describe(),
        command="python -m bench " + shlex.join(args.argv),
        corpus=CorpusInfo(args.corpus, parsed.files, parsed.bytes, len(parsed.turns), args.sample),
        queries=queries,
        query_file=shown_file,
        repeats=args.repeats,
    )
    if parsed.skipped:
        results.notes.append(f"{len(parsed.skipped)} files could not be parsed, e.g. {parsed.skipped[0]}")
    index_dir = workdir / "index"

    with section(results, "index build from scratch"):
        results.build = measure_build([corpus], index_dir)
        if results.build.run.output.get("skipped"):
            results.notes.append(f"the build skipped {len(results.build.run.output['skipped'])} files")
    if results.build is None:
        return results  # nothing else can run without an index

    with section(results, "adding one meeting"):
        results.add_one, results.add_one_file = measure_add_one(corpus, index_dir, workdir)

    oracle = BruteForce(parsed.turns)
    keys = [t.key for t in parsed.turns]
    expected = {}
    with section(results, "oracle answers"):
        expected = {q.text: {keys[i] for i in oracle.matches(q.text)} for q in queries}

    with section(results, "engine: warm latency and recall"):
        engine = EngineAdapter(str(index_dir))
        try:
            results.engine_open_seconds = engine.open_seconds
            results.engine_page_cache = engine.has_page_cache()
            # Timed searches evaluate the query: the page cache is emptied before each one.
            results.engine_timing = time_queries(engine.top, queries, args.repeats, before=engine.clear_page_cache)
            if results.engine_page_cache:
                results.engine_cached = engine.time_cached(queries)
                results.variants_bypass_cache = engine.variants_bypass_cache()
                if not results.variants_bypass_cache:
                    results.notes.append("the engine's page cache treats query strings that differ in trailing "
                                         "spaces as one: the 'distinct' load phase may be answered from the cache")
            results.engine_recall = measure_recall(engine.matches, expected, results.engine_timing.totals)
        finally:
            engine.close()

    names = [n.strip() for n in args.baselines.split(",") if n.strip()]
    if "brute" not in names:
        names.append("brute")
    for baseline in make_baselines(names):
        entry = BaselineRun(baseline)
        results.baselines.append(entry)
        if baseline.unavailable:
            continue
        with section(results, f"baseline: {baseline.name}"):
            try:
                baseline.build(parsed.turns, workdir / "baselines")
                entry.timing = time_queries(baseline.top, queries, args.repeats)
                entry.recall = measure_recall(lambda q: {keys[i] for i in baseline.matches(q)}, expected)
            finally:
                baseline.close()
    shutil.rmtree(workdir / "baselines", ignore_errors=True)
    del oracle

    with section(results, "CLI in a new process"):
        from .cli_runs import cold_start

        results.cold = cold_start(str(index_dir), "淨零排碳", args.cli_runs)
        results.cold_speaker = cold_start(str(index_dir), "淨零排碳", args.cli_runs, ("--speaker", "吳銘軒"))

    with section(results, "people: label mapping, persons, person views"):
        from .people import measure_people

        results.people = measure_people(str(index_dir))

    with section(results, "web API under load"):
        results.api = run_api(args, index_dir, workdir, queries)

    factors = [] if args.skip_growth else sorted({int(f) for f in args.growth.split(",") if f.strip()})
    scaled: set[int] = set()
    if args.scale:
        factors = sorted(set(factors) | {1, args.scale})
        scaled = {f for f in (1, 4, args.scale) if f in factors and f <= args.scale}
        results.scale_factor = args.scale
        with section(results, "scale figures ×1"):
            results.scale_x1 = measure_scale(args, 1, results.build, index_dir, queries, expected, corpus, None)
    if factors:
        results.growth = []
    for factor in factors:
        with section(results, f"growth ×{factor}"):
            def scale(build, folder, copies, factor=factor):
                return measure_scale(args, factor, build, folder, queries, expected, corpus, copies)

            results.growth.append(growth_point(results, corpus, factor, workdir, queries, args.repeats,
                                               scale if factor in scaled and factor > 1 else None))

    with section(results, "office document extraction"):
        from .extraction import measure_extraction

        results.extraction = measure_extraction(args.extraction_repeats)
    return results


def measure_scale(args, factor: int, build, index_dir: Path, queries, expected, corpus: str, copies: str | None):
    """The scale figures (:mod:`bench.scale`) of one built index."""
    from .scale import measure_point

    serve = {"workers": args.serve_workers, "clients": args.clients, "seconds": args.load_seconds,
             "max_requests": args.load_max}
    return measure_point(factor, build, index_dir, queries, args.repeats, expected, corpus, copies, serve, log)


def run_api(args, index_dir: Path, workdir: Path, queries):
    from .load import Server, compare_cli_api, drive, search_path
    from .queries import spread
    from .results import ApiRun

    with Server(str(index_dir), workdir / "server.log", workers=args.serve_workers) as server:
        consistency = compare_cli_api(server, [q.text for q in spread(queries, args.compare)])
        for q in queries:  # warm the server's engine once, as the in-process measurement does
            server.get(search_path(q.text))
        texts = [q.text for q in queries]
        loads = {
            "repeated": drive(server, texts, args.clients, args.load_seconds, args.load_max),
            "distinct": drive(server, texts, args.clients, args.load_seconds, args.load_max, distinct=True),
        }
        return ApiRun(server.start_seconds, consistency, loads, server.rss(), args.load_seconds, args.load_max,
                      server.workers)


def growth_point(results, corpus: str, factor: int, workdir: Path, queries, repeats: int, scale=None):
    from .growth import GrowthPoint, grow
    from .measure import summary_ms

    if factor == 1 and results.build is not None and results.engine_timing is not None:
        s = summary_ms(results.engine_timing.values())
        return GrowthPoint(1, results.build, s["p50"], s["p99"], results.corpus.turns)
    return grow(corpus, factor, workdir, queries, repeats, scale)


if __name__ == "__main__":
    sys.exit(main())
