"""Render a run's :class:`~bench.results.Results` as ``docs/benchmarks.md`` (and a JSON summary).

Every figure in the report comes from the run; nothing is typed in by hand.
"""

from __future__ import annotations

import math

from .latency import by_category
from .measure import summary_ms
from .results import Results
from .targets import check_targets

MB = 1e6
ENGINE = "**civic-search engine**"


def _f(value: float | None, fmt: str = "{:.2f}") -> str:
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "—"
    return fmt.format(value)


def _ratio(value: float | None) -> str:
    """A ratio with sensible precision: 0.04×, 0.8×, 12×."""
    if value is None or math.isnan(value) or math.isinf(value):
        return "—"
    return f"{value:.0f}×" if value >= 10 else (f"{value:.1f}×" if value >= 1 else f"{value:.2g}×")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out + [""]


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def render(r: Results) -> str:
    lines: list[str] = ["# Benchmarks", ""]
    lines += [
        "Written by the benchmark harness (`python -m bench`); do not edit by hand, re-run it. "
        "Machines here are noisy (builds vary by up to 30% between runs), which is why every "
        "baseline runs in the same run as the engine: compare ratios, not absolute numbers across runs.",
        "",
    ]
    lines += (_header(r) + _targets(r) + _build(r) + _latency(r) + _cli(r) + _people(r) + _api(r) + _growth(r)
              + _scale(r) + _extraction(r) + _notes(r))
    return "\n".join(lines).rstrip() + "\n"


def _header(r: Results) -> list[str]:
    m, c = r.machine, r.corpus
    corpus = f"{c.path}: {c.files} files, {c.bytes / MB:.1f} MB, {c.turns} turns"
    if c.sample:
        corpus += f" (a seeded sample of {c.sample} files: targets are defined for the whole corpus)"
    rows = [
        ["commit", _code(m.commit)],
        ["date", m.date],
        ["Python", m.python],
        ["machine", f"{m.cores} cores, {m.memory_gb:.1f} GB memory, {m.cpu} ({m.system})"],
        ["load average (1/5/15 min)", f"{m.load_at_start} at the start, {r.load_at_end or '—'} at the end"],
        ["corpus", corpus],
        ["query set", f"{len(r.queries)} queries from {_code(r.query_file)}; warm latency = median of "
                      f"{r.repeats} timed pass(es) after a warm-up pass"],
        ["command", _code(r.command)],
        ["harness run time", f"{r.harness_seconds / 60:.1f} min"],
    ]
    return ["## Run", ""] + _table(["", ""], rows)


def _targets(r: Results) -> list[str]:
    rows = [[c.target, c.measured, c.mark] for c in check_targets(r)]
    return ["## Targets", ""] + _table(["target", "measured", "met"], rows)


def _build(r: Results) -> list[str]:
    lines = ["## Index build", ""]
    rows = []
    b = r.build
    if b:
        o = b.run.output
        rows.append([ENGINE + " (subprocess, from scratch)", _f(b.run.wall, "{:.1f} s"), _f(b.run.cpu, "{:.1f} s"),
                     _f(b.run.peak_rss / MB, "{:.0f} MB"), _f(b.index_bytes / MB, "{:.1f} MB"),
                     _f(b.index_bytes / r.corpus.bytes if r.corpus.bytes else None, "{:.2f}×")])
        lines.append(f"Engine: imports {_f(o.get('import_seconds'), '{:.2f}')} s, `build_index` "
                     f"{_f(o.get('build_seconds'), '{:.1f}')} s, {o.get('turns', '?')} turns; CPU time is user + "
                     f"system of the build process and its workers; peak RSS: {b.run.rss_method}.")
        lines.append("")
        kinds = ", ".join(f"`{k}` {v / MB:.1f} MB" for k, v in b.by_kind.items() if v >= 0.01 * b.index_bytes)
        lines.append(f"Engine index on disk by file type (1% or more of it): {kinds}.")
        lines.append("")
    for run in r.baselines:
        bl = run.baseline
        if bl.unavailable:
            rows.append([bl.name, bl.unavailable, "", "", "", ""])
        elif run.timing is not None:
            rows.append([bl.name + " (in-process, from parsed turns)", _f(bl.build_seconds, "{:.1f} s"), "—", "—",
                         _f(bl.size_bytes / MB, "{:.1f} MB") if bl.size_bytes else "in memory",
                         _f(bl.size_bytes / r.corpus.bytes, "{:.2f}×") if bl.size_bytes and r.corpus.bytes else "—"])
    if rows:
        lines += _table(["", "wall", "CPU", "peak RSS", "index on disk", "× corpus"], rows)
        lines.append("Baselines index the already parsed turns in the harness process, so their build time leaves "
                     "out parsing (which the engine's build includes).")
        lines.append("")
    a = r.add_one
    lines += ["### Adding one meeting to the built index", ""]
    if a:
        lines += _table(
            ["new file", "`build_index` run", "process wall (with start and imports)", "CPU", "peak RSS"],
            [[r.add_one_file, _f(a.call_seconds, "{:.2f} s"), _f(a.run.wall, "{:.2f} s"), _f(a.run.cpu, "{:.2f} s"),
              _f(a.run.peak_rss / MB, "{:.0f} MB")]])
        lines.append("A copy of a median-size transcript under a new name, indexed with the corpus folder "
                     "(every known file is checked for changes, as `civic-search index` does).")
        lines.append("")
    else:
        lines += ["Skipped.", ""]
    return lines


def _latency(r: Results) -> list[str]:
    lines = ["## Warm query latency and recall", ""]
    if r.engine_timing is None:
        return lines + ["Skipped.", ""]
    brute = r.baseline("brute force")
    brute_p50 = summary_ms(brute.timing.values())["p50"] if brute and brute.timing else float("nan")
    rows = []
    entries = [(ENGINE, r.engine_timing, r.engine_recall, "")]
    for run in r.baselines:
        entries.append((run.baseline.name, run.timing, run.recall, run.baseline.unavailable or ""))
    for name, timing, recall, why in entries:
        if timing is None:
            rows.append([name, why or "not run"] + [""] * 9)
            continue
        s = summary_ms(timing.values())
        rows.append([
            name, _f(s["p50"]), _f(s["p95"]), _f(s["p99"]), _f(s["mean"]), _f(s["max"]),
            _ratio(brute_p50 / s["p50"] if s["p50"] else None),
            _f(recall.recall, "{:.4f}") if recall else "—",
            str(recall.expected - recall.found) if recall else "—",
            str(recall.extra) if recall else "—",
            str(len(timing.errors)),
        ])
    lines += _table(["", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "p50 vs brute force", "recall",
                     "missed pairs", "extra pairs", "query errors"], rows)
    rc = r.engine_recall
    lines.append(f"{len(r.queries)} queries. The engine's call is `SearchEngine.search(q, limit=10)`: the top 10 "
                 "with snippets and the exact total; baselines fetch their top 10 and count every match (no "
                 f"snippets). Recall counts (query, turn) pairs against the brute-force oracle "
                 f"({rc.expected if rc else '?'} pairs). Opening the index in-process took "
                 f"{_f(r.engine_open_seconds)} s. \"p50 vs brute force\" is brute-force p50 / that p50.")
    lines.append("")
    if r.engine_page_cache and r.engine_cached:
        c = summary_ms(r.engine_cached.values())
        lines.append(f"The engine caches result pages: the engine's figures above empty that cache before "
                     f"each timed search, so they time evaluating the query. A repeated search answered from "
                     f"the cache takes p50 {_f(c['p50'], '{:.3f}')} ms, p99 {_f(c['p99'], '{:.3f}')} ms.")
        lines.append("")
    lines += ["### Engine latency by query category", ""]
    rows = []
    for category, values in by_category(r.engine_timing, r.queries).items():
        s = summary_ms(values)
        rows.append([category, str(len(values)), _f(s["p50"]), _f(s["p95"]), _f(s["p99"]), _f(s["max"])])
    lines += _table(["category", "queries", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)
    lines += ["### Slowest engine queries", ""]
    category = {q.text: q.category for q in r.queries}
    slow = sorted(r.engine_timing.seconds.items(), key=lambda kv: -kv[1])[:10]
    lines += _table(["query", "category", "ms", "total"],
                    [[_code(q), category.get(q, ""), _f(s * 1000), str(r.engine_timing.totals.get(q, ""))]
                     for q, s in slow])
    for run in r.baselines:
        if run.timing and run.timing.seconds:
            q, secs = max(run.timing.seconds.items(), key=lambda kv: kv[1])
            lines.append(f"- {run.baseline.name}: slowest query {_code(q)} ({secs * 1000:.1f} ms).")
    lines.append("")
    lines += _recall_failures(r)
    return lines


def _recall_failures(r: Results) -> list[str]:
    lines = ["### Recall failures", ""]
    rc = r.engine_recall
    if rc:
        if not rc.failures and not rc.wrong_totals and not r.engine_timing.errors:
            lines.append("Engine: none — every query returned exactly the oracle's turns, with the exact total.")
        else:
            lines.append("Engine:")
            lines.append("")
            lines += _table(["query", "oracle turns", "missed", "extra"],
                            [[_code(q), str(e), str(m), str(x)] for q, e, m, x in rc.failures[:40]])
            for text in rc.wrong_totals[:20]:
                lines.append(f"- wrong total: {_code(text)}")
            for q, err in list(r.engine_timing.errors.items())[:20]:
                lines.append(f"- error: {_code(q)}: {err}")
        lines.append("")
    for run in r.baselines:
        if run.recall is None or not run.recall.failures:
            continue
        worst = sorted(run.recall.failures, key=lambda f: -(f[2] + f[3]))[:5]
        examples = "; ".join(f"{_code(q)} missed {m}/{e}" + (f", {x} extra" if x else "") for q, e, m, x in worst)
        lines.append(f"- {run.baseline.name}: {len(run.recall.failures)} of {len(r.queries)} queries differ "
                     f"from the oracle. Worst: {examples}.")
    return lines + [""]


def _cli(r: Results) -> list[str]:
    lines = ["## Command line in a new process", ""]
    runs = [c for c in (r.cold, r.cold_speaker) if c is not None]
    if not runs:
        return lines + ["Skipped.", ""]
    lines += _table(["command", "runs", "median", "min", "max", "errors"],
                    [[_code(c.command), str(len(c.seconds)), _f(c.median, "{:.3f} s"),
                      _f(min(c.seconds) if c.seconds else None, "{:.3f} s"),
                      _f(max(c.seconds) if c.seconds else None, "{:.3f} s"), str(len(c.errors))] for c in runs])
    lines.append("Each run is a fresh process: interpreter start, imports, opening the index, one search. "
                 "One untimed run first, so the index files are in the page cache. With `--speaker`, every "
                 "distinct label of the index is read into a person (the `speaker:` filter matches persons).")
    for c in runs:
        for err in c.errors[:5]:
            lines.append(f"- error: {err}")
    return lines + [""]


def _mapping_row(name: str, m) -> list[str]:
    return [name, str(m.rows), str(m.true_positives), str(m.false_positives), str(m.false_negatives),
            f"{m.precision:.4f}", f"{m.recall:.4f}"]


def _people(r: Results) -> list[str]:
    lines = ["## Persons behind speaker labels", ""]
    p = r.people
    if p is None:
        return lines + ["Skipped.", ""]
    lines += _table(["mapping", "labels", "right person", "wrong person", "person missed", "precision", "recall"],
                    [_mapping_row("reader + bundled person list", p.mapping),
                     _mapping_row("reader alone (empty person list)", p.reader_only)])
    lines.append("On `tests/data/speaker_labels.tsv`: labels from the shared corpus and the sample record, each "
                 "checked in the transcript where it occurs (the person it names, or nobody). A row is right when "
                 "the mapping names the expected person, wrong when it names another (or anyone for a label that "
                 "names nobody), missed when it names nobody for a person. Mistakes with the person list:")
    lines += [f"- {m}" for m in p.mapping.mistakes] or ["- none"]
    lines.append("")
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(p.kinds.items(), key=lambda kv: -kv[1]))
    lines.append(f"**{p.persons} persons behind {p.labels} distinct speaker labels** in this run's corpus "
                 f"(labels that fold alike counted once). Labels by reading: {kinds}.")
    lines.append("")
    lines += _table(["first call on a newly opened engine", "seconds"],
                    [[what, _f(seconds, "{:.3f}")] for what, seconds in p.timings.items()])
    lines.append("In the harness process, one call each: what a server's first request of each kind pays. Later "
                 "calls on the same index generation reuse what the first computed.")
    return lines + [""]


def _api(r: Results) -> list[str]:
    lines = ["## Web API under load", ""]
    a = r.api
    if a is None:
        return lines + ["Skipped.", ""]
    rows = []
    for phase, ld in a.loads.items():
        s = ld.summary()
        rows.append([phase, str(ld.clients), _f(ld.seconds, "{:.1f} s"), str(ld.requests), _f(ld.rps, "{:.0f}"),
                     _f(s["p50"]), _f(s["p95"]), _f(s["p99"]), str(ld.errors)])
    lines += _table(["phase", "clients", "duration", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows)
    clients = next(iter(a.loads.values())).clients if a.loads else 0
    processes = "one process" if a.workers == 1 else f"{a.workers} worker processes on one port"
    lines.append(f"`civic-search serve --workers {a.workers}` (waitress in {processes}) on loopback, started in "
                 f"{_f(a.start_seconds, '{:.1f}')} s; server RSS after the load (all its processes) "
                 f"{_f(a.rss_after / MB, '{:.0f} MB') if a.rss_after else '—'}. "
                 f"{clients} client threads with keep-alive `http.client` connections request "
                 f"`/api/search?q=…` for the query set, each phase bounded at {a.seconds_budget:.0f} s and "
                 f"{a.max_requests} requests, after one warm-up pass. *repeated*: the query set in turn, so "
                 "the engine's result-page cache can answer every request; *distinct*: each request's query is "
                 "padded with a combination of leading and trailing spaces no other request used: the same "
                 "query to the parser but a new string, so every request is evaluated. The clients run in the harness process on the same machine, so they "
                 "compete with the server for the cores.")
    for phase, ld in a.loads.items():
        for err in ld.error_samples:
            lines.append(f"- {phase}: error: {_code(err)}")
    lines.append("")
    cons = a.consistency
    lines.append(f"**CLI and API agree**: {cons.equal} of {cons.compared} queries gave identical JSON "
                 "(`civic-search search Q --json` against `/api/search?q=Q`: same totals, hits, order, snippets).")
    for diff in cons.differences[:10]:
        lines.append(f"- differs: {diff}")
    return lines + [""]


def _growth(r: Results) -> list[str]:
    lines = ["## Growth", ""]
    if not r.growth:
        return lines + ["Skipped (`--skip-growth`).", ""]
    base = next((p for p in r.growth if p.factor == 1), None)
    rows = []
    for p in r.growth:
        run = p.build.run
        rows.append([f"×{p.factor}", str(p.turns), _f(run.wall, "{:.1f} s"), _f(run.cpu, "{:.1f} s"),
                     _f(run.peak_rss / MB, "{:.0f} MB"), _f(p.build.index_bytes / MB, "{:.1f} MB"), _f(p.p50_ms),
                     _f(p.p99_ms), _ratio(run.wall / base.build.run.wall if base else None),
                     _ratio(run.cpu / base.build.run.cpu if base and base.build.run.cpu else None)])
    lines += _table(["corpus", "turns", "build wall", "CPU", "peak RSS", "index", "query p50 ms", "query p99 ms",
                     "build wall vs ×1", "build CPU vs ×1"], rows)
    lines.append("Copies of every transcript under new names (so meeting ids differ). ×1 is the main build and "
                 "query measurement of this run; larger sizes are built the same way and queried with the same "
                 "set (one warm-up pass, then timed passes). The target is on wall time; CPU time is less "
                 "sensitive to other work on the machine.")
    return lines + [""]


def _scale(r: Results) -> list[str]:
    points = r.scale_points()
    if not r.scale_factor:
        return []
    lines = ["## Scale", ""]
    if not points:
        return lines + ["Not measured (see the notes).", ""]
    base = r.build.run.wall if r.build else None
    rows = []
    for p in points:
        run = p.build.run
        rows.append([f"×{p.factor}", str(p.turns), _f(run.wall, "{:.0f} s"), _ratio(run.wall / base if base else None),
                     _f(run.peak_rss / 1e9, "{:.2f} GB"), _f(p.build.index_bytes / MB, "{:.0f} MB"),
                     _f(p.open_seconds * 1000, "{:.0f} ms")])
    lines += ["### Size, build and opening", ""]
    lines += _table(["corpus", "turns", "build wall", "vs ×1", "build peak RSS (summed)", "index", "open (in-process)"],
                    rows)
    rows = []
    for p in points:
        s, c, e = p.warm_summary(), p.cold, p.exactness
        serve = p.serve
        worker = max(serve.memory, key=lambda m: m.rss) if serve and serve.memory else None
        rows.append([
            f"×{p.factor}", _f(c.median, "{:.2f} s"), f"{_f(c.rss_median / MB, '{:.0f}')} / {_f(c.rss_max / MB, '{:.0f}')} MB",
            f"{_f(s['p50'])} / {_f(s['p99'], '{:.0f}')} / {_f(s['max'], '{:.0f}')}",
            f"{e.recall:.4f}, {e.extra} extra, {len(e.wrong_totals)} wrong totals",
            _f(serve.load.rps, "{:.0f}") + (f" ({serve.load.errors} errors)" if serve and serve.load.errors else "")
            if serve else "—",
            f"{worker.rss / MB:.0f} MB ({worker.uss / MB:.0f} / {worker.pss / MB:.0f})" if worker else "—",
        ])
    lines += ["### Searching", ""]
    lines += _table(["corpus", "new process (median)", "its RSS (median / largest)", "warm p50 / p99 / slowest ms",
                     "exact", "API req/s (evaluated)", "worker RSS after load (private / proportional)"], rows)
    rows = []
    for p in points:
        if not p.serve:
            continue
        cells = [f"×{p.factor}"]
        for route, timing in p.serve.pages.items():
            s = summary_ms(timing.values())
            slowest = max(timing.seconds, key=timing.seconds.get) if timing.seconds else ""
            cells.append(f"{_f(s['p50'], '{:.0f}')} / {_f(s['p99'], '{:.0f}')} / {_f(s['max'], '{:.0f}')} ms "
                         f"({_code(slowest)}{', ' + str(len(timing.errors)) + ' errors' if timing.errors else ''})")
        rows.append(cells)
    routes = list(points[-1].serve.pages) if points[-1].serve else []
    lines += ["### Pages (p50 / p99 / slowest, and the slowest query)", ""]
    lines += _table(["corpus"] + [f"`{route}`" for route in routes], rows)
    largest = points[-1]
    slow = sorted(largest.warm.seconds.items(), key=lambda kv: -kv[1])[:8]
    lines.append(f"Slowest warm queries at ×{largest.factor}: " +
                 ", ".join(f"{_code(q)} {secs * 1000:.0f} ms" for q, secs in slow) + ".")
    lines.append("")
    workers = points[-1].serve.workers if points[-1].serve else 0
    lines.append(
        "Each size is built the way the growth section builds (renamed copies of every transcript). *open*: "
        "`SearchEngine(index)` in the harness process. *new process*: `civic-search search Q --index DIR --json` for "
        "every query of the set, each a fresh process (interpreter, imports, opening, one search), after one untimed "
        "run; RSS is each process's peak (`wait4`). *warm*: as the main latency section (page cache emptied before "
        "each timed search). *exact*: every answer against the oracle's ×1 answer expanded to the copies, every total "
        "×N the oracle's. The server is `civic-search serve --workers "
        f"{workers}`: after a warm-up pass, the *distinct* load phase (every request evaluated), then each worker's "
        "memory: RSS, and in brackets the private (USS) and proportional (PSS) sizes (psutil): RSS counts the pages "
        "of the memory-mapped texts a worker has touched, which are shared with the other workers and the page "
        "cache. Then every page for every query, one request at a time after an untimed one (`/search`: results "
        "grouped by meeting with the year and speaker facets and the timeline; `/kwic`: the first 100 occurrences; "
        "`/speakers`: who said it).")
    lines.append("")
    for p in points:
        errors = [f"{q}: {err}" for q, err in list(p.exactness.errors.items())[:5]]
        failures = [f"{_code(q)} expected {e} turns, missed {m}, {x} extra" for q, e, m, x in p.exactness.failures[:10]]
        for note in p.notes + failures + p.exactness.wrong_totals[:5] + errors + p.cold.errors[:5]:
            lines.append(f"- ×{p.factor}: {note}")
    return lines + [""]


def _extraction(r: Results) -> list[str]:
    if r.extraction is None:
        return ["## Office document extraction", "", "Not measured in this run.", ""]
    from .extraction import render as render_extraction

    return render_extraction(r.extraction, _table)


def _notes(r: Results) -> list[str]:
    lines = ["## Baselines: what each does and cannot express", ""]
    for run in r.baselines:
        bl = run.baseline
        status = f" — {bl.unavailable}" if bl.unavailable else ""
        lines.append(f"- **{bl.name}**{status}")
        lines += [f"  - {note}" for note in bl.notes]
    lines.append("- All baselines parse the turns once with `read_transcript` (the same turns as the engine) and "
                 "understand the query set's simple forms only: terms ANDed, `OR`, `-`/`NOT`, `speaker:`, `date:`. "
                 "Only the engine supports the whole query language (grouping, `title:`, ...).")
    lines.append("")
    if r.notes:
        lines += ["## Notes from this run", ""] + [f"- {n}" for n in r.notes] + [""]
    return lines


def summary_json(r: Results) -> dict:
    """The headline numbers, for scripts and the smoke test."""
    out: dict = {"commit": r.machine.commit, "queries": len(r.queries), "targets": {}}
    for c in check_targets(r):
        out["targets"][c.target] = {"measured": c.measured, "ok": c.ok}
    if r.engine_recall:
        out["engine"] = {"recall": r.engine_recall.recall, "extra": r.engine_recall.extra,
                         "wrong_totals": len(r.engine_recall.wrong_totals),
                         "latency_ms": summary_ms(r.engine_timing.values())}
    out["baselines"] = {
        run.baseline.name: ({"unavailable": run.baseline.unavailable} if run.baseline.unavailable else
                            {"recall": run.recall.recall if run.recall else None,
                             "latency_ms": summary_ms(run.timing.values()) if run.timing else None})
        for run in r.baselines
    }
    sections = {"build": r.build, "add_one": r.add_one, "latency": r.engine_timing, "cli": r.cold, "api": r.api,
                "growth": r.growth, "people": r.people, "extraction": r.extraction}
    if r.people:
        out["people"] = {"precision": r.people.mapping.precision, "recall": r.people.mapping.recall,
                         "persons": r.people.persons, "labels": r.people.labels}
    if r.scale_factor:
        sections["scale"] = r.scale_points() or None
        out["scale"] = {f"x{p.factor}": _scale_json(p) for p in r.scale_points()}
    if r.extraction is not None:
        out["extraction"] = r.extraction.to_dict()
    out["sections"] = {name: value is not None for name, value in sections.items()}
    return out


def _scale_json(p) -> dict:
    from .scale import is_exact

    serve = p.serve
    return {
        "turns": p.turns, "build_seconds": p.build.run.wall, "build_peak_rss": p.build.run.peak_rss,
        "index_bytes": p.build.index_bytes, "open_seconds": p.open_seconds,
        "new_process_median_seconds": p.cold.median, "new_process_rss_max": p.cold.rss_max,
        "warm_ms": p.warm_summary(), "recall": p.exactness.recall, "exact": is_exact(p.exactness),
        "api_rps": serve.load.rps if serve else None, "api_errors": serve.load.errors if serve else None,
        "worker_rss": [m.rss for m in serve.memory] if serve else None,
        "worker_uss": [m.uss for m in serve.memory] if serve else None,
        "pages_ms": {route: summary_ms(t.values()) for route, t in serve.pages.items()} if serve else None,
        "page_errors": sum(len(t.errors) for t in serve.pages.values()) if serve else None,
    }
