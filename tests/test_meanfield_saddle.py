"""Saddle point of the Fermi liquid on an L^3 grid (T = 0, closed shell)."""
import numpy as np
import pytest

from simglass.meanfield.saddle import bubble_table, critical_coupling_grid, critical_coupling_table, saddle_grid
from test_meanfield_bubble import closed_shell_densities

L = 6
N_DENS = closed_shell_densities(L, [0.45])[0]


@pytest.fixture(scope="module")
def table():
    return bubble_table(N_DENS, 1.0, L, n_omega=48)


@pytest.fixture(scope="module")
def infinite_table():
    """The infinite-lattice table at n = 0.3 (n_q = 6, n_k = 8, 48 frequency nodes) that
    the glass and retarded-coupling tests both use (nothing modifies a BubbleTable)."""
    from simglass.meanfield.saddle import bubble_table_infinite
    return bubble_table_infinite(0.3, 1.0, n_q=6, n_k=8, n_omega=48)


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


@pytest.mark.parametrize("which", ["grid", "infinite"])
def test_eq38_newton_on_all_rows_equals_bracketing(which, table, infinite_table, monkeypatch):
    """Eq. 38 at every frequency node: Newton on all rows at once (``_solve_D``) gives the
    roots of the row-by-row bracketing (``_solve_D_scalar``, a second algorithm) below
    J_c, on its own (the fallback disabled) and with a relative residual at rounding;
    where the bracketing finds no root, ``_solve_D`` returns None; at the fold's double
    root it gives the fold parametrisation's D(0)."""
    import simglass.meanfield.saddle as sd
    tab = table if which == "grid" else infinite_table
    jc = sd.critical_coupling_table(tab, 1.0)
    bracketing = sd._solve_D_scalar

    def no_fallback(*args, **kwargs):
        raise AssertionError("Newton left a row to the bracketing")
    roots = nones = 0
    for f, lam_shift in [(0.0, 0.0), (0.5, 0.0), (0.9, 0.0), (0.999, 0.0), (0.9, -0.2), (1.2, 0.0)]:
        g = sd.saddle_grid(min(max(f, 0.5), 0.999) * jc, tab)   # a λ of the Fermi liquid
        lam, J = g.lam + lam_shift, f * jc
        Jw = tab.couplings(J)
        rows = [bracketing(r, Jk, lam, tab.qmean) for r, Jk in zip(tab.c, Jw)]
        if any(b is None for b in rows):
            assert sd._solve_D(tab.c, Jw, lam, tab.qmean) is None, (f, lam_shift)
            nones += 1
            continue
        with monkeypatch.context() as m:
            m.setattr(sd, "_solve_D_scalar", no_fallback)
            a = sd._solve_D(tab.c, Jw, lam, tab.qmean)
        roots += 1
        np.testing.assert_allclose(a, rows, rtol=1e-10, atol=1e-14)
        mass = 2 * lam - Jw ** 2 * a
        residual = np.abs(a - tab.qmean(tab.c / (1 + mass[:, None] * tab.c)))
        assert np.all(residual <= 1e-12 * a + 1e-300), (f, residual.max())
    assert roots >= 4 and nones >= 1        # J <= 0.999 J_c at its own λ has roots; 1.2 J_c none
    s0 = sd.fold_mass(jc, tab)              # the double root of the Ω = 0 row at J_c
    _, J, lam, D = sd._fold_point(tab, s0)
    assert sd._solve_D(tab.c[0], J, lam, tab.qmean) == pytest.approx(D[0], rel=1e-6)


def test_eq42_free_cluster_equals_grid_lowest_order():
    """Eq. 42 on a periodic 4^3 cluster of free fermions (closed shell N_f = 7):
    (J²/N) Σ_ij chi0_ij² from the real-space eigenstates equals J² (1/N) Σ_q [-Π⁰(0,q)]²
    of the bubble on the same grid (Parseval), the lowest-order form of Eq. 43."""
    from simglass.analysis.ed_hartree import glass_susceptibility
    from simglass import Lattice, Model
    from simglass.meanfield import bubble_grid
    lat = Lattice((4, 4, 4))
    N, nf, J = 64, 7, 1.7
    m = Model(lat, 1.0, np.zeros((N, N)), np.zeros(N), n_particles=nf)
    E, psi = np.linalg.eigh(-m.hopping_matrix().toarray())
    chi0 = np.zeros((N, N))
    for a in range(nf):
        for b in range(nf, N):
            v = psi[:, a] * psi[:, b]
            chi0 += 2 * np.outer(v, v) / (E[b] - E[a])
    qs = np.array(np.unravel_index(np.arange(N), (4, 4, 4))).T
    c0 = -bubble_grid(0.0, qs, nf / N, 1.0, 4)[0]
    assert glass_susceptibility(chi0, J) == pytest.approx(J ** 2 * np.mean(c0 ** 2), rel=1e-10)


def test_fold_parametrisation_equals_bisection():
    """Two algorithms for J_c on the same tables: the fold parametrisation (default) and
    bisection on the existence of the Fermi-liquid solution."""
    from simglass.meanfield.saddle import (bubble_table, bubble_table_infinite, critical_coupling_bisection,
                                           critical_coupling_table)
    for tab in (bubble_table(4 / 9, 1.0, 6, n_omega=24), bubble_table_infinite(0.3, 1.0, 4, 6, 24)):
        a = critical_coupling_table(tab, 1.0, 100.0)
        b = critical_coupling_bisection(tab, 1.0, 100.0, tol=1e-10)
        assert a == pytest.approx(b, rel=1e-8)
        s = saddle_grid(a * (1 - 1e-6), tab)
        assert s is not None and s.stability == pytest.approx(1.0, abs=1e-2)
        assert saddle_grid(a * (1 + 1e-6), tab) is None


def test_infinite_free_limit():
    """At J -> 0 on the infinite-lattice table: λ - λ(0) grows like J², and λ(0) is the
    offset that absorbs the quadrature error δ of the sum rule, δ / (2 ∫dΩ/π ∫_q c²)."""
    from simglass.meanfield.saddle import bubble_table_infinite
    tab = bubble_table_infinite(0.3, 1.0, 4, 6, 48)
    s0, s1, s2 = saddle_grid(0.0, tab), saddle_grid(0.05, tab), saddle_grid(0.1, tab)
    delta = tab.weights @ tab.qmean(tab.c) / np.pi - 0.3 * 0.7
    assert s0.lam == pytest.approx(delta / (2 * tab.weights @ tab.qmean(tab.c ** 2) / np.pi), rel=0.02)
    assert (s2.lam - s0.lam) / (s1.lam - s0.lam) == pytest.approx(4, rel=0.02)
    np.testing.assert_allclose(s0.D, tab.qmean(tab.c / (1 + 2 * s0.lam * tab.c)), rtol=1e-12)


def test_saddle_job_and_analysis(tmp_path):
    """The engine through `simglass run`, its analysis through `simglass analyze` (the
    low-density exponent, the phase-boundary and response figures; 48 frequency nodes
    leave 3 in the Eq. 47 fit window), and two bad inputs."""
    from conftest import run_cli
    job = tmp_path / "s.toml"
    job.write_text('engine = "saddle"\n[model]\nt = 1.0\n[scan]\ndensity = [0.02, 0.05, 0.3]\n'
                   '[options]\nn_q = 4\nn_k = 4\nn_omega = 48\nresponse = true\n')
    r = run_cli("run", job, "--output", tmp_path / "s.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    r = run_cli("analyze", tmp_path / "s.h5", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "low-density exponent" in r.stdout
    assert (tmp_path / "out" / "phase_boundary.png").exists() and (tmp_path / "out" / "response.png").exists()
    job.write_text('engine = "saddle"\n[model]\nt = 1.0\n')
    r = run_cli("run", job, "--output", tmp_path / "x.h5")
    assert r.returncode == 2 and "needs 'density'" in r.stderr
    job.write_text('engine = "saddle"\n[model]\nt = 1.0\ndensity = 0.3\n[options]\nn_q = 4\nn_k = 4\n'
                   'n_omega = 16\ntemperatures = [0.0]\n')
    r = run_cli("run", job, "--output", tmp_path / "x.h5")
    assert r.returncode == 2 and "options.temperatures" in r.stderr


def test_critical_coupling_rises_with_temperature(tmp_path):
    """T > 0 through the engine: J_c(T) above J_c(0) and growing with T (thermal
    fluctuations stabilise the Fermi liquid); the analysis draws the figure."""
    from conftest import run_cli
    job = tmp_path / "t.toml"
    job.write_text('engine = "saddle"\n[model]\nt = 1.0\ndensity = 0.3\n[options]\nn_q = 4\nn_k = 4\n'
                   'n_omega = 8\ntemperatures = [0.1, 0.3]\nglass = [1.5]\nomega0 = [2.0]\n')
    r = run_cli("run", job, "--output", tmp_path / "t.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    from simglass.analysis.load import load_points
    from simglass.analysis.phase_boundary import thermal
    (n, j0, T, jc, err, s0, js, js_err), = thermal(load_points(tmp_path / "t.h5", engine="saddle")[1])
    assert list(T) == [0.1, 0.3] and j0 < jc[0] < jc[1]
    # the Hartree spinodal of the same tables: below J_c at every T (the constraint raises it),
    # at T = 0 the spinodal of the same rule computed on its own
    from simglass.meanfield.spinodal import hartree_spinodal_infinite
    assert s0 == pytest.approx(hartree_spinodal_infinite(0.3, n_q=8, n_k=4), rel=1e-12)
    assert s0 < j0 and np.all(js < jc) and np.all(np.isfinite(js_err))
    # and at T > 0 the spinodal of the static bubble alone (hartree_spinodal_infinite at T)
    assert js[0] == pytest.approx(hartree_spinodal_infinite(0.3, n_q=8, n_k=4, T=0.1), rel=1e-12)
    r = run_cli("analyze", tmp_path / "t.h5", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "temperature.png").exists() and "at T/t = 0.3" in r.stdout
    assert "Hartree spinodal J_s/t" in r.stdout
    assert "at J/J_c = 1.5" in r.stdout and "at ω0/t = 2" in r.stdout


def test_closed_form_equals_the_solver_on_one_momentum():
    """Eqs. 45-46 (closed form at one Q) against the general saddle solver on a table with
    the single node Q: the same approximation by two routes."""
    from simglass.meanfield import bubble
    from simglass.meanfield.saddle import BubbleTable, closed_form_critical_coupling, frequency_nodes
    Q = np.array([0.7, 0.7, 0.7])
    J, om, D = closed_form_critical_coupling(0.3, 1.0, Q=Q, n_k=32, n_omega=192)
    omega, w = frequency_nodes(1.0, 192)
    tab = BubbleTable(omega, w, -bubble(omega, Q, 0.3, 1.0, n_k=32), 0.3, qweights=np.array([1.0]))
    assert J == pytest.approx(critical_coupling_table(tab, 1.0, 100.0), rel=1e-9)
    # Eq. 47: D_Q(0) - D_Q(Ω) ~ Ω^(1/2) as Ω -> 0 (from Π⁰(Ω, Q) - Π⁰(0, Q) ~ |Ω|, Eq. 48):
    # the local exponent on Ω < Ω_max rises towards ½ as Ω_max shrinks (measured 0.457,
    # 0.475, 0.488 for Ω_max/t = 0.02, 0.005, 0.002)
    slopes = []
    for top in (0.02, 0.005, 0.002):
        m = (om > 0) & (om < top)
        slopes.append(np.polyfit(np.log(om[m]), np.log(D[0] - D[m]), 1)[0])
    assert slopes[0] < slopes[1] < slopes[2] < 0.5
    assert slopes[2] == pytest.approx(0.5, abs=0.02)


def test_glass_phase_edwards_anderson_parameter(infinite_table):
    """q_EA (Eq. 40) beyond J_c: continuous onset (linear in J - J_c), no Fermi-liquid
    solution there, none of the glass below J_c, and the classical limit q_EA -> n(1 - n)
    as J -> ∞, approached like J^(-1/2) (D(Ω) ≈ min(1/J, -Π⁰(Ω)) at large J, so the
    dynamic part ∫dΩ D shrinks like the width J^(1/2) of that window times 1/J)."""
    from simglass.meanfield.saddle import glass_solution
    tab = infinite_table
    jc = critical_coupling_table(tab, 1.0, 100.0)
    q1, q2 = (glass_solution(r * jc, tab).q_ea for r in (1.001, 1.01))
    assert 0 < q1 < q2 and q2 / q1 == pytest.approx(10, rel=0.05)
    assert saddle_grid(1.01 * jc, tab) is None
    with pytest.raises(ValueError, match="not in the glass phase"):
        glass_solution(0.95 * jc, tab)
    nn = 0.3 * 0.7
    g30, g100 = (glass_solution(r * jc, tab) for r in (30, 100))
    assert g30.q_ea < g100.q_ea < nn
    slope = np.log((nn - g100.q_ea) / (nn - g30.q_ea)) / np.log(100 / 30)
    assert slope == pytest.approx(-0.5, abs=0.05)


def test_retarded_couplings(infinite_table):
    """J(Ω) = J ω0²/(Ω² + ω0²) (Eq. 11): ω0 -> ∞ is the static solver; at finite ω0 the
    fold line and bisection on the Fermi liquid's existence give the same J_c."""
    import dataclasses

    from simglass.meanfield.saddle import critical_coupling_bisection
    tab = infinite_table
    static = critical_coupling_table(tab, 1.0, 100.0)
    assert critical_coupling_table(dataclasses.replace(tab, omega0=1e8), 1.0, 100.0) == pytest.approx(
        static, rel=1e-10)
    slow = dataclasses.replace(tab, omega0=2.0)
    jc = critical_coupling_table(slow, 1.0, 100.0)
    assert jc == pytest.approx(critical_coupling_bisection(slow, 1.0, 100.0, tol=1e-9), rel=1e-8)
    assert abs(jc - static) > 0.1  # retardation matters at ω0 = 2t


def test_eq44_row_reads_the_committed_low_density_table():
    """The report's Eq. 44 row comes from data/saddle_low_density.csv (n = 5e-4 to 0.05),
    whatever saddle job the report ran, and the table reads like its results file."""
    from simglass.analysis import checks
    from simglass.analysis.phase_boundary import N_FIT, low_density_exponent, table
    rows, resp = table(checks.LOW_DENSITY_TABLE)
    assert [r[0] for r in rows] == [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05] and resp == []
    row = checks.saddle_rows(None)[0]
    assert row.key == "met_glass_exponent" and "saddle_low_density.csv" in row.note
    assert row.value == pytest.approx(low_density_exponent(rows, N_FIT)[0], rel=1e-12)
    assert not row.settled and "move away from" in row.note
