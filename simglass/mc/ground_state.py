"""Low-energy pair-stable states of the t = 0 model: PT or annealing, then a quench."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simglass.options import generator

from . import kernels
from .annealing import anneal, anneal_schedule
from .parallel_tempering import geometric_ladder, parallel_tempering
from .state import State

__all__ = ["GroundState", "ground_state", "check_model", "tabu"]

METHODS = ("pt", "anneal", "tabu", "quench")


@dataclass
class GroundState:
    """Best state found.

    energy : Σ eps_i n_i - ½ Σ V_ij n_i n_j (canonical, without -mu N_f)
    occupation : (N,) 0/1
    mu : canonical chemical potential (docs/conventions.md)
    fields : (N,) phi_i - mu, local fields relative to mu (Eq. 15)
    pair_stable : no pair move lowers the energy (checked exhaustively)
    min_pair_delta : smallest pair-move ΔE of the state (>= 0 if pair-stable)
    diagnostics : sampler statistics of the restart that found it
    """
    energy: float
    occupation: np.ndarray
    mu: float
    fields: np.ndarray
    pair_stable: bool
    min_pair_delta: float
    restarts_hit: int = 0          # candidates (2 per restart) that reached this energy
    diagnostics: dict = field(default_factory=dict)


def check_model(model):
    """Check that ``model`` can run the canonical t = 0 search.

    Raises TypeError for a model that is not a simglass.Model, ValueError for t != 0 (the
    classical model only: its hopping would be ignored) and for N_f outside 1 .. N-1 (a
    pair move needs an occupied and an empty site)."""
    from simglass import Model
    if not isinstance(model, Model):
        raise TypeError(f"model must be a simglass.Model, got {type(model).__name__}")
    if model.t != 0:
        raise ValueError(f"model.t = {model.t!r}: the Monte Carlo treats the classical model (t = 0) "
                         "only; for t > 0 use ed.hartree_solve or ed.exact_ground_state")
    if not 0 < model.n_particles < model.n_sites:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {model.n_sites - 1} for the "
                         f"canonical Monte Carlo, got {model.n_particles}")


def finalize(model, occ) -> GroundState:
    """Quench-free summary of a state: energy, mu, fields relative to mu, stability."""
    occ = np.asarray(occ, dtype=np.int8)
    V = np.ascontiguousarray(model.V)
    phi = kernels.fields(V, np.ascontiguousarray(model.eps), occ)
    mu = model.chemical_potential(occ)
    dmin = kernels.min_pair_delta(V, occ, phi)
    tol = kernels.EPS_STABLE * max(1.0, np.abs(V).max() * np.sqrt(model.n_sites))
    return GroundState(energy=model.energy(occ), occupation=occ.astype(np.int8), mu=mu,
                       fields=phi - mu, pair_stable=bool(dmin >= -tol), min_pair_delta=float(dmin))


def tabu(model, rng, sweeps: int, K: int = 8):
    """Tabu search over canonical pair moves (mc.kernels.tabu_search) from a random state
    with N_f particles: ``sweeps`` × N iterations, tenure max(2, min(15, N/40)) (plus a random
    part up to as much), restart from the
    best state after N iterations without improvement (tenure and restart interval from a
    scan at N = 512, 1024: benchmarks/ground_state_search.py).  Returns the best occupation."""
    st = State.random(model, rng)
    N = model.n_sites
    kernels.tabu_search(st.V, st.eps, st.occ, st.phi, st.occ_list, st.emp_list, int(sweeps) * N,
                        max(2, min(15, N // 40)), K, max(50, N), int(rng.integers(2 ** 31 - 1)))
    return st.occ.copy()


def ground_state(model, seed=None, *, rng=None, method: str = "pt", sweeps: int = 1000,
                 replicas: int = 16, T_min: float = 0.02, T_max: float = 1.0, restarts: int = 2,
                 schedule: str = "geometric", callback=None) -> GroundState:
    """The lowest pair-stable state found by ``restarts`` independent runs of parallel
    tempering (``method="pt"``, ``replicas`` temperatures geometric in [T_min, T_max],
    ``sweeps`` rounds) or simulated annealing (``method="anneal"``, ``sweeps`` sweeps
    from T_max to T_min), each followed by a zero-temperature quench of the best and the
    final coldest state, or tabu search over pair moves (``method="tabu"``, ``sweeps``
    × N iterations from a random state, then the quench; temperatures unused), or only the
    quench from a random state (``method="quench"``: a local minimum of the pair-move
    landscape, for comparison with the deepest states; sweeps and temperatures unused).
    Temperatures are in the energy units of V and eps.
    ``callback(restart, sweep, states)`` is passed to parallel tempering (states
    ordered by temperature, coldest first).  ``diagnostics["restarts"]`` holds, per
    restart, the ladder, acceptance and exchange rates and the coldest replica's energy
    per sweep (PT), and the restart's own lowest quenched state (``final_energy``,
    ``final_occupation``: independent restarts give the overlaps of low-lying states).

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> from simglass import mc
    >>> lat = Lattice(16); d = sample_disorder(lat, J=1.0, seed=1)
    >>> gs = mc.ground_state(Model(lat, 0.0, d.V, d.eps, density=0.5), seed=1)
    >>> gs.pair_stable
    True

    Raises
    ------
    TypeError for a model that is not a simglass.Model; ValueError naming the argument
    for N_f outside 1 .. N-1, an unknown ``method``, or sweeps, replicas or restarts that
    are not integers >= 1 (temperatures: ``check_temperatures``).
    """
    check_model(model)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    for name, x in (("sweeps", sweeps), ("replicas", replicas), ("restarts", restarts)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {x!r}")
    rng = generator(seed, rng)
    if method == "pt":
        temps = geometric_ladder(T_min, T_max, replicas)
    elif method == "anneal":
        temps = anneal_schedule(T_max, T_min, sweeps, schedule)
    else:
        temps = np.zeros(0)
    best, hits, diags = None, 0, []
    for r in range(restarts):
        if method == "pt":
            cb = None if callback is None else (lambda s, states, r=r: callback(r, s, states))
            res = parallel_tempering(model, rng, temps, sweeps, callback=cb)
            candidates = [res.best_occ, res.states[0].occ]
            diags.append({"temperatures": res.temperatures, "acceptance": res.acceptance,
                          "exchange": res.exchange, "energy_coldest": res.energies[:, 0]})
        elif method == "anneal":
            st, _, best_occ = anneal(model, rng, temps)
            candidates = [best_occ, st.occ]
            diags.append({"temperatures": temps})
        elif method == "tabu":
            candidates = [tabu(model, rng, sweeps)]
            diags.append({"temperatures": temps})
        else:
            candidates = [State.random(model, rng).occ]
            diags.append({"temperatures": temps})
        own = None                       # this restart's lowest quenched state
        for occ in candidates:
            st = State(model, occ)
            st.quench()
            gs = finalize(model, st.occ)
            if own is None or gs.energy < own.energy:
                own = gs
            if best is None or gs.energy < best.energy - 1e-12 * max(1.0, abs(best.energy)):
                best, hits = gs, 1
            elif np.array_equal(gs.occupation, best.occupation) or abs(gs.energy - best.energy) <= 1e-12 * max(1.0, abs(best.energy)):
                hits += 1
        diags[-1]["final_energy"], diags[-1]["final_occupation"] = own.energy, own.occupation
    best.restarts_hit = hits
    best.diagnostics = {"restarts": diags}
    return best
