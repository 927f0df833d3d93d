"""ED performance as ratios measured in one run (issue 5).

Our path (``ed.exact_ground_state``: basis and compact hopping from ``ed.fock``, the
all-to-all density diagonal built directly from the occupation bits, our Lanczos)
against QuSpin's own generic path: every density term as a QuSpin "n" / "nn" term,
``hamiltonian(...).eigsh``.  Same realisation, same sector; prints both times, the ratio
and the relative energy difference, and (``--breakdown``) where our time goes, with
the manifold search run both ways (the two-vector block Lanczos of the stored path,
and single vectors).

    .venv/bin/python benchmarks/ed_scaling.py [--shape 2 3 4] [--repeat 3]
    .venv/bin/python benchmarks/ed_scaling.py --shape 3 3 3 --nf 13 --path matfree --no-peer
"""

import argparse
import resource
import time

import numpy as np

from simglass import ed
from simglass.ed.exact import _basis
from simglass import Lattice, Model, sample_disorder


def quspin_generic(model):
    from quspin.operators import hamiltonian
    N, t = model.n_sites, model.t
    basis = _basis(N, model.n_particles)
    b = model.lattice.bonds
    static = [["+-", [[-t, int(i), int(j)] for i, j in b]],
              ["-+", [[+t, int(i), int(j)] for i, j in b]],
              ["n", [[model.eps[i], i] for i in range(N)]],
              ["nn", [[-model.V[i, j], i, j] for i in range(N) for j in range(i + 1, N)]]]
    H = hamiltonian(static, [], basis=basis, dtype=np.float64,
                    check_symm=False, check_herm=False, check_pcon=False)
    E, _ = H.eigsh(k=1, which="SA", v0=np.random.default_rng(0).standard_normal(basis.Ns))
    return E[0]


def breakdown(model):
    """Build time, then the manifold search as exact_ground_state runs it, once with the
    two-vector block Lanczos (ed.lanczos.pair_lanczos) and once with single vectors
    (ground state, then the locked gap test): products and their times, same run."""
    from simglass.blas import blas_one_thread
    from simglass.ed.exact import _lanczos_manifold, diagonal_energies
    from simglass.ed.fock import hopping_operator, sector_states
    N = model.n_sites
    t0 = time.perf_counter()
    states = sector_states(N, model.n_particles)
    mv = hopping_operator(states, diagonal_energies(states, N, model.V, model.eps), N, model.lattice.bonds,
                          model.t)
    print(f"  breakdown: basis + diagonal + hopping ({mv.nnz:,} entries) {time.perf_counter() - t0:.1f} s")
    for pair in (True, False):
        calls = {"single": [0, 0.0], "pair": [0, 0.0]}

        def timed(kind, f):
            def g(*args):
                t = time.perf_counter()
                y = f(*args)
                calls[kind][0] += 1
                calls[kind][1] += time.perf_counter() - t
                return y
            return g
        counted = timed("single", mv)
        counted.pair = timed("pair", mv.pair)
        t0 = time.perf_counter()
        with blas_one_thread():   # as exact_ground_state runs it
            _, E0, _, _, g = _lanczos_manifold(counted, states.size, 1e-12, 8.0, 1e-8, pair=pair)
        total = time.perf_counter() - t0
        parts = "; ".join(f"{n} {kind} products {t:.2f} s ({1e3 * t / n:.2f} ms each)"
                          for kind, (n, t) in calls.items() if n)
        print(f"  manifold search, {'pairs' if pair else 'single vectors'}: {total:.2f} s, "
              f"degeneracy {g}, E0 = {E0:.10f}; {parts}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--nf", type=int, help="particles (default: half filling)")
    ap.add_argument("--path", default="fast", choices=["fast", "matfree"])
    ap.add_argument("--no-peer", action="store_true", help="skip QuSpin's generic path")
    ap.add_argument("--breakdown", action="store_true",
                    help="time our build and products separately, and the search with pairs against single vectors")
    ap.add_argument("--repeat", type=int, default=1, help="best of this many calls, for both codes")
    a = ap.parse_args()
    lat = Lattice(tuple(a.shape))
    d = sample_disorder(lat, J=4.0, seed=1)
    m = Model(lat, 1.0, d.V, d.eps, n_particles=a.nf if a.nf else lat.n_sites // 2)
    # one-time costs (numba cache loading, QuSpin's first call) on a 2x2x3 cluster first
    small = Lattice((2, 2, 3))
    ds = sample_disorder(small, J=4.0, seed=1)
    warm = Model(small, 1.0, ds.V, ds.eps, n_particles=6)
    ed.exact_ground_state(warm, path=a.path, dense_max=0)
    if not a.no_peer:
        quspin_generic(warm)
    t_ours = np.inf
    for _ in range(max(a.repeat, 1)):
        t0 = time.perf_counter()
        ours = ed.exact_ground_state(m, path=a.path)
        t_ours = min(t_ours, time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{lat.shape}, N_f = {m.n_particles}, {ours.dimension:,} states (degeneracy {ours.degeneracy}): "
          f"simglass {t_ours:.2f} s, "
          f"E0 = {ours.energy:.10f} (peak RSS so far {peak:.2f} GiB)")
    if a.breakdown:
        breakdown(m)
    if a.no_peer:
        return
    t_ref = np.inf
    for _ in range(max(a.repeat, 1)):
        t0 = time.perf_counter()
        ref = quspin_generic(m)
        t_ref = min(t_ref, time.perf_counter() - t0)
    print(f"QuSpin generic path: {t_ref:.2f} s, E0 = {ref:.10f}")
    print(f"speed-up {t_ref / t_ours:.2f}x, |dE|/|E| = {abs(ours.energy - ref) / abs(ref):.2e}")


if __name__ == "__main__":
    main()
