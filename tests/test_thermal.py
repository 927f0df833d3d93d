"""Thermal Monte Carlo (issue 35, mc.thermal): parallel tempering with two independent
chains against exact Boltzmann averages by enumeration, detailed balance of the pair
moves and of the replica swaps by the stationary distribution, and the equilibration
flag."""

import numpy as np
import pytest

from simglass.mc.thermal import MIN_ROUND_TRIPS, equilibration_threshold, overlap, thermal, window_edges
from test_mc import enumerate_energies, random_model


def exact_averages(model, temps):
    """Boltzmann averages at each T by enumeration of the N_f sector: (⟨E⟩, ⟨E²⟩, ⟨q²⟩,
    ⟨q⁴⟩) for two independent replicas, each (len(temps),).  ⟨q^k⟩ = Σ_ab p_a p_b q_ab^k
    over all pairs of states; ⟨q²⟩ is checked against the two-point formula
    (1/N²) Σ_ij ⟨δn_i δn_j⟩² / (n(1 - n))²."""
    N, nf = model.n_sites, model.n_particles
    n = nf / N
    occ, E = enumerate_energies(model, nf)
    dn = occ - n
    Q = dn @ dn.T / (N * n * (1 - n))
    out = []
    for T in temps:
        p = np.exp(-(E - E.min()) / T)
        p /= p.sum()
        q2 = p @ Q ** 2 @ p
        corr = np.einsum("s,si,sj->ij", p, dn, dn)
        assert q2 == pytest.approx(np.sum(corr ** 2) / (N * n * (1 - n)) ** 2, rel=1e-10)
        out.append((p @ E, p @ E ** 2, q2, p @ Q ** 4 @ p))
    return np.array(out).T


@pytest.mark.parametrize("N,seed,density,W,comp,temps,sweeps", [
    (12, 5, 0.5, 0.0, True, [0.2, 0.35, 0.6, 1.0], 40000),     # SK-like: n = ½, compensated
    (12, 8, 1 / 3, 0.5, False, [0.3, 0.6, 1.0], 30000),        # n = 1/3: δn normalisation of q
])
def test_averages_equal_exhaustive_enumeration(N, seed, density, W, comp, temps, sweeps):
    """⟨E⟩, ⟨E²⟩, ⟨q²⟩, ⟨q⁴⟩ against exhaustive enumeration, within 4 standard errors.
    The errors are taken here from 64 blocks of the measured series (recorded by the
    callback), so that z is close to normal (Student-t, 63 degrees of freedom: P(z > 4)
    = 2e-4 per comparison): thermal's own errors come from WINDOW_BLOCKS = 8 blocks
    (7 degrees of freedom), with which z < 4 fails a correct sampler in about 8 % of
    seeds.  The series' means must equal thermal's averages (the same measurements)."""
    m = random_model(N, seed, density=density, W=W, compensate=comp)
    exact = exact_averages(m, temps)
    start = sweeps // 2
    series = []

    def record(s, a, b):
        if s >= start:
            E = np.array([[st.E for st in a], [st.E for st in b]])
            q = overlap(np.array([st.occ for st in a]), np.array([st.occ for st in b]), m.n_particles)
            series.append((E.mean(axis=0), (E * E).mean(axis=0), q ** 2, q ** 4))
    r = thermal(m, seed=seed, temperatures=temps, sweeps=sweeps, callback=record)
    x = np.array(series)                                     # (M, 4, R)
    est = np.array([r.energy, r.energy2, r.q2, r.q4])
    assert np.allclose(x.mean(axis=0), est, rtol=1e-12, atol=1e-12)
    blocks = x[: x.shape[0] // 64 * 64].reshape(64, -1, *x.shape[1:]).mean(axis=1)
    err = blocks.std(axis=0, ddof=1) / np.sqrt(64)
    assert np.all(err > 0)
    z = np.abs(blocks.mean(axis=0) - exact) / err
    assert np.all(z < 4.0), np.c_[blocks.mean(axis=0).ravel(), exact.ravel(), z.ravel()]
    own = np.array([r.energy_err, r.energy2_err, r.q2_err, r.q4_err])    # thermal's 8-block errors
    assert np.all((own > err / 3) & (own < 3 * err))
    assert np.allclose(r.specific_heat, (r.energy2 - r.energy ** 2) / np.asarray(temps) ** 2)
    M = sweeps - sweeps // 2
    assert r.measurements == M and np.all(r.q_hist.sum(axis=1) == M)
    assert r.round_trips.shape == (2,) and np.all(r.round_trips > 0)
    assert r.acceptance.shape == (2, len(temps)) and r.exchange.shape == (2, len(temps) - 1)
    for chain in r.states:
        for st in chain:
            assert st.drift() < 1e-10 and st.occ.sum() == m.n_particles


def exact_connected(model, temps):
    """(⟨q_ab²⟩, ⟨q_ab q_ac⟩, ⟨q_ab q_cd⟩, χ_SG,conn) of independent replicas by
    enumeration, each (len(temps),), with s_i = δn_i/√(n(1 - n)): (1/N²) Σ_ij ⟨s_i s_j⟩²,
    (1/N²) Σ_ij ⟨s_i s_j⟩⟨s_i⟩⟨s_j⟩, ((1/N) Σ_i ⟨s_i⟩²)² and (1/N) Σ_ij (⟨s_i s_j⟩ −
    ⟨s_i⟩⟨s_j⟩)² from the one- and two-point functions."""
    N, nf = model.n_sites, model.n_particles
    n = nf / N
    occ, E = enumerate_energies(model, nf)
    sv = (occ - n) / np.sqrt(n * (1 - n))
    out = []
    for T in temps:
        p = np.exp(-(E - E.min()) / T)
        p /= p.sum()
        m1 = p @ sv
        m2 = np.einsum("s,si,sj->ij", p, sv, sv)
        conn = m2 - np.outer(m1, m1)
        out.append((np.sum(m2 ** 2) / N ** 2, m1 @ m2 @ m1 / N ** 2, (m1 @ m1 / N) ** 2, np.sum(conn ** 2) / N))
    return np.array(out).T


def test_four_chains_give_the_connected_susceptibility_of_exhaustive_enumeration():
    """Four chains, uncompensated n = ½ (random fields: ⟨s_i⟩ ≠ 0): ⟨q²⟩, ⟨q_ab q_ac⟩,
    ⟨q_ab q_cd⟩ and χ_SG,conn = N (q2 − 2 q2_shared + q2_disjoint) against enumeration,
    within 4 standard errors of 64 blocks of the series the callback records (as the
    two-chain test)."""
    from simglass.analysis.thermal import connected_susceptibility
    m = random_model(12, 6, compensate=False)
    temps, sweeps = [0.15, 0.3, 0.6], 30000
    exact = exact_connected(m, temps)
    start = sweeps // 2
    series = []

    def record(s, *chains):
        if s >= start:
            occ = np.array([[st.occ for st in c] for c in chains])        # (4, R, N)
            q = {(a, b): overlap(occ[a], occ[b], m.n_particles) for a in range(4) for b in range(a + 1, 4)}
            q2 = np.mean([x ** 2 for x in q.values()], axis=0)
            qs = np.mean([q[tuple(sorted((a, b)))] * q[tuple(sorted((a, c)))] for a in range(4) for b in range(4)
                          for c in range(b + 1, 4) if a not in (b, c)], axis=0)
            qd = np.mean([q[0, 1] * q[2, 3], q[0, 2] * q[1, 3], q[0, 3] * q[1, 2]], axis=0)
            series.append((q2, qs, qd, 12 * (q2 - 2 * qs + qd)))
    r = thermal(m, seed=2, temperatures=temps, sweeps=sweeps, chains=4, callback=record)
    x = np.array(series)                                     # (M, 4, R)
    assert np.allclose(x.mean(axis=0)[:3], [r.q2, r.q2_shared, r.q2_disjoint], rtol=1e-12, atol=1e-12)
    assert np.allclose(connected_susceptibility(12, r.q2, r.q2_shared, r.q2_disjoint), x.mean(axis=0)[3])
    blocks = x[: x.shape[0] // 64 * 64].reshape(64, -1, *x.shape[1:]).mean(axis=1)
    err = blocks.std(axis=0, ddof=1) / np.sqrt(64)
    z = np.abs(blocks.mean(axis=0) - exact) / err
    assert np.all(z < 4.0), np.c_[blocks.mean(axis=0).ravel(), exact.ravel(), z.ravel()]
    assert np.all(exact[1] > 0.05 * exact[0])            # the fields matter: the check is not of zeros
    assert r.chains == 4 and r.round_trips.shape == (4,) and r.acceptance.shape == (4, 3)
    assert np.all(r.q_hist.sum(axis=1) == 6 * (sweeps - start))     # six pairs per measurement sweep
    two = thermal(m, seed=2, temperatures=temps, sweeps=64)
    assert np.all(np.isnan(two.q2_shared)) and np.all(np.isnan(two.q2_disjoint))
    with pytest.raises(ValueError, match="chains must be one of"):
        thermal(m, seed=2, temperatures=temps, sweeps=64, chains=3)


def _index(occ):
    """{occupation as an integer: row of enumerate_energies}."""
    keys = (occ.astype(np.int64) << np.arange(occ.shape[1])).sum(axis=1)
    return {int(k): i for i, k in enumerate(keys)}


def _key(st):
    return int((st.occ.astype(np.int64) << np.arange(st.occ.size)).sum())


def _chi2(counts, expected, lump=5.0):
    """Pearson chi² of counts against expected counts; cells expected below ``lump`` are
    merged into one.  Returns (chi², degrees of freedom)."""
    counts, expected = np.ravel(counts), np.ravel(expected)
    small = expected < lump
    c = np.append(counts[~small], counts[small].sum())
    e = np.append(expected[~small], expected[small].sum())
    keep = e > 0
    return float(np.sum((c[keep] - e[keep]) ** 2 / e[keep])), int(keep.sum() - 1)


def test_detailed_balance_single_temperature():
    """N = 6, N_f = 3 at T = 0.5 J: the visit histogram of both chains is exp(-E/T)/Z
    (chi² over the 20 states; sweeps of N proposals are nearly independent, so chi²/dof
    stays near 1; the bound 3 allows an autocorrelation time of about 2)."""
    m = random_model(6, 11, W=0.4)
    occ, E = enumerate_energies(m, m.n_particles)
    idx = _index(occ)
    T, sweeps = 0.5, 30000
    counts = np.zeros(len(E))

    def visit(s, a, b):
        if s >= 200:
            counts[idx[_key(a[0])]] += 1
            counts[idx[_key(b[0])]] += 1
    thermal(m, seed=2, temperatures=[T], sweeps=sweeps, callback=visit)
    p = np.exp(-(E - E.min()) / T)
    p /= p.sum()
    chi2, dof = _chi2(counts, p * counts.sum())
    assert chi2 < 3 * dof, (chi2, dof)


def test_detailed_balance_with_swaps():
    """Two temperatures with replica swaps: the joint distribution of the states at
    (T_0, T_1) in each chain is the product of the two Boltzmann distributions (chi²
    over the 400 pairs of states, cells expected below 5 merged)."""
    m = random_model(6, 11, W=0.4)
    occ, E = enumerate_energies(m, m.n_particles)
    idx = _index(occ)
    temps, sweeps = [0.4, 0.9], 40000
    counts = np.zeros((len(E), len(E)))

    def visit(s, a, b):
        if s >= 200:
            for ch in (a, b):
                counts[idx[_key(ch[0])], idx[_key(ch[1])]] += 1
    r = thermal(m, seed=3, temperatures=temps, sweeps=sweeps, callback=visit)
    assert np.all(r.exchange > 0.2)          # the swaps take part
    p = [np.exp(-(E - E.min()) / T) for T in temps]
    p = [x / x.sum() for x in p]
    chi2, dof = _chi2(counts, np.outer(p[0], p[1]) * counts.sum())
    assert chi2 < 3 * dof, (chi2, dof)
    for k, axis in ((0, 1), (1, 0)):         # and each temperature's marginal
        chi2, dof = _chi2(counts.sum(axis=axis), p[k] * counts.sum())
        assert chi2 < 3 * dof, (k, chi2, dof)


def test_equilibration_flag():
    """A glassy compensated N = 128 instance far below T_c = J/4, run for 64 sweeps from
    random states at one temperature (no round trips to count), is flagged by the window
    test (z 4.3-7.0 over seeds 1-7 against 3.3); a long run at high T of N = 64 is not;
    a short run whose windows happen to agree (seed 3: z = 2.9) is flagged by its round
    trips."""
    short = thermal(random_model(128, 1, compensate=True), seed=5, temperatures=[0.08], sweeps=64)
    assert short.equilibration_z > equilibration_threshold(1) and not short.equilibrated
    several = thermal(random_model(128, 1, compensate=True), seed=1, temperatures=[0.08, 0.12, 0.18], sweeps=64)
    assert not several.equilibrated
    assert short.window_energy.shape == (3, 1)     # windows [32, 64), [16, 32), [8, 16); one temperature
    long = thermal(random_model(64, 1, compensate=True), seed=1, temperatures=[1.0, 1.5], sweeps=4000)
    assert long.equilibrated and long.equilibration_z <= equilibration_threshold(2)
    assert long.round_trips.min() >= MIN_ROUND_TRIPS
    # a run too short for any replica to cross the ladder is flagged whatever its windows
    # say (the window test alone passed such runs at N = 512 in benchmarks/thermal.py)
    brief = thermal(random_model(64, 1, compensate=True), seed=3, temperatures=np.geomspace(0.2, 0.6, 12),
                    sweeps=64)
    assert brief.equilibration_z <= equilibration_threshold(12)          # the windows agree (z = 2.9)
    assert brief.round_trips.max() < MIN_ROUND_TRIPS and not brief.equilibrated
    assert 4.0 < equilibration_threshold(24) < 6.0 and equilibration_threshold(2) < equilibration_threshold(24)
    assert np.array_equal(window_edges(4000), [4000, 2000, 1000, 500, 250, 125, 62, 31, 15, 7])


def test_overlap_and_histograms():
    rng = np.random.default_rng(0)
    a = np.zeros((5, 10), np.int8)
    b = np.zeros((5, 10), np.int8)
    for x in (a, b):
        for row in x:
            row[rng.choice(10, 5, replace=False)] = 1
    s = lambda o: 2.0 * o - 1.0  # noqa: E731
    assert np.allclose(overlap(a, b, 5), (s(a) * s(b)).mean(axis=1))     # n = ½: the SK overlap
    assert np.allclose(overlap(a, a, 5), 1.0)
    m = random_model(10, 4, density=0.3, W=0.5)
    r = thermal(m, seed=0, temperatures=[0.3, 1.0], sweeps=200, q_bins=7, phi_bins=5, phi_max=50.0)
    assert r.q_hist.shape == (2, 7) and r.q_edges.shape == (8,)
    assert np.all(r.phi_hist.sum(axis=1) == 2 * 10 * r.measurements)      # every field in range
    # mu(T) of the final states is a midpoint of sorted fields
    st = r.states[0][0]
    assert m.chemical_potential(st.occ) == pytest.approx(0.5 * np.sort(st.phi)[2:4].sum())


@pytest.mark.parametrize("kw,match", [
    (dict(sweeps=15), "sweeps must be an integer >= 16"),
    (dict(q_bins=0), "q_bins"),
    (dict(phi_bins=0), "phi_bins"),
    (dict(phi_max=np.inf), "phi_max"),
    (dict(temperatures=[0.5, 0.2]), "increase"),
])
def test_bad_arguments(kw, match):
    m = random_model(8, 1)
    args = dict(temperatures=[0.5], sweeps=32) | kw
    with pytest.raises(ValueError, match=match):
        thermal(m, seed=0, **args)


# ---- engine `thermal` and analysis.thermal ----------------------------------------------

def _job(tmp_path, sweeps, L="[[12], [16]]", realizations=3, compensate="true", extra=""):
    from simglass.jobfile import parse_job
    return parse_job(f'engine = "thermal"\nseed = 3\nrealizations = {realizations}\noutput = "{tmp_path}/t.h5"\n'
                     f"[model]\nt = 0.0\nJ = 1.0\nW = 0.0\ndensity = 0.5\ncompensate = {compensate}\n"
                     f"[scan]\nL = {L}\n[options]\nsweeps = {sweeps}\nreplicas = 3\nT_min = 0.3\nT_max = 0.8\n"
                     "q_bins = 12\nphi_bins = 20\n" + extra)


def test_four_chain_job_table_and_analysis(tmp_path, capsys):
    """chains = 4 on the uncompensated model: the record holds the connected moments, the
    compact table keeps them (two-chain tables have no such columns), the analysis gives
    the same χ_SG,conn from both, prints it with the replica-symmetric line and its
    crossing, and draws chi_conn.png."""
    from simglass.analysis import thermal as an
    from simglass.analysis.compact import export
    from simglass.analysis.load import load_points, task_table
    from simglass.runner import run_job
    job = _job(tmp_path, 200, compensate="false", extra="chains = 4\n", realizations=an.MIN_CONTROL)
    run_job(job, output=str(tmp_path / "t.h5"), progress=False)
    df = task_table(tmp_path / "t.h5")
    assert len(df) == 2 * an.MIN_CONTROL
    export([tmp_path / "t.h5"], tmp_path / "t.csv.gz", "job.toml")
    cols = _columns(tmp_path / "t.csv.gz")
    assert "q2_shared_2" in cols and "q2_disjoint_0" in cols
    a = an.size_averages(tmp_path / "t.h5", n_boot=10, z_max=1e9)
    b = an.size_averages(tmp_path / "t.csv.gz", n_boot=10, z_max=1e9)
    points = load_points(tmp_path / "t.h5")[1]
    for x, y in zip(a, b):
        assert x.h == 0.25 and x.chi_conn is not None and x.control and y.control
        assert np.allclose(x.chi_conn, y.chi_conn, rtol=1e-6)
        assert np.allclose(x.e, y.e, rtol=1e-6)
        # e is the control-variate mean of (E − C_spin)/(NJ) with C_spin = −C_sk (ε = 0) and the tasks' h2
        recs = [r for p in points if int(np.prod(p.params["L"])) == x.N for r in p.records]
        assert len(recs) == an.MIN_CONTROL and np.allclose([r["C_spin"] for r in recs], [-r["C_sk"] for r in recs])
        E = np.array([(r["energy"] - r["C_spin"]) / x.N for r in recs])
        h2 = np.array([r["h2"] for r in recs])
        assert np.allclose(x.e, an.control_variate_mean(E, h2, (1 / 16) * (x.N - 1) / x.N))
        assert not np.allclose(x.e, E.mean(axis=0))
    assert an.main([str(tmp_path / "t.h5"), "--out", str(tmp_path / "out"), "--n-boot", "10", "--z-max", "1e9"]) == 0
    out = capsys.readouterr().out
    assert "chi_SG,conn (four chains)" in out and "random field of rms 0.25 J" in out and "chi_SG,conn/N^(1/3)" in out
    assert (tmp_path / "out" / "chi_conn.png").exists()
    run_job(_job(tmp_path / "two", 64), output=str(tmp_path / "two.h5"), progress=False)
    export([tmp_path / "two.h5"], tmp_path / "two.csv.gz", "job.toml")
    assert not any(c.startswith("q2_shared") for c in _columns(tmp_path / "two.csv.gz"))
    with pytest.raises(ValueError, match="different outputs in one table"):     # not a table with empty cells
        export([tmp_path / "two.h5", tmp_path / "t.h5"], tmp_path / "mixed.csv.gz", "job.toml")


def _columns(path):
    import gzip
    with gzip.open(path, "rt") as fh:
        fh.readline()
        return fh.readline().strip().split(",")


def test_engine_record_info_and_analysis(tmp_path, capsys):
    """A tiny compensated job: the record holds the ladder and the SK constant, `simglass
    info` counts the tasks that are not equilibrated, analysis.thermal averages only the
    others and writes its tables and figures; `simglass analyze` dispatches to it."""
    from simglass.analysis import thermal as an
    from simglass.analysis.load import task_table
    from conftest import run_cli
    from simglass.runner import run_job
    job = _job(tmp_path, 300)
    run_job(job, output=str(tmp_path / "t.h5"), progress=False)
    df = task_table(tmp_path / "t.h5")
    assert len(df) == 6 and set(df["measurements"]) == {150}
    good = int(df["equilibrated"].astype(bool).sum())
    r = run_cli("info", tmp_path / "t.h5")
    assert r.returncode == 0 and "flagged: done tasks with equilibrated != True" in r.stdout
    assert r.stdout.splitlines()[-2].split()[-1] == str(6 - good)      # the "all" row's flagged count
    sizes, crossings = an.analyze(tmp_path / "t.h5", n_boot=20)
    assert sum(s.realizations for s in sizes) == good
    loose = an.size_averages(tmp_path / "t.h5", n_boot=5, z_max=1e6)          # every task: z is finite
    assert sum(s.realizations for s in loose) == 6
    for s in sizes:
        assert s.sk and np.allclose(s.T, np.geomspace(0.3, 0.8, 3)) and s.e.shape == (3,)
        assert np.allclose(np.sum(s.p_q * np.diff(s.q_edges), axis=1), 1.0)
        assert s.q_edges.size == 7      # 12 bins of 1/6 merged in pairs: q takes values 1/3 (N = 12), 1/4 apart
        assert np.all(s.chi > 0.5)       # N ⟨q²⟩ = N/(N - 1) for uncorrelated states at fixed N_f, more below
    assert an.main([str(tmp_path / "t.h5"), "--out", str(tmp_path / "out"), "--n-boot", "20"]) == 0
    out = capsys.readouterr().out
    assert "SK with J_SK = J/4" in out and "e_RS" in out
    for f in ("thermal.csv", "binder_crossings.csv", "binder_energy.png", "p_q_phi.png"):
        assert (tmp_path / "out" / f).exists(), f
    r = run_cli("analyze", tmp_path / "t.h5", "--out", tmp_path / "out2")
    assert r.returncode == 0 and (tmp_path / "out2" / "thermal.csv").exists(), r.stderr
    # the compact table (committed data) gives the same averages, without the histograms
    from simglass.analysis.compact import export
    export([tmp_path / "t.h5"], tmp_path / "t.csv.gz", "job.toml")
    table = an.size_averages(tmp_path / "t.csv.gz", n_boot=20)
    for a, b in zip(sizes, table):
        assert (a.N, a.realizations) == (b.N, b.realizations) and b.p_q is None
        for name in ("T", "e", "c", "g", "chi", "q2", "q4"):
            assert np.allclose(getattr(a, name), getattr(b, name), rtol=1e-6, atol=1e-6), name   # 8 digits stored
    assert an.main([str(tmp_path / "t.csv.gz"), "--out", str(tmp_path / "out3"), "--n-boot", "20"]) == 0
    assert (tmp_path / "out3" / "binder_energy.png").exists()


def test_p_phi0_from_histograms_tables_and_ground_states(tmp_path, capsys):
    """P(0, T): the fraction of fields within ±0.05 J of μ(T) over 0.1 (a hand-made record,
    and edges that split a bin are refused); from a results file and from its compact
    table (columns p_phi0_k) alike; a histogram without edges at ±0.05 J gives NaN, not
    an error.  The ground states' P(0) from the |φ|/J counts of a compact table equals a
    direct count of the stored fields of its results file."""
    from simglass.analysis import thermal as an
    from simglass.analysis.compact import export
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    rec = {"phi_edges": np.linspace(-0.2, 0.2, 9), "measurements": 10,
           "phi_hist": np.array([[0, 0, 1, 3, 5, 2, 0, 0], [4, 4, 4, 4, 4, 4, 4, 4]])}
    assert np.allclose(an.phi0_density(rec, N=5, J=1.0), np.array([8, 8]) / 100 / 0.1)
    assert np.allclose(an.phi0_density(rec, N=5, J=2.0, half_width=0.1), np.array([11, 32]) / 100 / 0.2)   # edges/J: every bin
    with pytest.raises(ValueError, match="bin edges at ±0.03 J"):
        an.phi0_density(rec, N=5, J=1.0, half_width=0.03)
    text = ('engine = "thermal"\nseed = 5\nrealizations = 3\n[model]\nt = 0.0\nJ = 1.0\nW = 0.0\n'
            'density = 0.5\n[scan]\nL = [[16], [24]]\n[options]\nsweeps = 1024\nreplicas = 4\n'
            'T_min = 0.15\nT_max = 0.6\nq_bins = 12\nphi_bins = 80\nphi_max = 2.0\n')
    run_job(parse_job(text), output=str(tmp_path / "t.h5"), progress=False)
    export([tmp_path / "t.h5"], tmp_path / "t.csv.gz", "job.toml")
    a = an.size_averages(tmp_path / "t.h5", n_boot=10, z_max=1e6)
    b = an.size_averages(tmp_path / "t.csv.gz", n_boot=10, z_max=1e6)
    assert [s.N for s in a] == [s.N for s in b] == [16, 24]
    for x, y in zip(a, b):
        assert np.all(np.isfinite(x.p0)) and np.allclose(x.p0, y.p0, rtol=1e-6)
    # without P(0, T) and with 6 digits (the SK production's table): the same averages to 1e-5
    from simglass.analysis.compact import main as compact_main
    assert compact_main([str(tmp_path / "t.h5"), "--job", "job.toml", "--out", str(tmp_path / "s.csv.gz"),
                         "--no-counts", "--digits", "6"]) == 0
    import gzip
    header = gzip.open(tmp_path / "s.csv.gz", "rt").read().splitlines()[1]
    assert "p_phi0_0" not in header and "q4_3" in header
    c = an.size_averages(tmp_path / "s.csv.gz", n_boot=10, z_max=1e6)
    assert [s.N for s in c] == [s.N for s in a] == [16, 24]
    for x, y in zip(a, c):
        assert y.p0 is None or np.isnan(y.p0).all()
        for name in ("T", "e", "c", "g", "chi", "q2", "q4"):
            assert np.allclose(getattr(x, name), getattr(y, name), rtol=1e-4, atol=1e-5), name
    for bad in (2, 18, 7.5, True):
        with pytest.raises(ValueError, match="digits must be an integer from 3 to 17"):
            export([tmp_path / "t.h5"], tmp_path / "bad.csv", "job.toml", digits=bad)
    assert compact_main([str(tmp_path / "t.h5"), "--job", "j", "--out", str(tmp_path / "bad.csv"), "--digits", "2"]) == 2
    assert "digits must be an integer from 3 to 17" in capsys.readouterr().err and not (tmp_path / "bad.csv").exists()
    # a committed table rewritten in place with 6 digits: header, columns, integers unchanged, same averages
    import shutil
    shutil.copy(tmp_path / "t.csv.gz", tmp_path / "r.csv.gz")
    assert compact_main(["--rewrite", str(tmp_path / "r.csv.gz"), "--digits", "6"]) == 0
    old, new = (gzip.open(tmp_path / f, "rt").read().splitlines() for f in ("t.csv.gz", "r.csv.gz"))
    assert old[:2] == new[:2] and len(old) == len(new) and new != old
    cols = old[1].split(",")
    for a_row, b_row in zip(old[2:], new[2:]):
        for name, x, y in zip(cols, a_row.split(","), b_row.split(",")):
            if cols.index(name) <= cols.index("realization") or name in ("equilibrated", "round_trips_min",
                                                                           "measurements") or \
                    not x.replace(".", "").replace("-", "").replace("e", "").isdigit():
                assert x == y, name      # parameters, integers and text (nan) as they were
            else:
                assert float(y) == pytest.approx(float(x), rel=5e-6, abs=0), name
    d = an.size_averages(tmp_path / "r.csv.gz", n_boot=10, z_max=1e6)
    assert [s.N for s in d] == [s.N for s in b] == [16, 24]
    for x, y in zip(b, d):
        for name in ("T", "e", "g", "chi", "q2", "q4", "p0"):
            assert np.allclose(getattr(x, name), getattr(y, name), rtol=1e-4, atol=1e-5), name
    assert compact_main(["--rewrite", str(tmp_path / "t.h5")]) == 2 and "not a compact table" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compact_main([str(tmp_path / "t.h5"), "--out", str(tmp_path / "x.csv")])     # --job missing
    with pytest.raises(SystemExit):
        compact_main(["--rewrite", str(tmp_path / "r.csv.gz"), "--out", str(tmp_path / "y.csv")])
    assert "takes only --digits and --verbatim, not --out" in capsys.readouterr().err
    from simglass.analysis.compact import _rounded, rewrite
    assert [_rounded(c, 6) for c in ("0.1", "1e-05", "0.123456789", "8192", "nan", "x")] == \
        ["0.1", "1e-05", "0.123457", "8192", "nan", "x"]                 # never more digits than stored
    assert [_rounded(c, 17) for c in ("0.1", "0.30000001")] == ["0.1", "0.30000001"]
    from simglass.analysis.compact import _scalar
    assert [_scalar(np.int64(8192), 3), _scalar(True, 3), _scalar(0.123456, 3)] == [8192, 1, "0.123"]
    (tmp_path / "cut.csv.gz").write_bytes((tmp_path / "r.csv.gz").read_bytes()[:200])     # a truncated gzip
    with pytest.raises(ValueError, match="not a compact table"):
        rewrite(tmp_path / "cut.csv.gz", 6)
    text_coarse = text.replace("phi_bins = 80", "phi_bins = 30").replace("realizations = 3", "realizations = 1")
    run_job(parse_job(text_coarse), output=str(tmp_path / "c.h5"), progress=False)
    assert np.isnan(an.size_averages(tmp_path / "c.h5", n_boot=10, z_max=1e6)[0].p0).all()
    mc = ('engine = "mc"\nseed = 6\nrealizations = 3\n[model]\nt = 0.0\nJ = 2.0\nW = 0.0\ndensity = 0.5\n'
          '[scan]\nL = [[32]]\n[options]\nmethod = "tabu"\nsweeps = 10\nrestarts = 1\n')
    run_job(parse_job(mc), output=str(tmp_path / "gs.h5"), progress=False)
    export([tmp_path / "gs.h5"], tmp_path / "gs.csv.gz", "job.toml")
    from simglass.analysis.load import load_points
    phi = np.array([r["phi"] for r in load_points(tmp_path / "gs.h5")[1][0].records])
    direct = (np.abs(phi) < 0.05 * 2.0).mean() / 0.1
    for path in (tmp_path / "gs.h5", tmp_path / "gs.csv.gz"):
        m, _, R = an.ground_state_phi0(path)[32]
        assert R == 3 and m == pytest.approx(direct)
    assert an.main([str(tmp_path / "t.csv.gz"), "--ground-states", str(tmp_path / "gs.csv.gz"), "--z-max", "1e6",
                    "--n-boot", "10", "--out", str(tmp_path / "o")]) == 0
    assert "P(0, T) J" in capsys.readouterr().out and (tmp_path / "o" / "p_phi0.png").exists()
    import csv      # the series description holds quotes and commas: the tables stay CSV
    rows = list(csv.DictReader(open(tmp_path / "o" / "thermal.csv", newline="")))
    assert len(rows) == 2 * 4 and {r["N"] for r in rows} == {"16", "24"} and 'density=0.5' in rows[0]["series"]
    assert np.allclose([float(r["p_phi0"]) for r in rows[:4]], b[0].p0, rtol=1e-5)


def test_z_max_keeps_the_round_trip_rule(tmp_path):
    """``--z-max`` replaces the window test's threshold, not the round trips: tasks with
    fewer than MIN_ROUND_TRIPS per chain stay out, from the results file and from its
    compact table (which carries round_trips_min)."""
    from simglass.analysis import thermal as an
    from simglass.analysis.compact import export
    from simglass.analysis.load import task_table
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    job = parse_job('engine = "thermal"\nseed = 4\nrealizations = 4\n[model]\nt = 0.0\nJ = 1.0\nW = 0.0\n'
                    'density = 0.5\ncompensate = true\n[scan]\nL = [[16]]\n[options]\nsweeps = 32\n'
                    'replicas = 6\nT_min = 0.3\nT_max = 0.8\nq_bins = 12\nphi_bins = 20\n')
    run_job(job, output=str(tmp_path / "t.h5"), progress=False)
    trips = task_table(tmp_path / "t.h5")["round_trips_min"]
    assert (trips < MIN_ROUND_TRIPS).all()
    export([tmp_path / "t.h5"], tmp_path / "t.csv.gz", "job.toml")
    for path in (tmp_path / "t.h5", tmp_path / "t.csv.gz"):
        assert an.size_averages(path, n_boot=5, z_max=1e6) == []


def test_short_runs_are_flagged_and_left_out(tmp_path, capsys):
    """sweeps = 16 leaves one logarithmic window: no equilibration test is possible, every
    task is flagged, and the analysis has nothing to average."""
    from simglass.analysis import thermal as an
    from conftest import run_cli
    from simglass.runner import run_job
    run_job(_job(tmp_path, 16, L="[[8]]", realizations=2), output=str(tmp_path / "t.h5"), progress=False)
    r = run_cli("info", tmp_path / "t.h5")
    assert "2 (equilibrated 2)" in r.stdout, r.stdout
    assert an.main([str(tmp_path / "t.h5")]) == 0
    assert "no equilibrated task" in capsys.readouterr().out
    assert an.main([str(tmp_path / "t.h5"), "--z-max", "-1"]) == 2              # bad input: one line
    assert "--z-max must be finite and > 0" in capsys.readouterr().err


def test_binder_crossing_of_known_curves():
    """g_a = 0.5 - (T - 0.25), g_b = 0.5 - 2 (T - 0.25): they cross at T = 0.25 (q² = 1,
    q⁴ = 3 - 2g in every realisation, so the bootstrap spread is 0)."""
    from simglass.analysis.thermal import SizeThermal, binder, binder_crossing, paramagnetic_energy
    T = np.array([0.1, 0.2, 0.3, 0.4])

    def size(N, slope):
        g = 0.5 - slope * (T - 0.25)
        q2 = np.ones((4, T.size))
        z = np.zeros(T.size)
        return SizeThermal(N, "s", True, 4, 0, T, z, z, z, z, g, z, z, z, z, z, z, z, q2, (3 - 2 * g) * q2)
    a, b = size(16, 1.0), size(32, 2.0)
    assert np.allclose(binder(a.q2, a.q4), a.g)
    c = binder_crossing(a, b, n_boot=10)
    assert c.T == pytest.approx(0.25) and c.err == pytest.approx(0.0) and c.found == 1.0
    assert paramagnetic_energy(0.5) == pytest.approx(-1 / 16)          # -J_SK²/(2T), J_SK = 1/4
    b.T = T + 0.01
    with pytest.raises(ValueError, match="temperature ladders"):
        binder_crossing(a, b)


def test_paramagnet_limit_recovers_the_line():
    """e_N(T) = -J_SK²/(2T) + J_SK²/(2TN) (the high-temperature expansion's finite-N term)
    on three sizes: the 1/N extrapolation gives the paramagnet back above T_c only."""
    from simglass.analysis.thermal import SizeThermal, paramagnet_limit, paramagnetic_energy
    T = np.array([0.2, 0.3, 0.5])
    sizes = []
    for N in (64, 128, 256):
        e = paramagnetic_energy(T) * (1 - 1 / N)
        z = np.zeros(3)
        sizes.append(SizeThermal(N, "sk", True, 10, 0, T, e, z + 1e-4, z, z, z, z, z, z, None, None, None, None,
                                 None, None))
    lim = paramagnet_limit(sizes)
    assert [round(x[0], 3) for x in lim] == [0.3, 0.5]
    for T_, e0, err, para, chi2 in lim:
        assert e0 == pytest.approx(para, abs=1e-9) and chi2 < 1e-12


def test_random_field_series_uses_its_spin_constant_and_the_rs_line():
    """Uncompensated couplings at n = ½, W = 0 are SK in a random field of rms J/4: the
    series' C is −C_sk, and the 1/N extrapolation is compared with the replica-symmetric
    line above T_AT = 0.0985 J only; other series have no line."""
    from simglass.analysis.thermal import (SizeThermal, _spin_field, paramagnet_limit, replica_symmetric_energy,
                                           transition_temperature)
    base = {"density": 0.5, "W": 0.0, "couplings": "gaussian"}
    assert _spin_field(base | {"compensate": True}) == (0.0, 1.0)
    assert _spin_field(base | {"compensate": False}) == (0.25, -1.0)
    assert _spin_field(base | {"compensate": False, "density": 0.3})[0] is None
    assert _spin_field(base | {"compensate": False, "W": 2.0})[0] is None
    assert transition_temperature(0.25) == pytest.approx(0.0985, abs=1e-4)
    T = np.array([0.05, 0.09, 0.2, 0.5])
    rs = replica_symmetric_energy(T, 0.25)
    assert np.all(np.diff(rs) > 0)
    sizes = []
    for N in (64, 128, 256):
        z = np.zeros(4)
        sizes.append(SizeThermal(N, "field", False, 10, 0, T, rs + 0.3 / N, z + 1e-4, z, z, z, z, z, z, None, None,
                                 None, None, None, None, h=0.25))
    lim = paramagnet_limit(sizes)
    assert [round(x[0], 3) for x in lim] == [0.2, 0.5]
    for T_, e0, err, line, chi2 in lim:
        assert e0 == pytest.approx(line, abs=1e-9) and chi2 < 1e-12
    for s in sizes:
        s.h = None
    assert paramagnet_limit(sizes) == []


def test_chi_sg_scaling_recovers_a_known_exponent():
    """Synthetic SK sizes with χ_SG(T) = N^b h(T) per realisation (noise 5 %): the
    interpolation at T_c = J/4 and the fit give b back, within its error."""
    from simglass.analysis.thermal import SizeThermal, chi_sg_scaling
    rng = np.random.default_rng(1)
    T = np.geomspace(0.15, 0.6, 16)
    sizes = []
    for N in (32, 64, 128, 256, 512):
        h = 2.0 + 1.0 / T
        q2 = (N ** (0.3 - 1.0) * h)[None, :] * (1 + 0.05 * rng.standard_normal((60, 1)))
        nan = np.full(T.size, np.nan)
        sizes.append(SizeThermal(N=N, series="sk", sk=True, realizations=60, flagged=0, T=T, e=nan, e_err=nan,
                                 c=nan, c_err=nan, g=nan, g_err=nan, chi=N * q2.mean(axis=0), chi_err=nan,
                                 q_edges=None, p_q=None, phi_edges=None, p_phi=None, q2=q2, q4=q2 ** 2))
    fss = chi_sg_scaling(sizes, n_boot=100)
    assert abs(fss["b"] - 0.3) < 2 * fss["b_err"] and fss["b_err"] < 0.02
    # interpolation at T_c: h is smooth, so χ(T_c) lies within 3 % of N^b h(T_c) (noise mean and interpolation)
    for N, c in zip(fss["N"], fss["chi"]):
        assert c == pytest.approx(N ** 0.3 * (2.0 + 4.0), rel=0.03)


def test_tc_row_takes_the_largest_pair_and_its_drift():
    """The SK T_c report row: the largest pair's crossing with the drift from the next
    smaller pair as its systematic error; 'no crossing' when the largest pair has none
    (never a smaller pair's value instead); when the next pair has no crossing the drift
    is unknown and the row 'not settled'."""
    from simglass.analysis.checks import Row, tc_row
    from simglass.analysis.thermal import BinderCrossing

    def row(*ts):
        cs = [BinderCrossing("s", 64 * 2 ** k, 128 * 2 ** k, t, 0.02, 1.0) for k, t in enumerate(ts)]
        return tc_row(Row("sk_tc_binder", "T_c", "SK", 0.25), cs[::-1], {64: 10, 128: 11, 256: 12, 512: 13}, "src")
    r = row(0.23, 0.216, 0.248)
    assert (r.value, r.error_stat, r.sizes, r.realizations) == (0.248, 0.02, "N = 256/512", "12, 13")
    assert r.error_sys == pytest.approx(0.032) and "128/256" in r.sys_source and r.verdict == "agrees"
    r = row(0.229, 0.216, np.nan)
    assert r.verdict == "no crossing" and r.value is None and r.sizes == "N = 256/512"
    r = row(0.229, np.nan, 0.251)          # the drift is unknown: not judged, even where it would agree
    assert r.value == 0.251 and r.error_sys == 0.0 and "next smaller pair" in r.sys_source
    assert r.verdict == "not settled"
    r = row(0.229, np.nan, 0.9)            # ... but beyond 3 statistical errors no drift makes it agree
    assert r.verdict == "differs"
    r = row(0.26)                          # one pair: no drift to measure either
    assert r.value == 0.26 and r.error_sys == 0.0 and r.verdict == "not settled" and "single pair" in r.sys_source
    r = row(0.49, 0.5)
    assert r.verdict == "differs"
    r = tc_row(Row("sk_tc_binder", "T_c", "SK", 0.25), [], {}, "src")
    assert r.verdict == "not run" and "no pair of sizes" in r.note


def test_specific_heat_is_nan_where_the_digits_do_not_resolve_it():
    """c of values rounded to 6 significant digits: where ⟨E²⟩ − ⟨E⟩² is below 10 times
    the rounding bound it is NaN, elsewhere within 10 % of the exact value (and exact
    for full doubles)."""
    from simglass.analysis.thermal import specific_heat
    T = np.array([0.02, 0.05, 0.2, 0.6])
    E = np.array([-17.3456789, -17.123456, -15.4321987, -9.87654321])
    var = np.array([2e-4, 5e-3, 0.7, 2.5])
    exact = var / (64 * T ** 2)
    assert np.allclose(specific_heat(E, E ** 2 + var, 64, T), exact, rtol=1e-6)
    frozen = specific_heat(E, E ** 2, 64, T)         # full doubles: a zero variance is c = 0, not NaN
    assert np.allclose(frozen, 0.0, atol=1e-9) and not np.isnan(frozen).any()
    r6 = lambda x: np.array([float(f"{v:.6g}") for v in x])      # noqa: E731
    c = specific_heat(r6(E), r6(E ** 2 + var), 64, T)
    assert np.all(np.isnan(c[:2])) and np.allclose(c[2:], exact[2:], rtol=0.1)
