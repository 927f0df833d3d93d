"""Level curvatures and the Thouless conductance (ed.curvature, issue 16)."""
import numpy as np
import pytest

import simglass.ed.hartree_engine as engine
from simglass.ed.curvature import fermi_window, level_curvatures, thouless_g, window_gap_ratios
from simglass.ed.hartree import hartree_hamiltonian, hartree_solve
from simglass import Lattice, Model, sample_disorder


def anderson(shape, W, seed=3, onsite="box"):
    lat = Lattice(shape)
    d = sample_disorder(lat, J=0.0, W=W, seed=seed, onsite=onsite)
    return Model(lat, 1.0, d.V, d.eps, density=0.5)


def twisted_levels(m, eps, a, theta):
    h = -m.t * m.with_twist(np.eye(3)[a] * theta, gauge="boundary").hopping_matrix().toarray()
    return np.linalg.eigvalsh(h + np.diag(eps))


@pytest.mark.parametrize("shape", [(4, 3, 5), (3, 3, 3)])
def test_curvature_against_finite_difference_twist(shape):
    """Second-order perturbation theory against the eigenvalues of the twisted h
    (Richardson-extrapolated central differences at θ = 5e-4, 1e-3: truncation O(θ⁴)
    and roundoff both about 1e-7 here), every direction; the
    Hartree potential of an interacting solution is frozen."""
    lat = Lattice(shape)
    d = sample_disorder(lat, J=2.0, W=1.0, seed=4)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5)
    eps_eff = m.eps - m.V @ hartree_solve(m, seed=1).density   # the frozen Hartree potential
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, np.zeros(m.n_sites)) - np.diag(m.eps - eps_eff))
    for a in range(3):
        c = level_curvatures(m, E, psi, a)

        def fd(th):
            return (twisted_levels(m, eps_eff, a, th) - 2 * E
                    + twisted_levels(m, eps_eff, a, -th)) / th ** 2
        rich = (4 * fd(5e-4) - fd(1e-3)) / 3
        assert np.abs(c - rich).max() < 1e-6
        assert np.abs(c).max() > 1e-2                      # not a trivial zero
        np.testing.assert_allclose(level_curvatures(m, E, psi, a, [3, 7]), c[[3, 7]], atol=1e-13)


def test_clean_cluster_curvatures_follow_the_dispersion():
    """Free fermions on a clean 5x4x3 torus: E(k) = -2t Σ cos k_a, and a boundary twist θ
    along x shifts k_x by θ/L_x, so ∂²E/∂θ² = 2t cos(k_x)/L_x², level by level (the
    degenerate shells are resolved by degenerate perturbation theory)."""
    lat = Lattice((5, 4, 3))
    N = lat.n_sites
    m = Model(lat, 1.0, np.zeros((N, N)), np.zeros(N), density=0.5)
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, np.zeros(N)))
    k = np.array(np.meshgrid(*[2 * np.pi * np.arange(L) / L for L in lat.shape],
                             indexing="ij")).reshape(3, -1)
    for a in range(3):
        c = level_curvatures(m, E, psi, a)
        Ek, ck = -2 * np.cos(k).sum(0), 2 * np.cos(k[a]) / lat.shape[a] ** 2
        o, o2 = np.lexsort((ck, np.round(Ek, 9))), np.lexsort((c, np.round(E, 9)))
        np.testing.assert_allclose(E[o2], Ek[o], atol=1e-12)
        np.testing.assert_allclose(c[o2], ck[o], atol=1e-12)


def test_strong_disorder_gives_small_g():
    """Deep in the Anderson-localised phase (box W = 60 t, far above W_c = 16.5) the
    states near μ hardly feel the boundary: g ≪ 1; in the weakly disordered metal
    (W = 2 t) g is of order one or larger."""
    out = {}
    for W in (2.0, 60.0):
        m = anderson((6, 6, 6), W)
        E, psi = np.linalg.eigh(hartree_hamiltonian(m, np.zeros(m.n_sites)))
        win = fermi_window(m.n_sites, m.n_particles, 8)
        g, delta = thouless_g(E, level_curvatures(m, E, psi, 0, win), m.n_particles, 8)
        out[W] = np.exp(np.log(g).mean())
        assert delta > 0 and g.shape == (16,)
    assert out[60.0] < 1e-4 and out[2.0] > 0.3


def test_window_leaves_out_the_spacing_across_mu():
    E = np.array([0.0, 1.0, 2.0, 3.0, 13.0, 14.0, 15.0, 16.0])   # a gap of 10 at mu (N_f = 4)
    c = np.arange(8.0)
    g, delta = thouless_g(E, c[1:7], 4, 3)
    assert delta == 1.0
    np.testing.assert_array_equal(fermi_window(8, 4, 3), np.arange(1, 7))
    np.testing.assert_array_equal(g, c[1:7])
    rb, ra = window_gap_ratios(E, 4, 3)
    np.testing.assert_array_equal(rb, [1.0, 1.0])
    np.testing.assert_array_equal(ra, [1.0, 1.0])
    with pytest.raises(ValueError, match="n_window"):
        thouless_g(E[:4], c[1:3], 2, 1)
    with pytest.raises(ValueError, match="shape"):
        thouless_g(E, c, 4, 3)


def test_bad_direction():
    m = anderson((4, 4, 2), 5.0)
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, np.zeros(m.n_sites)))
    for a in (2, 3, -1):
        with pytest.raises(ValueError, match="direction"):
            level_curvatures(m, E, psi, a)


def test_engine_records_the_diagnostic():
    m = anderson((4, 4, 2), 5.0)
    from simglass.options import defaults
    rec = engine.run(m, np.random.default_rng(0), **{**defaults(engine.OPTIONS), "starts": ["uniform"], "g_window": 4})
    assert rec["g"].shape == (2, 8)                        # directions 0 and 1 (extent 2 has no loop)
    assert np.isfinite(rec["ln_g_mean"]) and rec["level_spacing"] > 0
    assert np.isclose(rec["ln_g_mean"], np.log(rec["g"]).mean())
    assert rec["r_below"].size == 3 and rec["r_above"].size == 3
