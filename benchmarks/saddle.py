"""Saddle-point solver performance (issue 6), measured in one run.

1. The whole phase boundary (8 densities of issue 6) with the default rule
   (n_q = 12, n_k = 12, 48 frequency nodes): wall time, and the change of every J_c when
   the momentum rule goes to n_q = 16 (the digits it resolves).
2. The two J_c algorithms on the same table (n = 0.3): the fold parametrisation against
   bisection on the existence of the Fermi-liquid solution: time ratio and agreement.
3. A peer built like the paper's solver (needs ``pip install '.[bench]'`` for vegas):
   the bubble table by VEGAS Monte Carlo over k (one adapted map per q, all frequencies
   as components of one integrand), then Powell's hybrid method (scipy
   ``root(method="hybr")``) on Eqs. 38, 39 and 43 together, with unknowns D(Ω_k), λ and
   J.  Same momentum rule and frequency nodes as ours, so the two J_c differ only by the
   k integration and the root finder; the peer's error comes from re-solving with tables
   redrawn within VEGAS's errors.

    .venv/bin/python benchmarks/saddle.py [--skip-peer] [--peer-neval 20000]
"""

import argparse
import time

import numpy as np
from scipy.optimize import root

from simglass.meanfield.infinite import chemical_potential
from simglass.meanfield.saddle import (BubbleTable, bubble_table_infinite, critical_coupling_bisection,
                                       critical_coupling_table, fermi_momentum_split, frequency_nodes,
                                       q_quadrature)

DENSITIES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def vegas_table(density, n_q, n_omega, neval, nitn=10, seed=1):
    """-Π⁰(Ω, q) on our momentum rule and frequency nodes, by VEGAS over k ∈ [-π, π]³:
    -Π⁰ = 2 ∫_k f_k (1 - f_k+q) Δ/(Ω² + Δ²), Δ = ξ_k+q - ξ_k (Ω = 0: 2/Δ; first component,
    the one VEGAS adapts to).  Returns (BubbleTable of means, table of standard errors)."""
    import vegas
    mu = chemical_potential(density, 1.0)
    omega, weights = frequency_nodes(1.0, n_omega)
    q, wq = q_quadrature(n_q, fermi_momentum_split(density))
    w2 = omega[None, :] ** 2

    def xi(k):
        return -2.0 * np.cos(k).sum(axis=1) - mu

    mean = np.empty((omega.size, len(q)))
    err = np.empty_like(mean)
    np.random.seed(seed)  # vegas draws from numpy's global generator
    for j, qv in enumerate(q):
        @vegas.lbatchintegrand
        def f(k):
            e1, e2 = xi(k), xi(k + qv)
            D = (e2 - e1)[:, None]
            inside = ((e1 <= 0) & (e2 > 0))[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                val = np.where(inside, 2 * D / (w2 + D * D), 0.0)
            return val / (2 * np.pi) ** 3
        integ = vegas.Integrator(3 * [[-np.pi, np.pi]])
        integ(f, nitn=5, neval=neval)  # adapt the map; discarded
        r = integ(f, nitn=nitn, neval=neval)
        mean[:, j] = [x.mean for x in r]
        err[:, j] = [x.sdev for x in r]
    return BubbleTable(omega, weights, mean, density, qweights=wq), err


def hybrid_critical_coupling(table: BubbleTable):
    """J_c from Eqs. 38 (every node), 39 and 43 solved together by Powell's hybrid
    method; start: J from Eq. 43 at s0 = 2λ - J² D(0) = 0, D(Ω) = ∫_q c."""
    c, qm = table.c, table.qmean
    target = table.density * (1 - table.density)
    D0 = qm(c)
    J0 = qm(c[0] ** 2) ** -0.5

    def F(x):
        D, lam, J = x[:-2], x[-2], x[-1]
        s = (2 * lam - J ** 2 * D)[:, None]
        eq38 = D - qm(c / (1 + s * c))
        eq39 = table.weights @ D / np.pi - target
        eq43 = J ** 2 * qm(c[0] ** 2 / (1 + s[0] * c[0]) ** 2) - 1
        return np.concatenate([eq38, [eq39, eq43]])
    sol = root(F, np.concatenate([D0, [0.5 * J0 ** 2 * D0[0], J0]]), method="hybr", options={"xtol": 1e-13})
    if not sol.success:
        raise RuntimeError(f"hybrid method failed: {sol.message}")
    return float(sol.x[-1])


def peer(density=0.3, n_q=6, n_omega=24, neval=20000, n_redraw=20):
    t0 = time.perf_counter()
    ours = critical_coupling_table(bubble_table_infinite(density, 1.0, n_q, 12, n_omega), 1.0, 1000.0)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    tab, err = vegas_table(density, n_q, n_omega, neval)
    jc = hybrid_critical_coupling(tab)
    t_peer = time.perf_counter() - t0
    rng = np.random.default_rng(2)
    redraw = [hybrid_critical_coupling(BubbleTable(tab.omega, tab.weights,
                                                   np.maximum(tab.c + err * rng.standard_normal(err.shape), 0),
                                                   density, tab.qweights)) for _ in range(n_redraw)]
    sd = float(np.std(redraw, ddof=1))
    print(f"n = {density}, rule n_q = {n_q}, {n_omega} frequency nodes: ours (deterministic bubble, fold) "
          f"J_c = {ours:.6f} in {t_ours:.2f} s; VEGAS ({neval} evaluations x 10 iterations per q) + hybrid "
          f"J_c = {jc:.4f} ± {sd:.4f} in {t_peer:.1f} s")
    print(f"  difference {(jc - ours) / sd:+.1f} σ; time ratio {t_peer / t_ours:.0f}; largest relative "
          f"VEGAS error of the table {np.max(err / np.maximum(tab.c, 1e-300)):.1e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-peer", action="store_true", help="skip the VEGAS + hybrid peer")
    ap.add_argument("--peer-neval", type=int, default=20000, help="VEGAS evaluations per iteration")
    a = ap.parse_args()
    bubble_table_infinite(0.3, 1.0, 4, 4, 8)  # numba compile / cache load
    t0 = time.perf_counter()
    jc = []
    for n in DENSITIES:
        jc.append(critical_coupling_table(bubble_table_infinite(n, 1.0, 12, 12, 48), 1.0, 1000.0))
    wall = time.perf_counter() - t0
    print(f"phase boundary, 8 densities, rule (12, 12, 48): {wall:.1f} s")
    for n, j in zip(DENSITIES, jc):
        j16 = critical_coupling_table(bubble_table_infinite(n, 1.0, 16, 12, 48), 1.0, 1000.0)
        rel = abs(j16 - j) / j16
        print(f"  n = {n:<5g} J_c/t = {j:10.5f}  (n_q = 16: {j16:10.5f}, relative change {rel:.1e}, "
              f"{max(0, int(-np.log10(rel + 1e-16))):d} digits)")
    tab = bubble_table_infinite(0.3, 1.0, 12, 12, 48)
    t0 = time.perf_counter()
    a = critical_coupling_table(tab, 1.0, 100.0)
    t1 = time.perf_counter()
    b = critical_coupling_bisection(tab, 1.0, 100.0, tol=1e-9)
    t2 = time.perf_counter()
    print(f"n = 0.3, same table: fold {t1 - t0:.2f} s, bisection {t2 - t1:.2f} s "
          f"(ratio {(t2 - t1) / (t1 - t0):.1f}); J_c {a:.9f} vs {b:.9f}")
    if not a.skip_peer:
        peer(neval=a.peer_neval)


if __name__ == "__main__":
    main()
