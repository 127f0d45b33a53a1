#!/usr/bin/env python3
"""Turns the harness's raw samples (latest.json) into latest.md and PNG charts.

Usage: bench/report.py [RESULTS_DIR]   (default bench/results; reads RESULTS_DIR/latest.json)

Every cell is the median over the rounds with the min-max range in brackets; a ratio divides
the target's median by the reference's median. Nothing is averaged across targets or topologies.
"""
import json
import os
import statistics
import sys

TARGET_LABEL = {"direct": "direct", "ferry-sockmap": "Ferry sockmap",
                "ferry-sockmap-flow": "Ferry sockmap, flow control 4MiB", "ferry-splice": "Ferry splice",
                "ferry-copy": "Ferry copy", "haproxy": "HAProxy"}
COLOR = {"direct": "#888888", "ferry-sockmap": "#1f77b4", "ferry-sockmap-flow": "#2ca02c", "ferry-splice": "#17becf",
         "ferry-copy": "#9467bd", "haproxy": "#d62728"}

# (scenario, field, label, unit scale, decimals, better)
METRICS = [
    ("bulk1", "gbps", "Throughput, 1 stream (Gbit/s)", 1, 2, "higher"),
    ("bulk8", "gbps", "Throughput, 8 streams (Gbit/s)", 1, 2, "higher"),
    ("bulk1", "cpu_s_per_gib", "Host CPU per GiB, 1 stream (CPU-s)", 1, 2, "lower"),
    ("bulk1", "cpu_s_per_gib-direct", "  the proxy's share: minus direct (CPU-s/GiB)", 1, 2, "lower"),
    ("bulk1", "proxy_cpu_s_per_gib", "  of which the proxy process itself (CPU-s/GiB)", 1, 2, "lower"),
    ("bulk8", "cpu_s_per_gib", "Host CPU per GiB, 8 streams (CPU-s)", 1, 2, "lower"),
    ("bulk8", "cpu_s_per_gib-direct", "  the proxy's share: minus direct (CPU-s/GiB)", 1, 2, "lower"),
    ("bulk8", "proxy_cpu_s_per_gib", "  of which the proxy process itself (CPU-s/GiB)", 1, 2, "lower"),
    ("lat64", "p50", "Round trip 64 B, p50 (µs)", 1, 1, "lower"),
    ("lat64", "p99", "Round trip 64 B, p99 (µs)", 1, 1, "lower"),
    ("lat64", "p99.9", "Round trip 64 B, p99.9 (µs)", 1, 0, "lower"),
    ("lat16k", "p50", "Round trip 16 KiB, p50 (µs)", 1, 1, "lower"),
    ("lat16k", "p99", "Round trip 16 KiB, p99 (µs)", 1, 1, "lower"),
    ("lat16k", "p99.9", "Round trip 16 KiB, p99.9 (µs)", 1, 0, "lower"),
    ("conn", "rate", "New connections/s (TLS ClientHello, SNI-routed)", 1, 0, "higher"),
    ("conn", "ttfb_p50", "Connect to first answer byte, p50 (µs)", 1, 0, "lower"),
    ("conn", "ttfb_p99", "Connect to first answer byte, p99 (µs)", 1, 0, "lower"),
    ("conn", "close_p50", "Connect to the answer's end (EOF), p50 (µs)", 1, 0, "lower"),
    ("conn", "close_p99", "Connect to the answer's end (EOF), p99 (µs)", 1, 0, "lower"),
    ("conn", "host_cpu_us_per_conn", "Host CPU per connection (µs)", 1, 0, "lower"),
    ("conn", "proxy_cpu_us_per_conn", "  of which the proxy process itself (µs)", 1, 0, "lower"),
    ("conn", "ttfb_p50-direct", "  handoff, client-side: minus direct, p50 (µs)", 1, 0, "lower"),
    ("conn", "ttfb_p99-direct", "  handoff, client-side: minus direct, p99 (µs)", 1, 0, "lower"),
    ("mem", "rss_per_conn", "Proxy RSS per idle connection, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem", "heap_per_conn", "Java live heap per idle connection, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem", "fds_per_conn", "Proxy file descriptors per idle connection, {n}", 1, 1, "lower"),
    ("mem", "sockmem_per_conn", "Kernel socket buffers per connection, all its sockets, {n} (B)", 1, 0, "lower"),
    ("mem", "slab_per_conn", "Kernel slab objects per connection, whole host, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem", "slab_per_conn-direct", "  the proxy's share: minus direct (KiB)", 1 / 1024, 2, "lower"),
    ("mem_big", "rss_per_conn", "Proxy RSS per idle connection, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem_big", "heap_per_conn", "Java live heap per idle connection, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem_big", "rss_total", "Proxy RSS with {n} idle connections (MiB)", 1 / 2**20, 0, "lower"),
    ("mem_big", "slab_per_conn", "Kernel slab objects per connection, whole host, {n} (KiB)", 1 / 1024, 2, "lower"),
    ("mem_big", "slab_per_conn-direct", "  the proxy's share: minus direct (KiB)", 1 / 1024, 2, "lower"),
    ("mem_big", "conn_per_s", "Opening {n} idle connections (connections/s)", 1, 0, "higher"),
]


def values(res, scenario, field, target):
    return [s[field] for s in res["samples"].get(scenario, {}).get(target, []) if s.get(field) is not None]


def stat(res, scenario, field, target):
    """(median, min, max, n) of a metric; "-direct" fields subtract direct's median."""
    if field.endswith("-direct"):
        base = stat(res, scenario, field[:-7], "direct")
        own = stat(res, scenario, field[:-7], target)
        if target == "direct" or base is None or own is None:
            return None
        return (own[0] - base[0], own[1] - base[0], own[2] - base[0], own[3])
    vs = values(res, scenario, field, target)
    if not vs:
        return None
    return statistics.median(vs), min(vs), max(vs), len(vs)


def fmt(x, scale, decimals):
    return f"{x * scale:,.{decimals}f}"


def cell(res, metric, target):
    scenario, field, _, scale, decimals, _ = metric
    info = res["targets"].get(target)
    if info is None:
        return "not run"
    if not info["available"]:
        return "not available"
    s = stat(res, scenario, field, target)
    if s is None:
        failed = any(e["target"] == target and e["scenario"] == scenario for e in res["errors"])
        return "failed" if failed else "–"
    median, lo, hi, n = s
    if n == 1 or fmt(lo, scale, decimals) == fmt(hi, scale, decimals):
        return fmt(median, scale, decimals)
    return f"{fmt(median, scale, decimals)} [{fmt(lo, scale, decimals)}–{fmt(hi, scale, decimals)}]"


def ratio(res, metric, target, reference):
    scenario, field, *_ = metric
    if field.endswith("-direct") or target == reference:
        return ""
    a, b = stat(res, scenario, field, target), stat(res, scenario, field, reference)
    if a is None or b is None or b[0] == 0:
        return "–"
    return f"{a[0] / b[0]:.2f}×"


def label(metric, profile):
    scenario = metric[0]
    n = profile.get("hold_big") if scenario == "mem_big" else profile.get("hold_small")
    return metric[2].format(n=f"{n // 1000}k" if n and n >= 1000 else n)


def present_metrics(res):
    return [m for m in METRICS if any(stat(res, m[0], m[1], t) for t in res["targets"])]


def topology_section(name, res, profile, targets):
    out = [f"## Topology: {name}", ""]
    if name == "netns":
        out += ["Client, proxy and backend each in a network namespace, joined by two veth pairs "
                "(10.213.1.0/24 and 10.213.2.0/24); *direct* is routed by the proxy namespace's kernel, "
                "so it crosses the same two links.", ""]
    else:
        out += ["Client, proxy and backend on 127.0.0.0/8 in one private network namespace (the host's "
                "loopback code path, without other programs' ports or sysctls).", ""]
    out += ["| metric | " + " | ".join(TARGET_LABEL[t] for t in targets) + " |",
            "|---|" + "---:|" * len(targets)]
    metrics = present_metrics(res)
    for m in metrics:
        out.append(f"| {label(m, profile)} | " + " | ".join(cell(res, m, t) for t in targets) + " |")
    ferries = [t for t in targets if t.startswith("ferry-") and res["targets"].get(t, {}).get("available")]
    refs = [r for r in ("direct", "haproxy") if res["targets"].get(r, {}).get("available")]
    if ferries and refs:
        out += ["", f"Ratios, {name} (Ferry's median ÷ the reference's median; above 1 means more: "
                    "better for throughput and connection rate, worse for latency, CPU and memory):", ""]
        cols = [(f, r) for f in ferries for r in refs]
        out += ["| metric | " + " | ".join(f"{TARGET_LABEL[f].replace('Ferry ', '')} ÷ {TARGET_LABEL[r]}"
                                           for f, r in cols) + " |",
                "|---|" + "---:|" * len(cols)]
        for m in metrics:
            if m[1].endswith("-direct"):
                continue
            row = [ratio(res, m, f, r) if not (r == "direct" and m[0].startswith("mem") and "slab" not in m[1]
                                               and "sockmem" not in m[1]) else "" for f, r in cols]
            if any(c not in ("", "–") for c in row):
                out.append(f"| {label(m, profile)} | " + " | ".join(row) + " |")
    unavailable = [(t, res["targets"][t]["reason"]) for t in targets if t in res["targets"]
                   and not res["targets"][t]["available"]]
    notes = [(t, res["targets"][t]["note"]) for t in targets if res["targets"].get(t, {}).get("note")
             and res["targets"][t]["available"]]
    warmups = [(t, res["targets"][t]["warmup"]) for t in targets if (res["targets"].get(t) or {}).get("warmup")]
    if unavailable or notes or warmups:
        out.append("")
    for t, reason in unavailable:
        out.append(f"- **{TARGET_LABEL[t]}**: {reason}")
    for t, note in notes:
        out.append(f"- {TARGET_LABEL[t]}: {note}")
    for t, w in warmups:
        out.append(f"- {TARGET_LABEL[t]}: warmed up {w['extra_s']} s more, until its JIT compiler threads used "
                   f"{w['jit_share']:.0%} of the wall time (the goal: under {w['settled_below']:.0%})")
    if res["ferry_stats"]:
        out += ["", "Connections each Ferry reported on its admin endpoint (`ferry_connections_forwarded_total` and "
                    "`ferry_connections_ended_total` by plane, `ferry_sockmap_fallback_total`):", ""]
        for t, st in res["ferry_stats"].items():
            planes = ", ".join(f"{p}: {n}" for p, n in sorted(st["forwarded_by_plane"].items())) or "none"
            ended = ", ".join(f"{p}: {n}" for p, n in sorted(st.get("ended_by_plane", {}).items())) or "none"
            falls = ", ".join(f"{k}: {n}" for k, n in sorted(st["fallbacks"].items())) or "none"
            out.append(f"- {TARGET_LABEL[t]}: forwarded {planes}; ended, by the plane that carried them: {ended}; "
                       f"fallbacks {falls}")
    if res["errors"]:
        out += ["", "Failed measurements (left out of the medians):", ""]
        for e in res["errors"]:
            out.append(f"- {e['scenario']} / {TARGET_LABEL.get(e['target'], e['target'])}: `{e['error']}`")
    bg = [s["background"] for by_target in res["samples"].values() for samples in by_target.values()
          for s in samples if s.get("background") is not None] or res.get("background") or []
    if bg:
        busy = sum(1 for b in bg if b >= 0.10)
        out += ["", f"Other load on the host (busy share of all cores while the harness slept just before "
                    f"each measurement): median {statistics.median(bg):.0%}, max {max(bg):.0%}; "
                    f"{busy} of {len(bg)} measurements started with 10% or more."]
        if statistics.median(bg) >= 0.10:
            out += ["", "**Warning: other programs kept this machine busy during the run; the figures above "
                        "are not a fair measurement. Run again on an idle machine.**"]
    out.append("")
    return out


SUMMARY = [("bulk1", "gbps"), ("bulk8", "gbps"), ("bulk8", "cpu_s_per_gib-direct"), ("lat64", "p50"),
           ("lat64", "p99"), ("lat16k", "p99"), ("conn", "rate"), ("conn", "ttfb_p50-direct"),
           ("mem", "rss_per_conn")]


def summary(results, topology="loopback"):
    """The short table for the README: a few headline rows of one topology, with the run's facts."""
    res = results["topologies"].get(topology)
    if res is None:
        return []
    targets = [t for t in (results.get("targets") or list(TARGET_LABEL)) if t in res["targets"]]
    meta, profile = results["meta"], results["profile"]
    out = [f"| {topology}, median of {profile['rounds']} rounds | "
           + " | ".join(TARGET_LABEL[t] for t in targets) + " |", "|---|" + "---:|" * len(targets)]
    for key in SUMMARY:
        metric = next((m for m in METRICS if (m[0], m[1]) == key), None)
        if metric and any(stat(res, metric[0], metric[1], t) for t in targets):
            name = label(metric, profile).strip()
            if metric[1].endswith("-direct"):
                name = {"bulk8": "Host CPU per GiB, 8 streams, minus direct (CPU-s)",
                        "conn": "Handoff, client-side: first byte minus direct's, p50 (µs)"}[metric[0]]
            out.append(f"| {name} | " + " | ".join(cell(res, metric, t).split(" [")[0] for t in targets) + " |")
    out += ["", f"{meta['date']}; {meta['cpu']}, {meta['cores']} cores; kernel {meta['kernel']}; Ferry {meta['ferry']}; "
                f"{meta['haproxy'].split(' - ')[0]}. Unavailable targets: "
                + (", ".join(f"{TARGET_LABEL[t]} ({res['targets'][t]['reason']})" for t in targets
                             if not res["targets"][t]["available"]) or "none")
            + ". Full table, ranges and ratios: bench/results/latest.md; method: docs/benchmarks.md."]
    return out


def write(results, outdir):
    meta, profile = results["meta"], results["profile"]
    targets = results.get("targets") or list(TARGET_LABEL)
    # Results may go to any directory (--out), so the link to the method is made relative to it.
    method = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "benchmarks.md"),
                             os.path.abspath(outdir))
    out = ["# Ferry benchmark: direct, Ferry and HAProxy, side by side", "",
           f"Generated by `bench/run{' --smoke' if meta.get('smoke') else ''}` on {meta['date']} "
           f"in {meta.get('duration_s', 0) // 60} min {meta.get('duration_s', 0) % 60} s. "
           f"Method and how to read it: [docs/benchmarks.md]({method}).", "",
           f"- Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; {meta['os']}; "
           f"kernel {meta['kernel']}",
           f"- Ferry: {meta['ferry']}; {meta['java']}" + (f"; FERRY_JAVA_OPTS=`{meta['ferry_java_opts']}`"
                                                          if meta.get("ferry_java_opts") else ""),
           f"- {meta['haproxy']}; {meta['iperf3']}; {meta['sockperf']}; Python {meta['python']}",
           f"- {profile['rounds']} round(s), targets interleaved within each round; iperf3 {profile['bulk_s']} s, "
           f"sockperf ping-pong {profile['lat_s']} s (full round trip, after its 400 ms warm-up), "
           f"connection rate {profile['conn_s']} s with {profile['conn_conc']} connections in flight, "
           f"{profile['hold_small']} idle connections every round"
           + (f", {profile['hold_big']} once at the end ({', '.join(profile['big_topologies'])})"
              if profile.get("hold_big") else "") + ".",
           "- Cells: median [min–max] over the rounds. Single measurements have no range.", ""]
    for note in profile.get("notes", []):
        out.insert(-1, f"- Note: {note}.")
    short = summary(results)
    if short:
        out += ["## Summary", ""] + short + [""]
        with open(os.path.join(outdir, "summary.md"), "w") as f:
            f.write("\n".join(short) + "\n")
    for name, res in results["topologies"].items():
        out += topology_section(name, res, profile, targets)
    charts = charts_write(results, outdir)
    if charts:
        out += ["## Charts", ""] + [f"![{c}]({c})" for c in charts] + [""]
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write("\n".join(out))
    print(f"report: {os.path.join(outdir, 'latest.md')}" + (f" and {len(charts)} charts" if charts else ""))


# ------------------------------------------------------------------------------ charts

def charts_write(results, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib missing (apt-get install python3-matplotlib): no charts")
        return []
    topologies = list(results["topologies"])
    targets = results.get("targets") or list(TARGET_LABEL)
    made = []

    def bars(ax, groups, scenario_field, scale=1.0, log=False):
        """groups: [(label, topology, scenario, field)] on the x axis, one bar per target."""
        width = 0.8 / len(targets)
        for i, t in enumerate(targets):
            xs, ys, lo, hi = [], [], [], []
            for g, (_, topo, scenario, field) in enumerate(groups):
                s = stat(results["topologies"][topo], scenario, field, t)
                if s is None:
                    continue
                xs.append(g + (i - (len(targets) - 1) / 2) * width)
                ys.append(s[0] * scale)
                lo.append((s[0] - s[1]) * scale)
                hi.append((s[2] - s[0]) * scale)
            if xs:
                ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=COLOR[t], label=TARGET_LABEL[t])
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([g[0] for g in groups], fontsize=8)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)

    def measured(groups):
        """A chart is drawn only if some target has a value in it: a run of a few scenarios gets no empty charts."""
        return any(stat(results["topologies"][topo], scenario, field, t) is not None
                   for _, topo, scenario, field in groups for t in targets)

    def save(fig, name, title):
        fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, name), dpi=110)
        plt.close(fig)
        made.append(name)

    def legend(ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)

    note = "median of rounds, bars show min–max"
    rate = [(f"{tp}\n{n} stream{'s' if n > 1 else ''}", tp, f"bulk{n}", "gbps") for tp in topologies for n in (1, 8)]
    if measured(rate):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        bars(axes[0], rate, None)
        axes[0].set_ylabel("Gbit/s (higher is better)")
        axes[0].set_title("iperf3 throughput", fontsize=10)
        bars(axes[1], [(label, tp, scenario, "cpu_s_per_gib") for label, tp, scenario, _ in rate], None)
        axes[1].set_ylabel("host CPU-seconds per GiB (lower is better)")
        axes[1].set_title("CPU cost of forwarding", fontsize=10)
        legend(axes[0])
        save(fig, "throughput.png", f"Bulk transfer ({note})")

    latency = {scenario: [(f"{tp}\n{p}", tp, scenario, p) for tp in topologies for p in ("p50", "p99", "p99.9")]
               for scenario in ("lat64", "lat16k")}
    if measured(latency["lat64"] + latency["lat16k"]):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, scenario, size in ((axes[0], "lat64", "64 B"), (axes[1], "lat16k", "16 KiB")):
            bars(ax, latency[scenario], None, log=True)
            ax.set_ylabel("round trip, µs (lower is better)")
            ax.set_title(f"sockperf ping-pong, {size}", fontsize=10)
        legend(axes[0])
        save(fig, "latency.png", f"Request/response latency ({note})")

    connections = [(tp, tp, "conn", "rate") for tp in topologies]
    if measured(connections):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        bars(axes[0], connections, None)
        axes[0].set_ylabel("connections/s (higher is better)")
        axes[0].set_title("New TLS connections, SNI-routed", fontsize=10)
        bars(axes[1], [(f"{tp}\n{p}", tp, "conn", f"ttfb_{p}") for tp in topologies for p in ("p50", "p99")], None)
        axes[1].set_ylabel("connect to first answer byte, µs")
        axes[1].set_title("Time to first byte (includes the handoff)", fontsize=10)
        legend(axes[0])
        save(fig, "connections.png", f"Connection rate ({note})")

    memory = [(f"{tp}\nRSS", tp, "mem", "rss_per_conn") for tp in topologies]
    memory += [(f"{tp}\nheap", tp, "mem", "heap_per_conn") for tp in topologies]
    memory += [(f"{tp}\nslab", tp, "mem", "slab_per_conn") for tp in topologies]
    if measured(memory):
        fig, ax = plt.subplots(figsize=(11, 4))
        bars(ax, memory, None, scale=1 / 1024)
        ax.set_ylabel("KiB per idle connection (lower is better)")
        legend(ax)
        save(fig, "memory.png", f"Memory per idle connection at {results['profile']['hold_small']} "
                                f"(proxy RSS, Java live heap, kernel slab of the whole host; {note})")
    return made


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    with open(os.path.join(outdir, "latest.json")) as f:
        write(json.load(f), outdir)


if __name__ == "__main__":
    main()
