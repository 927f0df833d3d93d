"""Energy descent with a Newton–Krylov finish for the T = 0 Hartree equations
(``hartree_solve(method="newton")``; also the fallback of the default "trust",
ed.hartree_trust).

E_H as a functional of the relaxed one-body density matrix D (0 <= D <= 1, Tr D = N_f),

    E[D] = Tr(h0 D) - ½ n·V·n,   n = diag D,   h0 = -t A + diag eps,

is quadratic, and its derivative is h[n] = h0 - diag(V n).  The aufbau projector P of
h[n] minimises Tr(h[n] D) over the relaxed set: it is the Frank–Wolfe direction, and
Tr(h[n](P - D)) <= 0 the duality gap.  Along any convex combination of such projectors
the exact energy is known from two numbers per projector, T_k = Tr(h0 P_k) and n_k:

    E[Σ c_k P_k] = Σ c_k T_k - ½ (Σ c_k n_k)·V·(Σ c_k n_k),

so the optimal-damping step (ODA, Cancès & Le Bris, Int. J. Quantum Chem. 79, 82
(2000)) and its many-point form EDIIS (Kudin, Scuseria & Cancès, J. Chem. Phys. 116,
8255 (2002)) are exact here: each diagonalisation adds a projector, and the next
density minimises E over the simplex of the current point and the last ``history``
projectors (a local minimum of a small quadratic program, started from the ODA step,
so every step is at least as good as ODA and E never rises).

Once the residual max |F(n) - n| of the aufbau map F is below ``newton_below`` (and h
has a gap at μ), Newton steps solve (1 + χ⁰ V) δ = F(n) - n by GMRES (at most
``max_krylov`` products), with the static response χ⁰ of h[n] applied from its
eigenpairs (ed.response; a product costs about 0.06 of a diagonalisation at N = 512), and
n <- n + δ, δ scaled down to max |δ| <= ``max_step`` (near a level crossing at μ the
Newton step is unreliable): quadratic convergence to max |Δn| <= tol.  When a Newton
step does not reduce the residual by the factor ``contraction``, descent resumes from
the last relaxed point, and the projector of the failed Newton point joins its simplex.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.sparse.linalg import LinearOperator, gmres

from .hartree import aufbau, energy_scale, finish, shifted
from .response import Response, chi0_dense, softest_mode

__all__ = ["descent_solve", "newton_finish"]


def simplex_minimum(T, G, c0):
    """A local minimum of f(c) = c·T - ½ cᵀ G c over the simplex c >= 0, Σ c = 1,
    reached from c0 (SLSQP); c0 itself when SLSQP does not improve on it."""
    T = np.asarray(T, dtype=float) - T[0]        # a constant on the simplex

    def f(c):
        return c @ T - 0.5 * c @ G @ c
    r = minimize(f, c0, jac=lambda c: T - G @ c, method="SLSQP", bounds=[(0.0, 1.0)] * len(c0),
                 constraints=({"type": "eq", "fun": lambda c: c.sum() - 1.0,
                               "jac": lambda c: np.ones_like(c)},),
                 options={"ftol": 1e-16, "maxiter": 100})
    c = np.clip(r.x, 0.0, None)
    c /= c.sum()
    return c if f(c) < f(c0) else np.asarray(c0, dtype=float)


def oda_weight(s, curv):
    """argmin over λ in [0, 1] of s λ + ½ curv λ² (the optimal-damping step)."""
    if curv > 0:
        return float(np.clip(-s / curv, 0.0, 1.0))
    return 1.0 if s + 0.5 * curv < 0 else 0.0


def descent_solve(model, h0, n0, tol, max_iter, history=8, newton_below=0.1, contraction=0.8,
                  max_krylov=60, max_step=0.3):
    """Solve the Hartree equations from the start density ``n0`` (module docstring).

    Returns a HartreeResult (``finish``) with ``response_products`` set.
    """
    nf, V = model.n_particles, model.V
    deg_tol = 1e-10 * energy_scale(model)
    x = np.array(n0, dtype=float)
    verts_n, verts_T = [], []          # projectors P_k: densities and Tr(h0 P_k)
    cur = None                         # current relaxed point (n, T)
    res_prev, newton, products, it = np.inf, False, 0, 0
    while True:
        E, psi = np.linalg.eigh(shifted(h0, -(V @ x)))
        it += 1
        n_out, occ, deg = aufbau(E, psi, nf, deg_tol)
        res = float(np.abs(n_out - x).max())
        if res <= tol or it >= max_iter:
            break
        T_out = float(occ @ E + n_out @ (V @ x))        # Tr(h0 P), h0 = h[x] + diag(V x)
        verts_n.append(n_out)
        verts_T.append(T_out)
        verts_n, verts_T = verts_n[-history:], verts_T[-history:]
        if cur is None:                                  # the first projector
            cur = (n_out, T_out)
            x = n_out
            continue
        if newton and res > contraction * res_prev:      # Newton lost its way: back to descent,
            newton = False                               # its projector joins the simplex
        elif (newton or res < newton_below) and E[nf] - E[nf - 1] > deg_tol:
            newton, res_prev = True, res
            R = Response(E, psi, nf, deg_tol)
            A = LinearOperator((x.size, x.size), matvec=lambda v: v + R.chi0(V @ v), dtype=float)
            delta, _ = gmres(A, n_out - x, rtol=min(1e-2, res), atol=0.0, restart=max_krylov,
                             maxiter=1)
            products += R.products
            step = np.abs(delta).max()
            x = x + delta * min(1.0, max_step / step) if step > 0 else x
            continue
        cur = _descend(cur, verts_n, verts_T, V)
        x = cur[0]
    r = finish(model, x, E, psi, occ, deg, res, tol, it)
    r.response_products = products
    return r


def _descend(cur, verts_n, verts_T, V):
    """Energy minimum over the simplex of the current point and the projectors."""
    n_c, T_c = cur
    Ns = np.vstack([n_c] + verts_n)
    Ts = np.array([T_c] + verts_T)
    G = Ns @ V @ Ns.T
    # ODA between the current point and the newest projector as the starting point
    d = Ns[-1] - n_c
    s = (Ts[-1] - T_c) - d @ (V @ n_c)                # Tr(h[n_c] (P - D)) <= 0
    lam = oda_weight(s, -(d @ V @ d))
    c0 = np.zeros(len(Ts))
    c0[0], c0[-1] = 1.0 - lam, lam
    c = simplex_minimum(Ts, G, c0) if len(Ts) > 2 else c0
    return c @ Ns, float(c @ Ts)


def newton_finish(model, h0, x, tol, max_diag, contraction=1.0, max_krylov=20, max_step=0.3,
                  curvature=1e-3):
    """Newton on the density from x near a solution (the local phase of ed.hartree_trust):
    (1 + χ⁰ V) δ = F(x) - x by GMRES with exact χ⁰ products (ed.response.Response),
    preconditioned by the LU factors of 1 - G̃ V, G̃ = ed.response.chi0_dense of the first
    diagonalisation (kept for the later steps), and x <- x + δ.  The preconditioner
    leaves GMRES a few products per step (tests/test_hartree.py bounds them by 8) where
    the unpreconditioned orbital Hessian needed many on its soft modes; the steps
    converge quadratically.

    Returns a HartreeResult (ed.hartree.finish of the last diagonalisation, its
    ``iterations`` the diagonalisations, ``response_products`` the χ⁰ products), not
    converged when h[x] has no gap at μ, λ_max(G̃ V) >= 1 - ``curvature`` at the start
    (the orbital Hessian there has a negative or nearly zero eigenvalue: Newton would go
    to the nearest stationary point, possibly a saddle point, where the trust region
    follows the negative curvature downhill), a step (first the preconditioner's own, then
    GMRES's) would change a density by more than ``max_step`` (1 - G V nearly singular:
    not yet the local phase; no diagonalisation is spent on it), a step does not reduce max |F(x) - x| by the factor ``contraction``,
    or ``max_diag`` diagonalisations are used: the caller then goes on from its own
    point.
    """
    from scipy.linalg import lu_factor, lu_solve
    nf, V = model.n_particles, model.V
    deg_tol = 1e-10 * energy_scale(model)
    x = np.array(x, dtype=float)
    E, psi = np.linalg.eigh(shifted(h0, -(V @ x)))
    n_out, occ, deg = aufbau(E, psi, nf, deg_tol)
    res, diags, products, lu = float(np.abs(n_out - x).max()), 1, 0, None
    while res > tol and diags < max_diag and E[nf] - E[nf - 1] > deg_tol:
        if lu is None:
            G = chi0_dense(E, psi, nf)
            if not softest_mode(G, V)[0] < 1.0 - curvature:
                break        # not inside a minimum's basin: Newton would go to a saddle point
            lu = lu_factor(np.eye(x.size) - G @ V)
        if not np.abs(lu_solve(lu, n_out - x)).max() <= max_step:
            break                               # the preconditioner's step: O(N²), no products
        R = Response(E, psi, nf, deg_tol)
        A = LinearOperator((x.size, x.size), matvec=lambda v: v + R.chi0(V @ v), dtype=float)
        M = LinearOperator((x.size, x.size), matvec=lambda v: lu_solve(lu, v), dtype=float)
        delta, _ = gmres(A, n_out - x, rtol=min(1e-2, res), atol=0.0, restart=max_krylov, maxiter=1, M=M)
        products += R.products
        if not np.abs(delta).max() <= max_step:     # 1 - G V nearly singular (or NaN)
            break
        x_new = x + delta
        E_new, psi_new = np.linalg.eigh(shifted(h0, -(V @ x_new)))
        diags += 1
        n_new, occ_new, deg_new = aufbau(E_new, psi_new, nf, deg_tol)
        res_new = float(np.abs(n_new - x_new).max())
        if not (res_new <= contraction * res or res_new <= tol):
            break
        x, E, psi, n_out, occ, deg, res = x_new, E_new, psi_new, n_new, occ_new, deg_new, res_new
    r = finish(model, x, E, psi, occ, deg, res, tol, diags)
    r.response_products = products
    return r
