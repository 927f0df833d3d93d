"""Static density response of a single-particle Hamiltonian and the stability of a
Hartree solution (docs/conventions.md), applied as operators from the eigenpairs of h.

For h with eigenpairs (E, ψ) and the lowest N_f levels occupied (i occupied, a empty),
a potential change δv_l on the sites changes the density by δn = χ⁰ δv,

    χ⁰_kl = Σ_{i occ, a emp} [ψ_i*(k) ψ_a(k) ψ_a*(l) ψ_i(l) + c.c.] / (E_i - E_a)   (≤ 0),

first-order perturbation theory.  One product χ⁰ w costs two dense matrix products of
N × N_occ × N_emp (about 0.06 of one eigh of h at N = 512:
benchmarks/hartree.py), instead of building χ⁰ (N⁴ / 4).

Stability.  E_H of the relaxed density matrix D, E = Tr(h0 D) - ½ n·V·n with
n = diag D (h0 = -t A + diag eps), changes to second order under a particle-conserving
rotation of real orbitals ψ_i -> ψ_i + Σ_a κ_ai ψ_a (a stationary, aufbau-filled D) by

    δ²E = Σ_ai κ_ai² (E_a - E_i) - 2 (Bκ)·V·(Bκ),   (Bκ)(k) = Σ_ai κ_ai ψ_a(k) ψ_i(k),

so with y = Δ^{1/2} κ the Hessian is I - K, K = C^T V C, C = √2 B Δ^{-1/2}, and
-χ⁰ = C C^T.  The solution is a local minimum of E_H when λ_max(K) <= 1 (equivalently
every eigenvalue of -χ⁰ V is at most 1, the static dielectric condition); a saddle
point has λ_max(K) > 1.  ``hessian_min`` returns 1 - λ_max(K), the lowest eigenvalue
of the Hessian in the metric Δ (dimensionless).  The nonzero eigenvalues of K are those
of the N × N matrix G V, G = -χ⁰ = C Cᵀ, so λ_max(K) is found from ``chi0_dense``, an
approximation G̃ with (1 - ε) G ≼ G̃ ≼ (1 + ε) G on the range of G (``exp_sum``,
ε = EXP_SUM_ERROR = 7e-5, plus single-precision rounding), by Arnoldi on G̃ V at O(N²) per product.  Lanczos on K itself (its products
cost about 0.1 eigh each at N = 1000) is used where G̃ does not decide: 1 - λ_max
within ``margin`` of 0, a tolerance below 1e-4, a degenerate Fermi shell, or fewer
than 64 level pairs.

Exponential sum.  1/z ≈ Σ_q w_q exp(-s_q z) on [a, b] with w_q > 0, fitted in relative
error by non-negative least squares on fixed exponents (3 per decade of b/a): with
positive weights every pair's 1/(E_a - E_i) is approximated to the same relative error,
so G̃ - G is bounded by ε G in the Loewner order and λ_max(G̃ V) by ε λ_max(G V).  The
exponents split, exp(-s (E_a - E_i)) = exp(-s (E_a - μ)) exp(-s (μ - E_i)), so that

    G̃ = 2 Σ_q w_q (Y e_q^o Yᵀ) ∘ (Z e_q^v Zᵀ),   e_q^o = exp(-s_q (μ - E_i)),

two symmetric rank-k updates per term (Braess & Hackbusch, IMA J. Numer. Anal. 25,
685 (2005), for such sums; the Laplace-transform factorisation of energy denominators
is that of Almlöf, Chem. Phys. Lett. 181, 319 (1991)).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigs, eigsh

__all__ = ["Response", "hessian_min", "chi0_dense", "exp_sum", "softest_mode"]

EXP_SUM_ERROR = 7e-5     # max relative error of exp_sum's 1/z (3 exponents per decade;
                         # tests/test_hartree.py checks every fit of 1-10 decades)


class Response:
    """χ⁰ of h as an operator.

    Parameters
    ----------
    levels : (N,) ascending eigenvalues of h.
    orbitals : (N, N) eigenvectors in columns (real or complex).
    n_particles : number of occupied levels N_f, 0 < N_f < N.
    deg_tol : pairs with E_a - E_i <= deg_tol (a degenerate Fermi shell) are left out.

    ``products`` counts the operator applications (χ⁰ w or K x).
    """

    def __init__(self, levels, orbitals, n_particles, deg_tol=0.0):
        nf = int(n_particles)
        self.occ = orbitals[:, :nf]
        self.emp = orbitals[:, nf:]
        gap = levels[None, nf:] - levels[:nf, None]          # (N_occ, N_emp), >= 0
        keep = gap > deg_tol
        self.inv_gap = np.where(keep, 1.0 / np.where(keep, gap, 1.0), 0.0)
        self.real = not np.iscomplexobj(orbitals)
        self.levels_occ, self.levels_emp = levels[:nf], levels[nf:]
        self.products = 0

    def _ov(self, w):
        """<a|diag w|i> arranged as (N_occ, N_emp)."""
        return self.occ.T @ (w[:, None] * self.emp.conj())

    def _site(self, X):
        """Σ_ia 2 Re ψ_i*(k) ψ_a(k) X_ia for X of shape (N_occ, N_emp); shape (N,)."""
        return 2 * np.real(np.einsum("ki,ki->k", self.occ.conj(), self.emp @ X.T))

    def chi0(self, w):
        """χ⁰ w: the density change (N,) for the potential change w (N,)."""
        self.products += 1
        return -self._site(self._ov(np.asarray(w, dtype=float)) * self.inv_gap)


@lru_cache(maxsize=64)
def _unit_exp_sum(decades):
    """Exponents and weights of 1/z on [1, 10^decades] (exp_sum)."""
    from scipy.optimize import nnls
    b = 10.0 ** decades
    z = np.geomspace(1.0, b, 60 * decades + 60)
    s = np.geomspace(0.02 / b, 30.0, 3 * decades + 10)
    w, _ = nnls(np.exp(-np.outer(z, s)) * z[:, None], np.ones_like(z), maxiter=50000)
    keep = w > 0
    return s[keep], w[keep]


def exp_sum(a, b):
    """(s, w): 1/z ≈ Σ_q w_q exp(-s_q z) for a <= z <= b (0 < a <= b), all w_q > 0, max
    relative error EXP_SUM_ERROR (module docstring); 12-27 terms for b/a = 10-10⁶."""
    if not 0 < a <= b:
        raise ValueError(f"exp_sum needs 0 < a <= b, got a={a!r}, b={b!r}")
    s, w = _unit_exp_sum(max(1, int(np.ceil(np.log10(b / a) - 1e-9))))
    return s / a, w / a


def chi0_dense(levels, orbitals, n_particles):
    """G̃ ≈ -χ⁰ (N, N), float64, within (1 ± EXP_SUM_ERROR) G in the Loewner order on the
    range of G, for real orbitals (N, N) with a gap E_{N_f} > E_{N_f - 1} (module
    docstring; single-precision products add ~1e-6 relative rounding, and G̃'s value on
    G's null vector, the uniform density change, is rounding, not exactly 0).

    Raises ValueError for complex orbitals, n_particles outside 1 .. N - 1, or no gap."""
    from scipy.linalg.blas import ssyrk
    nf = int(n_particles)
    E = np.asarray(levels, dtype=float)
    if np.iscomplexobj(orbitals):
        raise ValueError("chi0_dense needs real orbitals (an untwisted h)")
    if not 0 < nf < E.size:
        raise ValueError(f"chi0_dense needs n_particles in 1 .. {E.size - 1}, got {n_particles!r}")
    gap = E[nf] - E[nf - 1]
    if not gap > 0:
        raise ValueError("chi0_dense needs a gap at the Fermi level")
    mu = 0.5 * (E[nf] + E[nf - 1])
    s, w = exp_sum(gap, E[-1] - E[0])
    occ, emp = orbitals[:, :nf], orbitals[:, nf:]
    G = np.zeros((E.size, E.size), dtype=np.float32)
    for sq, wq in zip(s, w):
        # a level whose factor is below 1e-7 is left out of the term: then s_q Δ > 32 for
        # each of its pairs (Δ = E_a - E_i), whose share w_q exp(-s_q Δ) < 32 e^-32 (w_q/s_q)/Δ
        # is below 1.2e-11 of 1/Δ (w_q/s_q < 30); the large-s terms shrink to the levels
        # near μ, and subnormal numbers (slow arithmetic) stay out of the products
        fo, fv = np.exp(-0.5 * sq * (mu - E[:nf])), np.exp(-0.5 * sq * (E[nf:] - mu))
        io, iv = fo > 1e-7, fv > 1e-7
        a = np.asfortranarray(occ[:, io] * fo[io], dtype=np.float32)
        b = np.asfortranarray(emp[:, iv] * fv[iv], dtype=np.float32)
        G += np.float32(2 * wq) * ssyrk(1.0, a) * ssyrk(1.0, b)     # upper triangles
    G = G.astype(float)
    return G + np.triu(G, 1).T


def hessian_min(response, V, tol=1e-4, maxiter=500, rng=None, margin=1e-3):
    """1 - λ_max(K): the lowest eigenvalue of the orbital Hessian of E_H (module
    docstring), >= 0 at a local minimum, < 0 at a saddle point, and the site-density
    change of that softest rotation.

    Parameters
    ----------
    response : Response of the self-consistent h.
    V : (N, N) couplings.
    tol : relative accuracy of the Lanczos eigenvalue.
    rng : numpy Generator for ARPACK's start vector (default: a fixed one, seed 0). The
        start vector is always given, so the same inputs give the same result (without
        it ARPACK draws its own, different on every call).
    margin : with a gap at μ (no level pair left out), at least 64 level pairs and
        tol >= 1e-4, 1 - λ_max(G̃ V) from ``chi0_dense`` is returned when its modulus
        exceeds ``margin`` (its error is below 1e-4 λ_max); otherwise Lanczos on K
        (tolerance ``tol``), started from the rotation of G̃'s softest mode when G̃ was
        built, else from a random vector (``rng``).  0 always uses Lanczos from a random
        vector.  The random start is drawn in every case, so that the generator's state
        afterwards does not depend on the path.

    Returns
    -------
    (stability, mode): stability a float (NaN for complex orbitals, a twisted h: not
    checked); mode the (N,) density change C y of the softest rotation normalised to
    max |.| = 1, or None when not checked.
    """
    s = np.sqrt(response.inv_gap)
    if not response.real:
        return float("nan"), None
    if s.size == 0:
        return 1.0, None

    def K(x):                                     # C^T V C y = 2 Δ^-½ B^T V B Δ^-½ y
        response.products += 1
        return (response._ov(V @ response._site(x.reshape(s.shape) * s)) * s).ravel()
    if s.size <= 2:
        dense = np.column_stack([K(e) for e in np.eye(s.size)])
        w, y = np.linalg.eigh(0.5 * (dense + dense.T))
    else:
        v0 = (np.random.default_rng(0) if rng is None else rng).standard_normal(s.size)
        if margin > 0 and np.all(response.inv_gap > 0) and s.size >= 64:
            # G̃'s eigenvalue is within ~1e-4 λ_max (EXP_SUM_ERROR and single precision):
            # returned for tol >= 1e-4, a start for Lanczos below
            lam, x = _dense_softest(response, V)
            if abs(1.0 - lam) > margin and tol >= 1e-4:
                return float(1.0 - lam), x / max(np.abs(x).max(), 1e-300)
            v0 = (response._ov(V @ x) * s).ravel()      # Cᵀ V x: the softest rotation of G̃
        w, y = eigsh(LinearOperator((s.size, s.size), matvec=K, dtype=float), k=1, which="LA",
                     tol=tol, maxiter=maxiter, ncv=min(s.size, 20), v0=v0)
    dn = response._site(y[:, -1].reshape(s.shape) * s)
    return float(1.0 - w[-1]), dn / max(np.abs(dn).max(), 1e-300)


def _dense_softest(response, V):
    """(λ_max(G̃ V), its eigenvector (N,)) with G̃ = chi0_dense of the response's h: the
    softest density mode (softest_mode)."""
    levels = np.concatenate([response.levels_occ, response.levels_emp])
    orbitals = np.hstack([response.occ, response.emp])
    return softest_mode(chi0_dense(levels, orbitals, response.occ.shape[1]), V)


def softest_mode(G, V):
    """(λ_max(G V), its eigenvector (N,), real) for G (N, N) positive semidefinite and V
    (N, N) symmetric, by Arnoldi (ARPACK, fixed start, tol 1e-10): G V has a real
    spectrum (similar to G^½ V G^½)."""
    N = G.shape[0]
    op = LinearOperator((N, N), matvec=lambda x: G @ (V @ x), dtype=float)
    v0 = np.ones(N) + np.linspace(-0.5, 0.5, N)
    lam, x = eigs(op, k=1, which="LR", tol=1e-10, v0=v0, ncv=min(N, 40))
    x = x[:, 0]
    x = x * np.conj(x[np.argmax(np.abs(x))])           # a real vector up to its phase
    return float(lam[0].real), np.real(x)
