"""Classical Monte Carlo (issue: mc engine) against exhaustive enumeration and exact
Boltzmann weights."""
import itertools

import numpy as np
import pytest

from simglass import mc
from simglass.mc import kernels
from simglass import Lattice, Model, sample_disorder


def enumerate_energies(model, nf=None):
    """All states with nf particles (all states if nf is None): (occupations, energies),
    by an explicit vectorised sum independent of the package's kernels."""
    N = model.n_sites
    if nf is None:
        occ = ((np.arange(2 ** N)[:, None] >> np.arange(N)) & 1).astype(float)
    else:
        combos = np.array(list(itertools.combinations(range(N), nf)))
        occ = np.zeros((len(combos), N))
        np.put_along_axis(occ, combos, 1.0, axis=1)
    E = occ @ model.eps - 0.5 * np.einsum("si,si->s", occ @ model.V, occ)
    return occ, E


def random_model(N, seed, density=0.5, W=0.0, compensate=False):
    lat = Lattice(N)
    d = sample_disorder(lat, J=1.0, W=W, seed=seed, compensate=compensate, density=density)
    return Model(lat, 0.0, d.V, d.eps, density=density)


CASES = [(14 + (k % 7), 100 + k, [0.5, 0.3, 0.6][k % 3], [0.0, 0.5][k % 2], k % 4 == 0)
         for k in range(21)]


@pytest.mark.parametrize("N,seed,density,W,comp", CASES)
def test_ground_state_is_exact_minimum(N, seed, density, W, comp):
    m = random_model(N, seed, density, W, comp)
    occ, E = enumerate_energies(m, m.n_particles)
    gs = mc.ground_state(m, seed=seed, sweeps=300, replicas=12, restarts=2)
    assert gs.energy == pytest.approx(E.min(), abs=1e-10)
    assert np.isclose(m.energy(gs.occupation), gs.energy, atol=1e-12)
    assert gs.pair_stable and gs.min_pair_delta >= -1e-12
    assert gs.occupation.sum() == m.n_particles
    # fields relative to mu: recomputed with the model's own function
    assert np.allclose(gs.fields, m.local_fields(gs.occupation, mu=gs.mu), atol=1e-12)


def test_pair_stability_exhaustive_check():
    """The quench ends in a state where every pair move raises the energy, checked by
    explicitly moving every particle to every hole."""
    m = random_model(40, 7)
    gs = mc.ground_state(m, seed=3, method="anneal", sweeps=200, restarts=1)
    occ = gs.occupation
    E0 = m.energy(occ)
    for i in np.flatnonzero(occ):
        for j in np.flatnonzero(occ == 0):
            o = occ.copy()
            o[i] = 0
            o[j] = 1
            assert m.energy(o) - E0 >= -1e-12


@pytest.mark.parametrize("moves", ["pair", "flip"])
def test_incremental_fields_do_not_drift(moves):
    m = random_model(200, 5, W=0.3)
    rng = np.random.default_rng(0)
    st = mc.State.random(m, rng, moves=moves, mu=0.0 if moves == "flip" else None)
    for T in np.geomspace(2.0, 0.05, 300):
        st.sweep(1.0 / T, rng)
    st.quench()
    assert st.drift() < 1e-10


def _chain_frequencies(m, T, moves, mu, sweeps, seed):
    rng = np.random.default_rng(seed)
    st = mc.State.random(m, rng, moves=moves, mu=mu)
    counts = {}
    for _ in range(200):
        st.sweep(1.0 / T, rng)
    for _ in range(sweeps):
        st.sweep(1.0 / T, rng)
        key = st.occ.tobytes()
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("moves", ["pair", "flip"])
def test_detailed_balance_against_boltzmann(moves):
    """N = 6 at T = 0.5 J: visit frequencies equal exp(-E/T)/Z over the sector (pair
    moves, N_f = 3) or over all 64 states (flips at mu = 0.2, E - mu N_f)."""
    m = random_model(6, 11, W=0.4)
    T, mu, sweeps = 0.5, 0.2, 60000
    occ, E = enumerate_energies(m, m.n_particles if moves == "pair" else None)
    if moves == "flip":
        E = E - mu * occ.sum(axis=1)
    p = np.exp(-(E - E.min()) / T)
    p /= p.sum()
    counts = _chain_frequencies(m, T, moves, mu if moves == "flip" else None, sweeps, 1)
    freq = np.array([counts.get(o.astype(np.int8).tobytes(), 0) for o in occ]) / sweeps
    # sweeps of N proposals are nearly independent; allow an autocorrelation time of 4
    se = np.sqrt(p * (1 - p) * 4 / sweeps)
    assert np.all(np.abs(freq - p) < 5 * se + 1e-4), np.c_[freq, p, se]
    chi2 = np.sum((freq - p) ** 2 / (se ** 2 + 1e-12))
    assert chi2 < 3 * len(p)


def test_pt_rates_and_ladder():
    m = random_model(64, 2)
    rng = np.random.default_rng(1)
    temps = mc.geometric_ladder(0.05, 1.0, 8)
    assert np.allclose(temps[1:] / temps[:-1], (1.0 / 0.05) ** (1 / 7))
    res = mc.parallel_tempering(m, rng, temps, 200)
    assert res.acceptance.shape == (8,) and res.exchange.shape == (7,)
    assert np.all(np.diff(res.acceptance) > 0)  # hotter accepts more
    assert np.all((res.exchange > 0) & (res.exchange <= 1))
    assert res.best_energy == pytest.approx(m.energy(res.best_occ), abs=1e-10)
    assert res.best_energy == pytest.approx(res.energies.min(), abs=1e-10)
    for st in res.states:
        assert st.drift() < 1e-10


def test_metropolis_and_anneal_schedule():
    m = random_model(30, 4)
    rng = np.random.default_rng(2)
    st, E, acc = mc.metropolis(m, rng, T=0.3, sweeps=50)
    assert E.shape == (50,) and 0 < acc < 1 and np.isclose(E[-1], m.energy(st.occ))
    s = mc.anneal_schedule(2.0, 0.1, 5)
    assert s[0] == 2.0 and np.isclose(s[-1], 0.1) and np.all(np.diff(s) < 0)
    assert np.allclose(mc.anneal_schedule(2.0, 0.1, 3, "linear"), [2.0, 1.05, 0.1])


@pytest.mark.parametrize("call,match", [
    (lambda m: mc.geometric_ladder(0.0, 1.0, 4), "T_min"),
    (lambda m: mc.geometric_ladder(0.1, -1.0, 4), "T_max"),
    (lambda m: mc.parallel_tempering(m, np.random.default_rng(), [], 10), "ladder"),
    (lambda m: mc.parallel_tempering(m, np.random.default_rng(), [0.1, -0.2], 10), "temperatures"),
    (lambda m: mc.metropolis(m, np.random.default_rng(), T=0.0, sweeps=3), "T"),
    (lambda m: mc.anneal_schedule(1.0, 0.0, 10), "T_min"),
    (lambda m: mc.ground_state(m, seed=1, replicas=0), "replicas"),
    (lambda m: mc.ground_state(m, seed=1, method="sa"), "method"),
    (lambda m: mc.ground_state(Model(m.lattice, 0.0, m.V, m.eps, n_particles=0)), "n_particles"),
    (lambda m: mc.ground_state(Model(m.lattice, 0.0, m.V, m.eps, n_particles=m.n_sites)), "n_particles"),
    (lambda m: mc.State(m, np.ones(m.n_sites), moves="flip"), "mu"),
])
def test_bad_arguments(call, match):
    m = random_model(10, 1)
    with pytest.raises(ValueError, match=match):
        call(m)


def test_nonsymmetric_V_rejected():
    V = np.triu(np.ones((6, 6)), 1)
    with pytest.raises(ValueError, match="symmetric"):
        Model(Lattice(6), 0.0, V, np.zeros(6), density=0.5)


def test_kernels_match_model():
    m = random_model(25, 8, W=0.2)
    occ = np.zeros(25, np.int8)
    occ[::2] = 1
    assert np.allclose(kernels.fields(m.V, m.eps, occ), m.local_fields(occ), atol=1e-13)
    assert np.isclose(kernels.energy(m.V, m.eps, occ), m.energy(occ), atol=1e-12)


def test_tabu_finds_the_exhaustive_ground_state():
    """method="tabu" (canonical pair moves) against exhaustive enumeration, N = 12-16."""
    for N, seed in ((12, 1), (14, 2), (16, 3)):
        lat = Lattice(N)
        d = sample_disorder(lat, J=1.0, W=0.3, seed=seed)
        m = Model(lat, 0.0, d.V, d.eps, density=0.5)
        best = min(m.energy(np.isin(np.arange(N), c).astype(np.int8))
                   for c in itertools.combinations(range(N), N // 2))
        g = mc.ground_state(m, seed=1, method="tabu", sweeps=20, restarts=1)
        assert g.energy == pytest.approx(best, abs=1e-12) and g.pair_stable
        assert g.occupation.sum() == N // 2


def reference_tabu(V, eps, occ, iterations, tenure, K, stall, seed):
    """The rule of kernels.tabu_search written plainly (NumPy, no numba): every iteration
    sorts the site lists afresh for the K occupied sites of highest field and the K empty
    sites of lowest field, non-tabu ones first, then all for aspiration.  Returns the best
    energy change and occupation."""
    np.random.seed(seed)                 # numba's generator: the same MT19937 stream
    N = occ.size
    occ = occ.copy()
    phi = kernels.fields(V, eps, occ)
    tabu = np.zeros(N, np.int64)
    E = best_E = 0.0
    best_occ, last = occ.copy(), 0
    for it in range(iterations):
        bd, bi, bj = np.inf, -1, -1
        for skip_tabu in (True, False):
            ok = (tabu <= it) if skip_tabu else np.ones(N, bool)
            occupied = np.flatnonzero((occ == 1) & ok)
            empty = np.flatnonzero((occ == 0) & ok)
            ci = occupied[np.argsort(-phi[occupied], kind="stable")][:K]
            cj = empty[np.argsort(phi[empty], kind="stable")][:K]
            for i in ci:
                for j in cj:
                    d = phi[j] - phi[i] + V[i, j]
                    if d < bd and (skip_tabu or E + d < best_E - 1e-12):
                        bd, bi, bj = d, i, j
            if bi >= 0 and (not skip_tabu or E + bd < best_E - 1e-12):
                break
        if bi < 0:
            break
        phi += V[bi] - V[bj]
        occ[bi], occ[bj] = 0, 1
        E += bd
        t = tenure + int(np.random.random() * tenure)
        tabu[bi] = tabu[bj] = it + t
        if E < best_E - 1e-12:
            best_E, best_occ[:], last = E, occ, it
        elif it - last > stall:
            occ[:] = best_occ
            phi = kernels.fields(V, eps, occ)
            E = best_E
            for q in range(N):
                tabu[q] = it + tenure + int(np.random.random() * tenure) if np.random.random() < 0.1 else 0
            last = it
    return best_E, best_occ


def _tabu_against_reference(m, occ0, iterations, tenure, K, stall, seed):
    occ = occ0.copy()
    phi = kernels.fields(m.V, m.eps, occ)
    occ_list = np.flatnonzero(occ).astype(np.int64)
    emp_list = np.flatnonzero(occ == 0).astype(np.int64)
    e = kernels.tabu_search(m.V, m.eps, occ, phi, occ_list, emp_list, iterations, tenure, K, stall, seed)
    e_ref, occ_ref = reference_tabu(m.V, m.eps, occ0, iterations, tenure, K, stall, seed)
    assert e == pytest.approx(e_ref, abs=1e-12)
    assert np.array_equal(occ, occ_ref)
    assert kernels.energy(m.V, m.eps, occ) - kernels.energy(m.V, m.eps, occ0) == pytest.approx(e, abs=1e-9)
    assert np.allclose(phi, m.local_fields(occ), atol=1e-12)
    assert np.array_equal(occ_list, np.flatnonzero(occ)) and np.array_equal(emp_list, np.flatnonzero(occ == 0))


def test_tabu_kernel_follows_its_rule():
    """kernels.tabu_search (one fused O(N) pass per move, candidate lists kept
    incrementally) takes the same moves as the plain reference above: the same best
    energy and state after trajectories of several lengths (short ones end before the
    search settles, so a single different move shows), with restarts from the best state
    (stall 2N) in the long ones; fields and site lists consistent on return."""
    for N, seed in ((40, 5), (64, 6), (96, 7)):
        m = random_model(N, seed, W=0.3)
        occ0 = np.zeros(N, np.int8)
        occ0[np.random.default_rng(seed).choice(N, N // 2, replace=False)] = 1
        for s, iterations in enumerate((0, N // 4, N // 2, N, 2 * N, 4 * N, 8 * N, 30 * N)):
            _tabu_against_reference(m, occ0, iterations, 3, 4, 2 * N, s)


def test_tabu_kernel_edge_cases_follow_the_rule():
    """The same comparison at the edges: frequent restarts (stall 0-5, each followed by a
    fresh candidate pass), K at least the number of occupied or empty sites, tenures long
    enough to make every site tabu (the search then stops or aspirates), N down to 2,
    one particle or one hole."""
    rng = np.random.default_rng(11)
    for N in (2, 3, 5, 8, 13):
        for nf in sorted({1, N // 2, N - 1} - {0}):
            m = random_model(N, N, density=nf / N)
            occ0 = np.zeros(N, np.int8)
            occ0[rng.choice(N, nf, replace=False)] = 1
            for K, tenure, stall in ((1, 1, 0), (2, 3, 1), (8, 2, 5), (3, 20, 3), (N, N, 2)):
                for seed in range(2):
                    _tabu_against_reference(m, occ0, 6 * N + 5, tenure, K, stall, seed)
    with pytest.raises(ValueError, match="K must be >= 1"):
        m = random_model(6, 1)
        occ = np.array([1, 1, 1, 0, 0, 0], np.int8)
        kernels.tabu_search(m.V, m.eps, occ, kernels.fields(m.V, m.eps, occ), np.arange(3), np.arange(3, 6),
                            5, 2, 0, 5, 0)


def test_quench_method_gives_pair_stable_local_minima():
    """method="quench": pair-stable states (every pair move checked explicitly) with N_f
    particles, at or above the exhaustive minimum; distinct starts reach distinct minima."""
    N = 14
    lat = Lattice(N)
    d = sample_disorder(lat, J=1.0, W=0.0, seed=4)
    m = Model(lat, 0.0, d.V, d.eps, density=0.5)
    best = min(m.energy(np.isin(np.arange(N), c).astype(np.int8))
               for c in itertools.combinations(range(N), N // 2))
    energies = set()
    for seed in range(12):
        g = mc.ground_state(m, seed=seed, method="quench", restarts=1)
        occ = g.occupation
        assert occ.sum() == N // 2 and g.pair_stable and g.energy >= best - 1e-12
        for i in np.flatnonzero(occ == 1):
            for j in np.flatnonzero(occ == 0):
                o = occ.copy()
                o[i], o[j] = 0, 1
                assert m.energy(o) >= g.energy - 1e-12
        energies.add(round(g.energy, 10))
    assert len(energies) > 1
