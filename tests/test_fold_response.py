"""Eq. 47 at the fold (simglass.analysis.fold_response, simglass.meanfield.fold_response):
the extrapolation recovers a known exponent from synthetic data with a correction term,
and the saddle-point solver's D(Ω) at its instability is the square root of the fold."""

import numpy as np
import pytest

from simglass.analysis.fold_response import analyse, fold_exponent, local_exponent


@pytest.mark.parametrize("beta", [0.5, 0.45])
@pytest.mark.parametrize("quadratic", [False, True])
def test_fold_exponent_recovers_a_known_exponent_with_a_correction(beta, quadratic):
    A = np.geomspace(1e-9, 1e-2, 25)
    d = 0.3 * A ** beta * (1 - 0.8 * np.sqrt(A) + 0.5 * A)   # correction O(A^½), as at a fold
    b0, se = fold_exponent(A, d, 10, quadratic)
    assert abs(b0 - beta) < 2e-3
    # the raw local exponent over the same range is off by more: the extrapolation matters
    assert abs(local_exponent(A, d)[1][-1] - beta) > 0.02


def test_analyse_finds_the_window_where_the_quadratures_agree():
    om = np.geomspace(1e-5, 0.05, 25)
    rows = []
    for n_k, wiggle in ((12, 0.3), (24, 0.0)):
        A = 0.2 * om ** 0.98 * (1 + wiggle * np.exp(-om / 1e-4))     # the coarse rule fails at small Ω
        d = np.sqrt(2 * A) * (1 - 0.5 * np.sqrt(A))
        rows += [{"density": 0.3, "n_q": 12, "n_k": n_k, "J_c": 3.96, "s0": -2.0, "Omega": w, "D0_minus_D": x, "A": y}
                 for w, x, y in zip(om, d, A)]
    res = analyse(rows)
    assert abs(res["beta0"] - 0.5) < 2e-3 and res["beta_sys"] < 5e-3
    lo, hi = res["omega_converged"]
    assert 1e-4 < lo < 5e-3 and hi > 0.04
    assert abs(res["a_range"][0] - 0.98) < 1e-3


def _landau_rows(gamma, slope):
    """Synthetic fold tables with A/Ω = 0.2 (1 - slope Ω) on the resolved range (the coarse
    quadrature 0.1 % higher there and wrong at small Ω) and a given Landau coefficient."""
    om = np.geomspace(1e-5, 0.05, 25)
    rows = []
    for n_k, wiggle, offset in ((12, 0.3, 1e-3), (24, 0.0, 0.0)):
        A = 0.2 * om * (1 - slope * om) * (1 + offset) * (1 + wiggle * np.exp(-om / 1e-4))
        d = np.sqrt(2 * A) * (1 - 0.5 * np.sqrt(A))
        rows += [{"density": 0.3, "n_q": 12, "n_k": n_k, "J_c": 3.96, "s0": -2.0, "Omega": w, "D0_minus_D": x,
                  "A": y, "Gamma": gamma, "Gamma_error": 0.0} for w, x, y in zip(om, d, A)]
    return rows


@pytest.mark.parametrize("gamma, reached", [(0.2, True), (0.2001, True), (0.1985, False), (0.25, False),
                                             (0.19, False)])
def test_landau_check_accepts_only_a_limit_the_data_reach(gamma, reached):
    """A/Ω = 0.2 (1 - 0.2 Ω) rises towards 0.2 across the resolved window.  Γ at that
    limit, or beyond it by less than the quadratures' difference, passes; a Γ the data
    have passed (0.1985: they rise away from it), or one farther than the quadratures'
    difference, does not."""
    res = analyse(_landau_rows(gamma, 0.2))
    assert res["landau_ok"] is reached
    assert res["A_over_omega_low"] == pytest.approx(0.2 * (1 - 0.2 * res["omega_low"]))
    assert res["towards"] is bool(gamma > res["A_over_omega_low"])


def test_landau_check_is_absent_from_older_tables():
    rows = [{k: v for k, v in r.items() if k != "Gamma"} for r in _landau_rows(0.2, 0.2)]
    assert "landau_ok" not in analyse(rows)


def test_solver_response_at_its_instability_is_the_square_root_of_the_fold():
    """At J_c, D(0) - D(Ω) ∝ A(Ω)^½ as A -> 0 (a double root of Eq. 38): a coupling off
    the fold would give a linear law there (β -> 1).  Small rules: the property holds on
    any rule."""
    from simglass.meanfield import fold_response
    r = fold_response(0.3, np.geomspace(1e-6, 0.05, 12), n_q=4, n_k=6, n_omega=16)
    b0, _ = fold_exponent(r["A"], r["D0"] - r["D"], 6)
    assert abs(b0 - 0.5) < 2e-3
    with pytest.raises(ValueError, match="omega"):
        fold_response(0.3, [0.0, 0.1], n_q=4, n_k=6, n_omega=16)


def test_from_table_refuses_the_computing_options(capsys):
    """--from-table reads a table that holds its own density and quadratures: --density,
    --n-q, --n-k or --table with it are refused by name (exit 2), not silently ignored."""
    import pytest
    from simglass.analysis.fold_response import main
    with pytest.raises(SystemExit) as e:
        main(["--from-table", "unused.csv", "--density", "0.2", "--n-k", "8", "16"])
    assert e.value.code == 2 and "does not take --density, --n-k" in capsys.readouterr().err
