"""Self-consistent Hartree solver against exact limits and independent formulas."""
import numpy as np
import pytest

import ed
from ed.hartree import hartree_hamiltonian
from simglass import Lattice, Model, sample_disorder


def make(shape=(4, 4, 4), t=1.0, J=2.0, W=0.5, seed=1, density=0.5, onsite="gaussian"):
    lat = Lattice(shape)
    d = sample_disorder(lat, J=J, W=W, seed=seed, onsite=onsite)
    return Model(lat, t, d.V, d.eps, density=density)


def test_anderson_limit_one_iteration():
    m = make(J=0.0, W=3.0, onsite="box")
    h = ed.hartree_solve(m, seed=0, starts=("random",))
    E = np.linalg.eigvalsh(-m.t * m.hopping_matrix().toarray() + np.diag(m.eps))
    assert h.iterations == 1 and h.converged and h.residual == 0
    assert np.allclose(h.levels, E, atol=1e-12)
    assert h.energy == pytest.approx(E[:m.n_particles].sum(), abs=1e-10)
    assert h.mu == pytest.approx(0.5 * (E[31] + E[32]))


def free_levels(L):
    k = 2 * np.pi * np.arange(L) / L
    c = np.cos(k)
    return np.sort((-2 * (c[:, None, None] + c[None, :, None] + c[None, None, :])).ravel())


def test_free_fermions_closed_shell():
    """J = W = 0, periodic 4x4x4, a closed shell: uniform density, energy from the
    dispersion -2t Σ cos k_a."""
    ek = free_levels(4)
    nf = 7                      # levels -6 (1) and -4 (6)
    assert ek[nf] - ek[nf - 1] > 1
    lat = Lattice((4, 4, 4))
    m = Model(lat, 1.0, np.zeros((64, 64)), np.zeros(64), n_particles=nf)
    h = ed.hartree_solve(m, starts=("uniform",))
    assert np.allclose(h.density, nf / 64, atol=1e-12) and not h.degenerate
    assert h.energy == pytest.approx(ek[:nf].sum(), abs=1e-10)


def test_degenerate_fermi_shell_filled_equally():
    ek = free_levels(4)
    nf = 9
    shell = np.flatnonzero(np.isclose(ek, ek[nf - 1]))
    lo, hi = shell[0], shell[-1] + 1
    assert hi > nf                # the Fermi shell is partly filled
    m = Model(Lattice((4, 4, 4)), 1.0, np.zeros((64, 64)), np.zeros(64), n_particles=nf)
    h = ed.hartree_solve(m, starts=("uniform",))
    assert h.degenerate
    assert np.allclose(h.occupations[lo:hi], (nf - lo) / (hi - lo))
    assert h.occupations.sum() == pytest.approx(nf)
    assert np.allclose(h.density, nf / 64, atol=1e-10)  # the full shell keeps translation symmetry


def test_t0_solutions_are_single_particle_stable():
    """At t = 0 a converged solution is a 0/1 state with every occupied field below every
    empty one, and E_H is its classical energy.  Such a state need not exist near the
    start (two sites that each prefer the other's particle), so the solver may report
    non-convergence; most instances converge."""
    converged = 0
    for seed in range(8):
        m = make(t=0.0, J=1.0, W=0.3, seed=seed, shape=(3, 3, 4))
        h = ed.hartree_solve(m, seed=seed, starts=("classical", "random"), max_iter=200)
        if not h.converged:
            assert h.residual > 1e-8
            continue
        converged += 1
        occ = np.round(h.density)
        assert np.allclose(h.density, occ, atol=1e-8) and occ.sum() == m.n_particles
        phi = m.local_fields(occ)
        assert phi[occ == 1].max() <= phi[occ == 0].min() + 1e-10
        assert h.energy == pytest.approx(m.energy(occ), abs=1e-8)
    assert converged >= 5


@pytest.mark.parametrize("J", [1.0, 3.0, 6.0])
def test_self_consistent_energy_functional(J):
    m = make(J=J, seed=int(J))
    h = ed.hartree_solve(m, seed=2, starts=("classical", "uniform"), tol=1e-9)
    assert h.converged and h.residual <= 1e-9
    # re-diagonalising h[n] reproduces n
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, h.density))
    n2 = (psi[:, :m.n_particles] ** 2).sum(axis=1)
    assert np.abs(n2 - h.density).max() < 1e-8
    assert np.all(h.levels[:m.n_particles] < h.mu) and np.all(h.levels[m.n_particles:] > h.mu)
    # many-body Hartree functional on the Slater determinant: <T> + Σ eps n - ½ Σ V n n
    rho = psi[:, :m.n_particles] @ psi[:, :m.n_particles].T
    kin = -m.t * sum(2 * rho[i, j] for i, j in m.lattice.bonds)
    n = np.diag(rho)
    E_func = kin + m.eps @ n - 0.5 * n @ m.V @ n
    assert h.energy == pytest.approx(E_func, abs=1e-7)


class PermutedModel(Model):
    def __init__(self, model, perm):
        super().__init__(model.lattice, model.t, model.V[np.ix_(perm, perm)], model.eps[perm],
                         n_particles=model.n_particles)
        self._perm = perm
        self._A = Model.hopping_matrix(model)[perm][:, perm]

    def hopping_matrix(self):
        return self._A


def test_relabelling_invariance():
    m = make(J=3.0, seed=5)
    h = ed.hartree_solve(m, seed=1, starts=("uniform",))
    perm = np.random.default_rng(3).permutation(m.n_sites)
    mp = PermutedModel(m, perm)
    hp = ed.hartree_solve(mp, seed=1, starts=(), init_density=np.full(m.n_sites, 0.5))
    assert h.converged and hp.converged
    assert hp.energy == pytest.approx(h.energy, abs=1e-8)
    assert np.allclose(hp.levels, h.levels, atol=1e-7)
    assert np.allclose(hp.density, h.density[perm], atol=1e-7)


def test_warm_start_saves_iterations():
    m1, m2 = make(t=1.0, J=3.0, seed=9), None
    h1 = ed.hartree_solve(m1, seed=1, starts=("uniform",))
    m2 = Model(m1.lattice, 1.05, m1.V, m1.eps, n_particles=m1.n_particles)
    cold = ed.hartree_solve(m2, seed=1, starts=("uniform",))
    warm = ed.hartree_solve(m2, starts=(), init_density=h1.density, smearing=0.0)
    assert warm.converged and cold.converged and warm.start == "given"
    assert warm.iterations < cold.iterations


@pytest.mark.parametrize("kw,match", [
    (dict(tol=0.0), "tol"), (dict(tol=-1.0), "tol"), (dict(max_iter=0), "max_iter"),
    (dict(beta=1.5), "beta"), (dict(starts=("hot",)), "starts"), (dict(smearing=-1.0), "smearing"),
    (dict(init_density=np.zeros(3)), "init_density"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ed.hartree_solve(make(shape=(2, 2, 2)), **kw)


def test_bad_model_arguments():
    lat = Lattice((2, 2, 2))
    with pytest.raises(ValueError, match="t"):
        Model(lat, -1.0, np.zeros((8, 8)), np.zeros(8), n_particles=4)
    with pytest.raises(ValueError, match="n_particles"):
        ed.hartree_solve(Model(lat, 1.0, np.zeros((8, 8)), np.zeros(8), n_particles=0))
    with pytest.raises(ValueError, match="n_particles"):
        Model(lat, 1.0, np.zeros((8, 8)), np.zeros(8), n_particles=9)
