"""Step a simulation through time, save its full state, and resume it (possibly re-designed).

A checkpoint is taken at a tick boundary where every station has done every earlier tick (a
consistent cut). Resuming with the same designs continues exactly where the run stopped, so
run(until) + checkpoint + resume + run() gives the same result as one uninterrupted run.
Resuming with changed designs (a counterfactual branch, an on-call action) carries over what
still exists, matched by station id: queues, caches, instances, breakers, pending retries,
replication backlog and the series so far. The random draws are re-made from the same seed, so
a branch shares its parent's arrivals (common random numbers).
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulations.engine.calm import advance
from simulations.engine.errors import DesignError, Problem
from simulations.engine.network import compile_network
from simulations.engine.plan import build_plan
from simulations.engine.record import Recorder
from simulations.engine.result import SimulationResult
from simulations.engine.spec import Design, Scenario, parse_design, parse_scenario
from simulations.engine.state import State
from simulations.engine.version import ENGINE_VERSION

_FORMAT = "loadline-checkpoint-2"
_RECORDER = (
    "bands",
    "station_bands",
    "hit_bands",
    "first",
    "sums",
    "done",
    "slack",
    "in_flight",
    "run_acc",
    "emitted",
)


@dataclass(frozen=True)
class Checkpoint:
    """The full state of a :class:`Simulation` at tick ``tick``.

    Attributes
    ----------
    tick : int
        Every tick before this one is simulated.
    header : dict
        Scenario and design documents, replications, seed, engine version, station keys.
    arrays : dict of str to ndarray
        State and recorder arrays.
    """

    tick: int
    header: dict
    arrays: dict

    @property
    def time_s(self) -> float:
        """Simulated time reached [s]."""
        return self.tick * self.header["tick_s"]

    def to_bytes(self) -> bytes:
        """Compact binary form (a compressed ``.npz`` with a JSON header)."""
        buffer = io.BytesIO()
        header = np.frombuffer(json.dumps({**self.header, "tick": self.tick}).encode(), np.uint8)
        np.savez_compressed(buffer, __header__=header, **self.arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        """Inverse of :meth:`to_bytes`."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["__header__"].tobytes().decode())
            arrays = {k: npz[k] for k in npz.files if k != "__header__"}
        if header.get("format") != _FORMAT:
            raise ValueError("not a Loadline engine checkpoint")
        return cls(tick=header.pop("tick"), header=header, arrays=arrays)

    def to_dict(self) -> dict:
        """JSON-safe form: the binary form in base64 plus a readable summary."""
        return {
            "format": _FORMAT,
            "engine_version": self.header["engine_version"],
            "tick": self.tick,
            "time_s": self.time_s,
            "data": base64.b64encode(self.to_bytes()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, doc: dict) -> Checkpoint:
        """Inverse of :meth:`to_dict`."""
        return cls.from_bytes(base64.b64decode(doc["data"]))


class Simulation:
    """A batched simulation that can be advanced in segments, checkpointed and resumed.

    Parameters
    ----------
    scenario : Scenario
    designs : sequence of Design
        Variants; they must order their shared components the same way along routes.
    replications : int
    seed : int

    Examples
    --------
    >>> from simulations.engine import parse_design, parse_scenario
    >>> s = parse_scenario({"duration_s": 120, "traffic": {"curve": {"kind": "constant",
    ...     "rps": 50}, "mix": {"read": 1.0}}})
    >>> d = parse_design({"components": [{"id": "app", "type": "app_pool",
    ...     "service_time_ms": {"read": 20}}], "routes": {"read": ["app"]}})
    >>> sim = Simulation(s, [d], replications=4, seed=1)
    >>> sim.run(until_s=60)
    >>> branch = Simulation.resume(sim.checkpoint())
    >>> branch.run()
    >>> branch.result().variants[0].per_replication["offered"].shape
    (4,)
    """

    def __init__(
        self,
        scenario: Scenario,
        designs: Sequence[Design],
        *,
        replications: int = 32,
        seed: int = 0,
    ):
        from simulations.engine.simulate import check_size

        designs = list(designs)
        check_size(scenario, designs, replications)
        self.scenario, self.designs = scenario, designs
        self.replications, self.seed = replications, seed
        self.plan = build_plan(scenario, compile_network(scenario, designs), replications, seed)
        self.state = State.initial(self.plan)
        self.recorder = Recorder(self.plan)

    @property
    def tick(self) -> int:
        """Every tick before this one is simulated."""
        return self.state.tick

    def run(self, until_s: float | None = None) -> None:
        """Simulate up to ``until_s`` (default: the end of the scenario) [s]."""
        stop = (
            self.plan.n_ticks
            if until_s is None
            else min(
                self.plan.n_ticks, max(self.tick, math.ceil(until_s / self.plan.tick_s - 1e-9))
            )
        )
        if stop > self.tick:
            advance(self.plan, self.state, stop, self.recorder)
            self.recorder.emit(stop)

    def result(self) -> SimulationResult:
        """Results so far (ticks not yet simulated read as zeros)."""
        return self.recorder.finish(self.state, ENGINE_VERSION, stop=self.tick)

    def checkpoint(self) -> Checkpoint:
        """Save the full state at the current tick."""
        arrays = {f"state/{k}": np.asarray(v) for k, v in self.state.arrays().items()}
        for name in _RECORDER:
            value = getattr(self.recorder, name)
            if isinstance(value, dict):
                arrays.update({f"rec/{name}/{k}": v for k, v in value.items()})
            else:
                arrays[f"rec/{name}"] = np.asarray(value)
        header = {
            "format": _FORMAT,
            "engine_version": ENGINE_VERSION,
            "tick_s": self.plan.tick_s,
            "scenario": self.scenario.doc,
            "designs": [d.doc for d in self.designs],
            "replications": self.replications,
            "seed": self.seed,
            "stations": [s.key for s in self.plan.net.stations],
            "levels": self.plan.sweep.level.tolist(),
            "caches": [self.plan.net.stations[s].key for s in self.plan.net.caches],
            "retry_stations": (
                [] if self.plan.sweep.retry is None else self.plan.sweep.retry.local.tolist()
            ),
        }
        return Checkpoint(tick=self.tick, header=header, arrays=arrays)

    @classmethod
    def resume(cls, checkpoint: Checkpoint, designs: Sequence[Design] | None = None) -> Simulation:
        """Continue from ``checkpoint``, with its designs or with new ones.

        Parameters
        ----------
        checkpoint : Checkpoint
        designs : sequence of Design, optional
            New variants. Their count must equal the checkpoint's, or the checkpoint must
            hold one variant (then every new variant branches from it).

        Raises
        ------
        DesignError
            If the variant counts do not fit.
        """
        head = checkpoint.header
        scenario = parse_scenario(head["scenario"])
        if designs is None:
            designs = [parse_design(d, scenario) for d in head["designs"]]
        designs = list(designs)
        old_v = len(head["designs"])
        if old_v not in (1, len(designs)):
            raise DesignError([Problem("", f"cannot branch {old_v} variants into {len(designs)}")])
        sim = cls(scenario, designs, replications=head["replications"], seed=head["seed"])
        keys = [s.key for s in sim.plan.net.stations]
        old_keys = head["stations"]
        same = keys == old_keys and [d.doc for d in designs] == head["designs"]
        _restore_state(sim, checkpoint, old_keys, same)
        _restore_recorder(sim, checkpoint, old_keys, same)
        return sim


def _variant_map(n_new: int, n_old: int) -> np.ndarray:
    return np.zeros(n_new, dtype=np.int64) if n_old == 1 else np.arange(n_new)


def _station_map(keys: list[str], old_keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(i, old_keys.index(k)) for i, k in enumerate(keys) if k in old_keys]
    new, old = zip(*pairs, strict=True) if pairs else ((), ())
    return np.array(new, dtype=np.int64), np.array(old, dtype=np.int64)


def _restore_state(sim: Simulation, ckpt: Checkpoint, old_keys, same: bool) -> None:
    st, plan = sim.state, sim.plan
    arrays = {k[len("state/") :]: v for k, v in ckpt.arrays.items() if k.startswith("state/")}
    st.tick = ckpt.tick
    if same:
        for name, value in arrays.items():
            if name.startswith("ring"):
                st.ring[int(name[4:])][...] = value
            else:
                setattr(st, name, np.array(value))
        return
    n_v = plan.shape[0]
    vmap = _variant_map(n_v, len(ckpt.header["designs"]))
    new, old = _station_map([s.key for s in plan.net.stations], old_keys)
    old_levels = np.array(ckpt.header["levels"])
    for name in (
        "backlog",
        "doomed",
        "util_avg",
        "breaker_left",
        "breaker_half",
        "tokens",
        "replication",
        "last_scale",
        "writes_lost",
    ):
        getattr(st, name)[:, new] = arrays[name][vmap][:, old]
    # instances: carry the running count unless the new design changed the component's size
    changed = plan.net.instances[:, new] != _old_design_instances(ckpt, plan, vmap, old_keys, new)
    carried = arrays["instances"][vmap][:, old]
    st.instances[:, new] = np.where(changed[:, :, None], st.instances[:, new], carried)
    old_caches = ckpt.header["caches"]
    for c, s in enumerate(plan.net.caches):
        key = plan.net.stations[s].key
        if key in old_caches:
            j = old_caches.index(key)
            for name in ("since_flush", "cache_arrivals"):
                getattr(st, name)[:, c] = arrays[name][vmap][:, j]
            if arrays["fetch_s"].shape[0] == st.fetch_s.shape[0]:
                st.fetch_s[:, :, c] = arrays["fetch_s"][:, vmap][:, :, j]
    _rebin_pending(st, arrays, plan, ckpt, vmap, new, old, old_levels)
    st.refresh_capacity(plan)


def _old_design_instances(ckpt, plan, vmap, old_keys, new) -> np.ndarray:
    base = np.zeros((plan.shape[0], len(new)))
    for v in range(plan.shape[0]):
        doc = ckpt.header["designs"][vmap[v]]
        counts = {c["id"]: c.get("instances", None) for c in doc["components"]}
        for j, s in enumerate(new):
            station = plan.net.stations[s]
            count = counts.get(station.component)
            base[v, j] = (
                count if count is not None and station.role == "main" else plan.net.instances[v, s]
            )
    return base


def _rebin_pending(st, arrays, plan, ckpt, vmap, new, old, old_levels) -> None:
    """Move booting instances and scheduled retries to the new design's ring slots."""
    level, tick = plan.sweep.level, ckpt.tick
    old_pending = arrays["pending"]
    h_old, h_new = old_pending.shape[0], st.pending.shape[0]
    for d in range(min(h_old, h_new)):
        for j, s in enumerate(new):
            src = (tick + d + old_levels[old[j]]) % h_old
            dst = (tick + d + level[s]) % h_new
            st.pending[dst, :, s] = old_pending[src][vmap][:, old[j]]
    if "ring0" in arrays and st.ring:
        old_ring = arrays["ring0"]
        old_local = ckpt.header["retry_stations"]
        new_local = plan.sweep.retry.local.tolist()
        for j, s in enumerate(new):
            if s not in new_local or old[j] not in old_local:
                continue
            a_n, a_o = new_local.index(s), old_local.index(old[j])
            attempts = min(old_ring.shape[1], st.ring[0].shape[1])
            for d in range(min(old_ring.shape[0], st.ring[0].shape[0])):
                src = (tick + d + old_levels[old[j]]) % old_ring.shape[0]
                dst = (tick + d + level[s]) % st.ring[0].shape[0]
                st.ring[0][dst, :attempts, :, a_n] = old_ring[src, :attempts][:, vmap][:, :, a_o]


def _restore_recorder(sim: Simulation, ckpt: Checkpoint, old_keys, same: bool) -> None:
    rec = sim.recorder
    arrays = ckpt.arrays
    n_v = sim.plan.shape[0]
    vmap = _variant_map(n_v, len(ckpt.header["designs"]))
    new, old = _station_map([s.key for s in sim.plan.net.stations], old_keys)
    for name in _RECORDER:
        current = getattr(rec, name)
        if isinstance(current, dict):
            for k in current:
                value = arrays[f"rec/{name}/{k}"]
                if same:
                    current[k][...] = value
                elif name == "sums":
                    current[k][...] = value[vmap]
                elif name == "bands":
                    current[k][...] = value[:, :, vmap]
                elif name == "station_bands":
                    current[k][:, :, :, new] = value[:, :, vmap][:, :, :, old]
                else:  # first: (T, V, S)
                    current[k][:, :, new] = value[:, vmap][:, :, old]
        elif name == "emitted":
            rec.emitted = int(arrays["rec/emitted"])
        elif same:
            current[...] = arrays[f"rec/{name}"]
        elif name == "hit_bands":
            old_caches = ckpt.header["caches"]
            for c, s in enumerate(sim.plan.net.caches):
                key = sim.plan.net.stations[s].key
                if key in old_caches:
                    current[:, :, :, c] = arrays["rec/hit_bands"][:, :, vmap][
                        :, :, :, old_caches.index(key)
                    ]
        else:  # done, slack, in_flight: (V, R); run_acc: (V, R, G)
            current[...] = arrays[f"rec/{name}"][vmap]
