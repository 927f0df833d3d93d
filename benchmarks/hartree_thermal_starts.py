"""Hartree at T > 0 near the glass onset (issue 35): the classical start against the T = 0
solution as the start (``starts = ["zero_temperature"]`` of ed.hartree_thermal), on the
same realisations, as the hartree engine runs them.

On the W~ = 0 axis (compensated couplings, W = 0, n = 1/2, t = 1), the disorder of
realisations 0 .. R-1 of jobs/hartree_finite_t*.toml (seed 3501, simglass.tasks.build_model),
per J/t and realisation, one ed.hartree_thermal.hartree_thermal_solve at T with
``starts = ("classical", "zero_temperature")`` (the jobs' starts; both from one classical
state; the solver's default options, ``--max-iter`` Anderson diagonalisations per start;
generator default_rng(r)).  Printed per case and start: converged, stable, the free
energy F, the diagonalisations (for zero_temperature including the T = 0 solve's) and
the start kept; then per start the number converged and stable, the number of cases
with a converged and stable result, and over the cases where both starts converge the
paired F(zero_temperature) - F(classical).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hartree_thermal_starts.py [--L 8] [--J 3 3.5 4]
        [--realizations 4] [--T 0.1] [--max-iter 1000]

About 8 minutes at L = 8 with the defaults on a shared core (the unconverged starts use
all their diagonalisations).
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
    ap.add_argument("--max-iter", type=int, default=1000)
    a = ap.parse_args(argv)
    params = dict(L=[a.L] * 3, t=1.0, W=0.0, density=0.5, compensate=True, periodic=True, n_particles=None,
                  onsite="gaussian", couplings="gaussian", n_modes=None)
    starts = ("classical", "zero_temperature")
    table = {s: [] for s in starts}
    kept_ok = 0
    print(f"L = {a.L}, T/t = {a.T}, max_iter = {a.max_iter} per start, seed {SEED}")
    for J in a.J:
        for r in range(a.realizations):
            m = build_model(params | {"J": J}, SEED, r)
            t0 = time.perf_counter()
            x = hartree_thermal_solve(m, a.T, rng=np.random.default_rng(r), starts=starts, max_iter=a.max_iter)
            kept_ok += bool(x.converged and x.stable)
            line = [f"J/t = {J:g} r = {r} ({time.perf_counter() - t0:.1f} s, kept {x.start}):"]
            for label, F, conv, its, stab, _ in x.starts:
                ok = bool(conv) and bool(np.isfinite(stab) and stab >= -1e-6)
                table[label].append((ok, bool(conv), F))
                line.append(f"{label}: conv {int(conv)} stable {int(ok)} F {F:.6f} diag {its}")
            print("  ".join(line), flush=True)
    n = len(table["classical"])
    for s in starts:
        print(f"{s}: converged and stable {sum(ok for ok, _, _ in table[s])} of {n}")
    print(f"kept result converged and stable: {kept_ok} of {n}")
    both = [y[2] - x[2] for x, y in zip(table["classical"], table["zero_temperature"]) if x[1] and y[1]]
    if both:
        d = np.array(both)
        print(f"F(zero_temperature) - F(classical) where both converge ({d.size}): mean {d.mean():+.4f}, "
              f"lower {int(np.sum(d < -1e-6))}, equal {int(np.sum(np.abs(d) <= 1e-6))}, higher {int(np.sum(d > 1e-6))}")


if __name__ == "__main__":
    main()
