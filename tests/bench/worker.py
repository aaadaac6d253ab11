"""One benchmark measurement, run in a fresh subprocess pinned to one core.

Invoked as ``python -m tests.bench.worker '<json job>'``; prints one JSON line. A fresh process
per measurement keeps peak memory (``ru_maxrss``) attributable to that configuration and stops
one measurement's heap from warming the next.

Thread-pool variables are set before numpy is imported: BLAS threads would otherwise use the
second core and the figure would not be "one core".
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402


def _pin_to_one_core() -> int | None:
    try:
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):  # not Linux: report unpinned
        return None


def _prepared(job: dict):
    """A zero-argument callable running ``simulate`` for the job's documents."""
    from simulations import engine

    scenario = engine.parse_scenario(job["scenario"])
    designs = [engine.parse_design(d, scenario) for d in job["designs"]]
    return lambda: engine.simulate(
        scenario, designs, replications=job["replications"], seed=job.get("seed", 0)
    )


def _wall_times(run, repeats: int) -> list[float]:
    """``repeats`` wall times of ``run`` after one untimed warm-up (imports, first touches)."""
    run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def measure_engine(job: dict) -> dict:
    """Median wall time of ``job["repeats"]`` engine runs, then one traced run for memory."""
    run = _prepared(job)
    times = _wall_times(run, job["repeats"])
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "times_s": times,
        "runs": len(times),
        "traced_peak_mb": traced_peak / 2**20,
    }


def measure_engine_many(job: dict) -> dict:
    """Median wall time of each configuration in ``job["configs"]`` (one process, for the
    scaling table: the timings need no fresh heap, and spawning costs ~1 s per process)."""
    return {
        "medians_s": [
            statistics.median(_wall_times(_prepared(config), job["repeats"]))
            for config in job["configs"]
        ]
    }


def measure_des(job: dict) -> dict:
    """Wall time of the SimPy reference on ``job["horizon_s"]`` seconds of the same network."""
    import numpy as np

    from tests.bench.networks import three_tier_des

    network, rate = three_tier_des(job["rps"])
    from tests.engine.reference.des import simulate_network

    t0 = time.perf_counter()
    res = simulate_network(network, np.full(int(job["horizon_s"]), rate), 1.0, seed=1)
    elapsed = time.perf_counter() - t0
    return {"wall_s": elapsed, "requests": int(res.offered)}


def main() -> None:
    job = json.loads(sys.argv[1])
    cpu = _pin_to_one_core()
    measure = {"engine": measure_engine, "engine_many": measure_engine_many, "des": measure_des}
    out = measure[job["kind"]](job)
    out["cpu"] = cpu
    # Linux reports ru_maxrss in kB: the whole process, interpreter and numpy included.
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
