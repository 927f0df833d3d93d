"""Simulated annealing and fixed-temperature Metropolis."""

from __future__ import annotations

import numpy as np

from .state import State

__all__ = ["anneal_schedule", "anneal", "metropolis"]

SCHEDULES = ("geometric", "linear")


def anneal_schedule(T_max: float, T_min: float, sweeps: int, kind: str = "geometric") -> np.ndarray:
    """Temperatures of the ``sweeps`` annealing sweeps, from T_max down to T_min:
    "geometric" (constant ratio) or "linear" (linear in T).

    Raises ValueError for an unknown ``kind``, temperatures that are not finite and > 0,
    T_max < T_min, or sweeps < 1.
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
    for name, T in (("T_min", T_min), ("T_max", T_max)):
        if not (np.isfinite(T) and T > 0):
            raise ValueError(f"{name} must be finite and > 0, got {T}")
    if T_max < T_min:
        raise ValueError(f"T_max must be >= T_min, got T_min={T_min}, T_max={T_max}")
    if sweeps < 1:
        raise ValueError(f"sweeps must be >= 1, got {sweeps}")
    if kind == "geometric":
        return np.geomspace(T_max, T_min, sweeps)
    return np.linspace(T_max, T_min, sweeps)


def anneal(model, rng, schedule, init: State | None = None, moves="pair", mu=None):
    """One sweep at each temperature of ``schedule``; returns (state, best_E, best_occ)."""
    st = init if init is not None else State.random(model, rng, moves, mu)
    best_E, best_occ = st.E, st.copy_occ()
    for T in schedule:
        st.sweep(1.0 / T, rng)
        if st.E < best_E:
            best_E, best_occ = st.E, st.copy_occ()
    return st, best_E, best_occ


def metropolis(model, rng, T: float, sweeps: int, init: State | None = None, moves="pair", mu=None):
    """Fixed-temperature Metropolis; returns (state, energies after each sweep, acceptance).

    Raises ValueError for a temperature T that is not finite and > 0.
    """
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be finite and > 0, got {T}")
    st = init if init is not None else State.random(model, rng, moves, mu)
    E = np.empty(sweeps)
    acc = 0
    for s in range(sweeps):
        acc += st.sweep(1.0 / T, rng)
        E[s] = st.E
    return st, E, acc / (sweeps * model.n_sites)
