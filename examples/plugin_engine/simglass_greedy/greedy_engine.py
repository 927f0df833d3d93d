"""Engine ``greedy``: the steepest pair-move descent at t = 0 from one random state.

Per task (one realisation): N_f particles on random sites, then, while a pair move
(a particle from occupied i to empty j, ΔE = φ_j − φ_i + V_ij, docs/conventions.md)
lowers the classical energy, the move with the lowest ΔE.  The end state is
pair-stable unless ``max_moves`` ran out.  An example of the engine contract of
simglass.engines, registered by this package's entry point (pyproject.toml).
"""

from __future__ import annotations

import numpy as np

from simglass.options import Option
from simglass.outputs import Output

OPTIONS = {
    "max_moves": Option(int, 10_000, lambda x: x >= 1, ">= 1", "largest number of pair moves"),
}

OUTPUTS = {
    "energy": Output("()", "energy", "E = Σ_i eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j of the end state"),
    "energy_per_site": Output("()", "energy", "energy / N"),
    "occupation": Output("(N,)", "1", "n_i = 0 or 1 of the end state", "int"),
    "moves": Output("()", "count", "pair moves made", "int"),
    "pair_stable": Output("()", "", "no pair move lowers the energy of the end state", "bool"),
}

# the value of a sound result: simglass info counts the tasks flagged otherwise
FLAGS = {"pair_stable": True}


def check_point(params, options):
    """A classical engine: refuse t != 0 before anything runs."""
    if params["t"] != 0:
        raise ValueError(f"t = {params['t']}: engine greedy is classical (t = 0 only)")


def run(model, rng, *, max_moves):
    """The record of one task: a pure function of the model, the task's random stream
    ``rng`` and the options."""
    n = np.zeros(model.n_sites)
    n[rng.permutation(model.n_sites)[:model.n_particles]] = 1.0
    moves, stable = 0, False
    while moves < max_moves:
        phi = model.local_fields(n)
        occ, emp = np.flatnonzero(n == 1), np.flatnonzero(n == 0)
        if occ.size == 0 or emp.size == 0:
            stable = True
            break
        delta = phi[emp][None, :] - phi[occ][:, None] + model.V[np.ix_(occ, emp)]
        a, b = np.unravel_index(np.argmin(delta), delta.shape)
        if delta[a, b] >= -1e-12 * (1.0 + np.abs(phi).max()):
            stable = True
            break
        n[occ[a]], n[emp[b]] = 0.0, 1.0
        moves += 1
    energy = model.energy(n)
    return {"energy": energy, "energy_per_site": energy / model.n_sites, "occupation": n.astype(np.int64),
            "moves": moves, "pair_stable": stable}
