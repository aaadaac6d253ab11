"""The mutable simulation state carried from tick to tick (and saved in checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.engine.plan import Plan, rewind_warmup, warm_hit_ratio

WARM = 1e15  # requests since the last flush of a cache that starts warm


@dataclass
class State:
    """State at the start of tick ``tick``; arrays are per variant and replication.

    Attributes
    ----------
    tick : int
    backlog : ndarray, shape (V, S, K, R)
        Requests waiting at each station [requests].
    instances : ndarray, shape (V, S, R)
        Instances in service (autoscaling changes it) [instances].
    since_flush : ndarray, shape (V, C, R)
        Requests a cache has seen since it was last emptied [requests].
    """

    tick: int
    backlog: np.ndarray
    instances: np.ndarray
    since_flush: np.ndarray
    qcap: np.ndarray

    @classmethod
    def initial(cls, plan: Plan) -> State:
        n_v, n_s, n_k, n_r = plan.shape
        instances = np.repeat(plan.net.instances[:, :, None], n_r, axis=2)
        state = cls(
            tick=0,
            backlog=np.zeros((n_v, n_s, n_k, n_r)),
            instances=instances,
            since_flush=np.full((n_v, len(plan.net.caches), n_r), WARM),
            qcap=np.zeros((n_v, n_s, n_r)),
        )
        state.refresh_capacity(plan)
        return state

    def refresh_capacity(self, plan: Plan) -> None:
        """Recompute the waiting room from the instance counts."""
        self.qcap = plan.qcap_per_instance[:, :, None] * self.instances

    def servers(self, plan: Plan, t: int) -> np.ndarray:
        """Servers available in tick ``t``, shape (V, S, R) [-]; ``inf`` for pure delays."""
        tl = plan.timeline
        alive = np.maximum(self.instances - tl.failed[t][:, :, None], 0.0)
        up = (1.0 - tl.down[t])[:, :, None]
        per = plan.net.per_instance[:, :, None]
        servers = alive * per * up
        return np.where(plan.net.delay[None, :, None], np.inf, servers)

    def cache_hit(self, plan: Plan, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Hit and miss ratios of every cache in tick ``t``, each (V, C, R) [-]."""
        flush = plan.timeline.flush[t]
        if flush.any():
            # losing a share f of the keys leaves (1 - f) of the hits: rewind the warm-up
            # curve to the request count that gives that hit ratio
            kept = (1.0 - flush)[:, :, None] * warm_hit_ratio(plan, self.since_flush)
            self.since_flush = np.where(
                flush[:, :, None] > 0, rewind_warmup(plan, kept), self.since_flush
            )
        hit = np.minimum(plan.hit_steady[t][:, :, None], warm_hit_ratio(plan, self.since_flush))
        return hit, 1.0 - hit

    def after_tick(self, plan: Plan, t: int, out) -> None:
        """Bookkeeping at the end of a tick (cache warm-up)."""
        if plan.net.caches:
            arrivals = out.lam[:, plan.net.caches] * plan.tick_s
            self.since_flush += arrivals

    def in_flight(self) -> np.ndarray:
        """Requests still inside the system, shape (V, R) [requests]."""
        return self.backlog.sum(axis=(1, 2))
