"""Hartree solvers side by side on the same realisations (issue 15), as ratios in one run.

For each L and J/t (n = 1/2, W = 0, t = 1, default options, classical start) and each
realisation, the methods of ``ed.hartree_solve`` ("trust": trust-region Newton on the
orbitals, the default; "newton": energy descent + Newton-Krylov, the previous default;
"mixing": the older Anderson mixing with annealed smearing) solve the same model.
Reported per (L, J/t) and method:

* the wall time per solution in units of one numpy.linalg.eigh of the same size
  (median and 95th percentile; the classical start, the same mc run for both, included),
* diagonalisations and response products (median),
* converged and stable fractions,
* the paired E_H difference of each method against the last one given (default
  "mixing") over realisations where both converged (mean ± standard error; negative:
  the method finds lower states).

    .venv/bin/python benchmarks/hartree.py [--L 8 10] [--J 2 3 4 5 6 8] [--realizations 20]
                                           [--methods trust newton mixing] [--warmup 10] [--csv PATH]
                                           [--threads 1 0] [--shared-pools] [--previous] [--compensate]

``--threads``: run everything once per BLAS thread count given (0: the default, one per
core), each in units of one eigh at that thread count, and print the median wall time
per solution at each count against the first.  ``--shared-pools``: also time the trust
solver with scipy's BLAS pool left at the default threads (without
simglass.blas.numpy_blas_only, as before that fix), on the same realisations
("trust-shared").  ``--previous``: also the trust solver without the explicit response of
ed.response.chi0_dense (no Newton finish, Lanczos stability check), last, so that the
paired energies compare the two.  ``--compensate``: compensated couplings, the W̃ = 0 axis
of the localisation production (jobs/fermi_level_w0_*.toml).
"""

import argparse
import contextlib
import csv
import sys
import time

import numpy as np

from simglass import ed
from simglass import Lattice, Model, sample_disorder

METHODS = ("trust", "newton", "mixing")


def eigh_time(N, repeats=3):
    h = np.random.default_rng(0).standard_normal((N, N))
    h = h + h.T
    np.linalg.eigh(h)
    t0 = time.perf_counter()
    for _ in range(repeats):
        np.linalg.eigh(h)
    return (time.perf_counter() - t0) / repeats


def unit_costs(lat, t_eigh):
    """The classical start (mc, default sweeps) and one χ⁰ product, in eighs, at J/t = 4."""
    from simglass.ed.hartree import _start_density, hartree_hamiltonian
    from simglass.ed.response import Response
    d = sample_disorder(lat, J=4.0, seed=2026, realization=0)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5)
    _start_density(m, "classical", np.random.default_rng(0), 300)    # numba's cache loaded
    t0 = time.perf_counter()
    n0 = _start_density(m, "classical", np.random.default_rng(0), 300)
    t_start = time.perf_counter() - t0
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, n0))
    R = Response(E, psi, m.n_particles)
    w = np.random.default_rng(1).standard_normal(lat.n_sites)
    R.chi0(w)
    t0 = time.perf_counter()
    for _ in range(10):
        R.chi0(w)
    return t_start / t_eigh, (time.perf_counter() - t0) / 10 / t_eigh


def solve_pair(lat, J, r, t_eigh, warmup=10, methods=METHODS, compensate=False):
    d = sample_disorder(lat, J=J, seed=2026, realization=r, compensate=compensate, density=0.5)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5)
    row = {"L": lat.shape[0], "J": J, "realization": r}
    for meth in methods:
        variant = {"trust-shared": shared_pools, "trust-lanczos": lanczos_only}.get(meth)
        t0 = time.perf_counter()
        with variant() if variant else contextlib.nullcontext():
            h = ed.hartree_solve(m, seed=r, method="trust" if variant else meth,
                                 **({"warmup": warmup} if meth != "mixing" else {}))
        row[f"{meth}_wall"] = time.perf_counter() - t0
        row.update({f"{meth}_time": (time.perf_counter() - t0) / t_eigh,
                    f"{meth}_diag": h.iterations, f"{meth}_products": h.response_products,
                    f"{meth}_converged": h.converged, f"{meth}_stable": h.stable,
                    f"{meth}_energy": h.energy, f"{meth}_residual": h.residual})
    return row


@contextlib.contextmanager
def shared_pools():
    """hartree_solve without simglass.blas.numpy_blas_only (both BLAS pools threaded)."""
    import simglass.ed.hartree as H
    keep = H.numpy_blas_only
    H.numpy_blas_only = contextlib.nullcontext
    try:
        yield
    finally:
        H.numpy_blas_only = keep


@contextlib.contextmanager
def lanczos_only():
    """The trust solver as it was before the explicit response (ed.response.chi0_dense):
    no Newton finish (newton_at = 0) and the stability check by Lanczos alone (margin 0)."""
    import functools

    import simglass.ed.hartree_trust as T
    import simglass.ed.response as R
    keep = T.trust_solve, R.hessian_min
    T.trust_solve = functools.partial(keep[0], newton_at=0.0)
    R.hessian_min = functools.partial(keep[1], margin=0.0)
    try:
        yield
    finally:
        T.trust_solve, R.hessian_min = keep


def summary(rows, methods=METHODS):
    out = []
    for meth in methods:
        t = np.array([r[f"{meth}_time"] for r in rows])
        out.append(f"{meth}: t/eigh median {np.median(t):6.1f} p95 {np.percentile(t, 95):6.1f}, "
                   f"diag {np.median([r[f'{meth}_diag'] for r in rows]):5.0f} "
                   f"(max {max(r[f'{meth}_diag'] for r in rows)}), "
                   f"prod {np.median([r[f'{meth}_products'] for r in rows]):5.0f}, "
                   f"conv {np.mean([r[f'{meth}_converged'] for r in rows]):.2f}, "
                   f"stable {np.mean([r[f'{meth}_stable'] for r in rows]):.2f}")
    ref = methods[-1]

    def paired(meth, key):
        d = [r[f"{meth}_energy"] - r[f"{ref}_energy"] for r in rows
             if r[f"{meth}_converged"] and r[f"{ref}_{key}"]]
        return (f"{np.mean(d):+.4f} ± {np.std(d, ddof=1) / np.sqrt(len(d)):.4f} ({len(d)} pairs, "
                f"{sum(x < -1e-6 for x in d)} lower, {sum(x > 1e-6 for x in d)} higher)"
                ) if len(d) > 1 else "n/a"
    return out, "; ".join(f"{m} - {ref}: {paired(m, 'converged')}, against stable {ref} solutions "
                          f"{paired(m, 'stable')}" for m in methods[:-1])


def run_size(L, a, methods, threads):
    """Every J and realisation at one size: printed summaries, rows returned."""
    lat = Lattice((L, L, L))
    t_eigh = eigh_time(lat.n_sites)
    c_start, c_prod = unit_costs(lat, t_eigh)
    print(f"L = {L} (N = {lat.n_sites}): one eigh = {t_eigh * 1e3:.1f} ms; classical start = "
          f"{c_start:.1f} eighs; one response product = {c_prod:.3f} eighs", flush=True)
    rows = []
    for J in a.J:
        block = [dict(solve_pair(lat, J, r, t_eigh, a.warmup, methods, a.compensate), threads=threads)
                 for r in range(a.realizations)]
        rows += block
        lines, dE = summary(block, methods)
        print(f"  J/t = {J:g}:  " + "\n             ".join(lines) + f"\n             "
              f"E_H paired: {dE}", flush=True)
    lines, dE = summary(rows, methods)
    print(f"  all J (L = {L}): " + "\n             ".join(lines) + f"\n             "
          f"E_H paired: {dE}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, nargs="+", default=[8, 10])
    ap.add_argument("--J", type=float, nargs="+", default=[2, 3, 4, 5, 6, 8])
    ap.add_argument("--realizations", type=int, default=20)
    ap.add_argument("--methods", nargs="+", choices=METHODS, default=["trust", "mixing"],
                    help="solvers to compare; paired energies against the last")
    ap.add_argument("--warmup", type=int, default=10, help="trust's and newton's smeared warm-up steps")
    ap.add_argument("--csv", help="write one row per solution pair")
    ap.add_argument("--threads", type=int, nargs="+", default=[0],
                    help="BLAS thread counts to run at (0: the default, one per core)")
    ap.add_argument("--shared-pools", action="store_true",
                    help="also time trust with scipy's BLAS pool threaded (before simglass.blas)")
    ap.add_argument("--previous", action="store_true",
                    help="also time trust without the explicit response (no Newton finish, Lanczos "
                         "stability check: the solver before it), last, so that energies pair against it")
    ap.add_argument("--compensate", action="store_true",
                    help="compensated couplings (the W~ = 0 axis of the production scans)")
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits
    methods = (list(a.methods) + (["trust-shared"] if a.shared_pools else [])
               + (["trust-lanczos"] if a.previous else []))
    rows = []
    for nt in a.threads:
        with threadpool_limits(nt) if nt else contextlib.nullcontext():
            print(f"BLAS threads: {nt or 'default'}", flush=True)
            for L in a.L:
                rows += run_size(L, a, methods, nt)
    if len(a.threads) > 1:
        ref = a.threads[0]
        for nt in a.threads[1:]:
            for L in a.L:
                for meth in methods:
                    w = [r[f"{meth}_wall"] for r in rows if r["threads"] == nt and r["L"] == L]
                    w0 = [r[f"{meth}_wall"] for r in rows if r["threads"] == ref and r["L"] == L]
                    print(f"L = {L} {meth}: median wall time per solution, {nt or 'default'} threads / "
                          f"{ref or 'default'}: {np.median(w) / np.median(w0):.2f}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
