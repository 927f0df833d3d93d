"""Saddle point of the Fermi liquid on an L^3 grid (T = 0, closed shell)."""
import numpy as np
import pytest

from simglass.meanfield.saddle import bubble_table, critical_coupling_grid, saddle_grid
from test_meanfield_bubble import closed_shell_densities

L = 6
N_DENS = closed_shell_densities(L, [0.45])[0]


@pytest.fixture(scope="module")
def table():
    return bubble_table(N_DENS, 1.0, L, n_omega=48)


def test_free_limit(table):
    """J = 0: λ = 0 (the free sum rule, Eq. 41) and D(Ω) = (1/N) Σ_q [-Π⁰(Ω, q)]."""
    s = saddle_grid(0.0, table)
    assert abs(s.lam) < 1e-12
    assert np.allclose(s.D, table.c.mean(axis=1), rtol=1e-12)


def test_lambda_vanishes_as_J_squared(table):
    l1 = saddle_grid(0.01, table).lam
    l2 = saddle_grid(0.02, table).lam
    assert l1 > 0 and l2 / l1 == pytest.approx(4.0, rel=1e-3)


def test_instability_at_critical_coupling(table):
    Jc = critical_coupling_grid(N_DENS, 1.0, L, n_omega=48, tol=1e-7)
    below = saddle_grid(Jc * (1 - 1e-5), table)
    assert below is not None and saddle_grid(Jc * (1 + 1e-5), table) is None
    # Eq. 43 holds at J_c: the stability ratio reaches 1
    assert below.stability == pytest.approx(1.0, abs=0.02)
    # the constraint Eq. 39 is met
    assert (table.weights @ below.D) / np.pi == pytest.approx(N_DENS * (1 - N_DENS), rel=1e-10)
    # the frequency quadrature is converged
    assert critical_coupling_grid(N_DENS, 1.0, L, n_omega=24, tol=1e-7) == pytest.approx(Jc, rel=1e-5)
