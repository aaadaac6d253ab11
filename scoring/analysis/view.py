"""A read-only view of one simulated variant plus the documents it came from.

The post-mortem detectors ask the same questions over and over ("peak utilization of the app
pool", "is there a cache on the read route", "when did the first breach start"); this module
answers them once, from the engine's result and the normalised design document (every default
filled in), so the detectors stay short. Pure: numpy, the engine's spec types, the stdlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from scoring.analysis.breach import Breach, find_breach
from scoring.analysis.rules import Contract
from simulations.engine import Event
from simulations.engine.spec import Incident


@dataclass(frozen=True)
class Peak:
    """The largest value of a per-tick mean series and when it happened."""

    value: float
    t_s: float  # [s]


@dataclass
class VariantView:
    """Everything the post-mortem reads about one variant.

    Parameters
    ----------
    contract : Contract
    mix : mapping of request class to its fraction of traffic [-]
    incidents : the scenario's incidents (engine ``Incident``)
    design_doc : the normalised design document, defaults filled in, no ``None`` values
    times_s : ndarray, shape (n_ticks,)
        Start of each tick [s].
    tick_s : float
        Tick length [s].
    series : mapping of series key to its per-tick mean over replications, each (n_ticks,)
    per_replication : mapping of key to ndarray (replications,)
    events : engine events of replication 0, in time order
    monthly_cost_usd : float [USD/month]
    """

    contract: Contract
    mix: Mapping[str, float]
    incidents: Sequence[Incident]
    design_doc: Mapping[str, Any]
    times_s: np.ndarray
    tick_s: float
    series: Mapping[str, np.ndarray]
    per_replication: Mapping[str, np.ndarray]
    events: Sequence[Event]
    monthly_cost_usd: float
    _components: dict[str, dict] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._components = {c["id"]: c for c in self.design_doc.get("components", [])}

    # design ------------------------------------------------------------------------------------
    @property
    def components(self) -> dict[str, dict]:
        """Design components by id, in document order."""
        return self._components

    def components_of_type(self, *types: str) -> list[dict]:
        """Components whose ``type`` is one of ``types``, in document order."""
        return [c for c in self._components.values() if c.get("type") in types]

    def route(self, request_class: str) -> list[str]:
        """Component ids on the path of ``request_class`` (empty when the class has no route)."""
        return list(self.design_doc.get("routes", {}).get(request_class, []))

    @property
    def edges(self) -> list[dict]:
        """Call-edge policies (``from``, ``to``, ``retries``, ``pool_size``...)."""
        return list(self.design_doc.get("edges", []))

    def targets(self, incident: Incident) -> list[str]:
        """Ids of the design components an incident names (by id or by type); may be empty."""
        if incident.component is None:
            return []
        return [
            cid for cid, c in self._components.items() if incident.component in (cid, c.get("type"))
        ]

    # series ------------------------------------------------------------------------------------
    def stations(self, measure: str) -> list[str]:
        """Station keys that have a ``<measure>:<key>`` series, e.g. ``["app", "db#replicas"]``.

        A station is a component or one of its parts; the engine names parts ``<id>#<part>``.
        """
        prefix = f"{measure}:"
        return [key[len(prefix) :] for key in self.series if key.startswith(prefix)]

    def mean(self, key: str) -> np.ndarray | None:
        """Per-tick mean of a series, or None when the engine did not report it."""
        values = self.series.get(key)
        return None if values is None else np.asarray(values, dtype=float)

    def peak(self, key: str) -> Peak | None:
        """Largest per-tick mean of ``key`` and its time; None if absent or all NaN."""
        values = self.mean(key)
        if values is None or not np.any(np.isfinite(values)):
            return None
        i = int(np.nanargmax(values))
        return Peak(value=float(values[i]), t_s=float(self.times_s[i]))

    def at(self, key: str, t_s: float) -> float | None:
        """Per-tick mean of ``key`` in the tick that contains ``t_s``."""
        values = self.mean(key)
        if values is None:
            return None
        i = int(np.clip(np.searchsorted(self.times_s, t_s, side="right") - 1, 0, len(values) - 1))
        return float(values[i])

    def hottest(self, measure: str, cid: str) -> tuple[str, Peak] | None:
        """The station of component ``cid`` (``db``, ``db#replicas``...) with the largest peak
        of ``measure``, and that peak; None when it has no such series."""
        peaks = [
            (station, peak)
            for station in self.stations(measure)
            if self.component_of(station) == cid and (peak := self.peak(f"{measure}:{station}"))
        ]
        return max(peaks, key=lambda sp: sp[1].value, default=None)

    @cached_property
    def mean_offered_rps(self) -> float:
        """Offered load averaged over the run [1/s] (0 when not reported)."""
        offered = self.mean("offered_rps")
        return float(offered.mean()) if offered is not None and len(offered) else 0.0

    @staticmethod
    def component_of(station: str | None) -> str | None:
        """The component id of a station key (``"db#replicas"`` -> ``"db"``)."""
        return None if station is None else station.split("#", 1)[0]

    @cached_property
    def breach(self) -> Breach:
        """SLA breaches of the mean series (see :func:`scoring.analysis.breach.find_breach`)."""
        return find_breach(self.series, self.times_s, self.tick_s, self.contract)

    # totals ------------------------------------------------------------------------------------
    def total(self, key: str) -> float:
        """Mean over replications of a per-replication total (0 when absent)."""
        values = self.per_replication.get(key)
        return 0.0 if values is None else float(np.mean(values))

    def events_of(self, *kinds: str) -> list[Event]:
        """Events of the given kinds, in time order."""
        return [e for e in self.events if e.kind in kinds]
