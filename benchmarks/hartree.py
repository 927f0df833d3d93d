"""Hartree solver performance as ratios measured in one run (issue 4).

1. A converged L = 10 solution at J/t = 4 (n = 1/2, W = 0): iterations, and wall time
   per iteration as a ratio to one LAPACK eigh (numpy.linalg.eigh) of the same size,
   the floor of any diagonalisation-based Hartree iteration.
2. A t-scan warm-started from the previous point against cold starts: iterations.

    .venv/bin/python benchmarks/hartree.py [--L 10] [--no-scan]
"""

import argparse
import time

import numpy as np

import ed
from simglass import Lattice, Model, sample_disorder


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--L", type=int, default=10)
    ap.add_argument("--no-scan", action="store_true", help="part 1 only")
    a = ap.parse_args()
    L = a.L
    lat = Lattice((L, L, L))
    d = sample_disorder(lat, J=4.0, seed=1)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5)
    h = np.random.default_rng(0).standard_normal((lat.n_sites,) * 2)
    h = h + h.T
    np.linalg.eigh(h)
    t0 = time.perf_counter()
    for _ in range(3):
        np.linalg.eigh(h)
    t_eigh = (time.perf_counter() - t0) / 3
    t0 = time.perf_counter()
    r = ed.hartree_solve(m, seed=1, starts=("uniform",))
    t_solve = time.perf_counter() - t0
    print(f"L = {L} (N = {lat.n_sites}), J/t = 4: converged = {r.converged}, {r.iterations} iterations, "
          f"{t_solve:.1f} s; per iteration {t_solve / r.iterations:.3f} s = "
          f"{t_solve / r.iterations / t_eigh:.2f} x one eigh ({t_eigh:.3f} s)")
    if a.no_scan:
        return
    ts = [1.0, 0.9, 0.8, 0.7, 0.6]
    warm_it, cold_it, prev = 0, 0, None
    for t in ts:
        mt = Model(lat, t, d.V, d.eps, density=0.5)
        cold = ed.hartree_solve(mt, seed=1, starts=("uniform",))
        cold_it += cold.iterations
        warm = cold if prev is None else ed.hartree_solve(mt, starts=(), init_density=prev, smearing=0.0)
        warm_it += warm.iterations
        prev = warm.density
        print(f"  t = {t}: cold {cold.iterations} it (E = {cold.energy:.6f}, conv {cold.converged}), "
              f"warm {warm.iterations} it (E = {warm.energy:.6f}, conv {warm.converged})")
    print(f"t-scan {ts}: warm-started {warm_it} iterations vs cold {cold_it} "
          f"(saved {100 * (1 - warm_it / cold_it):.0f} %)")


if __name__ == "__main__":
    main()
