"""Saddle-point solver performance (issue 6), measured in one run.

1. The whole phase boundary (8 densities of issue 6) with the momentum rule n_q = 12,
   16 and 20 (``momentum_rule``: rays for a convex Fermi surface, the tensor rule split at
   the edge cusp with n_q + 4 nodes per axis otherwise; n_k = 12, 48 frequency nodes):
   wall time of each, and the change of every J_c between them (the digits the rule
   resolves).
2. The two J_c algorithms on the same table (n = 0.3): the fold parametrisation against
   bisection on the existence of the Fermi-liquid solution: time ratio and agreement.
3. Eq. 38 at every frequency node: Newton on all rows at once (``_solve_D``, the
   solver's) against bracketing row by row (``_solve_D_scalar``, its fallback), at the
   solution's λ for J = 0.3 … 0.999 J_c on three tables: time per call, and the largest
   residual |F(D)| of each (D spans 1e-9 … 0.2 over the nodes, so the residual, not the
   relative difference, says which is closer to the root).
4. A peer built like the paper's solver (needs ``pip install '.[bench]'`` for vegas):
   the bubble table by VEGAS Monte Carlo over k (one integral with its own adapted map
   per entry (Ω, q)), then Powell's hybrid method (scipy
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
                                       convex_fermi_surface, critical_coupling_table, frequency_nodes,
                                       momentum_rule)

DENSITIES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def vegas_table(density, n_q, n_omega, neval, nitn=10):
    """-Π⁰(Ω, q) on our momentum rule and frequency nodes, one VEGAS integral over
    k ∈ [-π, π]³ per entry (its own adapted map): -Π⁰ = 2 ∫_k f_k (1 - f_k+q) Δ/(Ω² + Δ²),
    Δ = ξ_k+q - ξ_k (Ω = 0: 2/Δ).  Returns (BubbleTable of means, table of standard errors)."""
    import gvar
    import vegas
    gvar.ranseed(1)  # vegas draws from gvar's generator
    mu = chemical_potential(density, 1.0)
    omega, weights = frequency_nodes(1.0, n_omega)
    q, wq = momentum_rule(n_q, mu)
    mean = np.empty((omega.size, len(q)))
    err = np.empty_like(mean)
    for j, qv in enumerate(q):
        for i, w in enumerate(omega):
            @vegas.lbatchintegrand
            def f(k):
                e1 = -2.0 * np.cos(k).sum(axis=1) - mu
                e2 = -2.0 * np.cos(k + qv).sum(axis=1) - mu
                D = e2 - e1
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where((e1 <= 0) & (e2 > 0), 2 * D / (w * w + D * D), 0.0) / (2 * np.pi) ** 3
            integ = vegas.Integrator(3 * [[-np.pi, np.pi]])
            integ(f, nitn=5, neval=neval)  # adapt the map; discarded
            r = integ(f, nitn=nitn, neval=neval)
            mean[i, j], err[i, j] = r.mean, r.sdev
    return BubbleTable(omega, weights, mean, density, qweights=wq), err


def plain_monte_carlo(density, qv, w, n_batches=50, batch=2_000_000, seed=0):
    """-Π⁰(Ω > 0, q) by uniform sampling of k (bounded integrand: unbiased, honest error)."""
    mu = chemical_potential(density, 1.0)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_batches):
        k = rng.uniform(-np.pi, np.pi, (batch, 3))
        e1 = -2.0 * np.cos(k).sum(axis=1) - mu
        e2 = -2.0 * np.cos(k + qv).sum(axis=1) - mu
        D = e2 - e1
        vals.append(np.mean(np.where((e1 <= 0) & (e2 > 0), 2 * D / (w * w + D * D), 0.0)))
    return float(np.mean(vals)), float(np.std(vals, ddof=1) / np.sqrt(n_batches))


def hybrid_critical_coupling(table: BubbleTable, x0=None):
    """(J_c, solution vector) from Eqs. 38 (every node), 39 and 43 solved together by
    Powell's hybrid method.  Start: ``x0`` (a previous solution), else a continuation in
    J of the Fermi liquid (Eqs. 38 and 39 at fixed J, by the same method) from J = 0 until
    the stability J² ∫_q c(0)²/(1 + s c(0))² passes 0.9.  The solution must lie on the
    branch of Eq. 38 connected to J = 0 (1 - J² ∫_q c²/(1 + s c)² > 0 at every Ω > 0)."""
    c, qm = table.c, table.qmean
    target = table.density * (1 - table.density)

    def eqs(D, lam, J):
        s = (2 * lam - J ** 2 * D)[:, None]
        return (D - qm(c / (1 + s * c)), table.weights @ D / np.pi - target,
                J ** 2 * qm(c[0] ** 2 / (1 + s[0] * c[0]) ** 2), J ** 2 * qm(c ** 2 / (1 + s * c) ** 2))

    if x0 is None:
        x, J = np.concatenate([qm(c), [0.0]]), 0.0
        dJ = 0.1 * qm(c[0] ** 2) ** -0.5
        while dJ > 1e-6:
            sol = root(lambda y: np.append(*eqs(y[:-1], y[-1], J + dJ)[:2]), x, method="hybr")
            stab = eqs(sol.x[:-1], sol.x[-1], J + dJ)[3]
            if not sol.success or np.any(stab >= 1):
                dJ /= 2
                continue
            x, J = sol.x, J + dJ
            if stab[0] > 0.9:
                break
        x0 = np.append(x, J)
    sol = root(lambda y: np.append(np.append(*eqs(y[:-2], y[-2], y[-1])[:2]), eqs(y[:-2], y[-2], y[-1])[2] - 1),
               x0, method="hybr", options={"xtol": 1e-13})
    stab = eqs(sol.x[:-2], sol.x[-2], sol.x[-1])[3]
    if not sol.success or np.any(stab[1:] >= 1):
        raise RuntimeError(f"hybrid method: no solution on the physical branch ({sol.message})")
    return float(sol.x[-1]), sol.x


def peer(density=0.3, n_q=3, n_omega=24, neval=20000, n_redraw=10):
    # n_q = 3: at n = 0.3 (open Fermi surface) momentum_rule is the split tensor rule with
    # 7 nodes per axis (84 momenta), small enough for a VEGAS integral per table entry
    t0 = time.perf_counter()
    ref = bubble_table_infinite(density, 1.0, n_q, 12, n_omega)
    ours = critical_coupling_table(ref, 1.0, 1000.0)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    tab, err = vegas_table(density, n_q, n_omega, neval)
    jc, x = hybrid_critical_coupling(tab)
    t_peer = time.perf_counter() - t0

    def spread(c, e, x):  # J_c over tables redrawn within the VEGAS errors
        rng = np.random.default_rng(2)
        return float(np.std([hybrid_critical_coupling(BubbleTable(
            tab.omega, tab.weights, np.maximum(c + e * rng.standard_normal(e.shape), 0), density, tab.qweights),
            x)[0] for _ in range(n_redraw)], ddof=1))
    sd = spread(tab.c, err, x)
    # diagnosis: the same VEGAS table with our static row Ω = 0 (where the integrand 2/Δ
    # has infinite variance near the Fermi surface)
    c_mix, err_mix = tab.c.copy(), err.copy()
    c_mix[0], err_mix[0] = ref.c[0], 0.0
    jc_mix, x_mix = hybrid_critical_coupling(BubbleTable(tab.omega, tab.weights, c_mix, density, tab.qweights), x)
    sd_mix = spread(c_mix, err_mix, x_mix)
    dev = np.abs(tab.c - ref.c) / err
    q = momentum_rule(n_q, chemical_potential(density, 1.0))[0]
    k, j = np.unravel_index(np.argmax(dev[1:]), dev[1:].shape)
    k += 1
    mc, mc_err = plain_monte_carlo(density, q[j], tab.omega[k])
    print(f"n = {density}, rule n_q = {n_q}, {n_omega} frequency nodes: ours (deterministic bubble, fold) "
          f"J_c = {ours:.6f} in {t_ours:.2f} s; hybrid on our table J_c = {hybrid_critical_coupling(ref)[0]:.6f}")
    print(f"  VEGAS ({neval} evaluations x 10 iterations per entry) + hybrid: J_c = {jc:.4f} ± {sd:.4f} in "
          f"{t_peer:.1f} s: {(jc - ours) / sd:+.1f} σ from ours, time ratio {t_peer / t_ours:.0f}")
    print(f"  table entries against ours: median |dev| {np.median(dev):.1f} σ, largest at Ω = 0 "
          f"{dev[0].max():.1f} σ, at Ω > 0 {dev[k, j]:.1f} σ (Ω = {tab.omega[k]:.3g}, |q| = {np.linalg.norm(q[j]):.3g}: "
          f"VEGAS {tab.c[k, j]:.6g} ± {err[k, j]:.2g}, ours {ref.c[k, j]:.7g}, plain Monte Carlo with 1e8 points "
          f"{mc:.6g} ± {mc_err:.2g})")
    print(f"  VEGAS table with our Ω = 0 row: J_c = {jc_mix:.4f} ± {sd_mix:.4f}, {(jc_mix - ours) / sd_mix:+.1f} σ")


def rows_against_bracketing(repeat=5):
    from simglass import Lattice
    from simglass.meanfield.cluster import cluster_bubble_table
    from simglass.meanfield.saddle import _solve_D, _solve_D_scalar, bubble_table, saddle_grid
    tables = {"infinite lattice n = 0.3, n_q = 12": bubble_table_infinite(0.3, 1.0, 12, 12, 48),
              "6^3 grid n = 4/9": bubble_table(4 / 9, 1.0, 6),
              "2x2x2 cluster n = 1/2": cluster_bubble_table(Lattice((2, 2, 2)), 4)}
    print("Eq. 38 on all frequency rows at the solution's λ, J = 0.3 … 0.999 J_c: "
          "Newton on all rows / bracketing row by row")
    for name, tab in tables.items():
        jc = critical_coupling_table(tab, 1.0, 100.0)
        t_new = t_old = 0.0
        res_new = res_old = 0.0
        for f in (0.3, 0.7, 0.95, 0.999):
            J = f * jc
            g = saddle_grid(J, tab)
            Jw = tab.couplings(J)
            t0 = time.perf_counter()
            for _ in range(repeat):
                a = _solve_D(tab.c, Jw, g.lam, tab.qmean)
            t1 = time.perf_counter()
            for _ in range(repeat):
                b = np.array([_solve_D_scalar(row, Jk, g.lam, tab.qmean) for row, Jk in zip(tab.c, Jw)])
            t2 = time.perf_counter()
            t_new, t_old = t_new + t1 - t0, t_old + t2 - t1
            def resid(D):
                mass = 2 * g.lam - Jw ** 2 * D
                return float(np.max(np.abs(D - tab.qmean(tab.c / (1 + mass[:, None] * tab.c)))))
            res_new, res_old = max(res_new, resid(a)), max(res_old, resid(b))
        print(f"  {name} ({tab.c.shape[0]} rows x {tab.c.shape[1]} momenta): "
              f"{t_new / (4 * repeat) * 1e3:.2f} ms / {t_old / (4 * repeat) * 1e3:.2f} ms per call "
              f"(ratio {t_old / t_new:.1f}); largest residual |F(D)| {res_new:.1e} / {res_old:.1e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-peer", action="store_true", help="skip the VEGAS + hybrid peer")
    ap.add_argument("--peer-neval", type=int, default=20000, help="VEGAS evaluations per iteration")
    args = ap.parse_args()
    bubble_table_infinite(0.3, 1.0, 4, 4, 8)  # numba compile / cache load
    jc, wall = {}, {}
    for n_q in (12, 16, 20):
        t0 = time.perf_counter()
        jc[n_q] = [critical_coupling_table(bubble_table_infinite(n, 1.0, n_q, 12, 48), 1.0, 1000.0)
                   for n in DENSITIES]
        wall[n_q] = time.perf_counter() - t0
    print("phase boundary, 8 densities, n_k = 12, 48 frequency nodes: "
          + ", ".join(f"{w:.1f} s with n_q = {m}" for m, w in wall.items()))
    for i, n in enumerate(DENSITIES):
        j, j16, j20 = (jc[m][i] for m in (12, 16, 20))
        rule = "rays" if convex_fermi_surface(chemical_potential(n, 1.0)) else "tensor"
        print(f"  n = {n:<5g} ({rule:6s}) J_c/t: n_q = 12: {j:10.5f}, 16: {j16:10.5f}, 20: {j20:10.5f}; "
              f"relative change 12 -> 16: {abs(j16 - j) / j20:.1e}, 16 -> 20: {abs(j20 - j16) / j20:.1e}")
    tab = bubble_table_infinite(0.3, 1.0, 12, 12, 48)
    t0 = time.perf_counter()
    a = critical_coupling_table(tab, 1.0, 100.0)
    t1 = time.perf_counter()
    b = critical_coupling_bisection(tab, 1.0, 100.0, tol=1e-9)
    t2 = time.perf_counter()
    print(f"n = 0.3, same table: fold {t1 - t0:.2f} s, bisection {t2 - t1:.2f} s "
          f"(ratio {(t2 - t1) / (t1 - t0):.1f}); J_c {a:.9f} vs {b:.9f}")
    rows_against_bracketing()
    if not args.skip_peer:
        peer(neval=args.peer_neval)


if __name__ == "__main__":
    main()
