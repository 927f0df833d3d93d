"""The particle–hole bubble on the L^3 grid against independent results."""
import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from simglass import Lattice, Model
from simglass.meanfield import bubble_grid, dispersion, grid_chemical_potential, grid_momenta


def test_static_bubble_equals_real_space_susceptibility():
    """8^3 cluster, T = 0.3 t, n = 1/2: -Π⁰(0, q) equals the Fourier transform of the
    static (fixed-mu) susceptibility chi_ij = -∂n_i/∂eps_j computed from the eigenstates
    of the real-space tight-binding Hamiltonian."""
    L, T, t = 8, 0.3, 1.0
    lat = Lattice((L, L, L))
    N = lat.n_sites
    m = Model(lat, t, np.zeros((N, N)), np.zeros(N), density=0.5)
    E, psi = np.linalg.eigh(-t * m.hopping_matrix().toarray())
    mu = grid_chemical_potential(0.5, t, L, T=T)
    f = 0.5 * (1 - np.tanh((E - mu) / (2 * T)))
    dE = E[:, None] - E[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        K = (f[:, None] - f[None, :]) / dE
    same = np.abs(dE) < 1e-10
    K[same] = np.broadcast_to((-f * (1 - f) / T)[:, None], K.shape)[same]
    rng = np.random.default_rng(0)
    qs = np.vstack([[0, 0, 0], [4, 4, 4], [1, 0, 0], [2, 3, 1], rng.integers(0, L, (4, 3))])
    pi0 = bubble_grid(0.0, qs, 0.5, t, L, T=T)[0]
    for qi, p in zip(qs, pi0):
        phase = np.exp(1j * (2 * np.pi / L) * lat.coords @ qi)
        M = psi.T @ (phase[:, None] * psi)
        chi_q = -(K * np.abs(M) ** 2).sum() / N
        assert -p == pytest.approx(chi_q, abs=1e-10)


def closed_shell_densities(L, targets):
    e = np.sort(dispersion(grid_momenta(L), 1.0))
    out = []
    for n in targets:
        nf = int(round(n * e.size))
        while e[nf] - e[nf - 1] < 1e-9:
            nf += 1
        out.append(nf / e.size)
    return out


@pytest.mark.parametrize("density", closed_shell_densities(6, [0.1, 0.3, 0.45]))
def test_free_fermion_sum_rule(density):
    """∫ dΩ/2π (1/N) Σ_q [-Π⁰(Ω, q)] = n (1 - n) (Eq. 41), Ω integral by quadrature."""
    L = 6
    qs = np.array(np.unravel_index(np.arange(L ** 3), (L,) * 3)).T
    mu = grid_chemical_potential(density, 1.0, L)

    def S(w):
        return -bubble_grid(w, qs, density, 1.0, L, mu=mu)[0].mean()
    # Ω = s tan(θ): ∫_0^∞ dΩ S(Ω) = ∫_0^{π/2} S(s tan θ) s / cos²θ dθ
    val = quad(lambda th: S(2 * np.tan(th)) * 2 / np.cos(th) ** 2, 0, np.pi / 2,
               epsabs=1e-12, epsrel=1e-10, limit=200)[0]
    assert val / np.pi == pytest.approx(density * (1 - density), rel=1e-6)  # 2 ∫_0^∞ / 2π


def test_cubic_symmetry_and_inversion():
    L = 8
    q = np.array([1, 2, 5])
    variants = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product([1, -1], repeat=3):
            variants.append((np.array(signs) * q[list(perm)]) % L)
    vals = bubble_grid([0.0, 0.7, 3.0], np.array(variants), 0.3, 1.0, L, T=0.1)
    assert np.allclose(vals, vals[:, :1], atol=1e-13)
    assert np.all(vals <= 0)


def test_bad_input():
    with pytest.raises(ValueError, match="density"):
        grid_chemical_potential(1.2, 1.0, 4)
    with pytest.raises(ValueError, match="T"):
        grid_chemical_potential(0.5, 1.0, 4, T=-1)
    with pytest.raises(ValueError, match="degenerate"):
        grid_chemical_potential(0.5, 1.0, 8)
