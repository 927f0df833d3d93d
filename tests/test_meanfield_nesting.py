"""The saddle point at n = ½: the Fermi liquid's negative mass and the nesting pole
(simglass.meanfield.nesting)."""
import dataclasses

import numpy as np
import pytest

from simglass.meanfield.infinite import bubble
from simglass.meanfield.nesting import (Q, fermi_liquid_mass, mass_second_order, nesting_bubble,
                                        pole_coupling)
from simglass.meanfield.saddle import bubble_table_infinite, critical_coupling_table, fold_mass


@pytest.fixture(scope="module")
def coarse():
    """n = ½ on momentum_rule(2) (largest static bubble 0.52/t), 24 frequency nodes."""
    return bubble_table_infinite(0.5, 1.0, n_q=2, n_k=8, n_omega=24)


@pytest.fixture(scope="module")
def fine():
    """n = ½ on momentum_rule(6): its nodes come closer to Q (largest bubble 0.65/t)."""
    return bubble_table_infinite(0.5, 1.0, n_q=6, n_k=8, n_omega=24)


def test_mass_is_negative_to_second_order(coarse):
    """s0(J) - s0(0) = -a J² with a from the free bubble alone (perturbation theory of
    the constraint, Eq. 39), against the solver's s0 at small J; a > 0: the Fermi
    liquid's mass is negative at every small J."""
    a = mass_second_order(coarse)
    assert a > 0.05
    s_ref = fermi_liquid_mass(1e-4, coarse)        # the J = 0 sum rule's rounding
    for J in (0.05, 0.1):
        assert (fermi_liquid_mass(J, coarse) - s_ref) / J ** 2 == pytest.approx(-a, rel=1e-3)
    assert fermi_liquid_mass(2.0, coarse) < fermi_liquid_mass(1.0, coarse) < 0


def test_fold_is_the_pole_of_the_largest_bubble(coarse, fine):
    """The finer rule's J_c (the fold, Eq. 43) is where the coarse rule's Fermi liquid
    puts its pole at the finer rule's largest static bubble: a second route to the same
    number, and the fold's mass sits at the pole."""
    c_max = fine.c[0].max()
    jc = critical_coupling_table(fine, 1.0, 200.0)
    assert 1 + fold_mass(jc, fine) * c_max < 0.05             # pinned to the pole
    assert pole_coupling(c_max, coarse) == pytest.approx(jc, rel=5e-3)
    # a finer resolution (larger bubble) gives a smaller coupling
    assert pole_coupling(1.5 * c_max, coarse) < pole_coupling(c_max, coarse)


def test_nesting_bubble_against_the_k_integral():
    """c_Q(T) from the density of states against the bubble's own k and thermal
    quadrature at Q (a second algorithm) at T = 0.01 t."""
    ref = -bubble(np.array([0.0]), Q[None], 0.5, 1.0, 0.01, n_k=12, n_T=64)[0, 0]
    assert nesting_bubble(0.01) == pytest.approx(ref, rel=1e-3)


def test_bad_input_names_the_parameter(coarse):
    with pytest.raises(ValueError, match="c_pole"):
        pole_coupling(0.5 * coarse.c[0].max(), coarse)
    with pytest.raises(ValueError, match="c_pole"):
        pole_coupling(np.inf, coarse)
    with pytest.raises(ValueError, match="c_pole"):
        pole_coupling("large", coarse)
    with pytest.raises(ValueError, match="J_min"):
        pole_coupling(2 * coarse.c[0].max(), coarse, J_min=100.0)
    with pytest.raises(ValueError, match="T must"):
        nesting_bubble(0.0)
    with pytest.raises(ValueError, match="J must"):
        fermi_liquid_mass(np.nan, coarse)
    with pytest.raises(ValueError, match="omega0"):
        mass_second_order(dataclasses.replace(coarse, omega0=1.0))
