"""Hartree engine through the runner, and the localisation analysis."""
import numpy as np
import pytest

from analysis import localization
from conftest import run_cli

ANDERSON = """
engine = "hartree"
seed = 3
realizations = 12
[model]
t = 1.0
J = 0.0
onsite = "box"
density = 0.5
L = [6, 6, 6]
[scan]
W = [5.0, 40.0]
[options]
starts = ["uniform"]
r_fraction = 0.3
dos_max = 30.0
"""


def test_anderson_limits_through_runner(tmp_path):
    """J = 0 box disorder on 6^3: <r> near GOE (0.531) at W = 5t, near Poisson (0.386) at
    W = 40t (published limits), from 12 realisations x 63 ratios."""
    job = tmp_path / "a.toml"
    job.write_text(ANDERSON)
    out = tmp_path / "a.h5"
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    rows, crossings = localization.analyze(out, x="W", out=tmp_path / "fig")
    (s1, w1, n1, u1, m1, e1), (s2, w2, n2, u2, m2, e2) = rows
    assert (w1, w2) == (5.0, 40.0) and n1 == n2 == 12 and u1 == u2 == 0
    assert abs(m1 - 0.5307) < 4 * e1 + 0.01, (m1, e1)
    assert abs(m2 - 0.3863) < 4 * e2 + 0.01, (m2, e2)
    assert (tmp_path / "fig" / "r_mean.png").exists() and (tmp_path / "fig" / "dos.png").exists()
    from analysis.load import load_points
    _, pts = load_points(out)
    (_, N, _, ipr5, _, nipr5), (_, _, _, ipr40, _, _) = localization.ipr_table(pts, "W")
    assert 1.5 < nipr5 < 6 and ipr40 > 0.3  # extended: IPR ~ 3/N; localised: O(1)


def test_crossing_of_known_curves():
    """Two sizes with r_a = 0.45 + 0.01 (x - 4), r_b = 0.45 + 0.02 (x - 4): cross at 4."""
    rng = np.random.default_rng(0)
    xs = np.arange(1.0, 8.0)
    ra = [0.45 + 0.01 * (x - 4) + 0.002 * rng.standard_normal(200) for x in xs]
    rb = [0.45 + 0.02 * (x - 4) + 0.002 * rng.standard_normal(200) for x in xs]
    c, err, frac = localization.crossing_bootstrap(xs, ra, rb)
    assert abs(c - 4.0) < 4 * err and err < 0.1 and frac > 0.99
    assert np.isnan(localization.crossing(xs, ra, [a + 0.05 for a in ra]))  # parallel curves: none


HARTREE = """
engine = "hartree"
seed = 4
realizations = 2
[model]
t = 1.0
W = 0.0
density = 0.5
L = [4, 4, 4]
[scan]
J = [2.0, 8.0]
[options]
dos_max = 40.0
"""


def test_hartree_engine_record(tmp_path):
    job = tmp_path / "h.toml"
    job.write_text(HARTREE)
    out = tmp_path / "h.h5"
    r = run_cli("run", job, "--output", out, "--quiet")
    assert r.returncode == 0, r.stderr
    from analysis.load import load_points
    _, pts = load_points(out, engine="hartree")
    for p in pts:
        for rec in p.records:
            assert rec["converged"] and rec["residual"] <= 1e-8
            assert rec["levels"].shape == (64,) and rec["ipr"].shape == (64,)
            assert rec["dos_hist"].sum() == 64 and np.all((rec["r"] >= 0) & (rec["r"] <= 1))
            assert np.isclose(rec["density"].sum(), 32)
    assert localization.w_j(pts)  # W_J computed for both J
