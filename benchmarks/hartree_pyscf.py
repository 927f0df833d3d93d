"""The T = 0 Hartree equations solved by PySCF's SCF drivers against ``ed.hartree_solve``
on the same realisations and from the same (classical) start (issue 15), as ratios in
one run.

PySCF sees the lattice model as an unrestricted calculation with N_f spin-up electrons
in N orthonormal orbitals: core Hamiltonian h0 = -t A + diag eps, overlap 1, and a
Hartree-only two-body term through ``get_jk``: J[D] = diag(-V diag D), K = 0, so its
energy Tr(h0 D) + ½ Tr(J[D] D) is E_H (docs/conventions.md) and its aufbau is ours.  Methods:
PySCF's default (CDIIS) and its second-order solver (``mf.newton()``).  Reported per
solution: wall time in units of one numpy.linalg.eigh of the same size, PySCF's
converged flag, the residual max |n_out - n| of our aufbau map at its density, and
E_H against ours.

    pip install pyscf    # not a simglass dependency
    .venv/bin/python benchmarks/hartree_pyscf.py [--L 8] [--J 4] [--realizations 4]
"""

import argparse
import sys
import time

import numpy as np

from simglass import ed
from simglass.ed.hartree import _start_density, aufbau, bare_hamiltonian, hartree_hamiltonian
from simglass import Lattice, Model, sample_disorder

from hartree import eigh_time


def pyscf_solve(m, n0, method):
    from pyscf import gto, scf
    N, nf, V = m.n_sites, m.n_particles, m.V
    h0 = bare_hamiltonian(m)
    mol = gto.M(verbose=0)
    mol.nelectron, mol.spin, mol.incore_anyway = nf, nf, True
    mol.nao_nr = lambda *a: N
    mf = scf.UHF(mol)
    mf.get_hcore = lambda *a: h0
    mf.get_ovlp = lambda *a: np.eye(N)

    def get_jk(mol=None, dm=None, hermi=1, with_j=True, with_k=True, omega=None):
        dm = np.asarray(dm)
        d2 = dm.reshape(-1, N, N)
        vj = np.zeros_like(d2)
        for k in range(d2.shape[0]):
            vj[k][np.diag_indices(N)] = -(V @ np.diagonal(d2[k]))
        return vj.reshape(dm.shape), np.zeros(dm.shape)
    mf.get_jk = get_jk
    mf.conv_tol, mf.conv_tol_grad, mf.max_cycle = 1e-12, 1e-9, 300
    if method == "newton":
        mf = mf.newton()
    mf.kernel(dm0=np.array([np.diag(n0), np.zeros((N, N))]))
    n = np.diagonal(mf.make_rdm1()[0]).copy()
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, n))
    n_out, _, _ = aufbau(E, psi, nf, 1e-10)
    return mf.converged, float(np.abs(n_out - n).max()), float(mf.e_tot)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--J", type=float, nargs="+", default=[4.0])
    ap.add_argument("--realizations", type=int, default=4)
    a = ap.parse_args()
    try:
        from pyscf import lib
        lib.num_threads(1)
    except ImportError:
        print("pyscf is not installed (pip install pyscf): nothing to compare")
        return 0
    lat = Lattice((a.L,) * 3)
    t_eigh = eigh_time(lat.n_sites)
    print(f"L = {a.L} (N = {lat.n_sites}): one eigh = {t_eigh * 1e3:.1f} ms")
    for J in a.J:
        for r in range(a.realizations):
            d = sample_disorder(lat, J=J, seed=2026, realization=r)
            m = Model(lat, 1.0, d.V, d.eps, density=0.5)
            n0 = _start_density(m, "classical", np.random.default_rng(r), 300)
            t0 = time.perf_counter()
            ours = ed.hartree_solve(m, init_density=n0, starts=())
            line = [f"J/t = {J:g} r = {r}: simglass {(time.perf_counter() - t0) / t_eigh:6.1f} eighs "
                    f"(converged {ours.converged}, E_H {ours.energy:.6f})"]
            for method in ("cdiis", "newton"):
                t0 = time.perf_counter()
                conv, res, e = pyscf_solve(m, n0, method)
                line.append(f"pyscf {method} {(time.perf_counter() - t0) / t_eigh:7.1f} eighs (converged "
                            f"{conv}, residual {res:.1e}, E_H - ours {e - ours.energy:+.2e})")
            print("\n    ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
