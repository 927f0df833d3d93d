"""Plain Lanczos (three vectors, no reorthogonalisation) for ground states and continued
fractions, and a threaded CSR matrix-vector product.  Loss of orthogonality only adds
spurious copies of converged eigenvalues; the lowest one converges, and the ground-state
residual ||H psi - E psi|| is checked, restarting from psi when needed.
"""

import numpy as np
from numba import njit, prange
from scipy.linalg import eigh_tridiagonal

__all__ = ["csr_matvec", "lanczos_coefficients", "lanczos_ground_state"]


@njit(cache=True, parallel=True)
def _csr_matvec(indptr, indices, data, x, y):
    for r in prange(indptr.size - 1):
        acc = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            acc += data[p] * x[indices[p]]
        y[r] = acc


def csr_matvec(H):
    """y = H x with the threaded kernel (H: scipy CSR; complex H uses scipy's product)."""
    indptr, indices, data = H.indptr, H.indices, H.data
    if np.iscomplexobj(data):
        def mv_complex(x, out=None):
            y = H @ x
            if out is None:
                return y
            out[:] = y
            return out
        return mv_complex

    def mv(x, out=None):
        y = np.empty(x.size) if out is None else out
        _csr_matvec(indptr, indices, data, x, y)
        return y
    return mv


def lanczos_coefficients(mv, v0, n_steps, converged=None, coeffs=None):
    """Lanczos recurrence from v0 (normalised inside) for at most n_steps steps.

    Returns (alpha, beta, |v0|²) with beta[k] coupling steps k and k+1; stops early at
    an invariant subspace or when ``converged(alpha, beta)`` (asked every 10 steps) is
    true.  With ``coeffs`` (a vector in the Krylov basis) returns that vector instead."""
    norm2 = float(np.vdot(v0, v0).real)
    if norm2 == 0:
        return (np.zeros(0), np.zeros(0), 0.0) if coeffs is None else np.zeros_like(v0)
    v = v0 / np.sqrt(norm2)
    v_prev = np.zeros_like(v)
    w = np.empty_like(v)
    alpha, beta, b = [], [], 0.0
    out = None if coeffs is None else coeffs[0] * v
    for k in range(n_steps):
        mv(v, w)
        a = float(np.vdot(v, w).real)
        w -= a * v
        w -= b * v_prev
        alpha.append(a)
        b = float(np.sqrt(np.vdot(w, w).real))
        if k == n_steps - 1 or b <= 1e-14 * max(1.0, abs(a)):
            break
        if coeffs is None and converged is not None and (k + 1) % 10 == 0 and converged(alpha, beta):
            break
        beta.append(b)
        v_prev, v = v, w / b
        w = np.empty_like(v)
        if out is not None:
            out += coeffs[k + 1] * v
    return (np.array(alpha), np.array(beta), norm2) if coeffs is None else out


def _lowest(alpha, beta):
    E, Y = eigh_tridiagonal(np.asarray(alpha), np.asarray(beta[:len(alpha) - 1]),
                            select="i", select_range=(0, 0))
    return E[0], Y[:, 0]


def lanczos_ground_state(H, v0, tol=1e-12, max_iter=1000, restarts=3):
    """(E0, psi) of the Hermitian H (scipy CSR, or a function mv(x, out=None) -> H x);
    psi normalised.  Pass 1 runs until the lowest Ritz value changes by less than tol
    (relative) over 10 steps; pass 2 repeats the recurrence to build the Ritz vector."""
    mv = H if callable(H) else csr_matvec(H)
    v = np.array(v0, dtype=complex if np.iscomplexobj(v0) else float)
    last = [np.inf]

    def converged(alpha, beta):
        E = _lowest(alpha, beta)[0]
        done = abs(E - last[0]) <= tol * max(1.0, abs(E))
        last[0] = E
        return done

    for _ in range(restarts + 1):
        last[0] = np.inf
        alpha, beta, _ = lanczos_coefficients(mv, v, max_iter, converged)
        E, y = _lowest(alpha, beta)
        psi = lanczos_coefficients(mv, v, len(alpha), coeffs=y)
        psi /= np.linalg.norm(psi)
        if np.linalg.norm(mv(psi) - E * psi) <= np.sqrt(tol) * max(1.0, abs(E)):
            break
        v = psi
    return float(np.vdot(psi, mv(psi)).real), psi
