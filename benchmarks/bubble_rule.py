"""Convergence of the infinite-lattice bubble's k rule (meanfield.infinite.bubble) in n_k
at fixed (Ω, q), n = 0.3: the relative change of -Π⁰ at each doubling of n_k, and the
time per call.  Public API only, so the same script runs on earlier commits (compare
the rule before and after a change).

    .venv/bin/python benchmarks/bubble_rule.py [--density 0.3] [--max-nk 192]
"""

import argparse
import time

import numpy as np

from simglass.meanfield.infinite import bubble, chemical_potential

MOMENTA = ([1.1, 0.6, 0.3], [0.3, 0.2, 0.1], [2.5, 2.0, 1.0])
OMEGA = np.array([0.0, 0.05, 0.5, 5.0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--max-nk", type=int, default=192)
    a = ap.parse_args(argv)
    mu = chemical_potential(a.density, 1.0)
    bubble(OMEGA, MOMENTA[0], a.density, 1.0, mu=mu, n_k=4)  # compile
    print(f"n = {a.density}: relative change of -Π⁰(Ω, q) from n_k/2 to n_k, Ω/t = {OMEGA.tolist()}")
    for q in MOMENTA:
        prev, nk = None, 12
        while nk <= a.max_nk:
            t0 = time.perf_counter()
            b = bubble(OMEGA, q, a.density, 1.0, mu=mu, n_k=nk)[:, 0]
            dt = time.perf_counter() - t0
            if prev is not None:
                rel = np.abs(b - prev) / np.abs(b)
                print(f"q = {q}  n_k = {nk:4d}  " + "  ".join(f"{r:8.1e}" for r in rel) + f"   {dt:6.2f} s")
            prev, nk = b, 2 * nk


if __name__ == "__main__":
    main()
