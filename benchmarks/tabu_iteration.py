"""Cost of one tabu iteration (mc.kernels.tabu_search) against its hardware floor, as
ratios in one run: the O(N) field update of one pair move (mc.kernels._move, two rows of
V read, N fields written), which every pair-move search pays per move.  Compensated
n = ½ instances; no restarts from the best state (stall longer than the run), so the
ratio is that of the iteration itself.  ``--reference PATH`` also times a second
kernels module (e.g. an older simglass/mc/kernels.py from git show) on the same runs and checks
that it ends in the same state.

    .venv/bin/python benchmarks/tabu_iteration.py [--N 512 1024 2048] [--sweeps 20] [--repeat 5]
"""

import argparse
import importlib.util
import time

import numpy as np

from simglass.mc import kernels
from simglass import Lattice, sample_disorder
from simglass.jit import njit


@njit(cache=True)
def _moves(V, phi, pairs):
    for n in range(pairs.shape[0]):
        kernels._move(V, phi, pairs[n, 0], pairs[n, 1])


def run(k, V, eps, occ0, iterations, seed):
    """(seconds, final occupation) of one tabu_search of module k from occ0."""
    occ = occ0.copy()
    phi = k.fields(V, eps, occ)
    ol = np.flatnonzero(occ).astype(np.int64)
    el = np.flatnonzero(occ == 0).astype(np.int64)
    N = occ.size
    t0 = time.perf_counter()
    k.tabu_search(V, eps, occ, phi, ol, el, iterations, max(2, min(15, N // 40)), 8, 10 ** 12, seed)
    return time.perf_counter() - t0, occ


def floor(V, phi, moves):
    """Seconds per field update of a pair move, best of three runs of ``moves`` updates."""
    N = phi.size
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, N, (moves, 2))
    _moves(V, phi, pairs[:1])
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        _moves(V, phi, pairs)
        best = min(best, time.perf_counter() - t0)
    return best / moves


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--sweeps", type=int, default=20, help="tabu iterations per run / N")
    ap.add_argument("--repeat", type=int, default=5, help="runs per N (different seeds)")
    ap.add_argument("--reference", help="path of a second kernels module to time alongside")
    a = ap.parse_args()
    ref = None
    if a.reference:
        spec = importlib.util.spec_from_file_location("reference_kernels", a.reference)
        ref = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ref)
    print(f"{'N':>6} {'floor [us]':>11} {'tabu [us/iter]':>15} {'tabu/floor':>10}"
          + (f" {'reference/tabu':>15}" if ref else ""))
    for N in a.N:
        d = sample_disorder(Lattice(N), J=1.0, seed=5, compensate=True, density=0.5)
        V, eps = np.ascontiguousarray(d.V), np.ascontiguousarray(d.eps)
        occ0 = np.zeros(N, np.int8)
        occ0[np.random.default_rng(N).choice(N, N // 2, replace=False)] = 1
        it = a.sweeps * N
        run(kernels, V, eps, occ0, 10, 0)                 # compile
        if ref:
            run(ref, V, eps, occ0, 10, 0)
        t, tr = [], []
        for s in range(a.repeat):
            dt, occ = run(kernels, V, eps, occ0, it, s)
            t.append(dt / it)
            if ref:
                dt, occ_r = run(ref, V, eps, occ0, it, s)
                tr.append(dt / it)
                if not np.array_equal(occ, occ_r):
                    print(f"  N = {N}, seed {s}: the reference ends in a different state")
        f = floor(V, kernels.fields(V, eps, occ0), 5 * N)
        print(f"{N:6d} {f * 1e6:11.2f} {min(t) * 1e6:15.2f} {min(t) / f:10.1f}"
              + (f" {min(tr) / min(t):15.2f}" if ref else ""))


if __name__ == "__main__":
    main()
