"""The targets of issues #4 and #12, each checked against the measured numbers (never hand-edited)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .measure import summary_ms
from .results import Results

GB = 1e9


@dataclass
class Check:
    target: str
    measured: str
    ok: bool | None  # None: not measured in this run

    @property
    def mark(self) -> str:
        return "—" if self.ok is None else ("✅" if self.ok else "❌")


def _num(value: float, fmt: str) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


def check_targets(r: Results) -> list[Check]:
    out: list[Check] = []
    b = r.build
    if b:
        out.append(Check("full build ≤ 120 s wall (with jieba words)", _num(b.run.wall, "{:.1f} s"), b.run.wall <= 120))
        out.append(Check("peak RSS of the build ≤ 1.5 GB (all processes)", _num(b.run.peak_rss / GB, "{:.2f} GB"),
                         b.run.peak_rss <= 1.5 * GB))
        ratio = b.index_bytes / r.corpus.bytes if r.corpus.bytes else float("nan")
        out.append(Check("index ≤ 3× the corpus on disk", _num(ratio, "{:.2f}×"), ratio <= 3))
    else:
        out += [Check(t, "skipped", None) for t in ("full build ≤ 120 s wall", "peak RSS ≤ 1.5 GB", "index ≤ 3× corpus")]
    a = r.add_one
    out.append(Check("adding one meeting ≤ 2 s (build_index run)",
                     _num(a.call_seconds, "{:.2f} s") if a else "skipped", a.call_seconds <= 2 if a else None))
    t = r.engine_timing
    if t and t.seconds:
        s = summary_ms(t.values())
        out.append(Check("warm query p50 ≤ 2 ms (top 10, snippets, exact total)", _num(s["p50"], "{:.2f} ms"), s["p50"] <= 2))
        out.append(Check("warm query p99 ≤ 100 ms", _num(s["p99"], "{:.1f} ms"), s["p99"] <= 100))
        brute = r.baseline("brute force")
        if brute and brute.timing and brute.timing.seconds:
            bs = summary_ms(brute.timing.values())
            speedup = bs["p50"] / s["p50"] if s["p50"] else float("inf")
            out.append(Check("p50 ≥ 10× faster than brute force (same run)", _num(speedup, "{:.1f}×"), speedup >= 10))
    rc = r.engine_recall
    if rc:
        out.append(Check("recall 1.0 on the whole query set", f"{rc.recall:.4f} ({rc.found}/{rc.expected} pairs)",
                         rc.recall == 1.0 and not rc.errors))
        out.append(Check("exact: no extra turns, every total equals the oracle's count",
                         f"{rc.extra} extra, {len(rc.wrong_totals)} wrong totals",
                         rc.extra == 0 and not rc.wrong_totals))
    c = r.cold
    out.append(Check("CLI query in a new process ≤ 0.6 s median", _num(c.median, "{:.2f} s") if c else "skipped",
                     (c.median <= 0.6 and not c.errors) if c and c.seconds else None))
    c = r.cold_speaker
    out.append(Check("CLI query with --speaker (persons) in a new process ≤ 0.6 s median",
                     _num(c.median, "{:.2f} s") if c else "skipped",
                     (c.median <= 0.6 and not c.errors) if c and c.seconds else None))
    p = r.people
    out.append(Check("speaker label → person mapping: precision ≥ 0.98, recall ≥ 0.95 (hand-checked list)",
                     f"{p.mapping.precision:.4f} / {p.mapping.recall:.4f} ({p.mapping.rows} labels)" if p else "skipped",
                     (p.mapping.precision >= 0.98 and p.mapping.recall >= 0.95) if p else None))
    api = r.api
    if api:
        cons = api.consistency
        out.append(Check(f"CLI --json equals /api/search ({cons.compared} queries)", f"{cons.equal}/{cons.compared} equal",
                         cons.compared > 0 and cons.equal == cons.compared))
        # Met only if every phase meets it: repeated queries (cache hits) and distinct ones.
        phases = api.loads
        clients = next(iter(phases.values())).clients if phases else 8
        measured = "; ".join(f"{name}: {ld.rps:.0f} req/s, {ld.errors} errors" for name, ld in phases.items())
        out.append(Check(f"web API ≥ 200 req/s at {clients} clients, 0 errors (every load phase)", measured,
                         bool(phases) and all(ld.rps >= 200 and ld.errors == 0 for ld in phases.values())))
    else:
        out.append(Check("CLI --json equals /api/search", "skipped", None))
        out.append(Check("web API ≥ 200 req/s at 8 clients, 0 errors", "skipped", None))
    g = {p.factor: p for p in (r.growth or [])}
    if 1 in g and 4 in g:
        ratio = g[4].build.run.wall / g[1].build.run.wall
        out.append(Check("×4 corpus build ≤ 4.5× the ×1 time", f"{ratio:.2f}×", ratio <= 4.5))
        out.append(Check("×4 corpus query p99 ≤ 250 ms", _num(g[4].p99_ms, "{:.1f} ms"), g[4].p99_ms <= 250))
    else:
        out.append(Check("×4 corpus build ≤ 4.5× the ×1 time", "not measured (needs ×1 and ×4)", None))
        out.append(Check("×4 corpus query p99 ≤ 250 ms", "not measured", None))
    if r.scale_factor:
        out += scale_checks(r)
    return out


#: Issue #12's targets at ×16, and at ×1.
SCALE_TARGET = 16


def _ms(seconds: float) -> str:
    return _num(seconds * 1000, "{:.0f} ms") if seconds < 10 else _num(seconds, "{:.1f} s")


def _pages(point, p99_limit: float, max_limit: float | None) -> Check:
    worst_p99, worst_max, errors, parts = 0.0, 0.0, 0, []
    for route, timing in point.serve.pages.items():
        s = summary_ms(timing.values())
        worst_p99, worst_max = max(worst_p99, s["p99"]), max(worst_max, s["max"])
        errors += len(timing.errors)
        parts.append(f"{route} {s['p99']:.0f} / {s['max']:.0f} ms")
    ok = worst_p99 <= p99_limit * 1000 and errors == 0 and (max_limit is None or worst_max <= max_limit * 1000)
    target = f"×{point.factor}: every page (results with facets and timeline, KWIC, speakers) p99 ≤ {_ms(p99_limit)}"
    if max_limit is not None:
        target += f", slowest ≤ {_ms(max_limit)}"
    return Check(target, "p99 / slowest: " + ", ".join(parts) + (f"; {errors} errors" if errors else ""), ok)


def scale_checks(r: Results) -> list[Check]:
    """Issue #12: at ×16 (when the run measured it) and at ×1."""
    from .scale import is_exact

    points = {p.factor: p for p in r.scale_points()}
    out: list[Check] = []
    x1 = points.get(1)
    if x1 is not None:
        c = x1.cold
        out.append(Check("×1: search in a new process ≤ 0.3 s (median over the query set)",
                         f"{c.median:.2f} s", c.median <= 0.3 and not c.errors))
        if x1.serve:
            out.append(_pages(x1, 0.3, None))
    p = points.get(SCALE_TARGET)
    if p is None:
        out.append(Check(f"×{SCALE_TARGET} targets (issue #12)", f"not measured (needs --scale {SCALE_TARGET})", None))
        return out
    c = p.cold
    out.append(Check("×16: search in a new process ≤ 0.5 s (median over the query set), ≤ 300 MB RSS (every query)",
                     f"{c.median:.2f} s; RSS median {c.rss_median / 1e6:.0f} MB, largest {c.rss_max / 1e6:.0f} MB",
                     c.median <= 0.5 and c.rss_max <= 300e6 and not c.errors))
    s = p.warm_summary()
    out.append(Check("×16: warm query p50 ≤ 3 ms, p99 ≤ 300 ms, slowest ≤ 1.5 s",
                     f"{s['p50']:.2f} ms / {s['p99']:.0f} ms / {s['max']:.0f} ms",
                     s["p50"] <= 3 and s["p99"] <= 300 and s["max"] <= 1500 and not p.warm.errors))
    e = p.exactness
    out.append(Check("×16: every answer exact (recall 1.0, exact totals)",
                     f"recall {e.recall:.4f} ({e.found}/{e.expected} pairs), {e.extra} extra, "
                     f"{len(e.wrong_totals)} wrong totals", is_exact(e)))
    if p.serve:
        load = p.serve.load
        out.append(Check(f"×16: API ≥ 150 req/s, every request evaluated, {load.clients} clients, 0 errors",
                         f"{load.rps:.0f} req/s, {load.errors} errors", load.rps >= 150 and load.errors == 0))
        largest = max((m.rss for m in p.serve.memory), default=0)
        private = max((m.uss for m in p.serve.memory), default=0)
        out.append(Check("×16: a server worker ≤ 600 MB RSS after the load phase",
                         f"{largest / 1e6:.0f} MB (private {private / 1e6:.0f} MB)",
                         0 < largest <= 600e6 if p.serve.memory else None))
        out.append(_pages(p, 1.0, 3.0))
    base = r.build.run if r.build else None
    run = p.build.run
    ratio = run.wall / base.wall if base and base.wall else float("nan")
    out.append(Check("×16: build ≤ 16× the ×1 build time (same run), ≤ 4 GB peak RSS summed over processes",
                     f"{ratio:.1f}× ({run.wall:.0f} s), {run.peak_rss / GB:.2f} GB",
                     ratio <= 16 and run.peak_rss <= 4 * GB))
    return out
