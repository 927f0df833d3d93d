"""Ground state of a large sparse symmetric matrix by plain Lanczos (three vectors, no
reorthogonalisation) with a second pass for the eigenvector, and a threaded CSR
matrix-vector product.  Loss of orthogonality only adds spurious copies of converged
eigenvalues; the lowest one converges and the residual ||H psi - E psi|| is checked,
restarting from psi when needed.
"""

import numpy as np
from numba import njit, prange
from scipy.linalg import eigh_tridiagonal

__all__ = ["csr_matvec", "lanczos_ground_state"]


@njit(cache=True, parallel=True)
def _csr_matvec(indptr, indices, data, x, y):
    for r in prange(indptr.size - 1):
        acc = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            acc += data[p] * x[indices[p]]
        y[r] = acc


def csr_matvec(H):
    """y = H x with the threaded kernel (H: scipy CSR)."""
    indptr, indices, data = H.indptr, H.indices, H.data

    def mv(x, out=None):
        y = np.empty(x.size) if out is None else out
        _csr_matvec(indptr, indices, data, x, y)
        return y
    return mv


def _lanczos_pass(mv, v0, n, coeffs=None):
    """n steps from v0; returns (alpha, beta).  With coeffs (the Ritz vector in the
    Krylov basis) returns the corresponding vector instead."""
    v = v0 / np.linalg.norm(v0)
    v_prev = np.zeros_like(v)
    w = np.empty_like(v)
    alpha, beta = [], []
    psi = None if coeffs is None else coeffs[0] * v
    b = 0.0
    for k in range(n):
        mv(v, w)
        a = float(v @ w)
        w -= a * v
        w -= b * v_prev
        alpha.append(a)
        b = float(np.sqrt(w @ w))
        if k == n - 1 or b == 0.0:
            break
        beta.append(b)
        v_prev, v = v, w / b
        w = np.empty_like(v)
        if psi is not None:
            psi += coeffs[k + 1] * v
    return (np.array(alpha), np.array(beta)) if coeffs is None else psi


def lanczos_ground_state(H, v0, tol=1e-12, max_iter=1000, check_every=10, restarts=3):
    """(E0, psi) of the sparse symmetric matrix H; psi normalised."""
    mv = csr_matvec(H)
    v = np.asarray(v0, float).copy()
    for _ in range(restarts + 1):
        # pass 1: coefficients until the lowest Ritz value is stable
        vv = v / np.linalg.norm(v)
        v_prev = np.zeros_like(vv)
        w = np.empty_like(vv)
        alpha, beta, E_old, b = [], [], np.inf, 0.0
        for k in range(max_iter):
            mv(vv, w)
            a = float(vv @ w)
            w -= a * vv
            w -= b * v_prev
            alpha.append(a)
            b = float(np.sqrt(w @ w))
            done = b <= 1e-14 * max(1.0, abs(a))
            if (k + 1) % check_every == 0 or done or k == max_iter - 1:
                E = eigh_tridiagonal(np.array(alpha), np.array(beta), select="i", select_range=(0, 0))[0][0]
                if abs(E - E_old) <= tol * max(1.0, abs(E)) or done:
                    break
                E_old = E
            beta.append(b)
            v_prev, vv = vv, w / b
            w = np.empty_like(vv)
        m = len(alpha)
        Es, Y = eigh_tridiagonal(np.array(alpha), np.array(beta[:m - 1]), select="i", select_range=(0, 0))
        E, y = Es[0], Y[:, 0]
        # pass 2: the Ritz vector
        psi = _lanczos_pass(mv, v, m, coeffs=y)
        psi /= np.linalg.norm(psi)
        r = mv(psi) - E * psi
        if np.linalg.norm(r) <= np.sqrt(tol) * max(1.0, abs(E)):
            return float(psi @ mv(psi)), psi
        v = psi
    return float(psi @ mv(psi)), psi
