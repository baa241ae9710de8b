# SPDX-License-Identifier: MIT
"""bench/run-mesh's summaries, targets, text and markdown reports and plots.

Loaded by bench/run-mesh (not a program of its own). Per hop is
(chain of 3 - chain of 1) / 2, computed within each round (the two chains
of a variant ran one after the other in it) and given as the median of
the rounds with their range; percentiles do not add up, so a per-hop
p99 is the difference of the chains' p99s, not the p99 of a hop.
"""
import os
import shutil
import statistics
import subprocess
import sys

PROXIED = ["tcp+haproxy", "grpc+haproxy"]
LAT_NEED, CPU_NEED = 0.01, 0.1
STATS = ("p50", "p99", "p999")


def fmt_us(ns):
    if ns is None:
        return "-"
    us = ns / 1e3
    return "%.0f us" % us if abs(us) >= 100 else "%.1f us" % us


def load_name(load):
    return "saturation" if load == "sat" else "%g/s" % load


def spread(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def cpu_per_req(r):
    return sum(r["cpu_ns"].values()) / r["requests"]


def figures(r):
    """The numbers of one cell the summary keeps."""
    f = {s: r["lat_ns"][s] for s in STATS}
    f["rps"] = r["achieved_rps"]
    f["cpu"] = cpu_per_req(r)
    for role, ns in r["cpu_ns"].items():
        f["cpu " + role] = ns / r["requests"]
    if r.get("loadgen_cpu_ns"):
        f["cpu load generator"] = r["loadgen_cpu_ns"] / r["requests"]
    return f


def ref_rate(doc):
    rates = doc["config"]["rates"]
    return 1000.0 if 1000.0 in rates else rates[0]


def summarise(doc):
    """cells[variant][hops][load]: medians (min-max) of every figure;
    hop[variant][load]: the same of each round's (3 - 1) / 2."""
    cfg = doc["config"]
    loads = cfg["rates"] + ["sat"]
    by = {}
    for r in doc["runs"]:
        if r.get("ok"):
            by[(r["variant"], r["hops"], str(r["load"]), r["round"])] = figures(r)
    cells, hop = {}, {}
    for v in doc["variants"]:
        for load in loads:
            for h in (1, 3):
                fs = [by[k] for k in by if k[:3] == (v, h, str(load))]
                if fs:
                    keys = sorted({k for f in fs for k in f})
                    cells.setdefault(v, {}).setdefault(str(h), {})[str(load)] = {
                        k: spread([f.get(k) for f in fs]) for k in keys}
            diffs = {}
            for rnd in range(cfg["rounds"]):
                a, b = by.get((v, 1, str(load), rnd)), by.get((v, 3, str(load), rnd))
                if a and b:
                    for k in STATS + ("cpu",):
                        diffs.setdefault(k, []).append((b[k] - a[k]) / 2)
            if diffs:
                hop.setdefault(v, {})[str(load)] = {k: spread(x) for k, x in diffs.items()}
    return {"cells": cells, "hop": hop}


def per_round_hop(doc, v, load, key):
    """{round: (chain 3 - chain 1) / 2 of key} for variant v."""
    by = {(r["hops"], r["round"]): figures(r)[key] for r in doc["runs"]
          if r.get("ok") and r["variant"] == v and str(r["load"]) == str(load)}
    return {rnd: (by[(3, rnd)] - by[(1, rnd)]) / 2 for (h, rnd) in by
            if h == 3 and (1, rnd) in by}


def hop_ratio(doc, v, load, key):
    """Per round: v's per-hop key over the smaller (stricter) per-hop key
    of the proxied variants; the median and range of the rounds."""
    mine = per_round_hop(doc, v, load, key)
    peers = [per_round_hop(doc, p, load, key) for p in PROXIED]
    out = []
    for rnd, x in mine.items():
        ref = [p[rnd] for p in peers if rnd in p and p[rnd] > 0]
        if ref:
            out.append(x / min(ref))
    return spread(out)


def targets(doc):
    ref = ref_rate(doc)
    out = []
    checks = [("p50", ref, LAT_NEED), ("p99", ref, LAT_NEED), ("cpu", ref, CPU_NEED),
              ("cpu", "sat", CPU_NEED)]
    what = {"p50": "p50 latency", "p99": "p99 latency", "cpu": "CPU per request"}
    for v in [v for v in doc["variants"] if v not in PROXIED]:
        for key, load, need in checks:
            label = "%s hop / proxied hop, %s at %s <= %g" % (v, what[key], load_name(load), need)
            t = {"variant": v, "key": key, "load": load, "need": need,
                 "target": label if v == "lrpc" else label.rsplit(" <=", 1)[0] + " (no target)"}
            s = hop_ratio(doc, v, load, key)
            if not s:
                t.update(value=None, verdict="N/A",
                         why="%s or the proxied variants not measured in the same round" % v)
            else:
                t.update(value=round(s["median"], 4), range=[round(s["min"], 4),
                                                             round(s["max"], 4)],
                         verdict=("PASS" if s["median"] <= need else "MISS")
                         if v == "lrpc" else "INFO")
                if s["median"] <= 0:
                    # The chain of 3 measured no worse than the chain of 1:
                    # the run cannot tell, so it neither passes nor misses.
                    t["note"] = "below this run's noise"
                    if v == "lrpc":
                        t["verdict"] = "N/A"
                        t["why"] = "the added time per hop is below this run's noise"
            out.append(t)
    return out


# --- text and markdown ---------------------------------------------------------

def rng(s, f=fmt_us):
    if not s:
        return "-"
    if s["n"] == 1:
        return f(s["median"])
    return "%s (%s..%s)" % (f(s["median"]), f(s["min"]), f(s["max"]))


def conditions(doc):
    m, c = doc["machine"], doc["config"]
    other = [r.get("foreign_cpus") or 0 for r in doc["runs"] if r.get("ok")]
    return [
        "kernel %s; CPU %s (%d usable); virtualisation: %s; RPAL %s" % (
            m["kernel"], m["cpu_model"], len(m["cpus_usable"]), m["virtualisation"],
            "yes" if m["rpal"] else "no"),
        "%d rounds; each runs every load on every mesh, the meshes' order rotated per round;"
        " %.2f s warm-up, %.2f s measured per cell; all meshes up side by side, unpinned%s" % (
            c["rounds"], c["warmup"], c["duration"], "; QUICK" if c["quick"] else ""),
        "fixed rates open loop (bench-mesh-load, %d keep-alive connections, latency from when"
        " each request was due); saturation closed loop, %s with %d connections" % (
            c["connections"], "wrk" if c["wrk"] else "bench-mesh-load", c["sat_connections"]),
        "1 KiB payload (a string field: 1 KiB in JSON and in protobuf); per hop ="
        " (chain of 3 - chain of 1) / 2 in each round; CPU/req = CPU of every mesh process"
        " (gateway, relays, proxies; not the load generator) in the window / requests",
        "shared machine: load average %s at the start, %s at the end; other processes used"
        " %.2f CPUs per cell (median, max %.2f)" % (
            doc["loadavg_start"], doc["loadavg_end"],
            statistics.median(other) if other else 0, max(other) if other else 0),
        "date %s, git %s" % (doc["date_utc"], doc.get("git") or "n/a"),
    ]


def target_rows(doc):
    rows = []
    for t in doc["targets"]:
        if t["value"] is None:
            val = "n/a (%s)" % t.get("why")
        else:
            val = "%.3g (rounds %.3g..%.3g)" % (t["value"], t["range"][0], t["range"][1])
            if t.get("note"):
                val += ", " + t["note"]
        rows.append((t["verdict"], t["target"], val))
    return rows


def e2e_rows(doc):
    rows = []
    sm = doc["summary"]
    for v, per in sm["cells"].items():
        for h, loads in sorted(per.items()):
            for load, f in loads.items():
                rows.append([v, h, load_name(float(load) if load != "sat" else "sat"),
                             rng(f["rps"], lambda x: "%.0f" % x), rng(f["p50"]),
                             rng(f["p99"]), rng(f["p999"]), rng(f["cpu"])])
    return rows


def hop_rows(doc):
    rows = []
    for v, loads in doc["summary"]["hop"].items():
        for load, f in loads.items():
            rows.append([v, load_name(float(load) if load != "sat" else "sat"),
                         rng(f["p50"]), rng(f["p99"]), rng(f["p999"]), rng(f["cpu"])])
    return rows


def process_rows(doc):
    """Per process CPU per request, chain of 3, at the reference rate and saturation."""
    rows = []
    for v, per in doc["summary"]["cells"].items():
        for load in (str(ref_rate(doc)), "sat"):
            f = per.get("3", {}).get(load)
            if not f:
                continue
            parts = ["%s %s" % (k[4:], fmt_us(s["median"])) for k, s in sorted(f.items())
                     if k.startswith("cpu ") and s]
            rows.append([v, load_name(float(load) if load != "sat" else "sat"),
                         ", ".join(parts)])
    return rows


E2E_HEAD = ["variant", "hops", "load", "req/s", "p50", "p99", "p99.9", "CPU/req"]
HOP_HEAD = ["variant", "load", "p50 +", "p99 +", "p99.9 +", "CPU/req +"]


def print_text(doc):
    print("== lazyrpc mesh bench (%s) ==" % doc["date_utc"])
    for line in conditions(doc):
        print(line)
    for v, c in doc["variants"].items():
        if c["status"] != "ran":
            print("%-13s skipped (%s)" % (v, c["why"]))
    for title, head, rows in (("End to end (median of rounds, min..max)", E2E_HEAD,
                               e2e_rows(doc)),
                              ("Added per hop", HOP_HEAD, hop_rows(doc))):
        print("\n" + title + ":")
        w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
             for i, h in enumerate(head)]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
        for r in rows:
            print("  ".join(x.ljust(w[i]) for i, x in enumerate(r)).rstrip())
    print("\nCPU per request by process, chain of 3:")
    for r in process_rows(doc):
        print("  %-13s %-11s %s" % tuple(r))
    failed = [r for r in doc["runs"] if not r.get("ok")]
    if failed:
        print("\n%d cells FAILED, e.g. %s/%d %s: %s" % (
            len(failed), failed[0]["variant"], failed[0]["hops"], failed[0]["load"],
            failed[0].get("error")))
    print("\nTargets (a lrpc:// hop against the cheaper proxied hop of each round):")
    for verdict, label, val in target_rows(doc):
        print("  %-4s %s  -> %s" % (verdict, label, val))


def markdown(doc):
    o = ["### Conditions\n"] + ["- " + line for line in conditions(doc)]
    o.append("\n### Variants\n")
    for v, c in doc["variants"].items():
        o.append("- `%s`: %s%s" % (v, c["text"], "" if c["status"] == "ran"
                                   else " — **skipped** (%s)" % c["why"]))
    o.append("\n### Targets (per hop, against the cheaper of `tcp+haproxy` and"
             " `grpc+haproxy` in each round; median of the rounds' ratios)\n")
    o.append("| verdict | target | measured |")
    o.append("| --- | --- | --- |")
    for verdict, label, val in target_rows(doc):
        o.append("| %s | %s | %s |" % (verdict, label, val))
    for title, head, rows in (("End to end (median of the rounds, min..max)", E2E_HEAD,
                               e2e_rows(doc)),
                              ("Added per hop: (chain of 3 - chain of 1) / 2", HOP_HEAD,
                               hop_rows(doc))):
        o.append("\n### %s\n" % title)
        o.append("| " + " | ".join(head) + " |")
        o.append("|" + " --- |" * len(head))
        for r in rows:
            o.append("| " + " | ".join(r) + " |")
    o.append("\n### CPU per request by process (chain of 3, median of the rounds)\n")
    o.append("| variant | load | processes |")
    o.append("| --- | --- | --- |")
    for r in process_rows(doc):
        o.append("| " + " | ".join(r) + " |")
    failed = [r for r in doc["runs"] if not r.get("ok")]
    if failed:
        o.append("\n%d cells failed; first: `%s/%d %s`: %s" % (
            len(failed), failed[0]["variant"], failed[0]["hops"], failed[0]["load"],
            failed[0].get("error")))
    if doc.get("plots"):
        o.append("\nPlots: " + ", ".join("`%s`" % p for p in doc["plots"]))
    return "\n".join(o) + "\n"


# --- plots ---------------------------------------------------------------------

def gnuplot(script, svg, made):
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode == 0:
        made.append(svg)
    else:
        print("run-mesh: gnuplot failed for %s: %s" % (os.path.basename(svg),
                                                      r.stderr.strip()[:200]), file=sys.stderr)


def plots(doc, outdir):
    if not shutil.which("gnuplot"):
        return []
    made, sm = [], doc["summary"]
    names = [v for v in sm["cells"] if sm["cells"][v].get("3")]
    rates = doc["config"]["rates"]
    # End to end p50 / p99 against the offered rate, chain of 3.
    dat = os.path.join(outdir, "mesh_latency_by_rate.dat")
    series = []
    with open(dat, "w") as f:
        for v in names:
            pts = [(r, sm["cells"][v]["3"][str(r)]) for r in rates
                   if str(r) in sm["cells"][v]["3"]]
            if not pts:
                continue
            f.write("# %s\n" % v)
            for r, c in pts:
                f.write("%g %g %g\n" % (r, c["p50"]["median"] / 1e3, c["p99"]["median"] / 1e3))
            f.write("\n\n")
            series.append(v)
    if series:
        svg = os.path.join(outdir, "mesh_latency_by_rate.svg")
        pl = []
        for i, v in enumerate(series):
            pl.append("'%s' index %d using 1:2 with linespoints lw 2 lc %d title '%s p50'"
                      % (dat, i, i + 1, v))
            pl.append("'%s' index %d using 1:3 with linespoints dt 2 lc %d notitle"
                      % (dat, i, i + 1))
        gnuplot("\n".join([
            "set terminal svg size 900,560 dynamic font 'sans,12'", "set output '%s'" % svg,
            "set key outside right", "set grid", "set logscale y",
            "set title 'HTTP -> gateway -> 3 hops, 1 KiB, open loop: end-to-end latency'",
            "set xlabel 'offered requests/s'",
            "set ylabel 'latency (us), solid p50, dashed p99'",
            "set logscale x" if len(rates) > 1 else "set xrange [%g:%g]" % (
                rates[0] * 0.5, rates[0] * 1.5),
            "plot " + ", \\\n  ".join(pl)]) + "\n", svg, made)
    # Per hop at the reference rate: p50, p99 and CPU per request.
    ref = str(ref_rate(doc))
    dat = os.path.join(outdir, "mesh_per_hop.dat")
    rows = [(v, sm["hop"][v][ref]) for v in sm["hop"] if ref in sm["hop"][v]]
    if rows:
        with open(dat, "w") as f:
            f.write("# variant p50 p99 cpu (us, per hop)\n")
            for v, h in rows:
                f.write('"%s" %s\n' % (v, " ".join("%.2f" % max(0.1, h[k]["median"] / 1e3)
                                                    for k in ("p50", "p99", "cpu"))))
        svg = os.path.join(outdir, "mesh_per_hop.svg")
        gnuplot("\n".join([
            "set terminal svg size 900,560 dynamic font 'sans,12'", "set output '%s'" % svg,
            "set style data histogram", "set style histogram clustered gap 1",
            "set style fill solid 0.8 border -1", "set logscale y", "set grid y",
            "set title 'Added per hop at %s: (chain of 3 - chain of 1) / 2; 0 or less drawn at 0.1'" % load_name(
                float(ref)),
            "set ylabel 'microseconds (log)'", "set key top left",
            "plot '%s' using 2:xtic(1) title 'p50', '' using 3 title 'p99',"
            " '' using 4 title 'CPU per request'" % dat]) + "\n", svg, made)
    return made
