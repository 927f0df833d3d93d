"""Landau damping of the free bubble (simglass.meanfield.landau): the Fermi-surface
overlap J(q) against the continuum, against a second algorithm (Gaussian-smeared deltas
on a k grid), against the bubble's own decrease in imaginary frequency, and its q
integral against the density of states."""
import numpy as np
import pytest

from simglass.meanfield.infinite import bubble, chemical_potential
from simglass.meanfield.landau import fermi_surface_overlap, fold_landau, landau_coefficient


@pytest.mark.parametrize("density", [1e-3, 1e-4])
def test_continuum_limit(density):
    """At low density ξ ≈ t k² - 6t - μ (mass 1/2t), and for spheres
    ∫ d³k/(2π)³ δ(ξ_k) δ(ξ_{k+q}) = m²/(4π² q) for q < 2k_F; the lattice corrects it by
    O(k_F²) (measured: 0.22–0.24 k_F² at n = 1e-2 … 1e-4)."""
    kf = (6 * np.pi ** 2 * density) ** (1 / 3)
    q = 0.25 * kf * np.array([0.6, 0.8, 0.0])
    continuum = 1 / (16 * np.pi ** 2 * np.linalg.norm(q))
    dev = fermi_surface_overlap(q, density) / continuum - 1
    assert 0 < dev < 0.3 * kf ** 2


def test_beyond_two_kf_no_overlap():
    """|q| > 2 k_F at low density: the sphere and its shifted copy do not meet."""
    assert fermi_surface_overlap([2.0, 1.0, 0.5], 0.01, n_planes=64) == 0.0


def test_against_smeared_deltas():
    """Second algorithm: the mean over a 200³ k grid of g_η(ξ_k) g_η(ξ_{k+q}) (Gaussians
    of width η), extrapolated in η² from η = 0.1 and 0.07 t, at a generic q."""
    density, q = 0.01, np.array([0.3, 0.2, 0.1])
    mu = chemical_potential(density)
    k = 2 * np.pi * (np.arange(200) + 0.5) / 200

    def xi(shift):
        c = [np.cos(k + s) for s in shift]
        return -2 * (c[0][:, None, None] + c[1][None, :, None] + c[2][None, None, :]) - mu

    x0, xq = xi(np.zeros(3)), xi(q)
    smeared = {}
    for eta in (0.1, 0.07):
        g0 = np.exp(-0.5 * (x0 / eta) ** 2) / (np.sqrt(2 * np.pi) * eta)
        gq = np.exp(-0.5 * (xq / eta) ** 2) / (np.sqrt(2 * np.pi) * eta)
        smeared[eta] = float(np.mean(g0 * gq))
    limit = smeared[0.07] + (smeared[0.07] - smeared[0.1]) * 0.07 ** 2 / (0.1 ** 2 - 0.07 ** 2)
    assert fermi_surface_overlap(q, density) == pytest.approx(limit, rel=1e-3)


def test_bubble_decreases_at_the_landau_rate():
    """c_q(0) - c_q(Ω) = γ_q Ω + o(Ω): the bubble's own arc quadrature
    (meanfield.infinite) at Ω = 0.01 t, n = 0.3, against γ_q (0.14 % seen)."""
    q = np.array([[0.942, 0.65, 0.378]])
    c = -bubble(np.array([0.0, 0.01]), q, 0.3, n_k=24)[:, 0]
    assert (c[0] - c[1]) / 0.01 == pytest.approx(landau_coefficient(q[0], 0.3), rel=5e-3)


def test_q_integral_is_the_density_of_states_squared():
    """∫_q J(q) = ρ(μ)² (each δ integrated over its own k): on the coarse rule
    momentum_rule(2) of n = 0.3 to its resolution of the jumps of J(q) (2 % seen;
    0.27 % on momentum_rule(12))."""
    r = fold_landau(0.3, n_q=2, n_k=8, s0=-2.18, n_planes=64, n_grid=48)
    assert r["sum_rule"] == pytest.approx(r["rho2"], rel=0.03)
    assert r["Gamma"] > 0


def test_error_estimate_flags_where_the_surfaces_touch():
    """At n = 0.3 and q = (a, a, 0) the Fermi surface and its shifted copy touch on a line
    (ξ_k = ξ_{k+q} on two crossing planes): J diverges logarithmically and the line
    integral does not converge in n_planes; at a generic q it does (1e-3 seen)."""
    J, err = fermi_surface_overlap([0.3, 0.3, 0.0], 0.3, n_planes=128, error=True)
    assert err > 0.1 * J
    J, err = fermi_surface_overlap([0.942, 0.65, 0.378], 0.3, n_planes=128, error=True)
    assert err < 0.01 * J


@pytest.mark.parametrize("q", [[1.0, 2.0], [[np.nan, 0, 0]]])
def test_bad_momentum(q):
    with pytest.raises(ValueError, match="q must be"):
        fermi_surface_overlap(q, 0.3)


def test_bad_density():
    with pytest.raises(ValueError, match="density"):
        fermi_surface_overlap([0.1, 0, 0], 1.5)
