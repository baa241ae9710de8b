# SPDX-License-Identifier: MIT
"""Cross-node cells of bench/run (issue 13, NUMA placement).

With two NUMA nodes or more, the lrpc contender's 32 B and 64 KiB echo, one
client thread pinned to a CPU of the last node, against three servers:

  cross   server pinned to a CPU of the first node, numa=off: receivers and
          region on the far node (what placement avoids)
  follow  server unpinned, numa=follow-client: receivers on the client's
          node, region there too
  off     server unpinned, numa=off: wherever the scheduler and first touch
          put them

and reports p50 of cross / follow. With one node every cell is N/A, with
the reason; so is a machine whose nodes are all at one distance (no memory
is farther than any other, so nothing could be measured). The RPAL test
guest's fake nodes (numa=fake=2 under TCG) share one memory whatever
distance they report: bench/run is not run there.
"""
import copy
import os

SIZES = [32, 64 * 1024]
KINDS = [("cross", "off", True), ("follow", "follow-client", False), ("off", "off", False)]


def nodes():
    """{node: [cpus this process may use]}, nodes without usable CPUs left out."""
    base = "/sys/devices/system/node"
    usable = os.sched_getaffinity(0)
    out = {}
    try:
        names = os.listdir(base)
    except OSError:
        return out
    for n in names:
        if not (n.startswith("node") and n[4:].isdigit()):
            continue
        cpus = []
        try:
            with open(os.path.join(base, n, "cpulist")) as f:
                for part in f.read().strip().split(","):
                    if not part:
                        continue
                    lo, _, hi = part.partition("-")
                    cpus += range(int(lo), int(hi or lo) + 1)
        except (OSError, ValueError):
            continue
        cpus = [c for c in cpus if c in usable]
        if cpus:
            out[int(n[4:])] = cpus
    return out


def distances(node):
    try:
        with open("/sys/devices/system/node/node%d/distance" % node) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def why_not(ns):
    """Why the cells cannot run here, or None."""
    if len(ns) < 2:
        return ("this machine has %d NUMA node%s with usable CPUs; the cross-node cells"
                " need 2" % (len(ns), "" if len(ns) == 1 else "s"))
    first = min(ns)
    d = distances(first)
    if d and len(set(d)) == 1:
        return "the NUMA nodes are all at distance %d: nothing is farther" % d[0]
    return None


def run(lrpc, run_cell, cfg, tmp, log):
    """The section for the JSON: {"nodes", "status", "why", "cells"}."""
    ns = nodes()
    sec = {"nodes": {str(k): v for k, v in sorted(ns.items())}, "cells": []}
    why = why_not(ns)
    if why is None and (lrpc is None or lrpc.skip):
        why = "lrpc contender not run: %s" % (lrpc.skip if lrpc else "excluded by --only")
    if why:
        sec.update(status="N/A", why=why)
        log("bench: numa cells N/A (%s)" % why)
        return sec
    far, near = ns[min(ns)][0], ns[max(ns)][0]
    sec.update(status="ran", why=None, server_node=min(ns), client_node=max(ns))
    for kind, mode, pinned in KINDS:
        c = copy.copy(lrpc)
        c.opt = "numa=" + mode
        for size in SIZES:
            res = run_cell(c, "numa-" + kind, 1, size, cfg, None, tmp,
                           pins=(str(far) if pinned else "", str(near)))
            res.update(kind=kind, numa=mode, payload=size)
            sec["cells"].append(res)
            log("bench: numa %-6s %6d B  %s" % (
                kind, size, "p50 %d ns" % res["lat_ns"]["p50"] if res.get("ok")
                else "FAILED: %s" % res.get("error")))
    return sec


def p50(sec, kind, size):
    for r in sec.get("cells", []):
        if r.get("kind") == kind and r.get("payload") == size and r.get("ok"):
            return r["lat_ns"]["p50"]
    return None


def lines(doc):
    """Text lines for the report (plain; the markdown prefixes them)."""
    sec = doc.get("numa")
    if not sec:
        return []
    if sec["status"] != "ran":
        return ["NUMA (cross-node cells): N/A (%s)" % sec["why"]]
    out = ["NUMA, lrpc 1 client thread on node %d; server pinned to node %d (cross),"
           " unpinned with numa=follow-client (follow) or numa=off (off):" % (
               sec["client_node"], sec["server_node"])]
    for size in SIZES:
        vals = {k: p50(sec, k, size) for k, _, _ in KINDS}
        txt = ", ".join("%s p50 %s" % (k, "%d ns" % v if v else "failed")
                        for k, v in vals.items())
        if vals["cross"] and vals["follow"]:
            txt += "; cross / follow %.2f" % (vals["cross"] / vals["follow"])
        out.append("  %d B: %s" % (size, txt))
    return out
