"""Engine ``disorder``: measures what the disorder sampler produces.

Per task: mean and variance of the off-diagonal V_ij (in units of J²/N), of eps_i, and
of the Hartree shift h_i = Σ_j V_ij n_j over random configurations with N_f particles,
with its exact expectation (J²/N) Σ_{j≠i} n_j² averaged over sites and configurations
(docs/conventions.md, Eq. 26 for 0/1 occupations).
"""

from __future__ import annotations

import numpy as np

from .options import Option

OPTIONS = {
    "n_configs": Option(int, 64, lambda x: x >= 1, ">= 1",
                        "random configurations for the Hartree-shift variance"),
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
