"""Hartree at T > 0 deep in the glass (issue 35): Anderson mixing alone against mixing with
its fallback, L-BFGS on the free energy (ed.hartree_thermal.free_energy_descent, the
default), on the same realisations, as the hartree engine runs them, as ratios in one run.

On the W~ = 0 axis (compensated couplings, W = 0, n = 1/2, t = 1), the disorder of
realisations 0 .. R-1 of jobs/hartree_finite_t_loc_T010.toml (seed 3501,
simglass.tasks.build_model), per J/t and realisation, ed.hartree_thermal.hartree_thermal_solve
at T with the job's starts ("classical", "zero_temperature") and ``max_iter``
diagonalisations per start, twice: "mixing" (``descent_after = max_iter``: no fallback,
the solver of the job's first run) and "descent" (the default, ``descent_after = 300``).
Generator default_rng(r) for both, so both begin from the same classical state.

Printed per case: converged and stable, F and the diagonalisations of the start kept, and
the wall time of each in units of one numpy.linalg.eigh of the same size (one thread);
then per solver the converged-and-stable count, the median and 95th percentile of the
time, the paired F(descent) - F(mixing) over the cases both solve (negative: the
fallback finds lower free energies), and the median time against mixing's.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hartree_thermal_descent.py [--L 6] [--J 3.5 4 4.5 5]
        [--realizations 6] [--T 0.1] [--max-iter 1000]

About 10 minutes at L = 6 with the defaults on one core (the unconverged mixing runs use
all their diagonalisations).
"""

import argparse
import time

import numpy as np

from hartree import eigh_time            # benchmarks/hartree.py: one eigh of an N x N matrix, seconds
from simglass.ed.hartree_thermal import hartree_thermal_solve
from simglass.tasks import build_model

SEED = 3501          # jobs/hartree_finite_t_loc*.toml
STARTS = ("classical", "zero_temperature")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=6)
    ap.add_argument("--J", type=float, nargs="+", default=[3.5, 4.0, 4.5, 5.0])
    ap.add_argument("--realizations", type=int, default=6)
    ap.add_argument("--T", type=float, default=0.1)
    ap.add_argument("--max-iter", type=int, default=1000)
    a = ap.parse_args(argv)
    params = dict(L=[a.L] * 3, t=1.0, W=0.0, density=0.5, compensate=True, periodic=True, n_particles=None,
                  onsite="gaussian", couplings="gaussian", n_modes=None)
    solvers = {"mixing": {"descent_after": a.max_iter}, "descent": {}}
    t_eigh = eigh_time(a.L ** 3)
    print(f"L = {a.L}, T/t = {a.T}, max_iter = {a.max_iter} per start, seed {SEED}; one eigh {1e3 * t_eigh:.2f} ms")
    rows = {s: [] for s in solvers}
    for J in a.J:
        for r in range(a.realizations):
            m = build_model(params | {"J": J}, SEED, r)
            line = [f"J/t = {J:g} r = {r}:"]
            for name, kw in solvers.items():
                t0 = time.perf_counter()
                x = hartree_thermal_solve(m, a.T, rng=np.random.default_rng(r), starts=STARTS, max_iter=a.max_iter,
                                          **kw)
                t = (time.perf_counter() - t0) / t_eigh
                ok = bool(x.converged and x.stable)
                rows[name].append((ok, x.free_energy, t))
                line.append(f"{name}: conv {int(x.converged)} stable {int(x.stable)} F {x.free_energy:.6f} "
                            f"diag {x.iterations} ({x.start}) t/eigh {t:.0f}")
            print("  ".join(line), flush=True)
    n = len(rows["mixing"])
    for name, rs in rows.items():
        t = np.array([x[2] for x in rs])
        print(f"{name}: converged and stable {sum(x[0] for x in rs)} of {n}; time per case / eigh: median "
              f"{np.median(t):.0f}, 95th percentile {np.percentile(t, 95):.0f}")
    t_mix = np.median([x[2] for x in rows["mixing"]])
    for name in list(solvers)[1:]:
        both = [(d[1] - m_[1]) for m_, d in zip(rows["mixing"], rows[name]) if m_[0] and d[0]]
        if both:
            d = np.array(both)
            err = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else float("nan")
            print(f"paired F({name}) - F(mixing) over the {d.size} cases both solve: {d.mean():+.2e} +- {err:.1e} "
                  f"(lower {int(np.sum(d < -1e-6))}, equal {int(np.sum(abs(d) <= 1e-6))}, higher {int(np.sum(d > 1e-6))})")
        print(f"median time {name} / mixing: {np.median([x[2] for x in rows[name]]) / t_mix:.2f}")


if __name__ == "__main__":
    main()
