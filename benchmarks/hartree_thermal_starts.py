"""Hartree at T > 0 near the glass onset (issue 35): the classical start against the T = 0
solution as the start (``starts = ["zero_temperature"]`` of ed.hartree_thermal), on the
same realisations.

On the W~ = 0 axis (compensated couplings, W = 0, n = 1/2, t = 1), the disorder of
realisations 0 .. R-1 of jobs/hartree_finite_t*.toml (seed 3501, simglass.tasks.build_model),
per J/t and realisation, ed.hartree_thermal.hartree_thermal_solve at T with each start
alone (the solver's default options, ``--max-iter`` Anderson diagonalisations; the
generator default_rng(r) for both, so the zero_temperature start's T = 0 solve begins
from the same classical state).  Printed per case: converged, stable, the free energy F,
max |n_out - n_in| and the diagonalisations (for zero_temperature including the T = 0
solve's); then per start the number converged and stable, and over the cases where both
converge the paired F(zero_temperature) - F(classical).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hartree_thermal_starts.py [--L 8] [--J 3 3.5 4]
        [--realizations 4] [--T 0.1] [--max-iter 500]

About 6 minutes at L = 8 with the defaults on one core (the unconverged classical starts
use all their diagonalisations).
"""

import argparse
import time

import numpy as np

from simglass.ed.hartree_thermal import hartree_thermal_solve
from simglass.tasks import build_model

SEED = 3501          # jobs/hartree_finite_t*.toml


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--J", type=float, nargs="+", default=[3.0, 3.5, 4.0])
    ap.add_argument("--realizations", type=int, default=4)
    ap.add_argument("--T", type=float, default=0.1)
    ap.add_argument("--max-iter", type=int, default=500)
    a = ap.parse_args(argv)
    params = dict(L=[a.L] * 3, t=1.0, W=0.0, density=0.5, compensate=True, periodic=True, n_particles=None,
                  onsite="gaussian", couplings="gaussian", n_modes=None)
    starts = ("classical", "zero_temperature")
    table = {s: [] for s in starts}
    print(f"L = {a.L}, T/t = {a.T}, max_iter = {a.max_iter}, seed {SEED}")
    for J in a.J:
        for r in range(a.realizations):
            m = build_model(params | {"J": J}, SEED, r)
            line = [f"J/t = {J:g} r = {r}:"]
            for s in starts:
                t0 = time.perf_counter()
                x = hartree_thermal_solve(m, a.T, rng=np.random.default_rng(r), starts=(s,), max_iter=a.max_iter)
                table[s].append(x)
                line.append(f"{s}: conv {int(x.converged)} stable {int(x.stable)} F {x.free_energy:.6f} "
                            f"res {x.residual:.1e} diag {x.iterations} ({time.perf_counter() - t0:.1f} s)")
            print("  ".join(line), flush=True)
    for s in starts:
        ok = sum(x.converged and x.stable for x in table[s])
        print(f"{s}: converged and stable {ok} of {len(table[s])}")
    either = sum((x.converged and x.stable) or (y.converged and y.stable) for x, y in zip(*table.values()))
    print(f"either start (the engine with both keeps the better): {either} of {len(table['classical'])}")
    both = [(y.free_energy - x.free_energy) for x, y in zip(*table.values()) if x.converged and y.converged]
    if both:
        d = np.array(both)
        print(f"F(zero_temperature) - F(classical) where both converge ({d.size}): mean {d.mean():+.4f}, "
              f"lower {int(np.sum(d < -1e-6))}, equal {int(np.sum(np.abs(d) <= 1e-6))}, higher {int(np.sum(d > 1e-6))}")


if __name__ == "__main__":
    main()
