"""Cavity couplings (issue 19): the sampler's invariants, and t = 0 ground states of
low-rank couplings against exhaustive enumeration and the exact M = 1 solution."""

import numpy as np
import pytest

from simglass import mc
from simglass import Lattice, Model, sample_disorder


def _offdiag(V):
    return V[~np.eye(V.shape[0], dtype=bool)]


@pytest.mark.parametrize("M", [1, 3, 7])
def test_cavity_couplings_have_rank_m_off_the_diagonal(M):
    """Any block V[I, J] with I, J disjoint holds no diagonal entry, so it is a block of
    J/sqrt(NM) G Gᵀ: rank <= M (and = M for these sizes)."""
    N = 40
    V = sample_disorder(Lattice(N), J=1.3, couplings="cavity", n_modes=M, seed=2).V
    assert np.allclose(V, V.T) and np.all(np.diag(V) == 0)
    sv = np.linalg.svd(V[: N // 2, N // 2:], compute_uv=False)
    assert sv[M - 1] > 1e-6 * sv[0] and sv[M] < 1e-12 * sv[0]


@pytest.mark.parametrize("M", [1, 2, 8, 64])
def test_cavity_couplings_mean_variance_and_kurtosis(M):
    """Off-diagonal V_ij: mean 0, variance J²/N at every M; excess kurtosis 6/M (a sum of
    M products of independent normals, each of excess kurtosis 6), so the moments tend
    to the Gaussian ensemble's as M -> infinity.  Errors from the scatter of the
    per-realisation estimates."""
    N, J, R = 48, 2.0, 300
    mean, var, kurt = [], [], []
    for r in range(R):
        x = _offdiag(sample_disorder(Lattice(N), J=J, couplings="cavity", n_modes=M, seed=5,
                                     realization=r).V)
        mean.append(x.mean())
        var.append((x ** 2).mean())
        kurt.append((x ** 4).mean())
    sem = lambda a: np.std(a, ddof=1) / np.sqrt(R)  # noqa: E731
    assert abs(np.mean(mean)) < 4 * sem(mean)
    assert abs(np.mean(var) - J ** 2 / N) < 4 * sem(var)
    m4 = np.mean(kurt) / (J ** 2 / N) ** 2 - 3
    assert abs(m4 - 6 / M) < 4 * sem(kurt) / (J ** 2 / N) ** 2


def _model(N, M, seed, W=0.0):
    lat = Lattice(N)
    d = sample_disorder(lat, J=1.0, W=W, couplings="cavity", n_modes=M, seed=seed)
    return Model(lat, 0.0, d.V, d.eps, density=0.5)


@pytest.mark.parametrize("M", [1, 2, 3])
def test_tabu_finds_exhaustive_minima_of_low_rank_couplings(M):
    from test_mc import enumerate_energies   # every state of the sector, by an explicit vectorised sum
    for N, seed in ((14, 1), (18, 2), (20, 3)):
        m = _model(N, M, seed, W=0.1)
        best = enumerate_energies(m, N // 2)[1].min()
        g = mc.ground_state(m, seed=1, method="tabu", sweeps=20, restarts=2)
        assert g.energy == pytest.approx(best, abs=1e-12) and g.pair_stable


def _mode_function(V, J=1.0):
    """M = 1: g (up to a global sign) from the off-diagonal V_ij = J/sqrt(N) g_i g_j."""
    N = V.shape[0]
    c = J / np.sqrt(N)
    g0 = np.sqrt(V[0, 1] * V[0, 2] / V[1, 2] / c)
    g = V[0] / (c * g0)
    g[0] = g0
    return g


def test_single_mode_ground_state_is_an_extreme_block():
    """M = 1, W = 0: E = -(J/2√N) (S1² - S2), S1 = Σ_occ g_i, S2 = Σ_occ g_i².  A pair
    move i -> j changes S1² - S2 by 2 (g_j - g_i)(S1 - g_i), so a pair-stable state holds
    the K = N_f largest or the K smallest g (docs/validation.md §10): every quench ends
    in one of the two, and the ground state is the better one, found by tabu and PT at
    N = 200, far beyond enumeration."""
    N = 200
    m = _model(N, 1, seed=7)
    g = _mode_function(m.V)
    K = m.n_particles
    order = np.argsort(g)
    blocks = []
    for idx in (order[-K:], order[:K]):
        occ = np.zeros(N, np.int8)
        occ[idx] = 1
        S1, S2 = g[idx].sum(), (g[idx] ** 2).sum()
        assert m.energy(occ) == pytest.approx(-(S1 ** 2 - S2) / (2 * np.sqrt(N)), rel=1e-10)
        blocks.append(occ)
    e_exact = min(m.energy(o) for o in blocks)
    for method in ("tabu", "pt"):
        gs = mc.ground_state(m, seed=3, method=method, sweeps=200, restarts=2)
        assert gs.energy == pytest.approx(e_exact, rel=1e-12)
    for seed in range(8):
        q = mc.ground_state(m, seed=seed, method="quench", restarts=1)
        assert any(np.array_equal(q.occupation, o) for o in blocks)


def test_mode_weights_of_the_engine():
    """mc.mc_engine.mode_weights: eigenvalues descending; weights of s on the eigenvectors
    sum to 1 over a complete set; at M = 1 the block state lies mostly on the one mode."""
    from simglass.mc.mc_engine import mode_weights
    m = _model(60, 1, seed=4)
    occ = mc.ground_state(m, seed=1, method="tabu", sweeps=20).occupation
    lam, w = mode_weights(m.V, occ, 60)
    assert np.all(np.diff(lam) <= 1e-12) and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w[0] > 0.5 and lam[0] > 5 * abs(lam[1])
    lam3, w3 = mode_weights(m.V, occ, 3)
    assert np.allclose(lam3, lam[:3]) and np.allclose(w3, w[:3])


def test_single_mode_weight_is_two_over_pi():
    """M = 1: the ground state s = ±sign(g - median) lies on the leading eigenvector of V
    (≈ g/|g|) with weight ω₁ = (Σ|g_i|)²/(N Σ g_i²) → (E|g|)²/E g² = 2/π for N → ∞."""
    from simglass.mc.mc_engine import mode_weights
    m = _model(1000, 1, seed=11)
    occ = mc.ground_state(m, seed=1, method="tabu", sweeps=10, restarts=1).occupation
    lam, w = mode_weights(m.V, occ, 2)
    assert w[0] == pytest.approx(2 / np.pi, abs=0.04) and w[1] < 0.01


TINY_MC = """
engine = "mc"
seed = 3
realizations = 6
[model]
t = 0.0
density = 0.5
{coupling}
[scan]
L = [[48], [64]]
{modes}
[options]
method = "tabu"
sweeps = 10
restarts = 3
modes = 64
"""

TINY_HARTREE = """
engine = "hartree"
seed = 4
realizations = 3
[model]
L = [4, 4, 4]
t = 1.0
J = 3.0
density = 0.5
{coupling}
[scan]
{modes}
W = [0.0]
[options]
g_window = 4
dos_max = 40.0
"""


def test_cavity_analysis_end_to_end(tmp_path):
    """Jobs -> results -> analysis.cavity_modes (mc and hartree, cavity and Gaussian):
    tables, figures, the M = 1 weight near 2/π, the Gaussian points at M = inf, the
    condensation load between the scanned loads, restart overlaps in [0, 1]."""
    from simglass.analysis import cavity_modes
    from conftest import run_cli
    files = []
    for name, text in (("cav", TINY_MC.format(coupling='couplings = "cavity"', modes="n_modes = [1, 4, 16, 32, 64]")),
                       ("gau", TINY_MC.format(coupling="", modes="")),
                       ("hcav", TINY_HARTREE.format(coupling='couplings = "cavity"', modes="n_modes = [1, 64]")),
                       ("hgau", TINY_HARTREE.format(coupling="", modes=""))):
        (tmp_path / f"{name}.toml").write_text(text)
        out = tmp_path / f"{name}.h5"
        r = run_cli("run", tmp_path / f"{name}.toml", "--output", out, "--quiet")
        assert r.returncode == 0, r.stderr
        files.append(out)
    pts, loads = cavity_modes.analyze(files, tmp_path / "an")
    for f in ("cavity_modes.csv", "cavity_modes.png", "cavity_modes_hartree.csv", "cavity_modes_hartree.png"):
        assert (tmp_path / "an" / f).stat().st_size > 0
    assert sorted({(c.N, c.M) for c in pts}) == sorted({(N, M) for N in (48, 64) for M in (1, 4, 16, 32, 64, np.inf)})
    one = [c for c in pts if c.M == 1]
    assert all(0.5 < np.mean(c.omega1) < 0.8 and np.allclose(c.omega1, c.omega_M) for c in one)
    # M = 1: the only pair-stable states are the two extreme blocks, complements of each
    # other at even N, so independent restarts overlap with |q| = 1 exactly
    assert all(np.allclose(c.q, 1.0) for c in one)
    # M >= N: the weights on all N eigenvectors of V sum to 1 (completeness)
    full = [c for c in pts if np.isfinite(c.M) and c.M >= c.N]
    assert full and all(np.allclose(c.omega_M, 1.0, atol=1e-10) for c in full)
    for N in (48, 64):
        x, _ = loads[N]
        assert 1 / N < x < 32 / N       # <omega1> = 2/pi at M = 1 falls through 1/2
    hp = cavity_modes.hartree_points(files[2:])
    assert [h.M for h in hp] == [1.0, 64.0, np.inf] and all(h.N == 64 for h in hp)
    assert all(np.isfinite(h.ln_g) and h.dos_mu >= 0 for h in hp)
    r = run_cli("analyze", files[0], "--out", tmp_path / "an2")
    assert r.returncode == 0 and "falls through" in r.stdout, r.stdout + r.stderr
