"""ED performance as ratios measured in one run (issue 5).

Our path (QuSpin hopping matrix + the all-to-all density diagonal built directly from
the occupation bits + scipy eigsh) against QuSpin's own generic path: every density term
as a QuSpin "n" / "nn" term, ``hamiltonian(...).eigsh``.  Same realisation, same sector;
prints both times, the ratio and the relative energy difference.

    .venv/bin/python benchmarks/ed_scaling.py [--shape 2 3 4]
    .venv/bin/python benchmarks/ed_scaling.py --shape 3 3 3 --nf 13 --path matfree --no-peer
"""

import argparse
import resource
import time

import numpy as np

import ed
from ed.exact import _basis
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--nf", type=int, help="particles (default: half filling)")
    ap.add_argument("--path", default="fast", choices=["fast", "matfree"])
    ap.add_argument("--no-peer", action="store_true", help="skip QuSpin's generic path")
    a = ap.parse_args()
    lat = Lattice(tuple(a.shape))
    d = sample_disorder(lat, J=4.0, seed=1)
    m = Model(lat, 1.0, d.V, d.eps, n_particles=a.nf if a.nf else lat.n_sites // 2)
    t0 = time.perf_counter()
    ours = ed.exact_ground_state(m, path=a.path)
    t_ours = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{lat.shape}, N_f = {m.n_particles}, {ours.dimension:,} states: simglass {t_ours:.1f} s, "
          f"E0 = {ours.energy:.10f} (peak RSS so far {peak:.2f} GiB)")
    if a.no_peer:
        return
    t0 = time.perf_counter()
    ref = quspin_generic(m)
    t_ref = time.perf_counter() - t0
    print(f"QuSpin generic path: {t_ref:.1f} s, E0 = {ref:.10f}")
    print(f"speed-up {t_ref / t_ours:.2f}x, |dE|/|E| = {abs(ours.energy - ref) / abs(ref):.2e}")


if __name__ == "__main__":
    main()
