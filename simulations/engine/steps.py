"""Per-tick pieces of the sweep that only some stations need (M/M/c/K, timeouts, errors)."""

from __future__ import annotations

import numpy as np

from simulations.engine.latency import path_survival_at
from simulations.engine.queueing import fill_fraction, finite_queue, station_law
from simulations.engine.sweep import span

_TINY = 1e-12
_FLOAT_MAX = np.finfo(float).max
RETRIED = ("dependency", "blocked", "dropped", "shed_queue", "timeout")  # causes clients retry
# Refused at admission: a job a full queue refuses was never received, so a worker pool does
# not redeliver or dead-letter it (the producer gets the error at once).
ADMISSION = ("blocked", "dropped", "shed_queue")
_OUTPUT = {
    "dependency": "dependency",
    "rejected": "dependency",
    "blocked": "dropped",
    "dropped": "dropped",
    "shed": "shed",
    "shed_queue": "shed",
    "timeout": "timeout",
}


def shedding_room(level, servers, lam, load) -> np.ndarray:
    """The waiting room load shedding leaves, shaped like ``lam`` [requests].

    Load shedding keeps the predicted queue wait under ``shed_after``: the room is what the
    servers drain in that time, servers / E[S] x shed_after, with E[S] = load / lam; ``inf``
    at stations that do not shed (and where nothing arrives).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        drain = _nan_as_inf(servers * lam / load)
        shed_room = np.where(level.shed_finite, level.shed_s3 * drain, np.inf)
    return _nan_as_inf(shed_room)


def _nan_as_inf(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values, nan=np.inf)`` for values that are >= 0 or NaN: NaN becomes
    ``inf`` and ``inf`` the largest float, without the wrapper's cost."""
    return np.where(np.isnan(values), np.inf, np.minimum(values, _FLOAT_MAX))


def sum_classes(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(V, S, K, R) -> (V, S, R), the sum over classes: the same sequential order as
    ``values.sum(axis=2)`` (bitwise equal), but einsum's loop is faster on this layout."""
    return np.einsum("vskr->vsr", values, out=out)


def stationary_blocking(plan, level, total, load, lam, room_total) -> np.ndarray | None:
    """Fraction of a level's arrivals that find a finite waiting room full (M/M/c/K).

    Returns ``None`` when that fraction is negligible everywhere (the common case), so the
    M/M/c/K evaluation is skipped.

    Notes
    -----
    Below saturation the stationary p_K applies. Above it the stationary law is weighted by
    how much of the room one tick fills (``fill_fraction``), so a large room shows its
    transient fill (the fluid backlog) first.
    """
    a, b = level.start, level.stop
    if total.all():  # no station without servers: the division warns of nothing
        busy = load[:, a:b] / total
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            busy = load[:, a:b] / total
    if not np.any(busy > level.block_rho[:, :, None]):
        return None
    finite = np.isfinite(total) & (total > 0)
    safe = np.where(finite, total, 1.0)
    rho = np.where(finite, load[:, a:b] / safe, 0.0)
    # apply it only where the same per-station test passes, so a station's result never
    # depends on what else is in the batch; the law is evaluated at those stations only
    noticeable = rho > level.block_rho[:, :, None]
    at = span(np.flatnonzero(noticeable.any(axis=(0, 2))))  # a slice (views) when it can be
    finite, safe, rho, noticeable = finite[:, at], safe[:, at], rho[:, at], noticeable[:, at]
    group = np.where(level.pooled[:, at, None], safe, level.per_instance[:, at, None])
    room = np.where(finite, room_total[:, at] * group / safe, np.inf)
    bounded = finite & np.isfinite(room)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p_block = finite_queue(group, rho, np.where(bounded, room, 0.0), np.ones_like(rho))[0]
        weight = fill_fraction(lam[:, a:b][:, at], rho, room_total[:, at], plan.tick_s)
    blocked = np.zeros(total.shape)
    blocked[:, at] = np.where(bounded & noticeable, weight * p_block, 0.0)
    return blocked


def doom_possible(level, total, q_start, load, slow) -> bool:
    """Cheap test: could any arrival of the level miss its caller's timeout this tick?

    Without a backlog, at normal speed and below the utilization ``level.doom_rho`` (where
    P(W + S > timeout) < 1e-9 for the level's smallest queue), no request times out, and the
    Erlang evaluation is skipped.
    """
    if q_start.any() or (slow != 1.0).any():
        return True
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = load[:, level.start : level.stop] / total
    return bool(np.any(rho > level.doom_rho[:, :, None]))


def doomed_share(plan, level, total, q_start, out, slow, room_total) -> np.ndarray:
    """Share of each class's arrivals whose response will exceed the caller's timeout.

    Returns
    -------
    ndarray, shape (V, n, K, R)
        P(D + W + S_k > timeout) [-], with D the wait behind the fluid backlog, W the
        stationary (Erlang C) wait and S_k the class's exponential service time.

    Notes
    -----
    The caller gives up at the timeout but the callee still serves the request (wasted work):
    such a request stays in the queue, is not forwarded, and is counted (and retried) at once.
    The queueing laws are evaluated only at the stations where some caller may time out (a
    timeout, and a backlog, a slowdown or a utilization above ``level.doom_rho``); the share
    is 0 elsewhere.
    """
    a, b = level.start, level.stop
    finite = np.isfinite(total) & (total > 0)
    safe = np.where(finite, total, 1.0)
    load = out.load[:, a:b]
    rho = np.where(finite, load / safe, 0.0)
    # per station, the same test as doom_possible: the batch must not change a station's result
    possible = (q_start > 0) | (slow[:, :, 0, None] != 1.0) | (rho > level.doom_rho[:, :, None])
    keep = np.isfinite(level.timeout_s)[:, :, None] & possible  # (V, n, R)
    at = span(np.flatnonzero(keep.any(axis=(0, 2))))  # a slice (views) when it can be
    finite, safe, rho, keep = finite[:, at], safe[:, at], rho[:, at], keep[:, at]
    load, lam = load[:, at], out.lam[:, a:b][:, at]
    svc, slow, q_start = level.svc[:, at], slow[:, at], q_start[:, at]
    arriving = lam > 0
    # without arrivals, the mean over the classes (computed only when some queue has none)
    idle_mean_s = 0.0 if arriving.all() else svc.mean(axis=2)[..., None]
    mean_s = np.where(arriving, load / np.maximum(lam, _TINY), idle_mean_s)
    mean_s = np.maximum(mean_s, 1e-9)
    group = np.where(level.pooled[:, at, None], safe, level.per_instance[:, at, None])
    with np.errstate(invalid="ignore"):
        room = np.where(finite, room_total[:, at] * group / safe, np.inf)
    p_wait, theta, _ = station_law(
        group,
        rho,
        room,
        lam * group / safe,
        mean_s,
        plan.scenario.burstiness * 0.5 + 0.5,
        plan.tick_s,
    )
    p_wait = np.where(finite, p_wait, 0.0)
    behind = q_start * mean_s / safe  # wait behind the fluid backlog [s]
    # no timeout (inf) minus no capacity (inf) is NaN: only where ``keep`` drops the share
    with np.errstate(invalid="ignore"):
        limit = level.timeout_s[:, at, None] - np.where(finite, behind, np.inf)  # (V, n_at, R)
    service = svc[:, :, :, None] * slow[:, :, :, None]  # (V, n_at, K, 1)
    share = path_survival_at(
        limit[:, :, None, :],
        1.0 / np.maximum(service, 1e-9),
        p_wait[:, :, None, :],
        theta[:, :, None, :],
    )
    doomed = np.zeros((*possible.shape[:2], svc.shape[2], possible.shape[2]))
    doomed[:, at] = np.where(keep[:, :, None, :], share, 0.0)
    return doomed


def count_errors(level, fails: dict, retry_share, out) -> None:
    """Add this iteration's *final* failures to the per-station outputs, by cause.

    Retried attempts are not failures yet: they come back (see ``State.schedule_retries``).
    """
    dead_letter = level.dead_letter.any()
    for cause, lost in fails.items():
        if isinstance(lost, float):
            continue
        total = lost.sum(axis=2)  # (V, S, R)
        if retry_share is not None and cause in RETRIED:
            local = level.retry.local
            share = retry_share
            if cause in ADMISSION:
                share = share * level.retry.admission_retried
            total[:, local] -= (lost[:, local] * share).sum(axis=2)
        target = getattr(out, _OUTPUT[cause])
        target += total
        if cause not in ADMISSION and dead_letter:
            # a worker's received jobs that failed their last receive are dead-lettered
            out.dead_letters += np.where(level.dead_letter[:, :, None], total, 0.0)
