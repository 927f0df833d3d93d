"""Self-consistent Hartree solver against exact limits and independent formulas."""
import numpy as np
import pytest

from simglass import ed
from conftest import textbook_chi0
from simglass.ed.hartree import hartree_hamiltonian
from simglass import Lattice, Model, sample_disorder


def make(shape=(4, 4, 4), t=1.0, J=2.0, W=0.5, seed=1, density=0.5, onsite="gaussian"):
    lat = Lattice(shape)
    d = sample_disorder(lat, J=J, W=W, seed=seed, onsite=onsite)
    return Model(lat, t, d.V, d.eps, density=density)


def test_anderson_limit_one_iteration():
    m = make(J=0.0, W=3.0, onsite="box")
    h = ed.hartree_solve(m, seed=0, starts=("random",))
    E = np.linalg.eigvalsh(-m.t * m.hopping_matrix().toarray() + np.diag(m.eps))
    assert h.iterations == 1 and h.converged and h.residual == 0
    assert np.allclose(h.levels, E, atol=1e-12)
    assert h.energy == pytest.approx(E[:m.n_particles].sum(), abs=1e-10)
    assert h.mu == pytest.approx(0.5 * (E[31] + E[32]))


def free_levels(L):
    k = 2 * np.pi * np.arange(L) / L
    c = np.cos(k)
    return np.sort((-2 * (c[:, None, None] + c[None, :, None] + c[None, None, :])).ravel())


def test_free_fermions_closed_shell():
    """J = W = 0, periodic 4x4x4, a closed shell: uniform density, energy from the
    dispersion -2t Σ cos k_a."""
    ek = free_levels(4)
    nf = 7                      # levels -6 (1) and -4 (6)
    assert ek[nf] - ek[nf - 1] > 1
    lat = Lattice((4, 4, 4))
    m = Model(lat, 1.0, np.zeros((64, 64)), np.zeros(64), n_particles=nf)
    h = ed.hartree_solve(m, starts=("uniform",))
    assert np.allclose(h.density, nf / 64, atol=1e-12) and not h.degenerate
    assert h.energy == pytest.approx(ek[:nf].sum(), abs=1e-10)


def test_degenerate_fermi_shell_filled_equally():
    ek = free_levels(4)
    nf = 9
    shell = np.flatnonzero(np.isclose(ek, ek[nf - 1]))
    lo, hi = shell[0], shell[-1] + 1
    assert hi > nf                # the Fermi shell is partly filled
    m = Model(Lattice((4, 4, 4)), 1.0, np.zeros((64, 64)), np.zeros(64), n_particles=nf)
    h = ed.hartree_solve(m, starts=("uniform",))
    assert h.degenerate
    assert np.allclose(h.occupations[lo:hi], (nf - lo) / (hi - lo))
    assert h.occupations.sum() == pytest.approx(nf)
    assert np.allclose(h.density, nf / 64, atol=1e-10)  # the full shell keeps translation symmetry


def test_t0_solutions_are_single_particle_stable():
    """At t = 0 a converged solution is a 0/1 state with every occupied field below every
    empty one, and E_H is its classical energy.  Such a state need not exist near the
    start (two sites that each prefer the other's particle), so the solver may report
    non-convergence; most instances converge."""
    converged = 0
    for seed in range(8):
        m = make(t=0.0, J=1.0, W=0.3, seed=seed, shape=(3, 3, 4))
        h = ed.hartree_solve(m, seed=seed, starts=("classical", "random"), max_iter=200)
        if not h.converged:
            assert h.residual > 1e-8
            continue
        converged += 1
        occ = np.round(h.density)
        assert np.allclose(h.density, occ, atol=1e-8) and occ.sum() == m.n_particles
        phi = m.local_fields(occ)
        assert phi[occ == 1].max() <= phi[occ == 0].min() + 1e-10
        assert h.energy == pytest.approx(m.energy(occ), abs=1e-8)
    assert converged >= 5


@pytest.mark.parametrize("J", [1.0, 3.0, 6.0])
def test_self_consistent_energy_functional(J):
    m = make(J=J, seed=int(J))
    h = ed.hartree_solve(m, seed=2, starts=("classical", "uniform"), tol=1e-9)
    assert h.converged and h.residual <= 1e-9
    # re-diagonalising h[n] reproduces n
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, h.density))
    n2 = (psi[:, :m.n_particles] ** 2).sum(axis=1)
    assert np.abs(n2 - h.density).max() < 1e-8
    assert np.all(h.levels[:m.n_particles] < h.mu) and np.all(h.levels[m.n_particles:] > h.mu)
    # many-body Hartree functional on the Slater determinant: <T> + Σ eps n - ½ Σ V n n
    rho = psi[:, :m.n_particles] @ psi[:, :m.n_particles].T
    kin = -m.t * sum(2 * rho[i, j] for i, j in m.lattice.bonds)
    n = np.diag(rho)
    E_func = kin + m.eps @ n - 0.5 * n @ m.V @ n
    assert h.energy == pytest.approx(E_func, abs=1e-7)


class PermutedModel(Model):
    def __init__(self, model, perm):
        super().__init__(model.lattice, model.t, model.V[np.ix_(perm, perm)], model.eps[perm],
                         n_particles=model.n_particles)
        self._perm = perm
        self._A = Model.hopping_matrix(model)[perm][:, perm]

    def hopping_matrix(self):
        return self._A


def test_relabelling_invariance():
    m = make(J=3.0, seed=5)
    h = ed.hartree_solve(m, seed=1, starts=("uniform",))
    perm = np.random.default_rng(3).permutation(m.n_sites)
    mp = PermutedModel(m, perm)
    hp = ed.hartree_solve(mp, seed=1, starts=(), init_density=np.full(m.n_sites, 0.5))
    assert h.converged and hp.converged
    assert hp.energy == pytest.approx(h.energy, abs=1e-8)
    assert np.allclose(hp.levels, h.levels, atol=1e-7)
    assert np.allclose(hp.density, h.density[perm], atol=1e-7)


def test_warm_start_saves_iterations():
    m1, m2 = make(t=1.0, J=3.0, seed=9), None
    h1 = ed.hartree_solve(m1, seed=1, starts=("uniform",))
    m2 = Model(m1.lattice, 1.05, m1.V, m1.eps, n_particles=m1.n_particles)
    cold = ed.hartree_solve(m2, seed=1, starts=("uniform",))
    warm = ed.hartree_solve(m2, starts=(), init_density=h1.density, smearing=0.0)
    assert warm.converged and cold.converged and warm.start == "given"
    assert warm.iterations < cold.iterations


@pytest.mark.parametrize("kw,match", [
    (dict(tol=0.0), "tol"), (dict(tol=-1.0), "tol"), (dict(max_iter=0), "max_iter"),
    (dict(beta=1.5), "beta"), (dict(starts=("hot",)), "starts"), (dict(smearing=-1.0), "smearing"),
    (dict(method="scf"), "method"), (dict(newton_below=0.0), "newton_below"),
    (dict(newton_below=float("inf")), "newton_below"), (dict(stability_tol=-1.0), "stability_tol"),
    (dict(init_density=np.zeros(3)), "init_density"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        ed.hartree_solve(make(shape=(2, 2, 2)), **kw)


def test_bad_model_arguments():
    lat = Lattice((2, 2, 2))
    with pytest.raises(ValueError, match="t"):
        Model(lat, -1.0, np.zeros((8, 8)), np.zeros(8), n_particles=4)
    with pytest.raises(ValueError, match="n_particles"):
        ed.hartree_solve(Model(lat, 1.0, np.zeros((8, 8)), np.zeros(8), n_particles=0))
    with pytest.raises(ValueError, match="n_particles"):
        Model(lat, 1.0, np.zeros((8, 8)), np.zeros(8), n_particles=9)


# --- the descent-Newton solver (issue 15) -------------------------------------------

def verify_solution(m, h, tol=1e-8):
    """Independent checks of a converged Hartree solution: rebuild h from the density,
    diagonalise, fill by aufbau, same density; E_H from its definition."""
    E, psi = np.linalg.eigh(hartree_hamiltonian(m, h.density))
    nf = m.n_particles
    n2 = (psi[:, :nf] ** 2).sum(axis=1)
    assert np.abs(n2 - h.density).max() <= 10 * tol
    assert E[nf] - E[nf - 1] > 0
    rho = psi[:, :nf] @ psi[:, :nf].T
    kin = -m.t * sum(2 * rho[i, j] for i, j in m.lattice.bonds)
    n = np.diag(rho)
    assert h.energy == pytest.approx(kin + m.eps @ n - 0.5 * n @ m.V @ n, abs=1e-7)


@pytest.mark.parametrize("J", [2.0, 4.0, 6.0, 8.0])
def test_every_solution_converges_and_is_a_local_minimum(J):
    """L = 4, n = 1/2, W = 0, 20 realisations per J/t: all converge to 1e-8, verified
    independently, with a non-negative Hessian (a local minimum of E_H)."""
    for seed in range(20):
        m = make(J=J, W=0.0, seed=seed)
        h = ed.hartree_solve(m, seed=seed)
        assert h.converged and h.residual <= 1e-8, (J, seed, h.residual)
        assert h.stable and h.stability >= 0, (J, seed, h.stability)
        verify_solution(m, h)


def rotation_energy(m, psi, nf, kappa):
    """E_H of the Slater determinant with orbitals exp(A) psi, A = [[0, -κᵀ], [κ, 0]]
    in the basis of psi (occupied first)."""
    from scipy.linalg import expm
    N = psi.shape[0]
    A = np.zeros((N, N))
    A[nf:, :nf] = kappa
    A[:nf, nf:] = -kappa.T
    C = psi @ expm(A)[:, :nf]
    n = (C ** 2).sum(axis=1)
    h0 = -m.t * m.hopping_matrix().toarray() + np.diag(m.eps)
    return np.trace(C.T @ h0 @ C) - 0.5 * n @ m.V @ n


def test_hessian_against_finite_differences():
    """ed.response.hessian_min (Lanczos on the response operator) against the Hessian of
    E_H built by finite differences of exact orbital rotations, on 2x2x3."""
    from simglass.ed.response import Response, hessian_min
    m = make(shape=(2, 2, 3), J=3.0, W=0.5, seed=4)
    h = ed.hartree_solve(m, seed=1, starts=("classical", "uniform"), tol=1e-12)
    assert h.converged
    nf, N = m.n_particles, m.n_sites
    no, ne = nf, N - nf
    eps_fd = 1e-4
    dim = no * ne
    H = np.zeros((dim, dim))
    basis = np.eye(dim).reshape(dim, ne, no)
    E0 = rotation_energy(m, h.orbitals, nf, np.zeros((ne, no)))
    for p in range(dim):
        for q in range(p, dim):
            k = eps_fd * (basis[p] + basis[q])
            kk = eps_fd * (basis[p] - basis[q])
            H[p, q] = H[q, p] = (rotation_energy(m, h.orbitals, nf, k) + rotation_energy(m, h.orbitals, nf, -k)
                                 - rotation_energy(m, h.orbitals, nf, kk)
                                 - rotation_energy(m, h.orbitals, nf, -kk)) / (4 * eps_fd ** 2)
    # H is the Hessian of E in κ (a, i); scaled by Δ^-1/2 with Δ_ai = 2 (E_a - E_i)
    gaps = (h.levels[nf:, None] - h.levels[None, :nf]).ravel()
    S = 1 / np.sqrt(2 * gaps)
    lam_fd = np.linalg.eigvalsh(S[:, None] * H * S[None, :])[0]
    assert E0 == pytest.approx(h.energy, abs=1e-9)
    lam, _ = hessian_min(Response(h.levels, h.orbitals, nf), m.V, tol=1e-10)
    assert lam == pytest.approx(lam_fd, abs=1e-5)


def test_response_against_finite_differences():
    """χ⁰ w from the eigenpairs against the aufbau density of h + diag(±s w)."""
    from simglass.ed.response import Response
    m = make(J=2.0, seed=3)
    h = ed.hartree_solve(m, seed=1)
    H = hartree_hamiltonian(m, h.density)
    w = np.random.default_rng(0).standard_normal(m.n_sites)
    s, nf = 1e-5, m.n_particles

    def dens(v):
        _, psi = np.linalg.eigh(H + np.diag(v))
        return (psi[:, :nf] ** 2).sum(axis=1)
    fd = (dens(s * w) - dens(-s * w)) / (2 * s)
    assert np.allclose(Response(h.levels, h.orbitals, nf).chi0(w), fd, atol=1e-7)


def mattis_model(J):
    """Clean periodic 4x4x4 at the closed shell N_f = 7, V = (J/N)(ε εᵀ - 1) with the
    staggered ε_i = ±1: the uniform density is self-consistent at every J, and becomes
    a saddle point of E_H when -χ⁰ V has an eigenvalue above 1."""
    lat = Lattice((4, 4, 4))
    e = (-1.0) ** lat.coords.sum(axis=1)
    V = J / lat.n_sites * (np.outer(e, e) - np.eye(lat.n_sites))
    return Model(lat, 1.0, V, np.zeros(lat.n_sites), n_particles=7), e


def staggered_response(m, e):
    """e·(-χ⁰)·e / e·e of free fermions from the dense textbook sum over (occ, emp)."""
    E, psi = np.linalg.eigh(-m.hopping_matrix().toarray())
    chi = textbook_chi0(E, psi, m.n_particles)
    return e @ chi @ e / (e @ e)


def test_constructed_saddle_point_is_recognised():
    """The uniform state of mattis_model is self-consistent; its stability flag changes
    at the J_c of the dense free-fermion response, and the default solver escapes from
    the saddle point along its softest mode to a lower, stable state."""
    m0, e = mattis_model(1.0)
    J_c = 1 / staggered_response(m0, e)          # instability of the uniform state
    for J, stable in ((0.8 * J_c, True), (1.5 * J_c, False)):
        m, _ = mattis_model(J)
        h = ed.hartree_solve(m, starts=("uniform",), method="mixing", smearing=0.0)
        assert h.converged and h.iterations == 1 and np.allclose(h.density, 7 / 64)
        assert h.stable is stable and (h.stability > 0) is stable
    escaped = ed.hartree_solve(m, starts=("uniform",))
    assert escaped.converged and escaped.stable and escaped.energy < h.energy - 1e-6
    assert abs(escaped.density @ e) > 0.1        # staggered order
    verify_solution(m, escaped)


def test_methods_agree_on_a_solution():
    m = make(J=3.0, seed=7)
    a = ed.hartree_solve(m, starts=("uniform",), method="newton")
    b = ed.hartree_solve(m, starts=(), init_density=a.density, method="mixing", smearing=0.0)
    assert a.converged and b.converged and b.iterations <= 2
    assert b.energy == pytest.approx(a.energy, abs=1e-9)


def test_trust_region_model_against_exact_rotations():
    """ed.hartree_trust at a point that is not self-consistent: the gradient g and the
    Hessian product Hκ against central finite differences of E_H along exact rotations
    exp(A) (rotation_energy, independent of the solver's Cholesky retraction), and the
    retraction itself: orthonormal, mutually orthogonal, same E_H to second order."""
    from simglass.ed.hartree_trust import _Point, hessian_product, rotate
    m = make(shape=(2, 2, 3), J=3.0, W=0.5, seed=4)
    nf, N = m.n_particles, m.n_sites
    rng = np.random.default_rng(5)
    x = rng.random(N)
    _, psi = np.linalg.eigh(hartree_hamiltonian(m, x * nf / x.sum()))
    Y, Z = psi[:, :nf], psi[:, nf:]
    hop = (-m.t * m.hopping_matrix()).tocsr()
    p = _Point(Y, Z, hop, m.eps, m.V)
    Foo, Fvv, g = p.blocks(hop, m.eps)
    assert p.E == pytest.approx(rotation_energy(m, psi, nf, np.zeros((N - nf, nf))), abs=1e-12)
    assert np.abs(g).max() > 1e-2                   # far from self-consistency
    s = 1e-4
    for _ in range(3):
        k = rng.standard_normal((N - nf, nf))
        Ep, Em = (rotation_energy(m, psi, nf, sg * s * k) for sg in (1, -1))
        assert np.sum(g * k) == pytest.approx((Ep - Em) / (2 * s), rel=1e-5)
        assert np.sum(k * hessian_product(Y, Z, Foo, Fvv, m.V, k)) == pytest.approx(
            (Ep + Em - 2 * p.E) / s ** 2, rel=1e-4, abs=1e-4)
        Yk, Zk = rotate(Y, Z, s * k)
        C = np.hstack([Yk, Zk])
        assert np.allclose(C.T @ C, np.eye(N), atol=1e-12)
        Ek = _Point(Yk, Zk, hop, m.eps, m.V).E
        assert Ek == pytest.approx(Ep, abs=10 * s ** 3 * np.abs(k).max() ** 3 * N)


def test_trust_solution_verified_and_unconverged_flagged():
    """trust_solve from random starts converges to a solution that passes the independent
    check, the same one as the descent solver from the same start (J/t = 2: one
    minimum); cut short (one step) it reports converged False with its residual."""
    from simglass.ed.hartree import bare_hamiltonian
    from simglass.ed.hartree_trust import trust_solve
    m = make(J=2.0, seed=3)
    h0 = bare_hamiltonian(m)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.random(m.n_sites)
        x *= m.n_particles / x.sum()
        r = trust_solve(m, h0, x, 1e-8, 200)
        assert r.converged and r.residual <= 1e-8 and r.iterations <= 4
        verify_solution(m, r)
        d = ed.hartree_solve(m, starts=(), init_density=x, method="newton", warmup=0)
        assert d.energy == pytest.approx(r.energy, abs=1e-9)
    short = trust_solve(m, h0, x, 1e-8, 1)
    assert not short.converged and short.residual > 1e-8


def test_twisted_model_uses_the_descent():
    """A twisted (complex) model is solved by the descent path under the default method,
    the same solution as method "newton"."""
    m = make(J=3.0, seed=2).with_twist((0.3, 0.0, 0.0))
    a = ed.hartree_solve(m, seed=1)
    b = ed.hartree_solve(m, seed=1, method="newton")
    assert a.converged and np.iscomplexobj(a.orbitals)
    assert a.energy == pytest.approx(b.energy, abs=1e-9)


CONTINUED = """
engine = "hartree"
seed = 5
realizations = 2
[model]
L = [4, 4, 4]
t = 1.0
W = 0.0
[scan]
J = [2.0, 3.0, 4.0]
[options]
continue_along = "J"
"""


def test_scan_continuation_reproduces_a_chain_of_warm_starts(tmp_path):
    """continue_along = "J": the first value is a cold solve (the same as without the
    option), each later one starts from the previous value's solution of the same
    realisation, without warm-up: the result equals that chain done by hand with
    hartree_solve, and the chain's diagonalisations are recorded."""
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    from simglass.tasks import build_model
    from conftest import task_datasets
    job = parse_job(CONTINUED)
    run_job(job, output=str(tmp_path / "c.h5"), progress=False)
    cold = parse_job(CONTINUED.replace('continue_along = "J"', ""))
    run_job(cold, output=str(tmp_path / "d.h5"), progress=False)
    c, d = task_datasets(tmp_path / "c.h5"), task_datasets(tmp_path / "d.h5")
    for r in range(2):
        first = c[f"p0000_r{r:05d}"]
        assert first["energy"] == d[f"p0000_r{r:05d}"]["energy"] and first["chain_iterations"] == 0
        density, chain = first["density"], first["iterations"]
        for p, J in ((1, 3.0), (2, 4.0)):
            m = build_model({**job.points()[p]}, job.seed, r)
            h = ed.hartree_solve(m, starts=(), init_density=density, warmup=0)
            rec = c[f"p{p:04d}_r{r:05d}"]
            assert np.array_equal(rec["density"], h.density) and rec["energy"] == h.energy
            assert rec["iterations"] == h.iterations and rec["chain_iterations"] == chain
            assert rec["chain_sound"] and rec["converged"]
            density, chain = h.density, chain + h.iterations


def test_scan_continuation_follows_the_scan_order_with_repeated_values(tmp_path):
    """J = [2, 3, 2] (up and down again): the third point continues from the second, it
    is not the first point's cold solve again."""
    from simglass.jobfile import parse_job
    from simglass.runner import run_job
    from conftest import task_datasets
    job = parse_job(CONTINUED.replace("J = [2.0, 3.0, 4.0]", "J = [2.0, 3.0, 2.0]")
                    .replace("realizations = 2", "realizations = 1"))
    run_job(job, output=str(tmp_path / "c.h5"), progress=False)
    c = task_datasets(tmp_path / "c.h5")
    first, second, third = (c[f"p{p:04d}_r00000"] for p in range(3))
    assert third["chain_iterations"] == first["iterations"] + second["iterations"]
    assert third["start"] == "continued" and first["start"] == "classical"


def test_continue_along_needs_a_scanned_key():
    from simglass.jobfile import parse_job
    from simglass.options import InputError
    with pytest.raises(InputError, match="options.continue_along = 'W'"):
        parse_job(CONTINUED.replace('continue_along = "J"', 'continue_along = "W"'))
    with pytest.raises(InputError, match="options.continue_along"):
        parse_job(CONTINUED.replace('continue_along = "J"', 'continue_along = "density"'))


def test_trust_falls_back_to_the_descent_within_the_budget(monkeypatch):
    """When the trust region does not verify, the descent continues from its density;
    diagonalisations of both are counted and stay within max_iter."""
    import simglass.ed.hartree_trust as T
    orig = T.trust_solve

    def failing(*a, **k):
        r = orig(*a, **{**k, "max_outer": 1})
        assert not r.converged
        return r
    monkeypatch.setattr(T, "trust_solve", failing)
    m = make(J=3.0, seed=2)
    h = ed.hartree_solve(m, seed=1, max_iter=60)
    assert h.converged and h.iterations <= 60
    verify_solution(m, h)
    for max_iter in (1, 2, 3, 5, 12):
        short = ed.hartree_solve(m, seed=1, max_iter=max_iter, starts=("random",))
        assert short.iterations <= max_iter, max_iter


def test_steihaug_step():
    """The truncated CG step: the Newton step inside a large region, the boundary of a
    small one, and the boundary along negative curvature."""
    from simglass.ed.hartree_trust import _steihaug
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 6))
    H = A @ A.T + np.eye(6)
    g = 1e-6 * rng.standard_normal(6)

    def hess(y):
        return H @ y
    y, _ = _steihaug(hess, g, 1.0, 50)
    assert np.allclose(y, -np.linalg.solve(H, g), rtol=1e-2, atol=0)
    y, used = _steihaug(hess, 1e3 * g, 1e-5, 50)
    assert np.linalg.norm(y) == pytest.approx(1e-5) and used == 1
    D = np.diag([1.0, 2.0, -1.0])
    y, _ = _steihaug(lambda v: D @ v, np.array([0.0, 0.0, 1e-3]), 0.5, 50)
    assert np.linalg.norm(y) == pytest.approx(0.5) and y[2] < 0


@pytest.mark.parametrize("a,b", [(1.0, 10.0), (0.01, 30.0), (1e-4, 40.0), (0.3, 0.3), (1.0, 50.0), (0.1, 20.0)]
                         + [(1.0, 10.0 ** d) for d in range(2, 11)])
def test_exp_sum_relative_error(a, b):
    """ed.response.exp_sum: 1/z ≈ Σ w exp(-s z) with positive weights, within
    EXP_SUM_ERROR of 1/z everywhere on [a, b] (direct evaluation on a fine grid; the
    last cases cover the whole interval of every fit from 2 to 10 decades)."""
    from simglass.ed.response import EXP_SUM_ERROR, exp_sum
    s, w = exp_sum(a, b)
    z = np.geomspace(a, b, 40001)
    assert np.all(w > 0)
    assert np.abs(np.exp(-np.outer(z, s)) @ w * z - 1).max() <= EXP_SUM_ERROR


def w0_model(L, J, seed):
    lat = Lattice((L, L, L))
    d = sample_disorder(lat, J=J, seed=seed, compensate=True, density=0.5)
    return Model(lat, 1.0, d.V, d.eps, density=0.5)


def test_dense_response_against_its_columns():
    """ed.response.chi0_dense against -χ⁰ built column by column from Response.chi0 (the
    sum over pairs), at a Hartree solution with a small gap at μ: elementwise within
    1e-4 of max |χ⁰|, and its Loewner bound: x·G̃x / x·Gx within 1e-4 of 1."""
    from simglass.ed.response import Response, chi0_dense
    m = w0_model(6, 3.5, 1)
    h = ed.hartree_solve(m, seed=1)
    nf, N = m.n_particles, m.n_sites
    R = Response(h.levels, h.orbitals, nf)
    G = -np.column_stack([R.chi0(e) for e in np.eye(N)])
    Gd = chi0_dense(h.levels, h.orbitals, nf)
    assert np.abs(Gd - G).max() <= 1e-4 * np.abs(G).max()
    g, U = np.linalg.eigh(G)                 # the generalised eigenvalues of (G̃, G) on G's range
    keep = g > 1e-6 * g.max()
    A = U[:, keep] / np.sqrt(g[keep])
    ratio = np.linalg.eigvalsh(A.T @ Gd @ A)
    assert np.abs(ratio - 1).max() <= 1e-4


@pytest.mark.parametrize("L,J,seed", [(5, 3.5, 0), (6, 3.5, 1), (6, 5.0, 2), (6, 8.0, 3)])
def test_stability_from_the_dense_response_against_lanczos(L, J, seed):
    """hessian_min's default path (Arnoldi on G̃ V) against Lanczos on the orbital
    Hessian to 1e-10, at solutions from random starts: the same lowest eigenvalue within
    1e-4, and the same softest density mode."""
    from simglass.ed.response import Response, hessian_min
    m = w0_model(L, J, seed)
    h = ed.hartree_solve(m, seed=seed, starts=("random",))
    nf = m.n_particles
    R = Response(h.levels, h.orbitals, nf, 1e-10)
    dense, mode = hessian_min(R, m.V)
    assert R.products == 0                   # the dense path: no product of the orbital Hessian
    exact, mode0 = hessian_min(Response(h.levels, h.orbitals, nf, 1e-10), m.V, tol=1e-10, margin=0)
    assert dense == pytest.approx(exact, abs=1e-4)
    assert h.stability == pytest.approx(exact, abs=1e-4)
    cos = abs(mode @ mode0) / np.linalg.norm(mode) / np.linalg.norm(mode0)
    assert cos > 0.99


@pytest.mark.parametrize("L,J,seed", [(4, 3.0, 0), (5, 4.0, 1), (6, 3.5, 2), (6, 6.0, 3)])
def test_newton_finish_returns_to_the_solution(L, J, seed):
    """ed.hartree_descent.newton_finish from a solution's density moved by 1e-3 (particle
    number kept): back to the same solution, verified independently, in at most 6
    diagonalisations, with the preconditioned GMRES using at most 8 χ⁰ products per
    step."""
    from simglass.ed.hartree import bare_hamiltonian
    from simglass.ed.hartree_descent import newton_finish
    m = w0_model(L, J, seed)
    h = ed.hartree_solve(m, seed=seed, starts=("random",))
    kick = np.random.default_rng(seed).standard_normal(m.n_sites)
    x = h.density + 1e-3 * (kick - kick.mean()) / np.abs(kick).max()
    r = newton_finish(m, bare_hamiltonian(m), x, 1e-8, max_diag=20)
    assert r.converged and r.iterations <= 6
    assert r.response_products <= 8 * (r.iterations - 1)
    assert np.abs(r.density - h.density).max() <= 1e-7
    assert r.energy == pytest.approx(h.energy, abs=1e-8)
    verify_solution(m, r)


@pytest.mark.parametrize("J", [3.5, 5.0])
def test_solutions_from_random_starts_verified(J):
    """The default solver (trust region, Newton finish, dense stability check) on the
    W̃ = 0 axis at L = 4-6 from random starts: converged to 1e-8, verified independently
    (rebuilt h, aufbau, same density, E_H from its definition), and its stability flag
    agrees with Lanczos on the orbital Hessian."""
    from simglass.ed.response import Response, hessian_min
    for L in (4, 5, 6):
        for seed in range(3):
            m = w0_model(L, J, 100 + seed)
            h = ed.hartree_solve(m, seed=seed, starts=("random",))
            assert h.converged and h.residual <= 1e-8, (L, seed, h.residual)
            verify_solution(m, h)
            lam, _ = hessian_min(Response(h.levels, h.orbitals, m.n_particles, 1e-10), m.V,
                                 tol=1e-10, margin=0)
            assert h.stable == (lam >= -1e-6) and h.stability == pytest.approx(lam, abs=1e-4)


def test_newton_finish_does_not_go_to_a_saddle_point():
    """Near the uniform saddle point of mattis_model (above its instability), Newton on
    the density would converge back to the saddle: newton_finish sees λ_max(G̃ V) > 1 and
    returns unconverged without a step, so that the trust region goes downhill."""
    from simglass.ed.hartree import bare_hamiltonian
    from simglass.ed.hartree_descent import newton_finish
    m0, e = mattis_model(1.0)
    m, _ = mattis_model(1.5 / staggered_response(m0, e))
    x = np.full(m.n_sites, 7 / 64) + 1e-3 * e / 2
    r = newton_finish(m, bare_hamiltonian(m), x, 1e-8, max_diag=20)
    assert not r.converged and r.iterations == 1 and r.response_products == 0
