"""Twisted boundaries and the charge stiffness (issue 8): free fermions against the
shifted-momentum spectrum, t = 0, gauge invariance, ED at J = 0 against the Slater
determinant, QuSpin against the fast path, self-consistency of twisted Hartree, bad input."""

import numpy as np
import pytest

from simglass import ed
from conftest import run_cli
from simglass import Lattice, Model, sample_disorder


def _free(shape, nf, t=1.0):
    lat = Lattice(shape)
    N = lat.n_sites
    return Model(lat, t, np.zeros((N, N)), np.zeros(N), n_particles=nf)


def _exact_free_stiffness(shape, nf, a, t=1.0):
    """(t/N) Σ_occ cos k_a from the momentum spectrum of a fully periodic cluster with all
    L >= 3 (ε_k = -2t Σ cos k_b, shifted k_a -> k_a + θ/L_a), closed shell required."""
    ks = np.meshgrid(*[2 * np.pi * np.arange(L) / L for L in shape], indexing="ij")
    eps = sum(-2 * t * np.cos(k) for k in ks).ravel()
    order = np.argsort(eps, kind="stable")
    assert eps[order[nf]] - eps[order[nf - 1]] > 1e-9, "open shell"
    return t * np.cos(ks[a].ravel()[order[:nf]]).sum() / eps.size


def _closed_shell(shape, near):
    ks = np.meshgrid(*[2 * np.pi * np.arange(L) / L for L in shape], indexing="ij")
    e = np.sort(sum(-2 * np.cos(k) for k in ks).ravel())
    return min((n for n in range(1, e.size) if e[n] - e[n - 1] > 1e-9), key=lambda n: abs(n - near))


@pytest.mark.parametrize("shape,a", [((3, 3, 4), 0), ((3, 3, 4), 2), ((4, 5, 3), 1)])
def test_free_hartree_stiffness_equals_momentum_formula(shape, a):
    nf = _closed_shell(shape, np.prod(shape) // 2)
    m = _free(shape, nf)
    sol = ed.hartree_solve(m, starts=("uniform",))
    frozen, full = ed.hartree_stiffness(m, sol, direction=a, h=0.05)
    exact = _exact_free_stiffness(shape, nf, a)
    assert exact > 0
    assert frozen.D == pytest.approx(exact, abs=1e-7)
    assert full.D == pytest.approx(exact, abs=1e-7)
    assert frozen.error < 1e-5


def test_free_ed_equals_formula_on_2x2x3():
    """2x2x3, twist along z (L = 3); the L = 2 directions have one bond per pair (levels ±t),
    so the spectrum is ±t ± t - 2t cos(k_z + θ/3); N_f = 6 is a closed shell."""
    m = _free((2, 2, 3), 6)
    s = ed.ed_stiffness(m, direction=2, h=0.05)
    # occupied: k_z = 0 in levels -4, -2, -2, 0 and k_z = ±2π/3 in level -1 (twice)
    exact = (4 * 1.0 + 2 * np.cos(2 * np.pi / 3)) / 12
    assert s.D == pytest.approx(exact, abs=1e-7)
    sol = ed.hartree_solve(m, starts=("uniform",))
    assert ed.hartree_stiffness(m, sol, 2, 0.05)[0].D == pytest.approx(exact, abs=1e-7)


def test_t_zero_gives_zero_stiffness():
    lat = Lattice((2, 2, 3))
    d = sample_disorder(lat, J=2.0, W=0.5, seed=4)
    s = ed.ed_stiffness(Model(lat, 0.0, d.V, d.eps, density=0.5))
    assert s.D == 0.0 and s.D_phase == 0.0


def test_gauge_invariance_and_quspin():
    """Twists along the L = 3 and L = 4 directions of 2x3x4: the spread and boundary
    gauges, and the fast and QuSpin paths, give the same ground state and sector
    Hamiltonian.  N_f = 3 (2024 states, the sparse path as for more particles): hops
    pass 0, 1 or 2 other fermions, so both Jordan–Wigner signs appear."""
    lat = Lattice((2, 3, 4))
    d = sample_disorder(lat, J=3.0, W=1.0, seed=5)
    m = Model(lat, 1.0, d.V, d.eps, n_particles=3)
    for tw in [(0, 0.4, 0), (0, 0.3, 1.1), (0, np.pi, 0)]:
        spread, boundary = m.with_twist(tw), m.with_twist(tw, gauge="boundary")
        a = ed.exact_ground_state(spread).energy
        b = ed.exact_ground_state(boundary).energy
        q = ed.exact_ground_state(spread, path="quspin").energy
        assert a == pytest.approx(b, abs=1e-10) and a == pytest.approx(q, abs=1e-10)
        e1 = np.linalg.eigvalsh(spread.hopping_matrix().toarray())
        e2 = np.linalg.eigvalsh(boundary.hopping_matrix().toarray())
        np.testing.assert_allclose(e1, e2, atol=1e-12)
    from simglass.ed.exact import sector_hamiltonian
    mt = m.with_twist((0, 0.7, 0.2))
    _, Hf = sector_hamiltonian(mt, 3, "fast")
    _, Hq = sector_hamiltonian(mt, 3, "quspin")
    assert abs(Hf - Hq).max() < 1e-12 and abs(Hf - Hf.conj().T).max() < 1e-14


def test_ed_at_J0_is_the_slater_determinant():
    lat = Lattice((2, 2, 4))
    d = sample_disorder(lat, J=0.0, W=2.0, seed=6)
    m = Model(lat, 1.0, d.V, d.eps, n_particles=7).with_twist((0, 0, 0.9))
    h = -m.t * m.hopping_matrix().toarray() + np.diag(m.eps)
    assert ed.exact_ground_state(m).energy == pytest.approx(np.linalg.eigvalsh(h)[:7].sum(), abs=1e-10)


def test_twisted_hartree_is_self_consistent():
    from simglass.ed.hartree import aufbau, hartree_hamiltonian
    lat = Lattice((4, 4, 4))
    d = sample_disorder(lat, J=2.0, seed=7)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5).with_twist((0.8, 0, 0.3))
    r = ed.hartree_solve(m, seed=1)
    assert r.converged and np.iscomplexobj(r.orbitals)
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, r.density))
    n_out, _, _ = aufbau(E, psi, m.n_particles, 1e-10)
    assert np.abs(n_out - r.density).max() <= 1e-8


def test_bad_twists():
    lat = Lattice((3, 2, 4), periodic=(False, True, True))
    N = lat.n_sites
    m = Model(lat, 1.0, np.zeros((N, N)), np.zeros(N), density=0.5)
    with pytest.raises(ValueError, match="direction 0: the direction open"):
        m.with_twist((0.1, 0, 0))
    with pytest.raises(ValueError, match="L = 2"):
        m.with_twist((0, 0.1, 0))
    with pytest.raises(ValueError, match="finite"):
        m.with_twist((0, 0, np.nan))
    with pytest.raises(ValueError, match="one phase per direction"):
        m.with_twist((0.1,))
    with pytest.raises(ValueError, match="direction 1 .* cannot carry a twist"):
        ed.ed_stiffness(m, direction=1)
    with pytest.raises(ValueError, match="h must be"):
        ed.ed_stiffness(m, h=-1)
    with pytest.raises(ValueError, match="matfree"):
        ed.exact_ground_state(m.with_twist((0, 0, 0.1)), path="matfree")


def test_stiffness_job_rejects_untwistable_cluster(tmp_path):
    job = tmp_path / "j.toml"
    job.write_text('engine = "stiffness"\noutput = "x.h5"\nseed = 1\nrealizations = 1\n'
                   '[model]\nt = 1.0\nJ = 1.0\ndensity = 0.5\n[scan]\nL = [[2, 2, 2], [2, 2, 3]]\n')
    r = run_cli("run", job, cwd=tmp_path)
    assert r.returncode == 2 and "no periodic direction with L >= 3" in r.stderr
    assert not (tmp_path / "x.h5").exists()


def test_free_phase_sensitivity_of_the_analysis_matches_ed():
    """analysis.stiffness normalises by the free D_φ from the single-particle spectrum;
    the many-body ED of the same free cluster gives the same number."""
    from simglass.analysis.stiffness import free_phase_sensitivity
    for shape, nf in [((2, 2, 4), 8), ((2, 2, 3), 6)]:
        s = ed.ed_stiffness(_free(shape, nf))
        assert s.D_phase == pytest.approx(free_phase_sensitivity(shape, nf), abs=1e-9)
