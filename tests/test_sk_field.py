"""The replica-symmetric theory of the half-filled t = 0 model (meanfield.sk_field): the
spin representation of the model's energy by enumeration, and the theory against its
known limits (the SK paramagnet, the high-temperature expansion, the
de Almeida–Thouless line at small field)."""

import numpy as np
import pytest

from simglass.meanfield.sk_field import at_temperature, rs_energy, rs_overlap
from test_mc import enumerate_energies, random_model


@pytest.mark.parametrize("compensate", [False, True])
def test_spin_representation_by_enumeration(compensate):
    """Every state of N = 10 at n = ½: E = C − Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i with
    J_ij = V_ij/4, h_i = ¼ Σ_j V_ij − ½ ε_i and C = ½ Σ ε − ⅛ Σ V: the fields vanish
    with compensated couplings (C = +⅛ Σ V, the thermal engine's C_sk), and without
    compensation at W = 0, C = −C_sk."""
    m = random_model(10, 3, compensate=compensate)
    occ, E = enumerate_energies(m, 5)
    s = 2 * occ - 1
    V, eps = m.V, m.eps
    h = V.sum(axis=1) / 4 - eps / 2
    C = eps.sum() / 2 - V.sum() / 8
    Jij = np.triu(V / 4, 1)
    spin = C - np.einsum("si,ij,sj->s", s, Jij, s) - s @ h
    assert np.allclose(E, spin, atol=1e-12)
    C_sk = V.sum() / 8
    if compensate:
        assert np.allclose(h, 0, atol=1e-12) and C == pytest.approx(C_sk)
    else:
        assert C == pytest.approx(-C_sk) and np.std(h) > 0


def test_zero_field_is_the_sk_paramagnet():
    assert at_temperature(1.0, 0.0) == 1.0
    for T in (1.0, 1.5, 3.0):
        assert rs_overlap(T, 1.0, 0.0) == 0.0
        assert rs_energy(T, 1.0, 0.0) == pytest.approx(-1 / (2 * T), rel=1e-14)
    # just below T_c the RS order grows as q ≈ (1 − T) (SK 1975: q = τ + O(τ²), τ = 1 − T)
    tau = 1e-3
    assert rs_overlap(1 - tau, 1.0, 0.0) == pytest.approx(tau, rel=5e-3)


def test_high_temperature_expansion():
    """q = β² h² + O(β⁴) and u = −β (J²/2 + h²) + O(β³)."""
    for J, h in ((1.0, 1.0), (0.25, 0.25), (1.0, 0.3)):
        T = 50.0 * J
        b = 1 / T
        assert rs_overlap(T, J, h) == pytest.approx(b * b * h * h, rel=3 * (b * max(J, h)) ** 2)
        assert rs_energy(T, J, h) == pytest.approx(-b * (J * J / 2 + h * h), rel=3 * (b * max(J, h)) ** 2)


@pytest.mark.parametrize("h", [1e-4, 1e-3])
def test_at_line_at_small_field(h):
    """(h/J)² = (4/3)(1 − T_AT/J)³ to leading order (de Almeida & Thouless 1978; the
    relative correction is of order τ = 1 − T_AT/J, 0.2 % and 0.9 % here)."""
    tau = (0.75 * h * h) ** (1 / 3)
    assert 1 - at_temperature(1.0, h) == pytest.approx(tau, rel=tau)


def test_at_line_is_the_replicon_zero_and_scales_with_J():
    """T_AT falls with h (also far below 1e-3 J at large h), and T_AT(J, h)/J depends on
    h/J only; RS q grows as T falls."""
    Ts = [at_temperature(1.0, h) for h in (0.1, 0.5, 1.0, 2.0, 4.0)]
    assert 0 < at_temperature(1.0, 800.0) < 1e-3
    assert all(a > b for a, b in zip(Ts, Ts[1:]))
    assert at_temperature(0.25, 0.25) == pytest.approx(0.25 * at_temperature(1.0, 1.0), rel=1e-9)
    qs = [rs_overlap(T, 1.0, 1.0) for T in (2.0, 1.0, 0.5, 0.3)]
    assert all(a < b for a, b in zip(qs, qs[1:]))


@pytest.mark.parametrize("kw,match", [({"T": 0.0}, "T must"), ({"J": -1.0}, "J must"), ({"h": -0.1}, "h must"),
                                      ({"h": np.nan}, "h must"), ({"T": True}, "T must"), ({"h": "1"}, "h must")])
def test_bad_arguments(kw, match):
    args = {"T": 1.0, "J": 1.0, "h": 0.5} | kw
    with pytest.raises(ValueError, match=match):
        rs_energy(**args)


def test_field_variance_has_the_expectation_of_the_control_variate():
    """spin_representation's fields are the row sums of V over 4 (uncompensated, ε = 0),
    and their sample variance (1/N) Σ_i h_i² (the thermal engine's h2) averages to
    J_SK² (N − 1)/N over realisations, the control variate's known mean: at N = 8 over
    2000 realisations the standard error is 1.1 % and (N − 1)/N differs from 1 by 12.5 %.
    Compensated couplings have no fields and C = +C_sk."""
    from simglass.meanfield.sk_field import spin_representation
    N = 8
    x = []
    for seed in range(2000):
        m = random_model(N, seed)
        C, h = spin_representation(m)
        if seed < 3:
            assert np.allclose(h, [sum(m.V[i, j] for j in range(N) if j != i) / 4 for i in range(N)])
            assert C == pytest.approx(-m.V.sum() / 8)
        x.append(np.mean(h * h))
    x = np.array(x)
    assert abs(x.mean() - (1 / 16) * (N - 1) / N) < 4 * x.std(ddof=1) / np.sqrt(x.size)
    assert abs(x.mean() - 1 / 16) > 4 * x.std(ddof=1) / np.sqrt(x.size)
    m = random_model(N, 1, compensate=True)
    C, h = spin_representation(m)
    assert np.allclose(h, 0, atol=1e-12) and C == pytest.approx(m.V.sum() / 8)


def test_control_variate_mean_is_unbiased_and_sharper():
    """y = a(T) − x/T + noise with x of known mean: the corrected mean recovers a − E[x]/T
    with a spread over repetitions several times below the plain mean's."""
    from simglass.analysis.thermal import control_variate_mean
    rng = np.random.default_rng(0)
    T = np.array([0.2, 0.5])
    plain, cv = [], []
    for _ in range(300):
        x = 0.0625 + 0.01 * rng.standard_normal(30)
        y = -0.1 - x[:, None] / T + 0.002 * rng.standard_normal((30, 2))
        plain.append(y.mean(axis=0))
        cv.append(control_variate_mean(y, x, 0.0625))
    plain, cv = np.array(plain), np.array(cv)
    truth = -0.1 - 0.0625 / T
    assert np.allclose(cv.mean(axis=0), truth, atol=4 * cv.std(axis=0).max() / np.sqrt(300))
    assert np.all(cv.std(axis=0) < plain.std(axis=0) / 5)
