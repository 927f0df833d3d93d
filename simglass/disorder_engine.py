"""Engine ``disorder``: measures what the disorder sampler produces.

Per task: mean and variance of the off-diagonal V_ij, of eps_i, and of the Hartree shift
h_i = Σ_j V_ij n_j over random configurations with N_f particles, with its exact
expectation (docs/conventions.md, Eq. 26 for 0/1 occupations).  The record is declared
in ``OUTPUTS`` (the engines page of the documentation and ``simglass engines disorder``
print it).
"""

from __future__ import annotations

import numpy as np

from .options import Option
from .outputs import Output

OPTIONS = {
    "n_configs": Option(int, 64, lambda x: x >= 1, ">= 1",
                        "random configurations for the Hartree-shift variance"),
}


# the record of one task (simglass.outputs): every key run() returns, and only those
OUTPUTS = {
    "n_sites": Output("()", "count", "N, the number of sites", "int"),
    "V_mean": Output("()", "energy", "mean of V_ij over the pairs i < j (-> 0)"),
    "V_var_N": Output("()", "energy²", "N × variance of V_ij over the pairs i < j (-> J²)"),
    "eps_mean": Output("()", "energy", "mean of eps_i over the sites"),
    "eps_var": Output("()", "energy²", "variance of eps_i (-> W² Gaussian, W²/12 box, plus the "
                      "compensation n Σ_j V_ij with compensate)"),
    "shift_mean": Output("()", "energy", "mean of the Hartree shift h_i = Σ_j V_ij n_j over sites and "
                         "n_configs random configurations with N_f particles"),
    "shift_msq": Output("()", "energy²", "mean of h_i² (-> J² × shift_msq_expected_per_J2)"),
    "shift_msq_expected_per_J2": Output("()", "1", "its exact expectation per J²: (1/N) Σ_{j≠i} n_j², "
                                        "averaged over sites and configurations"),
}


def memory_gb(params, options):
    """Per task: V, its upper triangle and index arrays, about 3 N² float64 numbers."""
    from .jobfile import sites_and_particles
    N, _ = sites_and_particles(params)
    return 3 * 8 * N ** 2 / 2 ** 30


def run(model, rng, *, n_configs):
    N, nf = model.n_sites, model.n_particles
    V, eps = model.V, model.eps
    iu = np.triu_indices(N, k=1)
    v = V[iu]
    occ = np.zeros((n_configs, N))
    for c in range(n_configs):
        occ[c, rng.choice(N, size=nf, replace=False)] = 1.0
    shift = occ @ V  # h_i = Σ_j V_ij n_j, per configuration
    # exact E[h_i²] for fixed n, per unit J²: (1/N) Σ_{j≠i} n_j²
    expect = (occ.sum(axis=1, keepdims=True) - occ).mean() / N
    return {
        "n_sites": N,
        "n_particles": nf,
        "V_mean": v.mean(),
        "V_var_N": v.var() * N,            # -> J²
        "eps_mean": eps.mean(),
        "eps_var": eps.var(),              # -> W² (Gaussian) or W²/12 (box) (+ compensation)
        "shift_mean": shift.mean(),
        "shift_msq": (shift ** 2).mean(),  # -> J² * shift_msq_expected_per_J2
        "shift_msq_expected_per_J2": expect,
    }
