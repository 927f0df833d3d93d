"""Finite-size crossing analysis (analysis.finite_size) on synthetic data with a known
crossing."""
from types import SimpleNamespace

import numpy as np
import pytest

from analysis.finite_size import crossing, estimate, pair_crossings, size_table


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


def test_parallel_curves_have_no_crossing():
    x = np.arange(5.0)
    ya = np.tile(x, (50, 1)) + np.random.default_rng(1).standard_normal((50, 5)) * 0.01
    assert np.isnan(crossing(x, ya, ya + 1.0))
    assert np.isnan(estimate([]).x)


def test_compact_table_round_trip(tmp_path):
    """A hartree results file exported to a compact table gives the same localisation
    analysis as the file itself."""
    from analysis import localization
    from analysis.compact import export
    from conftest import run_cli
    job = tmp_path / "a.toml"
    job.write_text('engine = "hartree"\nseed = 3\nrealizations = 5\n[model]\nt = 1.0\nJ = 0.0\n'
                   'onsite = "box"\ndensity = 0.5\n[scan]\nL = [[4, 4, 4], [5, 5, 5]]\n'
                   'W = [10.0, 20.0, 30.0]\n[options]\nstarts = ["uniform"]\ng_window = 4\n')
    out = tmp_path / "a.h5"
    assert run_cli("run", job, "--output", out, "--quiet").returncode == 0
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
    from analysis.checks import production
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
    from analysis.stats import first_crossing
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
    from analysis.load import lattice_key
    assert lattice_key({"L": 8}) == (8,) and lattice_key({"L": [4, 4, 4]}) == (4, 4, 4)


def test_weighted_line_recovers_a_line_and_its_covariance():
    from analysis.stats import weighted_line
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
    from analysis import localization
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
    from analysis.checks import production
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
