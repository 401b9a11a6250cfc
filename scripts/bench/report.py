#!/usr/bin/env python3
"""Turns the raw measurements of scripts/bench/run (one JSON object per line) into
report.json and report.md. Every figure is the median over runs; every ratio is computed
within a run (against that run's direct and nginx figures) and then the median is taken,
because absolute figures drift on shared machines while same-run ratios hold."""

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

SLOW_UPSTREAM_MS = 50.0
C256 = 256


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load(raw_path):
    rows = [json.loads(line) for line in Path(raw_path).read_text().splitlines() if line.strip()]
    by = defaultdict(dict)  # (scenario, run) -> target -> row
    for r in rows:
        by[(r["scenario"], r["run"])][r["target"]] = r
    return rows, by


def per_run(by, scenario, fn):
    """fn(targets_of_one_run) for each run of a scenario, None where data is missing."""
    out = []
    for (s, _run), targets in sorted(by.items()):
        if s != scenario:
            continue
        try:
            out.append(fn(targets))
        except (KeyError, ZeroDivisionError, TypeError):
            out.append(None)
    return out


def summarise(rows, by):
    res = {"scenarios": {}, "derived": {}}
    metrics = ["rps", "p50_ms", "p99_ms", "p999_ms", "cpu_s_per_1k", "upstream_cpu_s_per_1k",
               "errors", "first_event_p50_ms", "first_event_p99_ms", "total_p50_ms",
               "total_p99_ms", "reads_p50", "hwm_kb"]
    for scenario in sorted({r["scenario"] for r in rows}):
        if scenario == "hold":
            continue
        res["scenarios"][scenario] = {}
        for target in ("direct", "nginx", "forge"):
            sel = [r for r in rows if r["scenario"] == scenario and r["target"] == target]
            if not sel:
                continue
            res["scenarios"][scenario][target] = {
                m: median([r.get(m) for r in sel]) for m in metrics if any(m in r for r in sel)
            }
            res["scenarios"][scenario][target]["runs"] = len(sel)
    d = res["derived"]

    def added(t, m):
        return lambda x: x[t][m] - x["direct"][m]

    def ratio_added(m):
        return lambda x: (x["forge"][m] - x["direct"][m]) / (x["nginx"][m] - x["direct"][m])

    d["c1_added_p50_ms_forge"] = median(per_run(by, "c1", added("forge", "p50_ms")))
    d["c1_added_p50_ms_nginx"] = median(per_run(by, "c1", added("nginx", "p50_ms")))
    d["c1_added_p99_ms_forge"] = median(per_run(by, "c1", added("forge", "p99_ms")))
    d["c1_added_p99_ms_nginx"] = median(per_run(by, "c1", added("nginx", "p99_ms")))
    d["c1_added_p50_ratio"] = median(per_run(by, "c1", ratio_added("p50_ms")))
    d["c1_added_p99_ratio"] = median(per_run(by, "c1", ratio_added("p99_ms")))
    d["c64_cpu_ratio"] = median(per_run(
        by, "c64", lambda x: x["forge"]["cpu_s_per_1k"] / x["nginx"]["cpu_s_per_1k"]))
    d["c64_rps_ratio"] = median(per_run(by, "c64", lambda x: x["forge"]["rps"] / x["nginx"]["rps"]))
    d["stream_first_event_added_ms_forge"] = median(
        per_run(by, "stream", added("forge", "first_event_p50_ms")))
    d["stream_first_event_added_ms_nginx"] = median(
        per_run(by, "stream", added("nginx", "first_event_p50_ms")))
    d["paced_first_event_added_ms_forge"] = median(
        per_run(by, "paced", added("forge", "first_event_p50_ms")))
    d["paced_total_ratio_forge"] = median(
        per_run(by, "paced", lambda x: x["forge"]["total_p50_ms"] / x["direct"]["total_p50_ms"]))
    d["paced_total_ratio_nginx"] = median(
        per_run(by, "paced", lambda x: x["nginx"]["total_p50_ms"] / x["direct"]["total_p50_ms"]))
    ideal = C256 / (SLOW_UPSTREAM_MS / 1000.0)
    d["c256_ideal_rps"] = ideal
    d["c256_fraction_of_ideal_forge"] = median(per_run(by, "c256", lambda x: x["forge"]["rps"] / ideal))
    d["c256_fraction_of_ideal_nginx"] = median(per_run(by, "c256", lambda x: x["nginx"]["rps"] / ideal))
    d["c256_fraction_of_direct_forge"] = median(
        per_run(by, "c256", lambda x: x["forge"]["rps"] / x["direct"]["rps"]))
    hold = [r for r in rows if r["scenario"] == "hold"]
    if hold:
        res["hold"] = hold[-1]
    return res


def fmt(v, digits=3):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def targets_table(res, meta):
    d = res["derived"]
    sc = res["scenarios"]
    rows = []

    def cmp(v, limit, le=True):
        if v is None:
            return None
        return v <= limit if le else v >= limit

    rows.append(("Added latency p50 at 1 connection, Forge / nginx", "<= 1.5x",
                 f"{fmt(d['c1_added_p50_ratio'], 2)}x ({fmt(d['c1_added_p50_ms_forge'], 4)} ms vs "
                 f"{fmt(d['c1_added_p50_ms_nginx'], 4)} ms)", verdict(cmp(d["c1_added_p50_ratio"], 1.5))))
    rows.append(("Added latency p99 at 1 connection, Forge / nginx", "<= 2x",
                 f"{fmt(d['c1_added_p99_ratio'], 2)}x ({fmt(d['c1_added_p99_ms_forge'], 4)} ms vs "
                 f"{fmt(d['c1_added_p99_ms_nginx'], 4)} ms)", verdict(cmp(d["c1_added_p99_ratio"], 2.0))))
    f64 = sc.get("c64", {}).get("forge", {})
    n64 = sc.get("c64", {}).get("nginx", {})
    rows.append(("CPU per request at 64 connections, Forge / nginx", "<= 2x",
                 f"{fmt(d['c64_cpu_ratio'], 2)}x ({fmt(f64.get('cpu_s_per_1k'), 4)} vs "
                 f"{fmt(n64.get('cpu_s_per_1k'), 4)} CPU-s per 1k requests)",
                 verdict(cmp(d["c64_cpu_ratio"], 2.0))))
    if f64.get("hwm_kb"):
        rows.append(("Peak RSS during the 64-connection run", "<= 50 MB",
                     f"{f64['hwm_kb'] / 1024:.1f} MB (nginx, master and worker: "
                     f"{(n64.get('hwm_kb') or 0) / 1024:.1f} MB)",
                     verdict(cmp(f64["hwm_kb"], 50 * 1024))))
    nginx_first = d["stream_first_event_added_ms_nginx"]
    rows.append(("Stream: first event added over direct (20 instant chunks)", "<= nginx's + 0.1 ms",
                 f"{fmt(d['stream_first_event_added_ms_forge'], 4)} ms (nginx "
                 f"{fmt(nginx_first, 4)} ms)",
                 verdict(None if nginx_first is None
                         else cmp(d["stream_first_event_added_ms_forge"], nginx_first + 0.1))))
    fp = sc.get("paced", {}).get("forge", {})
    rows.append(("Paced stream (20 chunks, 5 ms apart): total vs direct, chunk by chunk", "<= 1.02x",
                 f"{fmt(d['paced_total_ratio_forge'], 4)}x, {fmt(fp.get('reads_p50'), 0)} reads per stream",
                 verdict(cmp(d["paced_total_ratio_forge"], 1.02))))
    f256 = sc.get("c256", {}).get("forge", {})
    # The upstream's 50 ms sleeps end on a timer tick (~51-52 ms), so the rate direct clients
    # reach through the same upstream is the achievable ideal; 256 / 50 ms is shown beside it.
    rows.append(("256 connections, 50 ms upstream: share of ideal rate (= direct's)", ">= 95%",
                 f"{fmt((d['c256_fraction_of_direct_forge'] or 0) * 100, 1)}% of direct "
                 f"({fmt(f256.get('rps'), 0)} req/s; {fmt((d['c256_fraction_of_ideal_forge'] or 0) * 100, 1)}% "
                 f"of 256 / 50 ms = {fmt(d['c256_ideal_rps'], 0)})",
                 verdict(cmp(d["c256_fraction_of_direct_forge"], 0.95, le=False))))
    rows.append(("256 connections, 50 ms upstream: p99", "<= 60 ms",
                 f"{fmt(f256.get('p99_ms'), 2)} ms", verdict(cmp(f256.get("p99_ms"), 60.0))))
    idle = int(meta.get("idle_rss_kb", 0) or 0)
    rows.append(("Idle RSS", "<= 30 MB", f"{idle / 1024:.1f} MB", verdict(idle <= 30 * 1024 if idle else None)))
    h = res.get("hold")
    if h:
        held_mb = h["rss_held_kb"] / 1024
        cut = f" (asked {h['requested']:,}; `ulimit -n` allowed fewer)" if h["requested"] > h["streams"] else ""
        rows.append((f"{h['streams']:,} concurrent slow streams{cut}: RSS, errors", "10,000 streams, <= 300 MB, 0 errors",
                     f"{held_mb:.1f} MB held (peak {h['hwm_kb'] / 1024:.1f} MB), {h['started']:,} started, "
                     f"{h['ok']:,} ok, {h['errors']:,} errors, {h['unfinished']:,} unfinished",
                     verdict(held_mb <= 300 and h["errors"] == 0 and h["unfinished"] == 0
                             and h["started"] == h["streams"] and h["streams"] >= 10000)))
        back = h["rss_after_kb"] / max(h["rss_before_kb"], 1)
        rows.append(("RSS after the streams end vs before them", "<= 1.10x",
                     f"{back:.2f}x ({h['rss_before_kb'] / 1024:.1f} MB -> {h['rss_after_kb'] / 1024:.1f} MB; "
                     f"idle at start {h['rss_idle_kb'] / 1024:.1f} MB)", verdict(back <= 1.10)))
    out = ["| target (issue 6) | goal | measured (median of runs) | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {v} |" for a, b, c, v in rows]
    return out


def scenario_tables(res):
    sc = res["scenarios"]
    out = []
    titles = {
        "c64": "(1) 64 connections, closed loop, instant JSON",
        "c1": "(2) 1 connection, instant JSON",
        "c256": "(4) 256 connections, upstream answers after 50 ms",
    }
    for key, title in titles.items():
        if key not in sc:
            continue
        out += ["", f"### {title}", "",
                "| path | req/s | p50 ms | p99 ms | p99.9 ms | proxy CPU-s / 1k req | upstream CPU-s / 1k req | errors |",
                "|---|---|---|---|---|---|---|---|"]
        for t in ("direct", "nginx", "forge"):
            r = sc[key].get(t)
            if not r:
                continue
            cpu = "(upstream only)" if t == "direct" else fmt(r.get("cpu_s_per_1k"), 4)
            out.append(f"| {t} | {fmt(r['rps'], 0)} | {fmt(r['p50_ms'], 4)} | {fmt(r['p99_ms'], 4)} | "
                       f"{fmt(r['p999_ms'], 4)} | {cpu} | {fmt(r.get('upstream_cpu_s_per_1k'), 4)} | "
                       f"{fmt(r['errors'], 0)} |")
    for key, title in (("stream", "(3a) stream, 20 chunks at once"), ("paced", "(3b) stream, 20 chunks 5 ms apart")):
        if key not in sc:
            continue
        out += ["", f"### {title}", "",
                "| path | first event p50 ms | first event p99 ms | total p50 ms | total p99 ms | reads per stream | errors |",
                "|---|---|---|---|---|---|---|"]
        for t in ("direct", "nginx", "forge"):
            r = sc[key].get(t)
            if r:
                out.append(f"| {t} | {fmt(r['first_event_p50_ms'], 4)} | {fmt(r['first_event_p99_ms'], 4)} | "
                           f"{fmt(r['total_p50_ms'], 4)} | {fmt(r['total_p99_ms'], 4)} | "
                           f"{fmt(r['reads_p50'], 0)} | {fmt(r['errors'], 0)} |")
    return out


def main():
    raw, out_dir = sys.argv[1], Path(sys.argv[2])
    meta = {}
    if "--meta" in sys.argv:
        for kv in sys.argv[sys.argv.index("--meta") + 1:]:
            k, _, v = kv.partition("=")
            meta[k] = v
    rows, by = load(raw)
    res = summarise(rows, by)
    res["meta"] = meta
    (out_dir / "report.json").write_text(json.dumps(res, indent=2) + "\n")
    md = ["# Forge benchmark", "",
          f"Commit `{meta.get('commit', '?')}`, {meta.get('cpu', '?')}; gateway (Forge with 1 worker, or nginx "
          f"{meta.get('nginx', '?')} with 1 worker) pinned to CPU {meta.get('gateway_cpu', '?')}, wrk and the fake "
          f"upstream on CPU {meta.get('load_cpu', '?')}. Medians of {meta.get('runs', '?')} runs of "
          f"{meta.get('duration_s', '?')} s; ratios are taken within each run. Load average before / after: "
          f"{meta.get('load_before', '?')} / {meta.get('load_after', '?')}. Forge peak RSS (VmHWM) over the whole "
          f"bench: {int(meta.get('forge_hwm_kb', 0) or 0) / 1024:.1f} MB.", "", "## Targets", ""]
    md += targets_table(res, meta)
    md += ["", "## Scenarios"]
    md += scenario_tables(res)
    md.append("")
    (out_dir / "report.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
