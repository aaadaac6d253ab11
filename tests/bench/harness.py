"""The benchmark plan: which configurations are measured, and how the figures combine.

Sections (issue 3, "Fast"):

a. one hour at 1 s ticks, the eleven-component design, 64 replications — median wall time on
   one core and peak memory; targets ≤ 0.25 s and ≤ 200 MB (a and b run in alternating rounds:
   the machine is shared and its speed drifts by tens of per cent over a minute);
b. eight design variants × 64 replications in one call — ratio to (a); target ≤ 3×;
c. the three-tier network (LB → app → cache → DB) in the engine and in the SimPy per-request
   reference at matched accuracy — the speed ratio; target ≥ 1,000×;
d. scaling of wall time with ticks, replications and components;
e. the design of (a) through six incidents: the bench of (a) is calm from end to end, so the
   engine runs it in calm blocks (``calm.py``); here the incident windows and what follows
   them go through the per-tick wavefront loop.

"Matched accuracy" in (c): the reference simulates the same traffic the engine summarises —
the same horizon and the same number of independent replications — so both estimate each
per-tick and whole-run statistic from the same amount of sampled randomness. The reference is
timed on a shorter horizon and scaled linearly (a per-request simulation costs a fixed time per
request; the measured requests per second are reported alongside).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable

from tests.bench.networks import THREE_TIER_RPS, three_tier_doc
from tests.engine.builders import LARGE_MIX, large_design, mid_design, scenario_doc

TARGETS = {"a_median_s": 0.25, "a_peak_mb": 200.0, "b_ratio": 3.0, "c_speedup": 1000.0}


def _plan(quick: bool) -> dict:
    if quick:
        return {
            "duration_s": 120,
            "replications": 4,
            "repeats": 1,
            "rounds": 1,
            "des_horizon_s": 5,
            "ticks": [60, 120],
            "reps": [2, 4],
        }
    return {
        "duration_s": 3600,
        "replications": 64,
        "repeats": 5,
        "rounds": 5,
        "des_horizon_s": 60,
        "ticks": [900, 1800, 3600, 7200],
        "reps": [16, 64, 256],
    }


def _subprocess(job: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench.worker", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed for {job['kind']}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _variants(design: dict, n: int) -> list[dict]:
    """``n`` variants of ``design`` differing in the app pool's instance count."""
    out = []
    for i in range(n):
        doc = json.loads(json.dumps(design))
        for comp in doc["components"]:
            if comp["id"] == "app":
                comp["instances"] = comp["instances"] + i
        out.append(doc)
    return out


def _engine(scenario: dict, designs: list[dict], replications: int, repeats: int) -> dict:
    return _subprocess(
        {
            "kind": "engine",
            "scenario": scenario,
            "designs": designs,
            "replications": replications,
            "repeats": repeats,
        }
    )


def _pooled(rounds: list[dict]) -> dict:
    """The figures of several rounds of one configuration: median and minimum over all their
    runs, the largest peak memory, and each round's median."""
    times = [t for r in rounds for t in r["times_s"]]
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "runs": len(times),
        "round_medians_s": [r["median_s"] for r in rounds],
        "traced_peak_mb": max(r["traced_peak_mb"] for r in rounds),
        "maxrss_mb": max(r["maxrss_mb"] for r in rounds),
    }


def _provenance() -> dict:
    """What was measured, and how busy the machine was (a shared 2-core box skews timings)."""
    from simulations.engine import ENGINE_VERSION

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"engine_version": ENGINE_VERSION, "commit": commit, "load_avg": os.getloadavg()}


def run_bench(*, quick: bool = False, progress: Callable[[str], None] = print) -> dict:
    """Run every section and return the figures as a JSON-safe dict."""
    provenance = _provenance()
    plan = _plan(quick)
    big = large_design()
    n_components = len(big["components"])
    scenario = scenario_doc(rps=1000, duration_s=plan["duration_s"], mix=LARGE_MIX)
    reps, repeats = plan["replications"], plan["repeats"]

    # (a) and (b) alternate, a fresh process each, so that a slow spell of the shared machine
    # weighs on both alike; their figures are over every run of every round
    rounds_a, rounds_b = [], []
    for round_ in range(plan["rounds"]):
        progress(f"a: single design (round {round_ + 1} of {plan['rounds']})")
        rounds_a.append(_engine(scenario, [big], reps, repeats))
        progress(f"b: eight variants (round {round_ + 1} of {plan['rounds']})")
        rounds_b.append(_engine(scenario, _variants(big, 8), reps, repeats))
    a, b = _pooled(rounds_a), _pooled(rounds_b)

    progress("c: three-tier engine vs SimPy reference")
    tier_scenario, tier_design = three_tier_doc(plan["duration_s"])
    c_engine = _engine(tier_scenario, [tier_design], reps, repeats)
    c_des = _subprocess({"kind": "des", "rps": THREE_TIER_RPS, "horizon_s": plan["des_horizon_s"]})
    des_per_request_s = c_des["wall_s"] / c_des["requests"]
    des_matched_s = des_per_request_s * THREE_TIER_RPS * plan["duration_s"] * reps

    progress("e: through incidents")
    stormy = scenario_doc(
        rps=1000,
        duration_s=plan["duration_s"],
        mix=LARGE_MIX,
        incidents=_incidents(plan["duration_s"]),
    )
    e = _engine(stormy, [big], reps, repeats)

    progress("d: scaling")
    tick_configs = [
        {
            "scenario": scenario_doc(rps=1000, duration_s=ticks, mix=LARGE_MIX),
            "designs": [big],
            "replications": reps,
        }
        for ticks in plan["ticks"]
    ]
    rep_configs = [
        {"scenario": scenario, "designs": [big], "replications": n} for n in plan["reps"]
    ]
    mid, mid_mix = mid_design()
    mid_config = {
        "scenario": scenario_doc(rps=1000, duration_s=plan["duration_s"], mix=mid_mix),
        "designs": [mid],
        "replications": reps,
    }
    timed = _subprocess(
        {
            "kind": "engine_many",
            "configs": [*tick_configs, *rep_configs, mid_config],
            "repeats": repeats,
        }
    )["medians_s"]
    scaling = {
        "ticks": [{"ticks": t, "median_s": m} for t, m in zip(plan["ticks"], timed, strict=False)],
        "replications": [
            {"replications": n, "median_s": m}
            for n, m in zip(plan["reps"], timed[len(tick_configs) : -1], strict=True)
        ],
        "components": [
            {"components": len(tier_design["components"]), "median_s": c_engine["median_s"]},
            {"components": len(mid["components"]), "median_s": timed[-1]},
            {"components": n_components, "median_s": a["median_s"]},
        ],
    }

    provenance["load_avg_after"] = os.getloadavg()
    return {
        "provenance": provenance,
        "config": {
            "duration_s": plan["duration_s"],
            "tick_s": 1.0,
            "replications": reps,
            "repeats": repeats,
            "rounds": plan["rounds"],
            "components": n_components,
            "quick": quick,
        },
        "targets": TARGETS,
        "a": {
            "median_s": a["median_s"],
            "min_s": a["min_s"],
            "runs": a["runs"],
            "round_medians_s": a["round_medians_s"],
            "traced_peak_mb": a["traced_peak_mb"],
            "maxrss_mb": a["maxrss_mb"],
        },
        "b": {
            "variants": 8,
            "median_s": b["median_s"],
            "round_medians_s": b["round_medians_s"],
            "ratio_to_a": b["median_s"] / a["median_s"],
            "maxrss_mb": b["maxrss_mb"],
        },
        "c": {
            "engine_median_s": c_engine["median_s"],
            "des_measured_s": c_des["wall_s"],
            "des_measured_requests": c_des["requests"],
            "des_requests_per_s": 1.0 / des_per_request_s,
            "des_matched_s": des_matched_s,
            "speedup": des_matched_s / c_engine["median_s"],
        },
        "d": scaling,
        "e": {"incidents": len(stormy["incidents"]), "median_s": e["median_s"]},
    }


def _incidents(duration_s: float) -> list[dict]:
    """Six incidents spread over the run (times as fractions of it): a traffic spike, two
    failed app instances, a slow database, a bad deploy, a primary failover, a cache flush."""

    def at(share: float) -> float:
        return round(share * duration_s, 3)

    return [
        {"kind": "traffic_spike", "at_s": at(0.15), "duration_s": at(0.08), "multiplier": 2.5},
        {
            "kind": "instance_failure",
            "at_s": at(0.3),
            "duration_s": at(0.08),
            "component": "app",
            "count": 2,
        },
        {
            "kind": "dependency_slowdown",
            "at_s": at(0.45),
            "duration_s": at(0.03),
            "component": "db",
            "factor": 3,
        },
        {
            "kind": "bad_deploy",
            "at_s": at(0.6),
            "duration_s": at(0.05),
            "component": "app",
            "error_rate": 0.05,
        },
        {"kind": "db_primary_failure", "at_s": at(0.75), "component": "db"},
        {"kind": "cache_flush", "at_s": at(0.9), "component": "cache"},
    ]
