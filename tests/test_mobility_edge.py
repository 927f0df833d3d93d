"""Energy-resolved <ln g> and the mobility edge (analysis.level_bins, analysis.mobility_edge,
engine hartree's g_energy_* records)."""
from types import SimpleNamespace

import numpy as np
import pytest

import simglass.ed.hartree_engine as engine
from simglass.analysis.level_bins import EDGES, binned, columns
from simglass.analysis.mobility_edge import from_points
from simglass import Lattice, Model, sample_disorder


def _run(model, rng_seed=0, **opts):
    o = {k: v.default for k, v in engine.OPTIONS.items()}
    o.update(opts)
    return engine.run(model, np.random.default_rng(rng_seed), **o)


def test_energy_window_is_relative_to_each_realisations_mu():
    """A constant added to every eps shifts the levels and mu alike: the stored E - mu, the
    binned counts and the curvatures do not move (a binning of E itself would)."""
    lat = Lattice((4, 4, 4))
    d = sample_disorder(lat, J=3.0, seed=5, compensate=True, density=0.5)
    rec = [_run(Model(lat, 1.0, d.V, d.eps + c, density=0.5), g_energy_max=1.5) for c in (0.0, 7.0)]
    for r in rec:
        E = r["levels"] - r["mu"]
        inside = np.abs(E) <= 1.5
        assert np.allclose(np.sort(r["g_energy_levels"]), np.sort(E[inside]))
        assert r["g_energy_curvature"].shape == (3, inside.sum())
    assert not np.allclose(rec[0]["mu"], rec[1]["mu"])
    assert np.allclose(rec[0]["g_energy_levels"], rec[1]["g_energy_levels"], atol=1e-8)
    assert np.allclose(rec[0]["g_energy_curvature"], rec[1]["g_energy_curvature"], atol=1e-6)
    c0, l0 = binned(rec[0])
    assert np.array_equal(c0, binned(rec[1])[0])
    assert c0.sum() == np.sum(np.abs(rec[0]["g_energy_levels"]) <= EDGES[-1])


def test_fixed_count_windows_and_table_columns_agree_with_the_arrays():
    """ln_g_mean_4/_16 are the window means of the same curvatures; the compact-table
    columns give back the binned values of the arrays."""
    lat = Lattice((6, 6, 6))
    d = sample_disorder(lat, J=3.5, seed=2, compensate=True, density=0.5)
    r = _run(Model(lat, 1.0, d.V, d.eps, density=0.5))
    assert np.isfinite([r["ln_g_mean_4"], r["ln_g_mean"], r["ln_g_mean_16"]]).all()
    assert r["ln_g_mean_4"] != r["ln_g_mean_16"]
    cols = columns(r)
    counts, lnc = binned(cols)
    c2, l2 = binned(r)
    assert np.array_equal(counts, c2)
    assert np.allclose(lnc[counts > 0], l2[counts > 0], atol=1e-4)


def _synthetic_points(Jc, slope=2.0, nu=1.5, sizes=(6, 8, 10), xs=np.linspace(2.0, 5.0, 13),
                      R=60, levels_per_unit=0.2, seed=1):
    """Records with a known mobility edge: ln g(E, J, L) = slope (J_c(|E|) - J) L^{1/nu}
    + noise, J_c(e) = Jc(e); levels uniform in |E| <= 1 with a fixed density per site."""
    rng = np.random.default_rng(seed)
    pts = []
    for L in sizes:
        N = L ** 3
        K = int(levels_per_unit * N * 2)        # levels in [-1, 1]
        delta = 2.0 / K                          # the mean spacing there
        for x in xs:
            recs = []
            for r in range(R):
                E = np.sort(rng.uniform(-1, 1, K))
                ln_g = slope * (Jc(np.abs(E)) - x) * L ** (1 / nu) / 10 + rng.normal(0, 0.5, (3, K))
                recs.append({"converged": 1, "stable": 1, "g_energy_levels": E,
                             "g_energy_curvature": np.exp(ln_g) * delta})
            pts.append(SimpleNamespace(params={"L": [L] * 3, "J": x, "t": 1.0}, realizations=list(range(R)),
                                       records=recs))
    return pts


def test_mobility_edge_found_on_synthetic_data():
    """Crossings per |E - mu| bin give back a known J_c(E) = 3 + 1.5 |E| at the bins'
    mean |E| (uniform levels: the bin centre)."""
    def Jc(e):
        return 3.0 + 1.5 * e
    res = from_points(_synthetic_points(Jc), n_boot=40)
    mid = 0.5 * (EDGES[1:] + EDGES[:-1])
    for k, cs in res.crossings.items():
        for c in cs:
            assert np.isfinite(c.x) and np.isfinite(c.err)
            assert abs(c.x - Jc(mid[k])) < max(4 * c.err, 0.02), (k, c.x, Jc(mid[k]), c.err)
    # the DOS per site is the one put in
    for k, d in res.dos.items():
        for s, sd in d.items():
            assert np.allclose(np.nanmean(sd.Y), 0.2 / 1.0 * 1.0, rtol=0.1)


def test_no_binned_curvatures_is_refused():
    pts = [SimpleNamespace(params={"L": [4] * 3, "J": 1.0, "t": 1.0}, realizations=[0],
                           records=[{"converged": 1, "stable": 1, "ln_g_mean": 0.0}])]
    with pytest.raises(ValueError, match="g_energy_max"):
        from_points(pts)


def test_x_dos_without_out_is_refused(capsys):
    """--x-dos only chooses the x of the DOS figure: without --out it is refused by name
    (exit 2), not silently ignored."""
    import pytest
    from simglass.analysis.mobility_edge import main
    with pytest.raises(SystemExit) as e:
        main(["unused.csv.gz", "--x-dos", "3.5"])
    assert e.value.code == 2 and "--x-dos chooses the x of the figure" in capsys.readouterr().err


def test_fermi_level_limit_recovers_the_known_edge(monkeypatch, capsys):
    """--limit: the lowest bin's crossing as L -> infinity (localization.limit_estimate's
    rule) gives back J_c at the bin's mean |E| of synthetic data without drift, within its
    error; it is the estimate of the lowest bin's table (not of the next bin's) on the
    window's x, which its choices name."""
    from simglass.analysis import compact
    from simglass.analysis.localization import limit_estimate
    from simglass.analysis.mobility_edge import main

    def Jc(e):
        return 3.0 + 1.5 * e
    pts = _synthetic_points(Jc, sizes=(4, 6, 8, 10), xs=np.linspace(2.0, 4.0, 9), R=40, levels_per_unit=2.0)
    monkeypatch.setattr(compact, "load_any", lambda path, engine: (None, pts))
    assert main(["unused.csv.gz", "--window", "2", "4", "--limit", "--n-boot", "10"]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("L -> inf estimate, |E - mu| < 0.05 t"))
    value, error = (float(line.split("= ")[2].split()[0]), float(line.split("= ")[2].split()[2].rstrip(";")))
    assert abs(value - Jc(0.025)) < 3 * error and error < 0.3, line
    assert "x in 2-4: J/t" in out
    res = from_points(pts, n_boot=5)
    own = limit_estimate(res.ln_g[0], 3.0, n_boot=2, window=(2.0, 4.0)).spread.x
    assert f"{own:.3f}" == line.split("= ")[1].split()[0]
    assert not np.allclose(*(np.nanmean(res.ln_g[k][(10, 10, 10)].Y, axis=0) for k in (0, 1)))   # bins differ


def test_sizes_selects_the_pairs(monkeypatch, capsys):
    """--sizes 6 10 leaves out L = 8: the crossings are of the one pair 6/10, and a size
    the files do not hold is named in a one-line error (exit 2)."""
    from simglass.analysis import compact
    from simglass.analysis.mobility_edge import main
    pts = _synthetic_points(lambda e: 3.0 + 1.5 * e, R=10)
    monkeypatch.setattr(compact, "load_any", lambda path, engine: (None, pts))
    assert main(["unused.csv.gz", "--sizes", "6", "10", "--n-boot", "5"]) == 0
    pairs = {tuple(line.split()[1].split("/")) for line in capsys.readouterr().out.splitlines()
             if line[:5].replace(".", "").strip().isdigit() and "/" in line}
    assert pairs == {("6", "10")}
    assert main(["unused.csv.gz", "--sizes", "6", "12"]) == 2
    assert "--sizes: no points at L = 12" in capsys.readouterr().err
