"""Canonical ground-state search at t = 0 (issue 21), as ratios in one run: tabu search
over pair moves (``mc.ground_state(method="tabu")``) against parallel tempering (the
default) on compensated n = ½ instances, and, when dwave-samplers is installed
(pip install '.[bench]'), against its TabuSampler on the single-flip formulation with a
quadratic penalty holding N_f, repaired by the exhaustive pair-move quench.

For each N: every method runs with growing effort; the time to reach within 0.1 % of
the best energy any method found (canonical energy at N_f = N/2) is reported per method.

    .venv/bin/python benchmarks/ground_state_search.py [--N 512 1024 2048] [--reads 4]
"""

import argparse
import time

import numpy as np

from simglass import mc
from simglass.mc.state import State
from simglass import Lattice, Model, sample_disorder


def instance(N, seed=5):
    d = sample_disorder(Lattice(N), J=1.0, seed=seed, compensate=True, density=0.5)
    return Model(Lattice(N), 0.0, d.V, d.eps, density=0.5)


def ours(m, method, effort, reads, seed):
    t0 = time.perf_counter()
    g = mc.ground_state(m, seed=seed, method=method, sweeps=effort, restarts=reads)
    return time.perf_counter() - t0, g.energy


def dwave_tabu(m, timeout_ms, reads, seed):
    """TabuSampler on Σ eps_i n_i - Σ_{i<j} V_ij n_i n_j + λ (Σ n - N_f)², then each read
    moved to N_f (greedy single flips) and pair-quenched; the best canonical energy."""
    import dimod
    from dwave.samplers import TabuSampler
    N, nf = m.n_sites, m.n_particles
    lam = 2 * np.abs(m.V).sum(axis=1).max() + np.abs(m.eps).max()
    lin = {i: float(m.eps[i] + lam * (1 - 2 * nf)) for i in range(N)}
    iu = np.triu_indices(N, 1)
    quad = {(int(i), int(j)): float(-m.V[i, j] + 2 * lam) for i, j in zip(*iu)}
    bqm = dimod.BinaryQuadraticModel(lin, quad, lam * nf ** 2, dimod.BINARY)
    t0 = time.perf_counter()
    s = TabuSampler().sample(bqm, num_reads=reads, timeout=timeout_ms, seed=seed)
    best = np.inf
    for rec in s.record.sample:
        occ = np.asarray(rec, dtype=np.int8)
        st = State(m, _to_nf(m, occ))
        st.quench()
        best = min(best, m.energy(st.occ))
    return time.perf_counter() - t0, best


def _to_nf(m, occ):
    occ = occ.copy()
    phi = m.local_fields(occ)
    while occ.sum() > m.n_particles:   # remove the particle with the highest field
        i = np.flatnonzero(occ)[np.argmax(phi[occ == 1])]
        occ[i] = 0
        phi = m.local_fields(occ)
    while occ.sum() < m.n_particles:   # add at the lowest field
        j = np.flatnonzero(occ == 0)[np.argmin(phi[occ == 0])]
        occ[j] = 1
        phi = m.local_fields(occ)
    return occ


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--reads", type=int, default=4)
    a = ap.parse_args()
    try:
        import dwave.samplers  # noqa: F401
        have_dwave = True
    except ImportError:
        have_dwave = False
        print("dwave-samplers not installed (pip install '.[bench]'): TabuSampler column skipped")
    for N in a.N:
        m = instance(N)
        ours(m, "tabu", 1, 1, 0)   # compile
        ours(m, "pt", 2, 1, 0)
        runs = {"tabu": [ours(m, "tabu", e, a.reads, e) for e in (1, 2, 5, 10, 20, 50)],
                "pt": [ours(m, "pt", e, a.reads, e) for e in (50, 100, 200, 500, 1000)]}
        if have_dwave:
            runs["dwave TabuSampler"] = [dwave_tabu(m, ms, a.reads, ms) for ms in (20, 50, 100, 200, 500)]
        best = min(e for r in runs.values() for _, e in r)
        target = best + 1e-3 * abs(best)
        print(f"N = {N}: best canonical energy {best:.4f}, target {target:.4f} ({a.reads} reads per run)")
        t_hit = {}
        for k, r in runs.items():
            print(f"  {k:18s} " + "  ".join(f"{t:6.3f} s {e:.4f}" for t, e in r))
            t_hit[k] = min((t for t, e in r if e <= target), default=np.nan)
        print("  time to target: " + ", ".join(f"{k} {t:.3f} s" for k, t in t_hit.items())
              + f"; ratio pt/tabu = {t_hit['pt'] / t_hit['tabu']:.1f}"
              + (f", TabuSampler/tabu = {t_hit['dwave TabuSampler'] / t_hit['tabu']:.1f}" if have_dwave else ""))


if __name__ == "__main__":
    main()
