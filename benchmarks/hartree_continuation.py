"""Continuing Hartree solutions along a scan against cold starts (issue 15), as ratios in one run.

For each realisation (n = 1/2, W = 0, t = 1) the solutions at the scanned J/t values
(ascending, or descending with --down) are computed twice:

* cold: ``ed.hartree_solve`` with its defaults (classical start, warm-up) at every value;
* continued: the first value as cold, every later one from the previous value's continued
  solution alone, without warm-up (what ``continue_along = "J"`` of the hartree engine does).

Reported per J/t: wall time per solution in units of one numpy.linalg.eigh of the same
size (median), diagonalisations (median), flagged solutions (unconverged or saddle
point), and the paired E_H difference continued - cold (mean ± standard error; how many
lower, equal within 1e-6, higher).

    .venv/bin/python benchmarks/hartree_continuation.py [--L 8] [--J 3 3.5 4 4.5 5 5.5 6 7]
                                                       [--realizations 20] [--down]
"""

import argparse
import sys
import time

import numpy as np

from simglass import ed
from simglass import Lattice, Model, sample_disorder

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from hartree import eigh_time  # noqa: E402


def solve(m, r, density):
    t0 = time.perf_counter()
    if density is None:
        h = ed.hartree_solve(m, seed=r)
    else:
        h = ed.hartree_solve(m, seed=r, starts=(), init_density=density, warmup=0)
    return h, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--J", type=float, nargs="+", default=[3, 3.5, 4, 4.5, 5, 5.5, 6, 7])
    ap.add_argument("--realizations", type=int, default=20)
    ap.add_argument("--down", action="store_true", help="scan the J values in reverse order")
    a = ap.parse_args()
    Js = sorted(a.J, reverse=a.down)
    lat = Lattice((a.L,) * 3)
    te = eigh_time(lat.n_sites)
    rows = {J: [] for J in Js}
    for r in range(a.realizations):
        density = None
        for J in Js:
            d = sample_disorder(lat, J=J, seed=2026, realization=r)
            m = Model(lat, 1.0, d.V, d.eps, density=0.5)
            cold, tc = solve(m, r, None)
            cont, tw = (cold, tc) if density is None else solve(m, r, density)
            density = cont.density
            rows[J].append((tc / te, cold.iterations, not (cold.converged and cold.stable), cold.energy,
                            tw / te, cont.iterations, not (cont.converged and cont.stable), cont.energy))
        print(f"realisation {r} done", file=sys.stderr, flush=True)
    print(f"L = {a.L} (N = {lat.n_sites}), one eigh = {te * 1e3:.1f} ms, {a.realizations} realisations, "
          f"J/t {'down' if a.down else 'up'}: {Js}")
    print("| J/t | cold t/eigh | continued t/eigh | cold diag | continued diag | flagged cold / cont. "
          "| E_cont − E_cold | lower / equal / higher |")
    print("|---|---|---|---|---|---|---|---|")
    for J in Js[1:]:
        x = np.array(rows[J], dtype=float)
        dE = x[:, 7] - x[:, 3]
        both = (x[:, 2] == 0) & (x[:, 6] == 0)
        d = dE[both]
        print(f"| {J:g} | {np.median(x[:, 0]):.1f} | {np.median(x[:, 4]):.1f} | {np.median(x[:, 1]):.0f} | "
              f"{np.median(x[:, 5]):.0f} | {int(x[:, 2].sum())} / {int(x[:, 6].sum())} | "
              f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(d.size):.4f} | "
              f"{(d < -1e-6).sum()} / {(np.abs(d) <= 1e-6).sum()} / {(d > 1e-6).sum()} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
