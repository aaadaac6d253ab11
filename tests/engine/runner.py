"""Run the engine through its public contract only (``parse_*`` → ``simulate``)."""

from __future__ import annotations

from simulations import engine


def simulate_docs(
    scenario: dict, designs: list[dict], *, replications: int = 32, seed: int = 0
) -> engine.SimulationResult:
    """Parse both documents and simulate every design as one batched call."""
    parsed = engine.parse_scenario(scenario)
    return engine.simulate(
        parsed,
        [engine.parse_design(d, parsed) for d in designs],
        replications=replications,
        seed=seed,
    )
