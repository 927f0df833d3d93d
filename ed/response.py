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
of the Hessian in the metric Δ (dimensionless), by Lanczos on K.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

__all__ = ["Response", "hessian_min"]


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


def hessian_min(response, V, tol=1e-4, maxiter=500, rng=None):
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
        w, y = eigsh(LinearOperator((s.size, s.size), matvec=K, dtype=float), k=1, which="LA",
                     tol=tol, maxiter=maxiter, ncv=min(s.size, 20), v0=v0)
    dn = response._site(y[:, -1].reshape(s.shape) * s)
    return float(1.0 - w[-1]), dn / max(np.abs(dn).max(), 1e-300)
