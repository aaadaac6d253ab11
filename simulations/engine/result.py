"""Result types of :func:`simulations.engine.simulate` (frozen dataclasses) and JSON export."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _floats(values: np.ndarray, digits: int = 6) -> list:
    """JSON-safe floats: rounded to ``digits`` significant digits, non-finite -> None."""
    arr = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(arr)
    safe = np.where(finite & (arr != 0), np.abs(arr), 1.0)
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(safe)))
    rounded = np.where(finite, np.round(arr * scale) / scale, 0.0)
    out = rounded.tolist()
    if not finite.all():
        out = [x if ok else None for x, ok in zip(out, finite.tolist(), strict=True)]
    return out


@dataclass(frozen=True)
class Band:
    """Per-tick summary over replications; each array is shaped ``(n_ticks,)``.

    Attributes
    ----------
    mean, p05, p95 : ndarray
        Mean and the 5th / 95th percentiles over replications, in the series' unit.
    """

    mean: np.ndarray
    p05: np.ndarray
    p95: np.ndarray

    @classmethod
    def over_replications(cls, values: np.ndarray) -> Band:
        """Summarise ``values`` shaped ``(n_ticks, replications)``."""
        p05, p95 = np.percentile(values, [5.0, 95.0], axis=1)
        return cls(mean=values.mean(axis=1), p05=p05, p95=p95)

    def to_dict(self) -> dict:
        return {"mean": _floats(self.mean), "p05": _floats(self.p05), "p95": _floats(self.p95)}


@dataclass(frozen=True)
class Event:
    """One entry of the event log.

    Attributes
    ----------
    t_s : float
        When [s].
    kind : str
        incident_start, incident_end, incident_skipped, saturation_start, saturation_end,
        breaker_open, breaker_close, failover, scale_out, scale_in, cache_flushed.
    component : str or None
        Component id, if any.
    detail : str
        A short human sentence.
    """

    t_s: float
    kind: str
    component: str | None
    detail: str

    def to_dict(self) -> dict:
        return {
            "t_s": round(self.t_s, 6),
            "kind": self.kind,
            "component": self.component,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class VariantResult:
    """Outputs for one design variant.

    Attributes
    ----------
    series : dict of str to Band
        Per-tick series (see the engine contract for the keys and units).
    per_replication : dict of str to ndarray
        Whole-run figures, each shaped ``(replications,)``.
    events : list of Event
        Event log of replication 0.
    monthly_cost_usd : float
        Design cost at its configured size prorated to a 730-hour month [USD/month].
    """

    series: dict[str, Band]
    per_replication: dict[str, np.ndarray]
    events: list[Event]
    monthly_cost_usd: float

    def to_dict(self) -> dict:
        return {
            "series": {k: v.to_dict() for k, v in self.series.items()},
            "per_replication": {k: _floats(v) for k, v in self.per_replication.items()},
            "events": [e.to_dict() for e in self.events],
            "monthly_cost_usd": round(float(self.monthly_cost_usd), 2),
        }


@dataclass(frozen=True)
class SimulationResult:
    """Outputs of one batched engine call.

    Attributes
    ----------
    engine_version : str
    tick_s : float
        [s]
    times_s : ndarray, shape (n_ticks,)
        Start of each tick [s].
    replications : int
    variants : list of VariantResult
        One per design, in the order given.
    """

    engine_version: str
    tick_s: float
    times_s: np.ndarray
    replications: int
    variants: list[VariantResult]

    def to_dict(self) -> dict:
        return {
            "engine_version": self.engine_version,
            "tick_s": self.tick_s,
            "times_s": _floats(self.times_s, 9),
            "replications": self.replications,
            "variants": [v.to_dict() for v in self.variants],
        }
