"""The mc analysis: alpha fit on samples of a known law, SK extrapolation on exact data,
and the engine -> runner -> HDF5 -> analysis chain end to end."""
import numpy as np
import pytest

from simglass.analysis import coulomb_gap, sk_energy
from conftest import run_cli


def test_fit_alpha_recovers_known_slope():
    """Fields drawn from P(phi) = alpha |phi| / J^2 on |phi| < a (rest of the weight
    spread uniformly up to 3J): the fit on the window recovers alpha."""
    rng = np.random.default_rng(0)
    J, alpha, a, N = 2.0, 1.3, 0.6, 400
    w_lin = alpha * a ** 2  # weight of the linear part, in units where x = |phi|/J
    phis = []
    for _ in range(60):
        u = rng.random(N)
        lin = u < w_lin
        x = np.where(lin, a * np.sqrt(rng.random(N)), rng.uniform(a, 3.0, N))
        phis.append(J * x * rng.choice([-1, 1], N))
    fit = coulomb_gap.fit_alpha(phis, J)
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_err
    assert 0.005 < fit.alpha_err < 0.1
    # a wrong law (P flat near 0) is not mistaken for alpha = 1.3
    flat = [J * rng.uniform(-1, 1, N) for _ in range(60)]
    fit2 = coulomb_gap.fit_alpha(flat, J)
    assert fit2.chi2_dof > 5


def _curved_sample(rng, N, alpha, b, a):
    """N fields |phi|/J from the density 2(alpha x + b x³) on [0, a] (inverse CDF on a fine
    grid), the rest of the weight uniform on [a, 3], random signs."""
    xs = np.linspace(0, a, 4001)
    cdf = alpha * xs ** 2 + b * xs ** 4 / 2          # ∫ 2(alpha x + b x³) dx
    w = cdf[-1]
    u = rng.random(N)
    inner = u < w
    x = np.where(inner, np.interp(rng.random(N) * w, cdf, xs),
                 rng.uniform(a, 3.0, N))
    return x * rng.choice([-1, 1], N)


def test_curvature_fit_from_fields_and_from_counts():
    """Fields drawn from P(phi) = alpha|phi| + b|phi|³ (J = 1): the curvature fit recovers
    alpha and b, from the fields (exact window) and from the fine-grid counts of a
    compact table (window on the grid); the linear law alone is off by many errors."""
    rng = np.random.default_rng(3)
    alpha, b, N = 1.25, -1.8, 1024
    phis = [_curved_sample(rng, N, alpha, b, 0.6) for _ in range(150)]
    counts = np.array([coulomb_gap.absphi_counts(p, 1.0) for p in phis])
    assert counts.shape == (150, 100) and counts.sum() == sum(np.sum(np.abs(p) < 0.5) for p in phis)
    for fit in (coulomb_gap.fit_alpha(phis, 1.0, x_hi=0.5, curvature=True),
                coulomb_gap.fit_alpha_counts(counts, N, x_hi=0.5, curvature=True)):
        assert fit.curvature and fit.N == N and fit.realizations == 150
        assert abs(fit.alpha - alpha) < 3 * fit.alpha_err and fit.alpha_err < 0.05
        assert abs(fit.b - b) < 3 * fit.b_err
    lin = coulomb_gap.fit_alpha(phis, 1.0, x_hi=0.5)
    assert (alpha - lin.alpha) > 5 * lin.alpha_err
    with pytest.raises(ValueError, match="x_hi"):
        coulomb_gap.fit_alpha_counts(counts, N, x_hi=0.8)


def test_alpha_extrapolation_exact_line():
    """alpha(N) = 1.2 + 0.5/sqrt(N) on every window: alpha_inf = 1.2, no window spread;
    windows differing by a constant give that constant as systematic error."""
    def fits(shift):
        return [coulomb_gap.AlphaFit(N, 10, 1.2 + shift + 0.5 / np.sqrt(N), 0.01, 0.1, 0.3, 1.0, curvature=True)
                for N in (256, 512, 1024, 2048)]
    windows = {(coulomb_gap.C_LO, coulomb_gap.X_HI): fits(0.0), (1.0, 0.4): fits(0.0), (3.0, 0.5): fits(0.03)}
    ext = coulomb_gap.extrapolate(windows)
    assert ext.alpha_inf == pytest.approx(1.2, abs=1e-10) and ext.slope == pytest.approx(0.5, abs=1e-8)
    assert ext.sys_window == pytest.approx(0.03, abs=1e-10) and ext.sys_form == pytest.approx(0, abs=1e-10)
    assert 0 < ext.stat < 0.1 and ext.sizes == [256, 512, 1024, 2048]
    with pytest.raises(ValueError, match="3\\+ sizes"):
        coulomb_gap.extrapolate({(coulomb_gap.C_LO, coulomb_gap.X_HI): fits(0.0)[:2]})


def test_sk_extrapolation_exact_line():
    Ns = [64, 128, 256, 512]
    rows = [(N, 10, -0.19 + 0.5 * N ** (-2 / 3), 1e-3) for N in Ns]
    e, err, a, chi2 = sk_energy.extrapolate(rows)
    assert e == pytest.approx(-0.19, abs=1e-10) and a == pytest.approx(0.5, abs=1e-8)
    assert chi2 < 1e-12 and 0 < err < 0.01


JOB = """
engine = "mc"
seed = 5
realizations = 4
[model]
t = 0.0
density = 0.5
compensate = true
[scan]
L = [24, 64, 100]
[options]
sweeps = 60
replicas = 6
T_min = 0.05
"""


def test_mc_engine_end_to_end(tmp_path):
    job = tmp_path / "mc.toml"
    job.write_text(JOB)
    out = tmp_path / "mc.h5"
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    a = run_cli("analyze", out, "--out", tmp_path / "an")
    assert a.returncode == 0 and "extrapolated" in a.stdout, a.stdout + a.stderr  # compensated: SK too
    # no size reaches N = 178: the output (and the figure's slope panel) says why no fit is drawn
    assert "no alpha|phi| + b|phi|^3 fit on the central window" in a.stdout and "N >= 178" in a.stdout
    assert (tmp_path / "an" / "coulomb_gap.png").exists() and (tmp_path / "an" / "sk_energy.png").exists()
    fits = coulomb_gap.analyze(out, tmp_path / "fig")
    assert [f.N for f in fits] == [64, 100]  # N = 24: window empty
    assert (tmp_path / "fig" / "coulomb_gap.png").stat().st_size > 10000
    rows = sk_energy.sizes_and_energies(out)
    assert len(rows) == 3 and all(-0.5 < m < 0 and 0 <= rep <= 1 for _, _, m, _, rep in rows)
    from simglass.analysis.load import load_points
    _, pts = load_points(out)
    rec = pts[0].records[0]
    assert rec["pair_stable"] and rec["phi_hist"].sum() == 24
    assert rec["q"].ndim == 1 and np.all(np.abs(rec["q"]) <= 1)
    assert rec["acceptance"].shape == (6,) and rec["exchange"].shape == (5,)
    # the compact table (data/) holds what both analyses need: same energies, same counts
    from simglass.analysis.compact import export, read_table
    assert export([out], tmp_path / "mc.csv", "mc.toml", commit="abc") == 12
    header, tpts = read_table(tmp_path / "mc.csv")
    assert header["dims"] == "1" and header["engine"] == "mc"
    trec = tpts[0].records[0]
    assert tpts[0].params["L"] == [24] and tpts[0].params["compensate"] == 1
    assert np.array_equal([trec[f"absphi_{k}"] for k in range(100)], coulomb_gap.absphi_counts(rec["phi"], 1.0))
    rows_t = sk_energy.sizes_and_energies(tmp_path / "mc.csv")
    assert np.allclose(np.array(rows_t), np.array(rows), rtol=1e-7)
    assert [f.N for f in coulomb_gap.analyze(tmp_path / "mc.csv")] == [64, 100]


def test_min_size_of_a_fit_window():
    """The central window [2/sqrt(N), 0.3] spans a factor 2 from N = 178 on, and is not
    empty from N = 45 on (the sizes the figure and the printed notes name)."""
    assert coulomb_gap.min_size() == 178 and coulomb_gap.min_size(span=1) == 45
    for c, x in [(1.0, 0.2), (3.0, 0.5)]:
        n = coulomb_gap.min_size(c, x)
        assert c / np.sqrt(n) * coulomb_gap.MIN_SPAN < x <= c / np.sqrt(n - 1) * coulomb_gap.MIN_SPAN
    with pytest.raises(ValueError):
        coulomb_gap.min_size(0.0)


def test_mc_engine_rejects_t(tmp_path):
    job = tmp_path / "bad.toml"
    job.write_text(JOB.replace("t = 0.0", "t = 0.5"))
    r = run_cli("run", job, "--output", tmp_path / "x.h5")
    assert r.returncode == 2 and "t = 0.5" in r.stderr and not (tmp_path / "x.h5").exists()


def test_sk_fit_leaves_out_sizes_whose_lowest_state_is_not_repeated():
    """analysis.sk_energy.fitted: sizes where fewer than half of the realisations found
    their lowest state twice are left out of the extrapolation (upper bounds)."""
    rows = [(64, 10, -0.17, 1e-3, 0.9), (128, 10, -0.18, 1e-3, 0.5), (256, 10, -0.185, 1e-3, float("nan")),
            (512, 10, -0.18, 1e-3, 0.2)]
    assert [r[0] for r in sk_energy.fitted(rows)] == [64, 128, 256]


TABU_JOB = """
engine = "mc"
seed = {seed}
realizations = 3
[model]
t = 0.0
density = 0.5
compensate = true
[scan]
L = [24, 40]
[options]
method = "tabu"
sweeps = {sweeps}
restarts = 2
"""


def test_sk_budget_check_pairs_the_same_realisations(tmp_path):
    """analysis.sk_energy.budget_check: a longer search with the same seed is paired
    realisation by realisation (same disorder C); each restart continues the shorter
    run's tabu trajectory, so the longer search is never higher here; another seed
    (other disorder) is refused by name."""
    paths = {}
    for name, seed, sweeps in (("short", 5, 1), ("long", 5, 6), ("other", 6, 6)):
        job = tmp_path / f"{name}.toml"
        job.write_text(TABU_JOB.format(seed=seed, sweeps=sweeps))
        paths[name] = tmp_path / f"{name}.h5"
        r = run_cli("run", job, "--output", paths[name], "--quiet")
        assert r.returncode == 0, r.stderr
    checks = sk_energy.budget_check([paths["short"]], [paths["long"]])
    assert [(c[0], c[1]) for c in checks] == [(24, 3), (40, 3)]
    short = {r[0]: r for r in sk_energy.sizes_and_energies([paths["short"]])}
    long_ = {r[0]: r for r in sk_energy.sizes_and_energies([paths["long"]])}
    for N, n, d, sd, lower in checks:
        assert d == pytest.approx(long_[N][2] - short[N][2], abs=1e-12)   # mean of differences
        assert d <= 1e-12 and 0 <= lower <= 1
    with pytest.raises(ValueError, match="different disorder"):
        sk_energy.budget_check([paths["short"]], [paths["other"]])


def _sk_table(path, energies, hits=None, shift=0.0):
    """A compact mc table of compensated sizes: energies {N: (R,) array of (E - C)/(N J)};
    C/(N J) = 0.01 r + N + shift (the same disorder for the same N and r in every table
    with the same shift); restarts_hit {N: hits} (default 1: not repeated)."""
    lines = ["# job: synthetic; commit: none; engine: mc; dims: 1",
             "L,J,W,t,density,compensate,realization,energy,C_sk,restarts_hit"]
    for N, e in energies.items():
        for r, v in enumerate(e):
            C = (0.01 * r + N + shift) * N
            lines.append(f"{N},1,0,0,0.5,1,{r},{v * N + C:.12g},{C:.12g},{(hits or {}).get(N, 1)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sk_budget_levels_admit_converged_sizes_only(tmp_path):
    """budget_levels: each size takes its longest search, judged against the next shorter
    one that has it: N = 1024 improves by 2e-4 from level 0 to 1 and by 2e-5 (below one
    standard error) from 1 to 2, so it is converged and fitted with level 2; N = 2048
    improves by 8e-4 (several standard errors) at its longest search and stays out.
    Another disorder (other seed) is refused by name."""
    rng = np.random.default_rng(3)
    base = {N: -0.19 + 0.25 * N ** (-2 / 3) + 3e-4 * rng.standard_normal(40) for N in (128, 256, 512, 1024, 2048)}
    main = _sk_table(tmp_path / "main.csv", base, hits={128: 2, 256: 2, 512: 2})
    lv1 = _sk_table(tmp_path / "l1.csv", {1024: base[1024] - 2e-4, 2048: base[2048] - 8e-4})
    lv2 = _sk_table(tmp_path / "l2.csv", {1024: base[1024] - 2.2e-4})
    rows, checks, verdict = sk_energy.budget_levels([main], [lv1, lv2])
    assert [r[0] for r in rows] == [128, 256, 512, 1024, 2048]
    assert [(c[0], c[5], c[6]) for c in checks] == [(1024, 0, 1), (2048, 0, 1), (1024, 1, 2)]
    assert checks[0][2] == pytest.approx(-2e-4) and checks[2][2] == pytest.approx(-2e-5)
    assert checks[0][7] is False and checks[2][7] is True and verdict == {1024: True, 2048: False}
    assert rows[3][2] == pytest.approx(base[1024].mean() - 2.2e-4)
    assert [r[0] for r in sk_energy.fitted(rows, verdict)] == [128, 256, 512, 1024]
    assert [r[0] for r in sk_energy.fitted(rows)] == [128, 256, 512]
    other = _sk_table(tmp_path / "other.csv", {1024: base[1024]}, shift=0.5)
    with pytest.raises(ValueError, match="other.csv.*different disorder"):
        sk_energy.budget_levels([main], [other])
    # a size only the longer search has is kept, unchecked (fitted only if repeated)
    extra = _sk_table(tmp_path / "extra.csv", {1024: base[1024] - 2e-5, 4096: base[2048][:5]})
    rows, checks, verdict = sk_energy.budget_levels([main], [extra])
    assert [r[0] for r in rows][-1] == 4096 and 4096 not in verdict and [c[0] for c in checks] == [1024]
    # no common realisation for a size: refused by name
    late = _sk_table(tmp_path / "late.csv", {2048: base[2048]})
    late.write_text(late.read_text() + "1024,1,0,0,0.5,1,90,-1,0,1\n1024,1,0,0,0.5,1,91,-1,0,1\n")
    with pytest.raises(ValueError, match="late.csv: N = 1024 shares no realisation"):
        sk_energy.budget_levels([main], [late])
    lone = tmp_path / "lone.csv"
    lone.write_text("\n".join(late.read_text().splitlines()[:2]) + "\n1024,1,0,0,0.5,1,90,-1,0,1\n"
                    "1024,1,0,0,0.5,1,91,-1,0,1\n")
    with pytest.raises(ValueError, match="lone.csv against .*main.csv: no size and realisation"):
        sk_energy.budget_levels([main], [lone])
    # the report's production row: a refused budget table gives "not run" with the reason
    from simglass.analysis.checks import production
    row = {r.key: r for r in production({"sk_energy": [main], "sk_energy_budget": [other]})}["sk_energy_production"]
    assert row.verdict == "not run" and "different disorder" in row.note
    row = {r.key: r for r in production({"sk_energy": [main], "sk_energy_budget": [lv1, lv2]})}["sk_energy_production"]
    assert "N = 1024: longer search, converged" in row.note and row.sizes == "N = 128, 256, 512, 1024"


def test_sk_budget_curves_follow_the_paired_levels(tmp_path, capsys):
    """budget_curves: per size, the mean over the realisations common to all its levels
    and the standard error of the paired change; a level with other disorder is refused;
    the CLI writes sk_budget.png and refuses a --sweeps list of the wrong length."""
    rng = np.random.default_rng(4)
    base = {N: -0.19 + 0.25 * N ** (-2 / 3) + 3e-4 * rng.standard_normal(30) for N in (256, 512, 1024, 2048)}
    base[128] = -0.19 + 0.25 * 128 ** (-2 / 3) + 3e-4 * rng.standard_normal(30)
    main = _sk_table(tmp_path / "main.csv", base, hits={128: 2, 256: 2, 512: 2})
    lv1 = _sk_table(tmp_path / "l1.csv", {1024: base[1024] - 2e-4, 2048: base[2048][:20] - 5e-4})
    drop = 1e-4 * rng.random(10)
    lv2 = _sk_table(tmp_path / "l2.csv", {2048: base[2048][:10] - 5e-4 - drop})
    curves = sk_energy.budget_curves([main], [lv1, lv2])
    assert sorted(curves) == [1024, 2048]
    assert [k for k, _, _ in curves[1024]] == [0, 1] and [k for k, _, _ in curves[2048]] == [0, 1, 2]
    assert curves[1024][1][1] == pytest.approx(base[1024].mean() - 2e-4)
    assert curves[1024][1][2] == pytest.approx(0.0, abs=1e-12)       # a constant shift: no spread
    assert curves[2048][0][1] == pytest.approx(base[2048][:10].mean())   # realisations 0-9 only
    assert curves[2048][2][1] == pytest.approx(base[2048][:10].mean() - 5e-4 - drop.mean())
    assert curves[2048][2][2] == pytest.approx(drop.std(ddof=1) / np.sqrt(10), rel=1e-3)   # 12-digit table
    other = _sk_table(tmp_path / "other.csv", {1024: base[1024]}, shift=0.5)
    with pytest.raises(ValueError, match="N = 1024, realisation 0: .*main.csv and .*other.csv have different disorder"):
        sk_energy.budget_curves([main], [other])
    # a second main input of another seed shares the indices: pairing by C picks the right one
    curves2 = sk_energy.budget_curves([main, other], [lv1, lv2])
    for N in (1024, 2048):
        np.testing.assert_allclose(np.array(curves2[N]), np.array(curves[N]), rtol=1e-12, atol=1e-15)
    few = _sk_table(tmp_path / "few.csv", {2048: base[2048][:1]})
    with pytest.raises(ValueError, match="N = 2048: fewer than two realisations common to .*main.csv; .*few.csv"):
        sk_energy.budget_curves([main], [few])
    out = tmp_path / "fig"
    args = [str(main), "--budget", str(lv1), str(lv2)]
    assert sk_energy.main(args + ["--sweeps", "40", "160", "640", "--out", str(out)]) == 0
    assert (out / "sk_budget.png").stat().st_size > 0
    capsys.readouterr()
    for bad, message in ((["--sweeps", "40", "160", "--out", str(out)], "needs one value per budget level (3"),
                         (["--sweeps", "40", "160", "640"], "give --out and --budget too"),
                         (["--sweeps", "40", "0", "640", "--out", str(out)], "must be positive")):
        assert sk_energy.main(args + bad) == 2
        assert message in capsys.readouterr().err


def test_sk_fit_refuses_a_budget_converged_size_above_a_smaller_one():
    """fitted: a size admitted only by the budget check is left out when its mean lies
    above a smaller fitted size's (an upper bound, not a ground-state energy); repeated
    sizes are kept as before, and a budget-converged size below its predecessors is kept."""
    rows = [(256, 100, -0.1855, 0.0002, 0.9), (512, 100, -0.1875, 0.0001, 0.6),
            (1024, 50, -0.1888, 0.0001, 0.2), (2048, 40, -0.1886, 0.0001, 0.0)]
    verdict = {1024: True, 2048: True}
    assert [r[0] for r in sk_energy.fitted(rows, verdict)] == [256, 512, 1024]
    rows[3] = (2048, 40, -0.1897, 0.0001, 0.0)
    assert [r[0] for r in sk_energy.fitted(rows, verdict)] == [256, 512, 1024, 2048]
    assert [r[0] for r in sk_energy.fitted(rows, {1024: True, 2048: False})] == [256, 512, 1024]
