"""Hartree engine through the runner, and the localisation analysis."""
import numpy as np

from simglass.analysis import localization
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
    res = localization.analyze(out, x="W", out=tmp_path / "fig")
    (s1, w1, n1, u1, g1, ge1, m1, e1), (s2, w2, n2, u2, g2, ge2, m2, e2) = res.rows()
    assert (w1, w2) == (5.0, 40.0) and n1 == n2 == 12 and u1 == u2 == 0
    assert abs(m1 - 0.5307) < 4 * e1 + 0.01, (m1, e1)
    assert abs(m2 - 0.3863) < 4 * e2 + 0.01, (m2, e2)
    assert g1 > -2 and g2 < -5                     # metal: g ~ 1; deep insulator: g << 1
    for f in ("ln_g.png", "r_mean.png", "dos.png", "localization.csv"):
        assert (tmp_path / "fig" / f).exists()
    from simglass.analysis.load import load_points
    _, pts = load_points(out)
    (_, N, _, ipr5, _, nipr5), (_, _, _, ipr40, _, _) = localization.ipr_table(pts, "W")
    assert 1.5 < nipr5 < 6 and ipr40 > 0.3  # extended: IPR ~ 3/N; localised: O(1)


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
    from simglass.analysis.load import load_points
    _, pts = load_points(out, engine="hartree")
    for p in pts:
        for rec in p.records:
            assert rec["converged"] and rec["residual"] <= 1e-8
            assert rec["levels"].shape == (64,) and rec["ipr"].shape == (64,)
            assert rec["dos_hist"].sum() == 64 and np.all((rec["r"] >= 0) & (rec["r"] <= 1))
            assert np.isclose(rec["density"].sum(), 32)
    assert localization.w_j(pts)  # W_J computed for both J


def test_paired_difference_uses_the_same_realisations(monkeypatch):
    """localization.paired_difference: the difference of the two values of a scanned key
    is taken realisation by realisation (a shift common to both cancels), flagged tasks
    and realisations present at one value only are left out."""
    from simglass.analysis import compact
    from simglass.analysis.load import Point
    rng = np.random.default_rng(1)
    common = rng.normal(0.0, 1.0, 40)        # realisation-to-realisation spread, shared by both
    ok = {"converged": True, "stable": True, "degenerate": False}
    pts = []
    for k, comp in enumerate((True, False)):
        recs = [{**ok, "ln_g_mean": c + (0.0 if comp else -0.5) + 1e-3 * rng.normal()} for c in common]
        reals = list(range(40))
        if not comp:
            recs[3] = {**recs[3], "converged": False}          # flagged: left out
            recs, reals = recs[:-1], reals[:-1]                 # realisation 39 only at compensate = true
        pts.append(Point(k, {"L": [8, 8, 8], "J": 3.5, "t": 1.0, "compensate": comp}, reals, recs))
    monkeypatch.setattr(compact, "load_any", lambda path, engine: (None, pts))
    values, rows = localization.paired_difference("unused", "compensate")
    assert values == [False, True]
    (size, x, n, m0, m1, d, e), = rows
    assert n == 38 and x == 3.5
    assert abs(d - 0.5) < 1e-3 and e < 1e-3            # paired: the spread of 1 cancels
    assert abs((m1 - m0) - d) < 1e-12


def test_select_sizes_keeps_the_named_sizes_and_names_a_missing_one():
    """localization.select_sizes (--sizes): the points of the named linear sizes only, all of
    them without a selection, and a one-line error naming a size the files do not hold."""
    import pytest
    from simglass.analysis.load import Point
    pts = [Point(k, {"L": [L, L, L], "J": 3.5, "t": 1.0}, [0], [{}]) for k, L in enumerate((8, 10, 12, 14))]
    assert localization.select_sizes(pts, None) is pts
    assert [p.params["L"][0] for p in localization.select_sizes(pts, [10, 14])] == [10, 14]
    with pytest.raises(ValueError, match=r"--sizes: no points at L = 6; the files hold L = 8, 10, 12, 14"):
        localization.select_sizes(pts, [6, 14])


def test_options_of_another_analysis_are_refused_not_ignored(capsys):
    """--by, --paired and --shift are separate analyses: an option only the crossing analysis
    uses (--limit, --sizes, --out, and --window with --paired) is refused with a one-line error
    naming it (exit 2), never silently ignored."""
    import pytest
    for argv, named in ((["--by", "density", "--limit"], "--by does not use --limit"),
                        (["--by", "density", "--sizes", "8", "--out", "x"], "--by does not use --sizes, --out"),
                        (["--paired", "compensate", "--window", "3", "4"], "--paired does not use --window"),
                        (["--by", "density", "--paired", "compensate"], "different analyses"),
                        (["--shift", "b.csv", "--paired", "compensate"], "--paired and --shift are different"),
                        (["--shift", "b.csv", "--sizes", "6"], "--shift does not use --sizes")):
        with pytest.raises(SystemExit) as e:
            localization.main(["unused.csv.gz", *argv])
        assert e.value.code == 2 and named in capsys.readouterr().err


def test_shift_compares_model_parameters_as_values():
    """--shift pairs a compact table (compensate 1.0, n_modes NaN) with a results file
    (True, None): the same model, so the check of equal model parameters passes."""
    from simglass.analysis.localization import _param_text
    assert _param_text(True) == _param_text(1.0) == _param_text(1) == "1"
    assert _param_text(None) == _param_text(float("nan")) == "None"
    assert _param_text(0.5) != _param_text(0.3) and _param_text("gaussian") == "gaussian"
