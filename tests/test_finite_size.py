"""Finite-size crossing analysis (analysis.finite_size) on synthetic data with a known
crossing."""
from types import SimpleNamespace

import numpy as np
import pytest

from simglass.analysis.finite_size import (Crossing, crossing, crossing_extrapolation, estimate, joint_crossing_bootstrap,
                                   SizeData, mean_err, pair_crossings, scaling_flow, size_table,
                                   systematic_spread)
from simglass.analysis.scaling_fit import _model, scaling_fit


def synthetic(xc=16.0, sizes=(6, 8, 10, 12), n_real=300, noise=0.3, drift=0.0, seed=0):
    """y_L(x) = -(x - x_c(L)) L / 10 + a realisation offset (shared across x, as the
    disorder draws are) + independent noise; x_c(L) = xc + drift / L."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(13, 19, 7)
    points = []
    for L in sizes:
        offset = noise * rng.standard_normal(n_real)
        for x in xs:
            y = -(x - xc) * L / 10 - drift / L + offset + 0.1 * rng.standard_normal(n_real)
            recs = [{"y": v, "ok": True} for v in y]
            recs[3]["ok"] = False                              # one flagged task per point
            points.append(SimpleNamespace(params={"L": [L] * 3, "W": x, "t": 1.0},
                                          realizations=list(range(n_real)), records=recs))
    return size_table(points, lambda r: r["y"], "W", lambda r: r["ok"])


def test_scaling_flow_is_the_slope_in_ln_L():
    """synthetic(): y_L(x) = -(x - x_c) L/10 (+ noise), so d<y>/d ln L between L_a and L_b is
    -(x - x_c)(L_b - L_a) / (10 ln(L_b / L_a)): zero at x_c, positive below it; its
    error is the two sizes' standard errors in quadrature over ln(L_b / L_a)."""
    tab = synthetic(noise=0.0)
    flow = scaling_flow(tab)
    assert [(f.a[0], f.b[0]) for f in flow[::7]] == [(6, 8), (8, 10), (10, 12)]
    for f in flow:
        La, Lb = f.a[0], f.b[0]
        exact = -(f.x - 16.0) * (Lb - La) / (10 * np.log(Lb / La))
        assert f.beta == pytest.approx(exact, abs=5 * f.beta_err + 1e-12)
        (ma, ea, _), (mb, eb, _) = mean_err(tab[f.a].Y), mean_err(tab[f.b].Y)
        j = list(tab[f.a].x).index(f.x)
        assert f.beta_err == pytest.approx(np.hypot(ea[j], eb[j]) / np.log(Lb / La))
        assert f.y_mid == pytest.approx(0.5 * (ma[j] + mb[j]))
    assert all(f.beta > 0 for f in flow if f.x < 15) and all(f.beta < 0 for f in flow if f.x > 17)


def test_size_table_layout():
    tab = synthetic(n_real=20)
    assert list(tab) == [(6, 6, 6), (8, 8, 8), (10, 10, 10), (12, 12, 12)]
    d = tab[(8, 8, 8)]
    assert d.Y.shape == (20, 7) and np.all(d.flagged == 1) and np.isnan(d.Y[3]).all()
    m, e, n = d.mean_err()
    assert np.all(n == 19) and np.all(e > 0)


def test_known_crossing_recovered_within_errors():
    tab = synthetic()
    cr = pair_crossings(tab, n_boot=300)
    for c in cr:
        assert abs(c.x - 16.0) < 4 * c.err and c.err < 0.3 and c.found > 0.95
    e = estimate(cr)
    assert abs(e.x - 16.0) < 4 * e.error and e.pair == ((10, 10, 10), (12, 12, 12))


def test_drift_gives_the_systematic_error():
    """Pair crossings at 16 + 60/(a b) = 17.25, 16.75, 16.5: they move with size; the
    systematic error is their drift (0.25), and the error covers the remaining shift of
    the largest pair from 16."""
    cr = pair_crossings(synthetic(drift=6.0, noise=0.05), n_boot=200)
    xs = [c.x for c in cr]
    np.testing.assert_allclose(xs, [17.25, 16.75, 16.5], atol=0.1)
    e = estimate(cr)
    assert np.isclose(e.sys, np.hypot(abs(xs[2] - xs[1]), cr[-1].window_shift))
    assert cr[-1].window_shift < 0.05 and e.error >= e.sys                # straight lines


def test_joint_resampling_sees_the_shared_offsets():
    """A realisation offset shared across x shifts a whole curve: the bootstrap over
    whole rows must grow with it (resampling x columns independently would not)."""
    small = pair_crossings(synthetic(noise=0.0), n_boot=200)[-1].err
    large = pair_crossings(synthetic(noise=1.0), n_boot=200)[-1].err
    assert large > 3 * small


def test_curvature_of_the_difference_shows_in_the_window_shift():
    """d(x) = (x - 16) + 0.15 (x - 16)² (other root 9.3): the straight line over 13-19 misses the root at
    16; the fit on the 4 nearest points moves towards it, and the shift is counted."""
    x = np.linspace(13, 19, 7)
    ya = np.zeros((40, 7)) + 0.01 * np.random.default_rng(2).standard_normal((40, 7))
    yb = (x - 16) + 0.15 * (x - 16) ** 2 + np.zeros((40, 1))
    tab = {(6,): SimpleNamespace(x=x, Y=ya), (8,): SimpleNamespace(x=x, Y=yb)}
    c = pair_crossings(tab, n_boot=50)[0]
    assert abs(c.x - 16) > 0.3 and c.window_shift > 0.2
    assert estimate([c]).sys == c.window_shift


def test_a_point_without_spread_is_left_out_of_the_crossing():
    """A bootstrap resample of two realisations that draws one of them twice has no spread
    at any x: such a point has no error to weight it by (it made the weighted fit singular,
    issue 35's T > 0 preview); the crossing comes from the other points."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    ya = np.array([[0.0, 0.1, -0.1, 0.3], [0.2, -0.1, 0.1, 0.3]])
    yb = np.array([[-1.0, 0.4, 1.0, 2.0], [-1.2, 0.6, 1.2, 2.0]])   # x = 4: no spread at either size
    assert crossing(x, ya, yb) == pytest.approx(crossing(x[:3], ya[:, :3], yb[:, :3]))
    assert np.isnan(crossing(x, np.tile(ya[:1], (2, 1)), np.tile(yb[:1], (2, 1))))
    tab = {(6,): SimpleNamespace(x=x, Y=ya), (8,): SimpleNamespace(x=x, Y=yb)}
    assert pair_crossings(tab, n_boot=200)[0].found < 1.0                    # some resamples have no root


def test_parallel_curves_have_no_crossing():
    x = np.arange(5.0)
    ya = np.tile(x, (50, 1)) + np.random.default_rng(1).standard_normal((50, 5)) * 0.01
    assert np.isnan(crossing(x, ya, ya + 1.0))
    assert np.isnan(estimate([]).x)


def _run_job(tmp_path, name, text):
    """Results file of the job ``text`` written as ``name``.toml and run in tmp_path."""
    from conftest import run_cli
    (tmp_path / f"{name}.toml").write_text(text)
    out = tmp_path / f"{name}.h5"
    assert run_cli("run", tmp_path / f"{name}.toml", "--output", out, "--quiet").returncode == 0
    return out


def test_compact_table_values_have_the_digits_asked_for(tmp_path, capsys):
    """Every floating-point cell of an exported table, the record's keys and the derived
    columns alike (the binned curvatures, the multiplicity of several starts), carries at
    most ``digits`` significant digits; a table rewritten with fewer digits keeps its
    --verbatim columns as they were and rounds all others."""
    import csv
    import re
    from simglass.analysis.compact import export
    out = _run_job(tmp_path, "m", 'engine = "hartree"\nseed = 5\nrealizations = 3\n[model]\nt = 1.0\nW = 0.0\n'
                   'density = 0.5\ncompensate = true\n[scan]\nL = [[4, 4, 4]]\nJ = [3.0, 5.0]\n'
                   '[options]\nstarts = ["classical", "uniform", "random"]\ng_window = 4\n')
    assert export([out], tmp_path / "m.csv", "m.toml", commit="abc", digits=4) == 6
    rows = list(csv.DictReader((tmp_path / "m.csv").read_text().splitlines()[1:]))
    assert {"other_overlap_max", "other_energy_min", "lnc_E0", "stability"} <= set(rows[0])
    floats = [c for r in rows for k, c in r.items() if k not in ("L", "J", "W", "t", "density")
              and re.fullmatch(r"-?[0-9.]+(e[-+][0-9]+)?", c) and ("." in c or "e" in c)]
    assert any(c for r in rows for k, c in r.items() if k.startswith("other_") and c != "nan")
    def digits(c):
        return len(re.sub(r"e.*", "", c).replace("-", "").replace(".", "").lstrip("0"))
    assert floats and max(digits(c) for c in floats) <= 4
    # a table rewritten with fewer digits but its energies verbatim (--rewrite --verbatim)
    from simglass.analysis.compact import main as compact_main, rewrite
    export([out], tmp_path / "v.csv", "m.toml", commit="abc")
    before = list(csv.DictReader((tmp_path / "v.csv").read_text().splitlines()[1:]))
    assert compact_main(["--rewrite", str(tmp_path / "v.csv"), "--digits", "4", "--verbatim", "energy_per_site"]) == 0
    after = list(csv.DictReader((tmp_path / "v.csv").read_text().splitlines()[1:]))
    assert [r["energy_per_site"] for r in after] == [r["energy_per_site"] for r in before]
    assert max(digits(r["energy_per_site"]) for r in after) > 4
    for key in ("stability", "ln_g_mean", "lnc_E0"):       # columns before and after the verbatim one
        assert [r[key] for r in after] == [r[key] for r in rows] != [r[key] for r in before], key
    # all tables are checked before any is written: a bad second table leaves the first as it was
    export([out], tmp_path / "v8.csv", "m.toml", commit="abc")
    (tmp_path / "other.csv").write_text("# job: x.toml\nL,realization,gap\n4,0,0.123456789\n")
    kept = [(tmp_path / f).read_text() for f in ("v8.csv", "other.csv")]
    with pytest.raises(ValueError, match="other.csv: verbatim column.*energy_per_site not in the table"):
        rewrite([tmp_path / "v8.csv", tmp_path / "other.csv"], 4, verbatim=("energy_per_site",))
    assert [(tmp_path / f).read_text() for f in ("v8.csv", "other.csv")] == kept
    with pytest.raises(TypeError, match="sequence of column names"):
        rewrite(tmp_path / "v8.csv", 4, verbatim="energy_per_site")
    with pytest.raises(SystemExit):
        compact_main([str(out), "--job", "m.toml", "--out", str(tmp_path / "w.csv"), "--verbatim", "energy_per_site"])
    assert "--verbatim applies to --rewrite only" in capsys.readouterr().err and not (tmp_path / "w.csv").exists()


def test_compact_table_round_trip(tmp_path):
    """A hartree results file exported to a compact table gives the same localisation
    analysis as the file itself."""
    from simglass.analysis import localization
    from simglass.analysis.compact import export
    out = _run_job(tmp_path, "a", 'engine = "hartree"\nseed = 3\nrealizations = 5\n[model]\nt = 1.0\nJ = 0.0\n'
                   'onsite = "box"\ndensity = 0.5\n[scan]\nL = [[4, 4, 4], [5, 5, 5]]\n'
                   'W = [10.0, 20.0, 30.0]\n[options]\nstarts = ["uniform"]\ng_window = 4\n')
    assert export([out], tmp_path / "a.csv", "a.toml", commit="abc") == 30
    a = localization.analyze(out, x="W", n_boot=20)
    b = localization.analyze(tmp_path / "a.csv", x="W", n_boot=20)
    np.testing.assert_allclose(np.array([r[1:] for r in a.rows()]), np.array([r[1:] for r in b.rows()]),
                               rtol=1e-6)                  # 8 digits in the table
    np.testing.assert_allclose(a.crossings["ln_g"][0].x, b.crossings["ln_g"][0].x, rtol=1e-6)
    # gzip-compressed: the same text, the same bytes on a second export, the same analysis
    import gzip
    assert export([out], tmp_path / "a.csv.gz", "a.toml", commit="abc") == 30
    first = (tmp_path / "a.csv.gz").read_bytes()
    export([out], tmp_path / "a.csv.gz", "a.toml", commit="abc")
    assert (tmp_path / "a.csv.gz").read_bytes() == first
    assert gzip.decompress(first) == (tmp_path / "a.csv").read_bytes()
    c = localization.analyze(tmp_path / "a.csv.gz", x="W", n_boot=20)
    assert c.rows() == b.rows()
    # counts=False (--no-counts) leaves out only the binned curvatures
    assert export([out], tmp_path / "lean.csv", "a.toml", commit="abc", counts=False) == 30
    import csv
    full, lean = (list(csv.DictReader((tmp_path / f).read_text().splitlines()[1:])) for f in ("a.csv", "lean.csv"))
    binned = [k for k in full[0] if k.startswith(("n_E", "lnc_E"))]
    assert binned and set(full[0]) - set(lean[0]) == set(binned)
    assert all({k: v for k, v in f.items() if k not in binned} == g for f, g in zip(full, lean))
    from simglass.analysis.checks import production
    rows = {r.key: r for r in production({"anderson": [tmp_path / "a.csv"], "localization": [tmp_path / "none.csv"]})}
    assert "commit abc" in rows["anderson_wc_production"].note
    assert rows["anderson_wc_production"].realizations.startswith("5-5 per point")
    assert rows["jc_loc_production"].verdict == "not run" and "data/" in rows["jc_loc_production"].note
    assert rows["alpha_production"].verdict == "not run" and rows["sk_energy_production"].verdict == "not run"
    # a job whose tasks ran at two commits: both are named, each shortened
    export([out], tmp_path / "two.csv", "a.toml", commit="0123456789abcdef fedcba9876543210")
    rows = {r.key: r for r in production({"anderson": [tmp_path / "two.csv"]})}
    assert "commit 0123456789 fedcba9876;" in rows["anderson_wc_production"].note


def test_first_crossing_rising_falling_and_bootstrap():
    """analysis.stats.first_crossing: linear means cross the level where the line does;
    identical realisations give a zero bootstrap spread; no crossing gives NaN; a row
    with no finite entry is -inf (a falling curve reaches it at that x)."""
    from simglass.analysis.stats import first_crossing
    x = np.array([0.0, 1.0, 2.0, 3.0])
    S = np.repeat((2.0 * x - 3.0)[:, None], 5, axis=1)          # mean 2x - 3: crosses 0 at 1.5
    v, e = first_crossing(x, S, 0.0)
    assert v == pytest.approx(1.5) and e == pytest.approx(0.0)
    assert np.isnan(first_crossing(x, S, 0.0, falling=True)[0])
    v, _ = first_crossing(x, -S, 0.0, falling=True)
    assert v == pytest.approx(1.5)
    # log of the mean (the ED glass onset): mean 1, 2, 4, 8 crosses 3 at 1 + log(3/2)/log 2
    M = np.repeat((2.0 ** x)[:, None], 3, axis=1)
    v, _ = first_crossing(x, M, np.log(3.0), transform=np.log)
    assert v == pytest.approx(1 + np.log(1.5) / np.log(2))
    # noise: the bootstrap spread is positive and the value stays near the line's root
    rng = np.random.default_rng(1)
    v, e = first_crossing(x, S + rng.normal(0, 0.3, S.shape), 0.0)
    assert abs(v - 1.5) < 0.3 and 0 < e < 0.3
    # a row with no finite entry: -inf, reached by a falling curve
    T = np.array([[1.0, 1.0], [0.5, 0.5], [-np.inf, np.nan]])
    assert first_crossing(x[:3], T, 0.0, falling=True)[0] == pytest.approx(2.0)


def test_lattice_key_accepts_int_and_list():
    from simglass.analysis.load import lattice_key
    assert lattice_key({"L": 8}) == (8,) and lattice_key({"L": [4, 4, 4]}) == (4, 4, 4)


def test_weighted_line_recovers_a_line_and_its_covariance():
    from simglass.analysis.stats import weighted_line
    x = np.array([0.0, 1.0, 2.0, 3.0])
    a, b, cov, chi2 = weighted_line(x, 1.0 + 2.0 * x, np.full(4, 0.1))
    assert (a, b) == pytest.approx((1.0, 2.0)) and chi2 == pytest.approx(0.0, abs=1e-20)
    # textbook covariance of an unweighted-equivalent fit: sigma² (X^T X)^-1
    X = np.c_[np.ones(4), x]
    np.testing.assert_allclose(cov, 0.01 * np.linalg.inv(X.T @ X))
    # a point with a huge error does not pull the line
    a, b, _, _ = weighted_line(np.r_[x, 4.0], np.r_[1.0 + 2.0 * x, 100.0], np.r_[np.full(4, 0.1), 1e6])
    assert (a, b) == pytest.approx((1.0, 2.0), abs=1e-6)


def test_analysis_by_density_recovers_a_power_law(tmp_path):
    """analysis.localization.analyze_by / trend: synthetic <ln g> tables at two densities
    with crossings at J_c(n) = 3.5 (n / 0.5)^(-1/2), one density with an extra size that
    the others lack: each group uses the common sizes (largest pair 8/10) and the power
    law recovers the exponent -1/2 within its error."""
    from simglass.analysis import localization
    rng = np.random.default_rng(1)
    lines = ["# job: synthetic; commit: none; engine: hartree; dims: 3",
             "L,J,W,t,density,realization,converged,stable,ln_g_mean,r_mean"]
    jc = {0.1: 3.5 * 5 ** 0.5, 0.5: 3.5}
    for n, sizes in ((0.1, (6, 8, 10)), (0.5, (6, 8, 10, 12))):
        for L in sizes:
            off = 0.2 * rng.standard_normal(200)
            for J in jc[n] * np.linspace(0.7, 1.3, 7):
                y = -(J / jc[n] - 1) * L + off + 0.05 * rng.standard_normal(200)
                lines += [f"{L},{J:.8g},0,1,{n},{r},1,1,{v:.8g},0.5" for r, v in enumerate(y)]
    path = tmp_path / "lowd.csv"
    path.write_text("\n".join(lines) + "\n")
    groups = localization.analyze_by(path, "density", "J", n_boot=100)
    assert list(groups) == [0.1, 0.5]
    for n, g in groups.items():
        assert g.estimate.pair == ((8, 8, 8), (10, 10, 10))          # L = 12 only at n = 0.5: left out
        assert abs(g.estimate.x - jc[n]) < 4 * g.estimate.error and g.estimate.error < 0.1 * jc[n]
    b, stat, sys_, chi2, pts = localization.trend(groups)
    assert len(pts) == 2 and abs(b + 0.5) < 4 * np.hypot(stat, sys_) and stat < 0.1 and sys_ < 0.1
    with pytest.raises(ValueError, match="no W_x"):
        localization.analyze_by(path, "W_x", "J")
    from simglass.analysis.checks import production
    row = {r.key: r for r in production({"low_density_lng": [path]})}["low_density_production"]
    assert row.value == pytest.approx(b) and row.error_sys == pytest.approx(sys_) and row.verdict == "agrees"
    assert "n = 0.1, 0.5" in row.sizes and "commit none" in row.note
    assert {r.key: r for r in production({})}["low_density_production"].verdict == "not run"
    # a density with a single size: refused, naming the densities and their sizes; not run in the report
    single = tmp_path / "single.csv"
    single.write_text(path.read_text() + "\n".join(f"6,9,0,1,0.3,{r},1,1,0.1,0.5" for r in range(3)) + "\n")
    with pytest.raises(ValueError, match="density = 0.3: 6x6x6"):
        localization.analyze_by(single, "density", "J")
    row = {r.key: r for r in production({"low_density_lng": [single]})}["low_density_production"]
    assert row.verdict == "not run" and "fewer than two lattice sizes" in row.note
    with pytest.raises(ValueError, match="numeric model parameter"):
        localization.analyze_by(path, "L", "J")


# --- scaling fit with an irrelevant correction, crossing extrapolation, systematic spread ---

XC, NU, YIRR = 16.5, 1.57, 2.5


def scaling_data(a, correction=True, sizes=(6, 8, 10, 12, 14), n_real=200, noise=0.3, seed=1):
    """{(L, L, L): x (11,) around x_c, Y (n_real, 11)}: the scaling model itself (x_c = 16.5,
    nu = 1.57, y = 2.5; ``a`` = a_ij row-major, n_r = 2 and n_i = 1 or 0) plus independent
    Gaussian noise of std 0.3 per entry (standard errors ~0.02)."""
    orders = (len(a) // 2 - 1, 1, 1, 0) if correction else (len(a) - 1, 0, 1, 0)
    p = np.r_[XC, NU, [YIRR] if correction else [], a]
    rng = np.random.default_rng(seed)
    x = np.linspace(XC - 1.5, XC + 1.5, 11)
    return {(L, L, L): SimpleNamespace(x=x, Y=_model(p, x, float(L), orders, correction)
                                       + noise * rng.standard_normal((n_real, x.size))) for L in sizes}


# F linear in psi (a_02 = a_11 = a_12 = 0): the straight-line pair crossings are then exact
# for the model, and drift only through the irrelevant term a_10 L^-y (0.37 at L = 6/8).
DRIFTING = [0.0, 1.0, 0.0, 40.0, 0.0, 0.0]


def test_scaling_fit_with_correction_recovers_the_exponents():
    tab = scaling_data(DRIFTING)
    f = scaling_fit(tab, 16.0, n_boot=30)
    assert f.correction and f.orders == (2, 1, 1, 0) and f.n_points == 55 and f.dof == 55 - 9
    assert f.names == ("x_c", "nu", "y", "a_00", "a_01", "a_02", "a_10", "a_11", "a_12")
    assert abs(f.x_c - XC) < 3 * f.x_c_err and f.x_c_err < 0.3
    assert abs(f.nu - NU) < 3 * f.nu_err and f.nu_err < 0.3
    assert np.isfinite(f.y) and f.y_err > 0 and f.n_boot_ok >= 25
    assert 0.5 < f.chi2 / f.dof < 2 and f.p_value > 0.01
    g = scaling_fit(tab, 16.0, n_boot=30, correction=False)
    assert np.isnan(g.y) and g.dof == 55 - 5
    assert g.chi2 / g.dof > 3 * f.chi2 / f.dof and g.p_value < 1e-6          # the drift is not fitted
    # predict reproduces the fitted means; collapse removes the irrelevant part: the
    # corrected data scatter about the scaling curve F(psi, 0) with the fit's chi²
    x = np.concatenate([d.x for d in tab.values()])
    L = np.concatenate([np.full(d.x.size, s[0]) for s, d in tab.items()])
    m, e = (np.concatenate(v) for v in zip(*[mean_err(d.Y)[:2] for d in tab.values()]))
    assert np.sum(((f.predict(x, L) - m) / e) ** 2) == pytest.approx(f.chi2)
    psi, yc = f.collapse(x, L, m)
    psi0, curve = f.collapse(x, L)
    np.testing.assert_allclose(psi, psi0)
    assert np.sum(((yc - curve) / e) ** 2) == pytest.approx(f.chi2)
    np.testing.assert_allclose(psi, (x - f.x_c) * L ** (1 / f.nu))             # m_r = 1: u1 = w


def test_crossings_drift_and_extrapolate_to_the_critical_point():
    tab = scaling_data(DRIFTING)
    cr = pair_crossings(tab, n_boot=50)
    xs = np.array([c.x for c in cr])
    assert np.all(np.diff(xs[:3]) < 0) and xs[0] - xs[-1] > 0.2 and xs[-1] - XC > 2 * cr[-1].err
    ex = crossing_extrapolation(cr, forms=("power", "poly2"), omegas=(1 / NU + YIRR,))
    assert [e.form for e in ex] == ["power (w = 3.14)", "power (w free)", "poly2"]
    p = ex[0]
    assert abs(p.x_inf - XC) < 3 * p.err and p.err < 0.1 and p.dof == 2 and p.params["w"] == 1 / NU + YIRR
    np.testing.assert_allclose(p.L, np.sqrt([48, 80, 120, 168]))             # L_eff = sqrt(L_a L_b)
    assert ex[1].dof == 1 and ex[2].dof == 1 and np.isfinite(ex[1].err) and np.isfinite(ex[2].err)
    # the joint bootstrap: neighbouring crossings share a size and anticorrelate
    B = joint_crossing_bootstrap(tab, n_boot=100, seed=3)
    assert B.shape == (100, 4) and np.isfinite(B).all()
    C = np.cov(B, rowvar=False)
    r = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
    assert np.mean(np.diag(r, 1)) < -0.1 and np.all(np.abs(np.diag(r, 3)) < 0.35)
    np.testing.assert_allclose(np.sqrt(np.diag(C)), [c.err for c in cr], rtol=0.4)
    q = crossing_extrapolation(cr, omegas=(1 / NU + YIRR,), cov=C)[0]
    assert abs(q.x_inf - XC) < 3 * q.err and q.x_inf != p.x_inf
    # too few crossings for a form: left out; the size filter drops pairs
    assert [e.form for e in crossing_extrapolation(cr[1:], forms=("power", "poly2"))] == ["poly2"]
    assert crossing_extrapolation(cr, sizes=(8, 10, 12, 14), forms=("poly2",))[0].L.size == 3
    assert crossing_extrapolation(cr[:2] + [Crossing((12,), (14,), np.nan, np.nan, 0.0)], forms=("poly2",)) == []


def test_exact_power_drift_is_extrapolated_exactly():
    """Crossings x_c + A L_eff^-w with no noise: the fixed-w and free-w power forms return
    x_c and w."""
    La = np.array([6.0, 8, 10, 12])
    cr = [Crossing((a,), (a + 2,), XC + 5.0 * np.sqrt(a * (a + 2)) ** -1.7, 0.01, 1.0) for a in La]
    fixed, free = crossing_extrapolation(cr, omegas=(1.7,))
    assert fixed.x_inf == pytest.approx(XC) and fixed.chi2 == pytest.approx(0, abs=1e-12)
    assert free.x_inf == pytest.approx(XC, abs=1e-6) and free.params["w"] == pytest.approx(1.7, abs=1e-4)
    mean = crossing_extrapolation(cr, omegas=(1.7,), l_eff="mean")[0]
    np.testing.assert_allclose(mean.L, La + 1)
    assert abs(mean.x_inf - XC) < 0.01


def test_scaling_fits_agree_without_a_correction():
    """Pure one-parameter scaling (no irrelevant term): the fit with the correction finds
    the same x_c and nu as the fit without it, and no significantly better chi²."""
    tab = scaling_data([0.2, 1.0, 0.03], correction=False, seed=6)
    f = scaling_fit(tab, 16.0, n_boot=30)
    g = scaling_fit(tab, 16.0, n_boot=30, correction=False)
    assert abs(g.x_c - XC) < 3 * g.x_c_err and abs(g.nu - NU) < 3 * g.nu_err and g.p_value > 0.01
    assert abs(f.x_c - g.x_c) < 3 * np.hypot(f.x_c_err, g.x_c_err)
    assert abs(f.nu - g.nu) < 3 * np.hypot(f.nu_err, g.nu_err)
    assert g.chi2 - f.chi2 < 9.5                 # 4 more parameters: chi² drop within the 95% of chi²(4)


def test_systematic_spread_of_analysis_choices():
    s = systematic_spread([("scaling fit, n_r = 2", 16.5, 0.05), ("window 15-18", 16.6, 0.06),
                           ("poly2", 16.3, 0.2), ("no fit", np.nan, np.nan)])
    assert (s.x, s.stat) == (16.5, 0.05) and s.sys == pytest.approx(0.15)
    assert s.error == pytest.approx(np.hypot(0.05, 0.15))
    assert "scaling fit, n_r = 2: 16.5 ± 0.05 (primary)" in s.note and "poly2: 16.3" in s.note and "window 15-18" in s.note
    assert systematic_spread([("only", 2.0, 0.1)]).sys == 0.0 and np.isnan(systematic_spread([]).x)


def test_limit_estimate_brackets_the_critical_point_of_drifting_crossings():
    """analysis.localization.limit_estimate on drifting synthetic data: every choice is
    evaluated, the primary is the corrected fit, and x_c lies within 3 combined errors,
    although the largest pair's crossing alone misses it."""
    from simglass.analysis.localization import limit_estimate
    tab = {s: SizeData(s, d.x, d.Y, np.zeros(d.x.size, int)) for s, d in scaling_data(DRIFTING).items()}
    lim = limit_estimate(tab, 16.0, n_boot=20)
    labels = [c[0] for c in lim.choices]
    assert labels[0].startswith("scaling fit, n_r = 2, with correction")
    assert any("pair crossings, power" in c for c in labels) and any("poly2" in c for c in labels)
    assert abs(lim.spread.x - XC) < 3 * lim.spread.error and lim.spread.error < 0.5
    last = pair_crossings(tab, n_boot=20)[-1]
    assert abs(last.x - XC) > 3 * last.err


def test_limit_estimate_uses_only_the_window():
    """limit_estimate(window=...) (the command's --window): points outside the window
    (here a wild value at the lowest x of every size, as the uniform state below the glass
    onset) change nothing; the result equals that of the table restricted beforehand,
    and the choices name the window."""
    from simglass.analysis.finite_size import restrict
    from simglass.analysis.localization import limit_estimate
    tab = {s: SizeData(s, d.x, d.Y, np.zeros(d.x.size, int)) for s, d in scaling_data(DRIFTING).items()}
    lo, hi = sorted(next(iter(tab.values())).x)[1], 20.0
    wild = {s: SizeData(s, d.x, np.where(d.x < lo, d.Y + 0.5 * s[0], d.Y), d.flagged) for s, d in tab.items()}
    a = limit_estimate(wild, 16.0, n_boot=10, window=(lo, hi))
    b = limit_estimate(restrict(tab, (lo, hi)), 16.0, n_boot=10)
    assert [c[1:] for c in a.choices] == [c[1:] for c in b.choices]
    assert a.choices[0][0] == f"scaling fit, n_r = 2, with correction, x in {lo:g}-{hi:g}"
    assert limit_estimate(wild, 16.0, n_boot=10).spread.x != a.spread.x      # without: the wild points count
    for s, d in restrict(tab, (lo, hi)).items():
        keep = (tab[s].x >= lo) & (tab[s].x <= hi)
        assert d.x.min() >= lo and d.Y.shape == (tab[s].Y.shape[0], d.x.size) and d.flagged.shape == d.x.shape
        assert np.array_equal(d.Y, tab[s].Y[:, keep]) and np.array_equal(d.x, tab[s].x[keep])
    assert restrict(tab, None) is tab and restrict(tab, (100.0, 101.0)) == {}
    with pytest.raises(ValueError, match="fewer than two sizes"):
        limit_estimate(tab, 16.0, n_boot=5, window=(100.0, 101.0))


def test_estimate_without_crossing_says_why():
    assert estimate([], 1).line("J") == "no crossing: one size"
    assert "nan" not in estimate([]).line("J")


@pytest.mark.parametrize("correction, orders", [(True, (2, 1, 1, 0)), (True, (3, 2, 3, 2)), (False, (3, 0, 2, 0))])
def test_scaling_fit_jacobian_equals_finite_differences(correction, orders):
    """scaling_fit's analytic Jacobian (``_jacobian``, the chain rule through psi and phi)
    against central differences of the model, at random parameters with every kind of
    term (a_ij, b_k, c_k) nonzero."""
    from simglass.analysis.scaling_fit import _jacobian, _names
    rng = np.random.default_rng(3)
    x, L = np.tile(np.linspace(3.0, 5.0, 9), 4), np.repeat([6.0, 8.0, 10.0, 12.0], 9)
    p = 0.3 * rng.standard_normal(len(_names(orders, correction)))
    p[:2] = 4.0, 1.5
    if correction:
        p[2] = 1.7
    h = 1e-6 * np.eye(p.size)
    numeric = np.stack([(_model(p + d, x, L, orders, correction) - _model(p - d, x, L, orders, correction)) / 2e-6
                        for d in h], axis=1)
    analytic = _jacobian(p, x, L, orders, correction)
    for k, name in enumerate(_names(orders, correction)):   # per column (the small ones too), beyond the
        scale = np.abs(numeric[:, k]).max()                 # differences' rounding (up to 1e-6 of a column)
        np.testing.assert_allclose(analytic[:, k], numeric[:, k], rtol=0, atol=1e-5 * scale, err_msg=name)


# --- crossings of two scans on the same realisations (T = 0 and T > 0) ---

def _paired_scans(shift, seed=3, n_real=60, offset=1.0):
    """Two size tables of y_L(x) = -(x - x_c) L / 10 + o_r(L) + noise at L = 6, 8 with
    x_c = 16 (first) and 16 + ``shift`` (second): the realisation offsets o_r(L) (std
    ``offset``) are the same in both scans, as the disorder of a realisation is at T = 0
    and T > 0; the noise (0.05) is not.  Row keys (source, index) as size_table's."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(13, 19, 7)
    out = ({}, {})
    for L in (6, 8):
        o = offset * rng.standard_normal((n_real, 1))
        for k, xc in enumerate((16.0, 16.0 + shift)):
            Y = -(xs - xc) * L / 10 + o + 0.05 * rng.standard_normal((n_real, xs.size))
            out[k][(L,) * 3] = SizeData((L,) * 3, xs, Y, np.zeros(xs.size, int), tuple((0, r) for r in range(n_real)))
    return out


def test_paired_crossing_shift_cancels_the_shared_disorder():
    """The shift of a known 0.3 is recovered, with an error far below that of the two
    crossings taken as independent (the shared offsets move both crossings together);
    the rows' order and a realisation present in one scan only do not matter."""
    from simglass.analysis.finite_size import paired_crossing_shift
    first, second = _paired_scans(0.3)
    c, = paired_crossing_shift(first, second, n_boot=300)
    assert (c.a, c.b) == ((6, 6, 6), (8, 8, 8)) and c.realizations == (60, 60) and c.found > 0.95
    assert abs(c.shift - 0.3) < 4 * c.err and c.shift == pytest.approx(c.x_second - c.x_first)
    unpaired = np.hypot(*(pair_crossings(t, n_boot=300)[0].err for t in (first, second)))
    assert c.err < unpaired / 5
    s = second[(8, 8, 8)]                                      # rows reversed, one more realisation
    order = np.arange(60)[::-1]
    second[(8, 8, 8)] = SizeData(s.size, s.x, np.vstack([s.Y[order], np.zeros((1, 7))]), s.flagged,
                                 tuple(s.rows[i] for i in order) + ((0, 99),))
    c2, = paired_crossing_shift(first, second, n_boot=300)
    assert c2.shift == pytest.approx(c.shift) and c2.realizations == (60, 60)
    assert c2.err == pytest.approx(c.err)                     # the same resamples: rows aligned by key
    s = second[(6, 6, 6)]                                     # a task flagged in one scan leaves both
    Y = s.Y.copy()
    Y[5, 2] = np.nan
    second[(6, 6, 6)] = SizeData(s.size, s.x, Y, s.flagged, s.rows)
    f6 = first[(6, 6, 6)]
    Yf = f6.Y.copy()
    Yf[5, 2] = np.nan
    c3, = paired_crossing_shift(first, second, n_boot=300)
    c4, = paired_crossing_shift({**first, (6, 6, 6): SizeData(f6.size, f6.x, Yf, f6.flagged, f6.rows)}, second, n_boot=300)
    assert c3.shift == pytest.approx(c4.shift) and c3.err == pytest.approx(c4.err)
    with pytest.raises(ValueError, match="no realisation keys"):
        paired_crossing_shift(first, {k: SizeData(v.size, v.x, v.Y, v.flagged) for k, v in second.items()})


def test_crossing_shift_pairs_tables_by_seed_and_realisation(tmp_path, capsys):
    """analysis.localization --shift on compact tables: realisations are paired by their
    job's seed and index.  A second scan on another seed shares no realisation, and is
    reported with nothing paired."""
    from simglass.analysis import localization
    from simglass.analysis.finite_size import paired_crossing_shift
    first, second = _paired_scans(-0.2, n_real=30)
    paths = []
    for name, seed, tab in (("a", 7, first), ("b", 7, second), ("c", 8, second)):
        (tmp_path / f"{name}.toml").write_text(f'engine = "hartree"\noutput = "{name}.h5"\nseed = {seed}\n'
                                               'realizations = 30\n[model]\nt = 1.0\nW = 0.0\n[scan]\n'
                                               'L = [[6, 6, 6], [8, 8, 8]]\nJ = [13.0, 19.0]\n')
        lines = [f"# job: {tmp_path / name}.toml; commit: none; engine: hartree; dims: 3",
                 "L,J,W,t,density,realization,converged,stable,ln_g_mean,r_mean"]
        for (L, _, _), d in tab.items():
            lines += [f"{L},{x:.8g},0,1,0.5,{r},1,1,{v:.8g},0.5" for r in range(30) for x, v in zip(d.x, d.Y[r])]
        paths.append(tmp_path / f"{name}.csv")
        paths[-1].write_text("\n".join(lines) + "\n")
    c, = localization.crossing_shift([paths[0]], [paths[1]], n_boot=100)
    ref, = paired_crossing_shift(first, second, n_boot=0)
    assert c.shift == pytest.approx(ref.shift) and c.realizations == (30, 30) and abs(c.shift + 0.2) < 4 * c.err
    assert localization.main([str(paths[0]), "--x", "J", "--shift", str(paths[1])]) == 0
    assert f"shift {c.shift:+.3f}" in capsys.readouterr().out
    c, = localization.crossing_shift([paths[0]], [paths[2]], n_boot=10)
    assert c.realizations == (0, 0) and np.isnan(c.shift)
    with pytest.raises(ValueError, match="appears twice"):                   # a run given beside its rerun
        localization.crossing_shift([paths[0], paths[0]], [paths[1]])
    other = tmp_path / "d.csv"                                                  # another density: not paired
    other.write_text(paths[1].read_text().replace(",0.5,", ",0.3,"))
    with pytest.raises(ValueError, match="differ in density"):
        localization.crossing_shift([paths[0]], [other])
    with pytest.raises(SystemExit):                               # --limit belongs to the crossing analysis
        localization.main([str(paths[0]), "--shift", str(paths[1]), "--limit"])
    assert "--shift does not use --limit" in capsys.readouterr().err
