"""Trust-region Newton on the occupied orbitals for the T = 0 Hartree equations
(``hartree_solve(method="trust")``, the default).

E_H over Slater determinants P = Y Yᵀ (Y: N × N_f orthonormal occupied orbitals, real),

    E[P] = Tr(h0 P) - ½ n·V·n,   n = diag P,   h[n] = h0 - diag(V n),

is a smooth function of the occupied subspace, also where levels cross at μ (where the
aufbau map, and Newton steps on the density, jump).  With Z an orthonormal basis of the
empty space, the subspaces near P are reached by κ of shape (N - N_f, N_f),

    Y(κ) = (Y + Z κ) L⁻ᵀ,   L Lᵀ = 1 + κᵀκ   (Cholesky),
    Z(κ) = (Z - Y κᵀ) M⁻ᵀ,  M Mᵀ = 1 + κ κᵀ,

an orthonormal pair again.  To second order in κ (F = [Y Z]ᵀ h[n] [Y Z] in blocks),

    E(κ) = E + g·κ + ½ κ·Hκ,   g = 2 F_vo,
    Hκ = 2 (F_vv κ - κ F_oo) - 4 Bᵀ V B κ,   (Bκ)(k) = Σ_ai κ_ai Z_ka Y_ki,

the orbital Hessian of ed.response at a stationary point.  Each step solves the Newton
equation approximately by Steihaug–Toint conjugate gradients inside a trust region
(preconditioned by the diagonal level differences F_vv,aa - F_oo,ii, which also set the
metric of the radius), evaluates E(κ) exactly (dense products, no diagonalisation:
a trial costs a few tenths of one eigh), and accepts the step and adapts the radius by
the ratio of actual to predicted decrease: Nocedal & Wright, Numerical Optimization
(2nd ed., 2006), Algorithms 4.1 and 7.2; the same globalisation as trust-region SCF
(Høst, Olsen, Jansík, Thøgersen, Jørgensen & Helgaker, J. Chem. Phys. 129, 124106
(2008)).  E never rises (beyond its rounding, 1e-11 |E|), and negative curvature (a
saddle point of E) is followed to the trust-region boundary, downhill.

The search stops when max |g| <= gtol; one diagonalisation of h[n] then verifies the
solution: its aufbau density must equal n to ``tol``.  If it does not (gtol too loose)
gtol is lowered and the search goes on; a minimum over determinants that violates the
aufbau principle, or ``max_outer`` steps, is returned unconverged (the caller falls
back to ed.hartree_descent).  Diagonalisations: the start, each verification and those
of the Newton finish below.

The local phase goes to Newton on the density (ed.hartree_descent.newton_finish, with
the explicit response of ed.response.chi0_dense as its preconditioner) once an accepted
step lies inside the radius and max |g| <= ``newton_at`` × energy scale: near a solution
the orbital Hessian's soft modes (eigenvalues down to 1e-2 of the level gaps) cost the
conjugate gradients many products per step, the preconditioned Newton few
(benchmarks/hartree.py --previous counts both).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cholesky, solve_triangular

from .hartree import aufbau, energy_scale, finish, shifted
from .hartree_descent import newton_finish

__all__ = ["trust_solve", "hessian_product", "rotate"]


class _Point:
    """A determinant: orbitals Y (N, N_f) occupied and Z (N, N - N_f) empty, density n,
    V n, h0 Y and E_H (hop: the sparse -t A; eps: (N,) onsite energies)."""

    def __init__(self, Y, Z, hop, eps, V):
        self.Y, self.Z = Y, Z
        self.n = np.einsum("ki,ki->k", Y, Y)
        self.Vn = V @ self.n
        self.h0Y = hop @ Y + eps[:, None] * Y
        self.E = float(np.einsum("ki,ki->", Y, self.h0Y) - 0.5 * self.n @ self.Vn)

    def blocks(self, hop, eps):
        """F_oo (N_f, N_f), F_vv (N - N_f, N - N_f) of h[n], and the gradient g = 2 F_vo."""
        Y, Z = self.Y, self.Z
        hY = self.h0Y - self.Vn[:, None] * Y
        hZ = hop @ Z + (eps - self.Vn)[:, None] * Z
        return Y.T @ hY, Z.T @ hZ, 2.0 * (Z.T @ hY)


def hessian_product(Y, Z, Foo, Fvv, V, k):
    """Hκ = 2 (F_vv κ - κ F_oo) - 4 Bᵀ V B κ (module docstring), κ of shape (N - N_f, N_f)."""
    Bk = np.einsum("ki,ki->k", Y, Z @ k)
    return 2.0 * (Fvv @ k - k @ Foo) - 4.0 * (Z.T @ ((V @ Bk)[:, None] * Y))


def rotate(Y, Z, k, occupied=True, empty=True):
    """(Y(κ), Z(κ)) of the module docstring, each None unless asked for."""
    Yk = Zk = None
    if occupied:
        L = cholesky(np.eye(Y.shape[1]) + k.T @ k, lower=True)
        Yk = solve_triangular(L, (Y + Z @ k).T, lower=True).T
    if empty:
        M = cholesky(np.eye(Z.shape[1]) + k @ k.T, lower=True)
        Zk = solve_triangular(M, (Z - Y @ k.T).T, lower=True).T
    return Yk, Zk


def trust_solve(model, h0, n0, tol, max_outer, max_diag=None, radius=None, gtol=None, max_cg=50,
                newton_at=1e-3):
    """Solve the Hartree equations from the start density ``n0`` (module docstring):
    the aufbau determinant of h[n0] is the first point.

    Parameters
    ----------
    model : simglass.Model (real hopping); h0 : (N, N) real dense h0 (ed.hartree.bare_hamiltonian);
    n0 : (N,) start density; tol : max |Δn| of the verification; max_outer : trust-region
    steps (each at most ``max_cg`` + 1 Hessian products and a few dense products of
    N × N × N/2); max_diag : diagonalisations, >= 2 (the start and at least one
    verification; default max_outer + 1); newton_at : max |g| / energy scale below
    which, after an interior step, the local phase is handed to
    ed.hartree_descent.newton_finish (its diagonalisations counted here; if it does not
    converge the search goes on from its own point and tries again below 1/100 of that
    |g|); 0: never; radius : first trust radius (default
    ¼ √(energy scale)), in the variables y = κ √(F_vv,aa - F_oo,ii) (units √energy);
    gtol : max |g| at which to verify (default 0.1 tol × energy scale, lowered when the
    verification needs it); max_cg : CG iterations per step.

    Returns
    -------
    HartreeResult (ed.hartree.finish of the last verification, or newton_finish's result
    when it converged) with ``iterations`` the diagonalisations and ``response_products``
    the Hessian and χ⁰ products; ``converged`` False
    when the verification failed: max_outer or max_diag reached, or an aufbau density of
    h[n] that differs from n by more than 1e-3 (a minimum over determinants that is not
    an aufbau solution).

    Raises
    ------
    ValueError for a complex h0 (twisted model) or max_diag < 2.
    """
    if np.iscomplexobj(h0):
        raise ValueError("trust_solve needs a real h0 (untwisted model)")
    max_diag = max_outer + 1 if max_diag is None else max_diag
    if max_diag < 2:
        raise ValueError(f"max_diag must be >= 2 (the start and one verification), got {max_diag}")
    nf, V = model.n_particles, model.V
    scale = energy_scale(model)
    deg_tol = 1e-10 * scale
    hop = (-model.t * model.hopping_matrix()).tocsr()
    eps = np.asarray(model.eps, dtype=float)
    radius = 0.25 * np.sqrt(scale) if radius is None else radius
    gtol = 0.1 * tol * scale if gtol is None else gtol
    floor = 1e-3 * scale
    V4 = V.astype(np.float32)
    levels, psi = np.linalg.eigh(shifted(h0, -(V @ n0)))
    diags, products, res = 1, 0, np.inf
    p = _Point(psi[:, :nf].copy(), psi[:, nf:].copy(), hop, eps, V)
    model_of = None                     # the Newton model of p (kept while p does not move)
    verify = True                       # False right after a failed verification of p
    newton_at *= scale
    interior = False                    # the last accepted step was inside the radius
    for _ in range(max_outer):
        if model_of is not p:
            Foo, Fvv, g = p.blocks(hop, eps)
            s = 1.0 / np.sqrt(np.maximum(np.diag(Fvv)[:, None] - np.diag(Foo)[None, :], floor))
            # the Newton step in single precision: it only proposes the step; E, g, the
            # acceptance and the verification are double precision
            f32 = [a.astype(np.float32) for a in (p.Y, p.Z, Foo, Fvv, s)]
            gs = g * s
            model_of = p
        if interior and newton_at > 0 and np.abs(g).max() <= newton_at and diags < max_diag:
            r = newton_finish(model, h0, p.n, tol, max_diag - diags)
            diags, products = diags + r.iterations, products + r.response_products
            if r.converged or diags >= max_diag:
                r.iterations, r.response_products = diags, products
                return r
            newton_at = 0.01 * np.abs(g).max()
        if verify and np.abs(g).max() <= gtol:            # verify by one diagonalisation
            levels, psi = np.linalg.eigh(shifted(h0, -p.Vn))
            diags += 1
            n_out, occ, deg = aufbau(levels, psi, nf, deg_tol)
            res = float(np.abs(n_out - p.n).max())
            if res <= tol or res > 1e-3 or diags >= max_diag:
                break
            gtol *= 0.1 * tol / res                       # and at least one step before the next
            verify = False
            continue

        def hess(y):                                      # H in the variables y = κ / s
            return hessian_product(*f32[:4], V4, y * f32[4]) * f32[4]
        radius_used = radius
        y, used = _steihaug(hess, gs.astype(np.float32), radius, max_cg)
        y = y.astype(float)
        products += used + 1
        pred = -(np.vdot(gs, y) + 0.5 * np.vdot(y, hess(y.astype(np.float32)).astype(float)))
        k = y * s
        trial = _Point(rotate(p.Y, p.Z, k, empty=False)[0], None, hop, eps, V)
        resolution = 1e-11 * (abs(p.E) + 1.0)             # rounding of E (sums of N terms)
        if pred < resolution:       # a step below the energy's resolution: accept unless E rises
            accept = p.E - trial.E > -resolution
        else:
            rho = (p.E - trial.E) / pred
            size = np.linalg.norm(y)
            if rho < 0.25:
                radius = 0.25 * size
            elif rho > 0.75 and size > 0.99 * radius:
                radius *= 2.0
            accept = rho > 0.1
        if accept:                  # the empty orbitals only for an accepted step
            trial.Z = rotate(p.Y, p.Z, k, occupied=False)[1]
            p, verify = trial, True
            interior = np.linalg.norm(y) < 0.99 * radius_used
    else:
        levels, psi = np.linalg.eigh(shifted(h0, -p.Vn))
        diags += 1
        n_out, occ, deg = aufbau(levels, psi, nf, deg_tol)
        res = float(np.abs(n_out - p.n).max())
    r = finish(model, p.n, levels, psi, occ, deg, res, tol, diags)
    r.response_products = products
    return r


def _steihaug(hess, g, radius, max_cg):
    """Approximate minimiser y of g·y + ½ y·H y with |y| <= radius (Steihaug–Toint CG,
    Nocedal & Wright Alg. 7.2; stops at |residual| <= min(½, √|g|) |g|, |g| in the units
    of y, √energy); returns (y, products)."""
    y = np.zeros_like(g)
    r = -g
    d = r.copy()
    rr = float(np.vdot(r, r))
    stop = min(0.5, rr ** 0.25) * np.sqrt(rr)
    for j in range(max_cg):
        Hd = hess(d)
        dHd = float(np.vdot(d, Hd))
        if dHd <= 0:
            return y + _to_boundary(y, d, radius) * d, j + 1
        alpha = rr / dHd
        if np.linalg.norm(y + alpha * d) >= radius:
            return y + _to_boundary(y, d, radius) * d, j + 1
        y = y + alpha * d
        r = r - alpha * Hd
        rn = float(np.vdot(r, r))
        if np.sqrt(rn) <= stop:
            return y, j + 1
        d = r + (rn / rr) * d
        rr = rn
    return y, max_cg


def _to_boundary(y, d, radius):
    """τ >= 0 with |y + τ d| = radius."""
    a, b, c = np.vdot(d, d), 2 * np.vdot(y, d), np.vdot(y, y) - radius ** 2
    return float((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a))
