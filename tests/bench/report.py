"""Render the benchmark figures as a plain-text table."""

from __future__ import annotations


def _verdict(value: float, target: float, *, at_most: bool, quick: bool) -> str:
    if quick:
        return "(targets apply to the full run)"
    ok = value <= target if at_most else value >= target
    return "meets" if ok else "MISSES"


def format_table(r: dict) -> str:
    """The figures of :func:`tests.bench.harness.run_bench` as an aligned text table."""
    t, cfg = r["targets"], r["config"]
    a, b, c, d = r["a"], r["b"], r["c"], r["d"]
    head = (
        f"Engine benchmark — {cfg['duration_s']} s at {cfg['tick_s']} s ticks, "
        f"{cfg['components']} components, {cfg['replications']} replications, "
        f"median of {cfg['repeats']} runs (a and b: of {cfg['rounds'] * cfg['repeats']}, in "
        f"{cfg['rounds']} alternating rounds), one core" + (" [QUICK]" if cfg["quick"] else "")
    )
    rows = [
        (
            "a  wall time, 1 variant",
            f"{a['median_s']:.3f} s",
            f"≤ {t['a_median_s']} s",
            _verdict(a["median_s"], t["a_median_s"], at_most=True, quick=cfg["quick"]),
        ),
        (
            "a  peak memory (process maxrss)",
            f"{a['maxrss_mb']:.0f} MB",
            f"≤ {t['a_peak_mb']:.0f} MB",
            _verdict(a["maxrss_mb"], t["a_peak_mb"], at_most=True, quick=cfg["quick"]),
        ),
        ("a  peak memory (tracemalloc, run only)", f"{a['traced_peak_mb']:.0f} MB", "", ""),
        (
            "a  round medians",
            ", ".join(f"{m:.3f}" for m in a["round_medians_s"]) + " s",
            "",
            "",
        ),
        ("b  wall time, 8 variants", f"{b['median_s']:.3f} s", "", ""),
        (
            "b  round medians",
            ", ".join(f"{m:.3f}" for m in b["round_medians_s"]) + " s",
            "",
            "",
        ),
        (
            "b  ratio to (a)",
            f"{b['ratio_to_a']:.2f}×",
            f"≤ {t['b_ratio']:.0f}×",
            _verdict(b["ratio_to_a"], t["b_ratio"], at_most=True, quick=cfg["quick"]),
        ),
        ("c  engine, three-tier", f"{c['engine_median_s']:.3f} s", "", ""),
        (
            "c  SimPy reference, matched (extrap.)",
            f"{c['des_matched_s']:.0f} s",
            f"({c['des_requests_per_s']:.0f} req/s measured)",
            "",
        ),
        (
            "c  speed ratio",
            f"{c['speedup']:,.0f}×",
            f"≥ {t['c_speedup']:,.0f}×",
            _verdict(c["speedup"], t["c_speedup"], at_most=False, quick=cfg["quick"]),
        ),
        (
            f"e  wall time, 1 variant, {r['e']['incidents']} incidents",
            f"{r['e']['median_s']:.3f} s",
            "(no target: the wavefront's share)",
            "",
        ),
    ]
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    w2 = max(len(x[2]) for x in rows)
    prov = r.get("provenance", {})
    load = prov.get("load_avg", (float("nan"),))[0]
    load_after = prov.get("load_avg_after", (float("nan"),))[0]
    lines = [
        head,
        f"engine {prov.get('engine_version')} at {prov.get('commit')}; 1-min load average "
        f"{load:.1f} before, {load_after:.1f} after (2 cores: above ~1 the timings are inflated)",
        "",
    ]
    lines += [f"{n:<{w0}}  {v:>{w1}}  {tg:<{w2}}  {ok}".rstrip() for n, v, tg, ok in rows]
    lines += ["", "d  scaling (median wall time, one core)"]
    for key, unit in (
        ("ticks", "ticks"),
        ("replications", "replications"),
        ("components", "components"),
    ):
        cells = ", ".join(f"{row[key]} {unit}: {row['median_s']:.3f} s" for row in d[key])
        lines.append(f"   {cells}")
    return "\n".join(lines)
