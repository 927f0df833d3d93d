"""Hartree at T > 0 (ed.hartree_thermal, issue 35): the T -> 0 limit against the T = 0
solver, the high-temperature expansion, the self-consistency and the stationarity of the
free energy, the stability against a dense computation, and the engine's record."""

import numpy as np
import pytest

from simglass import ed
import simglass.ed.hartree_thermal as ht
from simglass.ed.hartree import bare_hamiltonian
from simglass import Lattice, Model, sample_disorder
from simglass.tasks import build_model


def _model(J=2.0, W=1.0, seed=3, L=(3, 3, 3), compensate=False):
    lat = Lattice(L)
    d = sample_disorder(lat, J=J, W=W, seed=seed)
    m = Model(lat, 1.0, d.V, d.eps, density=0.5)
    if compensate:               # eps_i += n Σ_j V_ij with n = N_f/N: the uniform density is a solution at W = 0
        m = Model(lat, 1.0, d.V, d.eps + m.n_particles / m.n_sites * d.V.sum(axis=1), density=0.5)
    return m


def test_low_temperature_is_the_zero_temperature_solution():
    m = _model(J=1.5)
    h = ed.hartree_solve(m, seed=1, starts=("uniform",))
    assert h.converged and h.gap > 0.2          # gapped: e^{-gap/T} negligible at T = 1e-3
    r = ht.hartree_thermal_solve(m, 1e-3, seed=1, starts=("uniform",))
    assert r.converged and r.stable
    assert np.abs(r.density - h.density).max() < 1e-4
    assert r.free_energy == pytest.approx(h.energy, abs=1e-8 * abs(h.energy))
    assert r.entropy < 1e-10 and r.energy == pytest.approx(r.free_energy, abs=1e-10)
    # the stability is the same quantity as the T = 0 orbital Hessian's 1 - λ_max
    assert r.stability == pytest.approx(h.stability, abs=1e-5)
    assert h.levels[m.n_particles - 1] < r.mu < h.levels[m.n_particles]


def test_high_temperature_expansion():
    """n_i = n - n(1 - n)/T (h_ii - mean h), h_ii = eps_i - Σ_j V_ij n, and
    F = -T N s(n) + n Tr h + ½ n² Σ V - n(1 - n)/(2T) [Tr h² - (Tr h)²/N] with h the
    Hartree matrix of the uniform density: both to O(1/T²)."""
    m = _model(J=2.0)
    N, n = m.n_sites, m.n_particles / m.n_sites
    h = bare_hamiltonian(m) - np.diag(m.V @ np.full(N, n))
    hd, tr = np.diag(h), np.trace(h)
    s = -(n * np.log(n) + (1 - n) * np.log(1 - n))
    errs = []
    for T in (20.0, 40.0):
        r = ht.hartree_thermal_solve(m, T, starts=("uniform",))
        assert r.converged and r.stable
        dn = np.abs(r.density - (n - n * (1 - n) / T * (hd - hd.mean()))).max()
        F = -T * N * s + n * tr + 0.5 * n * n * m.V.sum() - n * (1 - n) / (2 * T) * (np.trace(h @ h) - tr ** 2 / N)
        dF = abs(r.free_energy - F)
        assert dn < 1.0 / T ** 2 and dF < 5.0 / T ** 2
        errs.append((dn, dF))
    assert 3.0 < errs[0][0] / errs[1][0] < 5.0     # the density error falls as 1/T²
    assert 3.0 < errs[0][1] / errs[1][1] < 8.0     # F: 1/T² with a 1/T³ correction


def test_self_consistent_and_stationary():
    m, T = _model(J=3.0), 0.2
    r = ht.hartree_thermal_solve(m, T, starts=("uniform",), tol=1e-12)
    assert r.converged and r.residual <= 1e-12
    h0 = bare_hamiltonian(m)
    st = ht.thermal_state(m, h0, r.density, T)
    assert np.abs(st["density"] - r.density).max() < 1e-11          # n = n[h[n]]
    assert st["free_energy"] == pytest.approx(r.free_energy, abs=1e-9)
    assert np.sum(r.occupations) == pytest.approx(m.n_particles, abs=1e-10)
    rng = np.random.default_rng(0)
    d = rng.standard_normal(m.n_sites)
    d -= d.mean()                                # keeps N_f
    d /= np.abs(d).max()

    def F(x):
        return ht.thermal_state(m, h0, x, T)["free_energy"]

    def slope(x, e):
        return (F(x + e * d) - F(x - e * d)) / (2 * e)
    e = 1e-4
    assert abs(slope(r.density, e)) < 1e-6                # stationary at the solution
    curv = (F(r.density + e * d) + F(r.density - e * d) - 2 * F(r.density)) / e ** 2
    assert abs(slope(r.density + 0.02 * d, e)) > 0.005 * abs(curv)   # not elsewhere


def _dense_lambda_max(m, r):
    """λ_max of V against (-χ⁰_T)⁻¹ on Σ δn = 0, from the dense χ⁰_T."""
    import scipy.linalg as sl
    chi = ht.static_response(r.levels, r.orbitals, r.mu, r.temperature)
    N = m.n_sites
    B = sl.null_space(np.ones((1, N)))                 # orthonormal basis of Σ δn = 0
    hess_kin = B.T @ np.linalg.inv(-chi) @ B
    return sl.eigh(B.T @ m.V @ B, hess_kin, eigvals_only=True)[-1]


@pytest.mark.parametrize("J, T, stable", [(2.0, 0.3, True), (20.0, 0.3, False)])
def test_stability_against_dense_hessian(J, T, stable):
    m = _model(J=J, W=0.0, compensate=True, seed=5)       # W = 0: the uniform density solves it at every J
    r = ht.hartree_thermal_solve(m, T, starts=("uniform",), escapes=0)
    assert r.converged and r.glass_order < 1e-12
    lam = _dense_lambda_max(m, r)
    assert r.stability == pytest.approx(1.0 - lam, abs=1e-6)
    assert r.stable is stable
    if not stable:            # pushed along the soft mode, the solver leaves the saddle for a lower F
        r2 = ht.hartree_thermal_solve(m, T, starts=("uniform",))
        assert r2.converged and r2.stable and r2.free_energy < r.free_energy and r2.glass_order > 0.01
        assert r2.stability == pytest.approx(1.0 - _dense_lambda_max(m, r2), abs=1e-6)


def test_static_response_is_the_density_derivative():
    """χ⁰_T w = dn/dv at fixed μ, by central differences."""
    m = _model(J=2.0, L=(2, 2, 3))
    r = ht.hartree_thermal_solve(m, 0.3, starts=("uniform",))
    chi = ht.static_response(r.levels, r.orbitals, r.mu, r.temperature)
    h = bare_hamiltonian(m) - np.diag(m.V @ r.density)
    w = np.random.default_rng(1).standard_normal(m.n_sites)

    def n_of(v):
        E, psi = np.linalg.eigh(h + np.diag(v))
        return np.abs(psi) ** 2 @ (1 / (np.exp((E - r.mu) / r.temperature) + 1))
    e = 1e-5
    assert np.allclose((n_of(e * w) - n_of(-e * w)) / (2 * e), chi @ w, atol=1e-7)
    assert np.all(np.linalg.eigvalsh(-chi) > 0)


@pytest.mark.parametrize("T", [0.0, -0.1, float("nan"), float("inf"), True])
def test_bad_temperature(T):
    with pytest.raises(ValueError, match="^T must be a finite number > 0"):
        ht.hartree_thermal_solve(_model(L=(2, 2)), T)


def test_classical_start_keeps_the_lowest_free_energy():
    m, T = _model(J=4.0, W=0.0, compensate=True, seed=2), 0.1
    r = ht.hartree_thermal_solve(m, T, seed=1, starts=("uniform", "classical", "random"))
    conv = [s for s in r.starts if s[2]]
    assert conv and r.converged
    assert r.free_energy == pytest.approx(min(s[1] for s in conv if np.isnan(s[4]) or s[4] >= -1e-6))
    assert r.free_energy == pytest.approx(r.energy - T * r.entropy)


def test_engine_record_at_finite_temperature():
    from simglass.jobfile import parse_job
    from simglass.tasks import run_task
    text = ('engine = "hartree"\nseed = 1\n[model]\nL = [4, 4]\nt = 1.0\ndensity = 0.5\nJ = 2.0\n'
            '[options]\nstarts = ["uniform"]\n')
    cold = parse_job(text)
    hot = parse_job(text + "T = 0.2\n")
    rec0, rec = run_task(cold, cold.tasks()[0]), run_task(hot, hot.tasks()[0])
    assert "free_energy" not in rec0 and "temperature" not in rec0
    assert set(rec) - set(rec0) == {"free_energy", "entropy", "temperature"}
    assert rec["temperature"] == 0.2 and rec["converged"] and rec["stable"]
    assert rec["free_energy"] == pytest.approx(rec["energy"] - 0.2 * rec["entropy"])
    assert rec["free_energy"] < rec0["energy"]        # F(T) < E_H(0) (the T = 0 state is a trial state)
    assert np.sum(rec["density"]) == pytest.approx(8, abs=1e-8)


def test_zero_temperature_start_is_the_t0_solution_continued():
    """starts = ("zero_temperature",): the T = 0 solver's solution of the classical state
    as the start at T > 0.  At T = 1e-3 on a gapped case it is that solution (same
    density, F = E_H); its diagonalisations count in ``iterations``.  On a 4³ case at
    T = 0.1 near the glass onset (compensated, W = 0, J = 3.5) where mixing from the
    classical state does not converge in 300 diagonalisations, the zero_temperature
    start (the same classical state) converges to a stable state, which is kept."""
    m = _model(J=4.0, W=0.0, compensate=True, seed=2)
    z = ed.hartree_solve(m, seed=5, starts=("classical",))
    r = ht.hartree_thermal_solve(m, 1e-3, seed=5, starts=("zero_temperature",))
    assert z.converged and r.converged and r.start == "zero_temperature"
    assert z.gap > 0.05                  # gapped: e^{-gap/T} negligible at T = 1e-3
    assert np.abs(r.density - z.density).max() < 1e-4
    assert r.free_energy == pytest.approx(z.energy, abs=1e-6 * abs(z.energy))
    assert r.iterations >= z.iterations + 1      # the T = 0 solve is counted, and at least one mixing step
    hard = _model(J=3.5, W=0.0, compensate=True, seed=0, L=(4, 4, 4))
    hot = ht.hartree_thermal_solve(hard, 0.1, seed=0, starts=("classical", "zero_temperature"), max_iter=300)
    done = {s[0]: s for s in hot.starts}
    assert not done["classical"][2] and done["zero_temperature"][2]
    assert hot.start == "zero_temperature" and hot.converged and hot.stable


def test_zero_temperature_start_needs_t_above_zero():
    from simglass.jobfile import parse_job
    from simglass.tasks import run_task
    text = ('engine = "hartree"\nseed = 1\n[model]\nL = [4, 4]\nt = 1.0\ndensity = 0.5\nJ = 2.0\n'
            '[options]\nstarts = ["zero_temperature"]\n')
    with pytest.raises(ValueError, match="'zero_temperature'.*needs T > 0"):
        parse_job(text)
    with pytest.raises(ValueError, match="starts: 'bogus'"):
        ht.hartree_thermal_solve(_model(L=(2, 2)), 0.1, starts=("bogus",))
    hot = parse_job(text + "T = 0.2\n")
    rec = run_task(hot, hot.tasks()[0])
    assert rec["converged"] and rec["start"] == "zero_temperature"


def test_glass_order_against_the_spinodal_at_temperature(tmp_path, capsys):
    """analysis.hartree_temperature on a tiny T > 0 job on the W~ = 0 axis: no sound
    solution above its own realisation's spinodal J_s(T) is the uniform state (the
    solver's stability check and the momentum-space spinodal agree), the realisations
    fall on the two sides of J_s(T) as the couplings put them, and the command writes its
    table and figure."""
    from simglass.analysis import hartree_temperature as an
    from simglass.cli import main
    from simglass.meanfield.spinodal import spinodal_samples
    job = tmp_path / "t.toml"
    job.write_text('engine = "hartree"\noutput = "t.h5"\nseed = 4\nrealizations = 3\n[model]\nL = [4, 4, 4]\n'
                   't = 1.0\nW = 0.0\ndensity = 0.5\ncompensate = true\n[scan]\nJ = [1.5, 3.0]\n'
                   '[options]\nstarts = ["classical"]\nT = 0.2\n')
    assert main(["run", str(job), "--output", str(tmp_path / "t.h5"), "--quiet"]) == 0
    rows = an.temperature_rows([tmp_path / "t.h5"])
    js = spinodal_samples(4, 32, range(3), seed=4, T=0.2)
    assert 1.5 < js.min() and js.max() < 3.0            # J = 1.5 below every J_s(T), 3 above
    low, high = rows
    assert (low["T"], low["J"], high["J"]) == (0.2, 1.5, 3.0) and low["sound"] == high["sound"] == 3
    np.testing.assert_allclose(low["js"], js, rtol=1e-12)
    assert low["uniform_below"] == 3 and high["q"] > 10 * an.UNIFORM_Q   # all uniform below J_s(T)
    assert low["stability_dev"] < 1e-5              # the solver's stability = 1 - J/J_s(T, r)
    capsys.readouterr()
    assert an.main([str(tmp_path / "t.h5"), "--out", str(tmp_path / "out"), "--n-q", "4"]) == 0
    assert "uniform sound solutions: 3, of them above their own spinodal 0" in capsys.readouterr().out
    assert (tmp_path / "out" / "hartree_temperature.png").exists()
    assert (tmp_path / "out" / "hartree_temperature.csv").read_text().startswith("T,L,n_f,J,")
    # the compact tables of the pieces (the committed form), a T = 0 piece among them: its
    # temperature column is empty, read as T = 0
    from simglass.analysis.compact import main as compact
    cold = tmp_path / "c.toml"
    cold.write_text(job.read_text().replace("T = 0.2", "T = 0.0").replace("t.h5", "c.h5"))
    assert main(["run", str(cold), "--output", str(tmp_path / "c.h5"), "--quiet"]) == 0
    keys = ["--keys", "converged", "stable", "stability", "temperature", "glass_order", "ln_g_mean"]
    for name, jobfile in (("t", job), ("c", cold)):
        compact([str(tmp_path / f"{name}.h5"), "--job", str(jobfile), "--out", str(tmp_path / f"{name}.csv.gz"), *keys])
    both = an.temperature_rows([tmp_path / "c.csv.gz", tmp_path / "t.csv.gz"])
    assert [r["T"] for r in both] == [0.0, 0.0, 0.2, 0.2] and "js" not in both[0]
    for a, b in zip(both[2:], rows):      # the seed from the table's job file: the same J_s(T, r)
        assert a["q"] == pytest.approx(b["q"], rel=1e-6, abs=1e-12) and a["uniform_below"] == b["uniform_below"]
        np.testing.assert_allclose(a["js"], b["js"], rtol=1e-12)


def _glass_case():
    """L = 4 on the W~ = 0 axis at J/t = 4, realisation 3 of seed 3501, and its classical
    start: Anderson mixing at T = 0.1 t cycles there (max |n_out - n_in| ~ 1e-2 after 1000
    diagonalisations) far from the solution the descent reaches."""
    from simglass.ed.hartree import _start_density
    params = dict(L=[4] * 3, t=1.0, W=0.0, density=0.5, compensate=True, periodic=True, n_particles=None,
                  onsite="gaussian", couplings="gaussian", n_modes=None)
    m = build_model(params | {"J": 4.0}, 3501, 3)
    return m, _start_density(m, "classical", np.random.default_rng(3), 300)


def test_free_energy_gradient_against_finite_differences():
    """∇F̃ of free_energy_gradient against central differences of F̃(x) (thermal_state's
    free energy) along random directions, at a density away from self-consistency; and
    F̃(x) is the Mermin functional of the Fermi density matrix of h[x] (a second
    computation of F)."""
    m, n0 = _glass_case()
    h0 = bare_hamiltonian(m)
    rng = np.random.default_rng(5)
    x = np.clip(n0 + 0.05 * rng.standard_normal(n0.size), 0.0, 1.0)
    s = ht.thermal_state(m, h0, x, 0.1)
    g = ht.free_energy_gradient(m, s, x, 0.1)
    assert np.abs(g).max() > 0.1
    for _ in range(3):
        d = rng.standard_normal(x.size)
        e = 1e-5
        fd = (ht.thermal_state(m, h0, x + e * d, 0.1)["free_energy"] - ht.thermal_state(m, h0, x - e * d, 0.1)["free_energy"]) / (2 * e)
        assert fd == pytest.approx(g @ d, rel=1e-6, abs=1e-8)
    P = (s["orbitals"] * s["occupations"]) @ s["orbitals"].T
    assert ht.mermin_functional(m, h0, P, 0.1) == pytest.approx(s["free_energy"], abs=1e-9)


def test_free_energy_descent_lowers_f_towards_a_solution():
    """The descent uses exactly its budget until it stops by itself, once F̃ stalls, at
    an output density from which mixing converges quickly to a stable solution whose F
    it approaches from above (F̃ >= F at a local minimum), far below its start.  Bad
    arguments are named; a temperature at which f(1 - f) underflows on every level (μ in
    a gap of many T) gives a finite gradient (the fixed-N projection vanishes there)."""
    m, n0 = _glass_case()
    h0 = bare_hamiltonian(m)
    runs = [ht.free_energy_descent(m, h0, n0, 0.1, k) for k in (1, 3, 10, 40, 2000)]
    assert [r[1] for r in runs[:4]] == [1, 3, 10, 40] and runs[-1][1] < 2000
    assert runs[-1][2] < runs[0][2] - 0.5
    n, _, F = runs[-1]
    sol = ht.hartree_thermal_solve(m, 0.1, rng=np.random.default_rng(3), starts=(), init_density=n, max_iter=200)
    assert sol.converged and sol.stable and sol.iterations < 100
    assert sol.free_energy - 1e-9 <= F < sol.free_energy + 1e-4
    with pytest.raises(ValueError, match="real h0"):
        ht.free_energy_descent(m, h0.astype(complex), n0, 0.1, 10)
    for kw, name in (({"max_diag": 0}, "max_diag"), ({"max_diag": 10, "window": 0}, "window"),
                     ({"max_diag": 10, "history": 0}, "history"), ({"max_diag": 10, "stall": -1.0}, "stall")):
        with pytest.raises(ValueError, match=name):
            ht.free_energy_descent(m, h0, n0, 0.1, **kw)
    g = _model()                                                      # μ in a gap of 0.38 t
    s = ht.thermal_state(g, bare_hamiltonian(g), np.full(g.n_sites, 0.5), 1e-3)
    assert np.all(np.isfinite(ht.free_energy_gradient(g, s, np.full(g.n_sites, 0.5), 1e-3)))


def test_fallback_converges_where_mixing_cycles():
    """Mixing alone (descent_after = max_iter) leaves the case unconverged; with the
    fallback (the default) the same start converges to a stable solution of lower F,
    and every diagonalisation of the start is counted; the budget holds."""
    m, _ = _glass_case()
    kw = dict(rng=None, starts=("classical",), max_iter=1000)
    old = ht.hartree_thermal_solve(m, 0.1, seed=3, **kw, descent_after=1000)
    new = ht.hartree_thermal_solve(m, 0.1, seed=3, **kw)
    assert not old.converged and old.residual > 1e-3 and old.iterations == 1000
    assert new.converged and new.stable and 300 < new.iterations < 1000
    assert new.free_energy < old.free_energy - 0.5
    for budget in (301, 302, 303, 304, 320):                               # the budget holds with the fallback
        cut = ht.hartree_thermal_solve(m, 0.1, seed=3, starts=("classical",), max_iter=budget)
        assert not cut.converged and cut.iterations == (budget if budget >= 304 else 300)   # < 4 left: no descent
    stale = ht.hartree_thermal_solve(m, 0.1, seed=3, starts=("classical",), max_iter=300)
    assert cut.residual <= stale.residual         # the lower residual of mixing and descent + mixing is kept
    early = ht.hartree_thermal_solve(m, 0.1, seed=3, starts=("classical",), max_iter=450)
    assert early.converged and early.iterations <= 450     # the descent stops by itself, mixing gets the rest


def test_fallback_crosses_a_flat_valley():
    """A task of jobs/hartree_finite_t_loc_T010.toml (L = 6, J/t = 3.5, realisation 9, the
    job's classical start) that the earlier fallback (a descent by fixed-point steps)
    left unconverged after 1000 diagonalisations per start: F has a long flat valley
    there.  The default converges to a stable solution well within the budget, checked
    independently: its density is a fixed point of one more diagonalisation and filling
    at T (to 1e-7: the solver's residual, <= 1e-8, is that of the last input density, and
    the density returned is its output)."""
    from simglass.disorder import engine_seed
    params = dict(L=[6] * 3, t=1.0, W=0.0, density=0.5, compensate=True, periodic=True, n_particles=None,
                  onsite="gaussian", couplings="gaussian", n_modes=None)
    m = build_model(params | {"J": 3.5}, 3501, 9)
    r = ht.hartree_thermal_solve(m, 0.1, rng=np.random.default_rng(engine_seed(3501, 9)), starts=("classical",),
                                 max_iter=1000)
    assert r.converged and r.stable and r.iterations < 700
    s = ht.thermal_state(m, bare_hamiltonian(m), r.density, 0.1)
    assert np.abs(s["density"] - r.density).max() <= 1e-7
    assert s["free_energy"] == pytest.approx(r.free_energy, abs=1e-8)


@pytest.mark.parametrize("kw, name", [({"descent_after": 0}, "descent_after"), ({"descent_after": 2.5}, "descent_after"),
                                      ({"descent_after": True}, "descent_after")])
def test_bad_descent_options(kw, name):
    with pytest.raises(ValueError, match=name):
        ht.hartree_thermal_solve(_model(), 0.5, starts=("uniform",), **kw)
