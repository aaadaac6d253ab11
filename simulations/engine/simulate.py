"""The engine's entry point: :func:`simulate`."""

from __future__ import annotations

from collections.abc import Sequence

from simulations.engine.calm import advance
from simulations.engine.errors import DesignError, Problem
from simulations.engine.network import InconsistentVariants, compile_network
from simulations.engine.plan import build_plan
from simulations.engine.record import Recorder
from simulations.engine.result import SimulationResult
from simulations.engine.spec import MAX_BATCH_CELLS, MAX_WORK_CELLS, Design, Scenario
from simulations.engine.state import State
from simulations.engine.version import ENGINE_VERSION

MAX_REPLICATIONS = 1024
MAX_VARIANTS = 32


def check_size(scenario: Scenario, designs: Sequence[Design], replications: int) -> None:
    """Refuse oversize work before doing any.

    Raises
    ------
    DesignError
        If ticks x replications x variants x components exceeds :data:`MAX_WORK_CELLS`,
        replications x variants x components exceeds :data:`MAX_BATCH_CELLS`, or the
        replication / variant counts exceed their caps.
    """
    problems = []
    if not 1 <= replications <= MAX_REPLICATIONS:
        problems.append(Problem("", f"replications {replications} must be 1..{MAX_REPLICATIONS}"))
    if not 1 <= len(designs) <= MAX_VARIANTS:
        problems.append(Problem("", f"{len(designs)} variants; must be 1..{MAX_VARIANTS}"))
    components = max((len(d.components) for d in designs), default=0)
    cells = scenario.n_ticks * replications * len(designs) * components
    if cells > MAX_WORK_CELLS:
        problems.append(
            Problem(
                "",
                f"{cells:.3g} cells (ticks x replications x variants x "
                f"components) exceed the cap of {MAX_WORK_CELLS:.3g}",
            )
        )
    batch = replications * len(designs) * components
    if batch > MAX_BATCH_CELLS:
        problems.append(
            Problem(
                "",
                f"{batch} batch cells (replications x variants x components, held in memory "
                f"at once) exceed the cap of {MAX_BATCH_CELLS}",
            )
        )
    if problems:
        raise DesignError(problems)


def simulate(
    scenario: Scenario,
    designs: Sequence[Design],
    *,
    replications: int = 32,
    seed: int = 0,
    start=None,
    until_s: float | None = None,
) -> SimulationResult:
    """Simulate design variants under a scenario, many replications at once.

    Parameters
    ----------
    scenario : Scenario
        From :func:`parse_scenario`.
    designs : sequence of Design
        Variants, each from :func:`parse_design`; results come back in the same order.
    replications : int
        Monte Carlo replications per variant (1..1024).
    seed : int
        Seed of the one ``np.random.SeedSequence`` of the run.
    start : Checkpoint, optional
        Resume from this checkpoint (then its replications and seed are used) with
        ``designs`` (see :meth:`Simulation.resume`).
    until_s : float, optional
        Stop here [s]; later ticks read as zeros. Use :class:`Simulation` to go on.

    Returns
    -------
    SimulationResult

    Raises
    ------
    DesignError
        If the work is oversize (checked before any work).

    Notes
    -----
    The batch axis is variants x replications. Random draws depend only on the scenario, the
    seed and the replication count, and are shared by every variant (common random numbers),
    so a difference between variants comes from the designs, not from noise. Same inputs and
    seed give bit-identical arrays.

    Examples
    --------
    >>> from simulations.engine import parse_scenario, parse_design
    >>> s = parse_scenario({"duration_s": 60, "traffic": {"curve": {"kind": "constant",
    ...     "rps": 50}, "mix": {"read": 1.0}}})
    >>> d = parse_design({"components": [{"id": "app", "type": "app_pool", "instances": 1,
    ...     "concurrency": 4, "service_time_ms": {"read": 20}}], "routes": {"read": ["app"]}})
    >>> r = simulate(s, [d], replications=4, seed=1)
    >>> r.variants[0].per_replication["offered"].shape
    (4,)
    """
    designs = list(designs)
    if start is not None or until_s is not None:
        from simulations.engine.checkpoint import Simulation

        if start is not None:
            sim = Simulation.resume(start, designs)
        else:
            sim = Simulation(scenario, designs, replications=replications, seed=seed)
        sim.run(until_s)
        return sim.result()
    check_size(scenario, designs, replications)
    try:
        net = compile_network(scenario, designs)
    except InconsistentVariants:
        parts = [simulate(scenario, [d], replications=replications, seed=seed) for d in designs]
        return SimulationResult(
            engine_version=ENGINE_VERSION,
            tick_s=parts[0].tick_s,
            times_s=parts[0].times_s,
            replications=replications,
            variants=[p.variants[0] for p in parts],
        )
    plan = build_plan(scenario, net, replications, seed)
    state = State.initial(plan)
    recorder = Recorder(plan)
    advance(plan, state, plan.n_ticks, recorder)
    return recorder.finish(state, ENGINE_VERSION)
