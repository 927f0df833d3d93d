"""Convergence of J_c where the Fermi surface is open (0.213 < n < 0.787; issue 6):
the momentum rule there is the tensor rule split at the edge cusp q* (``momentum_rule(n_q)``
= ``q_quadrature(n_q + 4, split=q*)``); this measures how many nodes per axis it needs for
4 significant digits, against the plain tensor rule, and why.

1. J_c, wall time and the sum rule (Eq. 41) for the plain and the split tensor rule with
   12 ... 32 nodes per axis (n_k = 12, 48 frequency nodes), and n_k = 24 at one size (the
   k rule's share).
2. Which integrals limit the plain rule: against its finest size, the relative change of
   the static row's fold integral I2 = ∫_q c0²/(1 + s0 c0)² (at the finest rule's s0;
   Eq. 43, J_c = I2^(-1/2) on the fold) and of ∫_q c(Ω_k, q), at Ω = 0 and the largest
   over Ω > 0.
3. The cusp of the static bubble on the zone edge q = (π, π, q_z) at
   q* = 2 arccos(-μ/2t), where the Fermi surface and its q-shifted copy touch along a
   whole curve (k_z = -q*/2, cos k_x + cos k_y = 0), not at a point.

    .venv/bin/python benchmarks/open_fermi_surface.py [--densities 0.3 0.4] [--n-q 12 16 20 24 32]
"""

import argparse
import time

import numpy as np

from simglass.meanfield.infinite import bubble, chemical_potential
from simglass.meanfield.saddle import (BubbleTable, critical_coupling_table, edge_cusp, fold_mass,
                                       frequency_nodes, q_quadrature)


def tensor_table(n, n_q, n_k, split=False):
    """The solver's bubble table (48 frequency nodes) on the tensor rule q_quadrature(n_q),
    split at the edge cusp or not."""
    mu = chemical_potential(n, 1.0)
    omega, weights = frequency_nodes(1.0, 48)
    q, wq = q_quadrature(n_q, split=edge_cusp(mu) if split else None)
    c = -bubble(omega, q, n, 1.0, mu=mu, n_k=n_k)
    return BubbleTable(omega, weights, np.maximum(c, 0.0), n, qweights=wq)


def convergence(n, sizes, nk_check):
    tabs, jc = {}, {}
    for split in (False, True):
        for n_q in sizes:
            t0 = time.perf_counter()
            tab = tensor_table(n, n_q, 12, split)
            j = critical_coupling_table(tab, 1.0, 1000.0)
            wall = time.perf_counter() - t0
            rule = tab.weights @ tab.qmean(tab.c) / np.pi / (n * (1 - n)) - 1
            print(f"  {'split' if split else 'plain'} {n_q:2d} nodes per axis ({tab.qweights.size:5d} momenta, "
                  f"{wall:5.1f} s): J_c/t = {j:.6f}, sum rule {rule:+.1e}", flush=True)
            if not split:
                tabs[n_q], jc[n_q] = tab, j
    t0 = time.perf_counter()
    j24 = critical_coupling_table(tensor_table(n, nk_check, 24), 1.0, 1000.0)
    print(f"  plain {nk_check:2d}, n_k = 24 ({time.perf_counter() - t0:5.1f} s): J_c/t = {j24:.6f} "
          f"(n_k = 12 -> 24: {(j24 - jc[nk_check]) / j24:+.1e})")
    fine = tabs[sizes[-1]]
    s0 = fold_mass(jc[sizes[-1]], fine)

    def integrals(tab):
        return tab.qmean(tab.c[0] ** 2 / (1 + s0 * tab.c[0]) ** 2), tab.qmean(tab.c)

    i2_ref, rows_ref = integrals(fine)
    print(f"  plain rule against {sizes[-1]} nodes: relative change of J_c, of I2 (static fold integral), "
          f"of ∫c(0, q) and the largest of ∫c(Ω > 0, q)")
    for n_q in sizes[:-1]:
        i2, rows = integrals(tabs[n_q])
        d = np.abs(rows / rows_ref - 1)
        print(f"    {n_q:2d}: J_c {(jc[n_q] - jc[sizes[-1]]) / jc[sizes[-1]]:+.1e}, "
              f"I2 {i2 / i2_ref - 1:+.1e}, Ω = 0 {d[0]:.1e}, Ω > 0 {d[1:].max():.1e}")


def cusp_profile(n):
    mu = chemical_potential(n, 1.0)
    qs = edge_cusp(mu)
    eps = 10.0 ** -np.arange(1, 5)
    print(f"  static -Π⁰ on the edge q = (π, π, q* ± ε), q* = {qs:.6f}, n_k = 96; "
          "mean slope |Δc/Δε| between successive ε (grows without bound at a cusp):")
    for side, name in ((-1, "below"), (1, "above")):
        q = np.array([[np.pi, np.pi, qs + side * e] for e in eps])
        c, err = bubble(np.array([0.0]), q, n, 1.0, mu=mu, n_k=48, error=True)
        c, err = -c[0], err[0]
        slope = np.abs(np.diff(c) / np.diff(eps))
        print(f"    {name}: " + ", ".join(f"ε = {e:.0e}: {v:.5f}" for e, v in zip(eps, c))
              + "; slopes " + ", ".join(f"{x:.3g}" for x in slope)
              + f"; k-rule error (n_k 48 -> 96) <= {err.max():.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--densities", type=float, nargs="+", default=[0.3, 0.4])
    ap.add_argument("--n-q", type=int, nargs="+", default=[12, 16, 20, 24, 32])
    a = ap.parse_args(argv)
    sizes = sorted(a.n_q)
    tensor_table(0.3, 4, 4)  # numba compile / cache load
    for n in a.densities:
        print(f"n = {n} (μ = {chemical_potential(n, 1.0):.6f} t, open Fermi surface), tensor rule:")
        convergence(n, sizes, sizes[min(2, len(sizes) - 1)])
        cusp_profile(n)


if __name__ == "__main__":
    main()
