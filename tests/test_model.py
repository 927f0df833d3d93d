import numpy as np
import pytest

from simglass import Lattice, Model, sample_disorder


@pytest.fixture
def model():
    lat = Lattice((2, 2, 3))
    d = sample_disorder(lat, J=1.0, W=0.7, seed=4)
    return Model(lat, t=0.0, V=d.V, eps=d.eps, n_particles=5)


def brute_energy(m, occ):
    """Eq. 7 at t = 0, mu = 0, by explicit double loop over i != j."""
    e = sum(m.eps[i] * occ[i] for i in range(m.n_sites))
    for i in range(m.n_sites):
        for j in range(m.n_sites):
            if i != j:
                e -= 0.5 * m.V[i, j] * occ[i] * occ[j]
    return e


def test_energy_fields_against_brute_force(model):
    rng = np.random.default_rng(1)
    N = model.n_sites
    for _ in range(20):
        occ = np.zeros(N, int)
        occ[rng.choice(N, model.n_particles, replace=False)] = 1
        E = model.energy(occ)
        assert np.isclose(E, brute_energy(model, occ), atol=1e-12)
        phi = model.local_fields(occ)
        for i in range(N):  # single flips: ΔE(0->1) = phi, ΔE(1->0) = -phi
            o2 = occ.copy()
            o2[i] = 1 - o2[i]
            dE = model.energy(o2) - E
            assert np.isclose(dE, phi[i] if occ[i] == 0 else -phi[i], atol=1e-12)
        for i in np.flatnonzero(occ):
            for j in np.flatnonzero(occ == 0):
                o2 = occ.copy()
                o2[i] = 0
                o2[j] = 1
                assert np.isclose(model.pair_move_delta(occ, i, j), model.energy(o2) - E, atol=1e-12)


def test_mu_shifts_fields(model):
    occ = np.r_[np.ones(5), np.zeros(7)]
    assert np.allclose(model.local_fields(occ, mu=0.3), model.local_fields(occ) - 0.3)
    mu = model.chemical_potential(occ)
    phi = np.sort(model.local_fields(occ))
    assert phi[4] <= mu <= phi[5]


def test_hopping_matrix_counts_bonds():
    for shape in [(2, 2, 2), (3, 3, 3), (2, 3, 4)]:
        lat = Lattice(shape)
        N = lat.n_sites
        A = Model(lat, 1.0, np.zeros((N, N)), np.zeros(N), density=0.5).hopping_matrix()
        assert (A != A.T).nnz == 0
        assert A.sum() == 2 * lat.n_bonds
        # the free band: eigenvalues of A on a periodic L^3 lattice are Σ_a 2cos(k_a)
    lat = Lattice((4, 4, 4))
    A = Model(lat, 1.0, np.zeros((64, 64)), np.zeros(64), density=0.5).hopping_matrix().toarray()
    k = 2 * np.pi * np.arange(4) / 4
    ek = (2 * np.cos(k)[:, None, None] + 2 * np.cos(k)[None, :, None] + 2 * np.cos(k)[None, None, :]).ravel()
    assert np.allclose(np.sort(np.linalg.eigvalsh(A)), np.sort(ek))


def test_density_rounds():
    lat = Lattice(10)
    assert Model(lat, 0.0, np.zeros((10, 10)), np.zeros(10), density=0.35).n_particles == 4


@pytest.mark.parametrize("kw,match", [
    (dict(V=np.triu(np.ones((4, 4)), 1)), "symmetric"),
    (dict(V=np.eye(4)), "diagonal"),
    (dict(V=np.zeros((3, 3))), "shape"),
    (dict(eps=np.zeros(5)), "eps"),
    (dict(t=-1.0), "t"),
    (dict(density=1.0, n_particles=None), "density"),
    (dict(density=0.0, n_particles=None), "density"),
    (dict(n_particles=5), "n_particles"),
    (dict(n_particles=None), "exactly one"),
])
def test_bad_model(kw, match):
    args = dict(t=0.0, V=np.zeros((4, 4)), eps=np.zeros(4), n_particles=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        Model(Lattice(4), **args)
