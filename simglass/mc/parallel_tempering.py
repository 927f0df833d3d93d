"""Parallel tempering (replica exchange) over a temperature ladder."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .state import State

__all__ = ["geometric_ladder", "temperature_ladder", "parallel_tempering", "PTResult", "check_temperatures",
           "swap_adjacent", "LADDERS"]

LADDERS = ("geometric", "linear", "inverse")


def check_temperatures(temps) -> np.ndarray:
    """The ladder ``temps`` as a float array (n,).

    Raises ValueError unless it is non-empty, 1D, finite, > 0 and strictly increasing."""
    temps = np.asarray(temps, dtype=float)
    if temps.ndim != 1 or temps.size == 0:
        raise ValueError("temperatures: the ladder must be a non-empty 1D list")
    if not np.all(np.isfinite(temps)) or np.any(temps <= 0):
        raise ValueError(f"temperatures must be finite and > 0, got {temps.tolist()}")
    if np.any(np.diff(temps) <= 0):
        raise ValueError("temperatures must increase strictly along the ladder")
    return temps


def geometric_ladder(T_min: float, T_max: float, n: int) -> np.ndarray:
    """n temperatures from T_min to T_max in geometric progression.

    Raises ValueError unless T_min and T_max are finite and > 0, T_max > T_min, and n >= 1.
    """
    if not (np.isfinite(T_min) and T_min > 0):
        raise ValueError(f"T_min must be finite and > 0, got {T_min}")
    if not (np.isfinite(T_max) and T_max > 0):
        raise ValueError(f"T_max must be finite and > 0, got {T_max}")
    if n < 1:
        raise ValueError(f"replicas must be >= 1, got {n}")
    if n == 1:
        return np.array([float(T_min)])
    if T_max <= T_min:
        raise ValueError(f"T_max must exceed T_min, got T_min={T_min}, T_max={T_max}")
    return np.geomspace(T_min, T_max, n)


def temperature_ladder(T_min: float, T_max: float, n: int, kind: str = "geometric") -> np.ndarray:
    """n temperatures from T_min to T_max, increasing (energy units of V): ``kind``
    "geometric" (constant ratio, ``geometric_ladder``), "linear" (equal steps in T) or
    "inverse" (equal steps in 1/T).

    Raises ValueError naming the argument for an unknown ``kind`` and as
    ``geometric_ladder`` for the temperatures and n.
    """
    if kind not in LADDERS:
        raise ValueError(f"ladder must be one of {LADDERS}, got {kind!r}")
    temps = geometric_ladder(T_min, T_max, n)      # checks T_min, T_max and n
    if n == 1 or kind == "geometric":
        return temps
    if kind == "linear":
        return np.linspace(T_min, T_max, n)
    return 1.0 / np.linspace(1.0 / T_min, 1.0 / T_max, n)


def swap_adjacent(betas, energies, at, parity, rng, tried, accepted):
    """One round of replica-exchange attempts between the adjacent temperatures k, k + 1
    for k = parity, parity + 2, ... (Metropolis on the exchange of the two replicas'
    temperatures: accepted with probability min(1, exp[(β_k - β_k+1)(E_a - E_b)])).

    betas : (R,) inverse temperatures; energies : (R,) energy of each *replica* (index =
    replica, not temperature); at : (R,) int, at[k] = replica at temperature k, permuted
    in place; tried, accepted : (R - 1,) counters per adjacent pair, incremented in place.
    A random number is drawn only when the swap would raise the weight's exponent
    (x < 0), so runs are reproducible from the generator ``rng``.
    """
    for k in range(parity, len(betas) - 1, 2):
        a, b = at[k], at[k + 1]
        x = (betas[k] - betas[k + 1]) * (energies[a] - energies[b])
        tried[k] += 1
        if x >= 0 or rng.random() < np.exp(x):
            at[k], at[k + 1] = b, a
            accepted[k] += 1


@dataclass
class PTResult:
    temperatures: np.ndarray       # (R,)
    states: list                   # final State at each temperature (index = temperature)
    energies: np.ndarray           # (sweeps, R) energy at each temperature after each sweep
    acceptance: np.ndarray         # (R,) accepted / proposed moves per temperature
    exchange: np.ndarray           # (R-1,) accepted / attempted swaps per adjacent pair
    best_energy: float
    best_occ: np.ndarray


def parallel_tempering(model, rng, temperatures, sweeps: int, init=None, moves="pair", mu=None,
                       callback=None) -> PTResult:
    """Run ``sweeps`` rounds of (one sweep of N proposals per replica, then swap
    attempts between adjacent temperatures, even and odd pairs alternating).

    Swaps exchange the replicas' temperatures (states stay in place).  The lowest
    energy met at any temperature is kept (``best_occ``).  ``callback(sweep, states)``
    with states ordered by temperature is called after each round.

    Raises ValueError for an invalid ladder (``check_temperatures``) or sweeps < 1.
    """
    temps = check_temperatures(temperatures)
    if sweeps < 1:
        raise ValueError(f"sweeps must be >= 1, got {sweeps}")
    R = temps.size
    betas = 1.0 / temps
    reps = list(init) if init is not None else [State.random(model, rng, moves, mu) for _ in range(R)]
    at = np.arange(R)  # at[k] = replica currently at temperature k
    acc = np.zeros(R)
    ex_acc = np.zeros(max(R - 1, 0))
    ex_try = np.zeros(max(R - 1, 0))
    energies = np.empty((sweeps, R))
    best_E, best_occ = np.inf, None
    N = model.n_sites
    for s in range(sweeps):
        for k in range(R):
            acc[k] += reps[at[k]].sweep(betas[k], rng)
        swap_adjacent(betas, [r.E for r in reps], at, s % 2, rng, ex_try, ex_acc)
        for k in range(R):
            e = reps[at[k]].E
            energies[s, k] = e
            if e < best_E:
                best_E, best_occ = e, reps[at[k]].copy_occ()
        if callback is not None:
            callback(s, [reps[at[k]] for k in range(R)])
    return PTResult(temperatures=temps, states=[reps[at[k]] for k in range(R)], energies=energies,
                    acceptance=acc / (sweeps * N), exchange=ex_acc / np.maximum(ex_try, 1),
                    best_energy=best_E, best_occ=best_occ)
