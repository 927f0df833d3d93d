"""Plain Lanczos (no reorthogonalisation) for ground states and continued fractions, and
a threaded CSR matrix-vector product.  Loss of orthogonality only adds
spurious copies of converged eigenvalues; the lowest one converges, and the ground-state
residual ||H psi - E psi|| is checked, restarting from psi when needed.
"""

from typing import NamedTuple

import numpy as np
from numba import prange

from simglass.jit import njit
from scipy.linalg import eigh_tridiagonal

__all__ = ["csr_matvec", "lanczos_coefficients", "lanczos_ground_state", "LanczosResult", "deflated_operator",
           "lowest_above"]


class LanczosResult(NamedTuple):
    """Ground state of a Lanczos solve: energy (the Rayleigh quotient of ``state``),
    state (normalised), residual ||H psi - E psi||, converged (residual <= sqrt(tol)
    max(1, |E|), the criterion of lanczos_ground_state), matvecs (products with H)."""
    energy: float
    state: np.ndarray
    residual: float
    converged: bool
    matvecs: int


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


@njit(cache=True, parallel=True)
def _orthogonalise(v, v_prev, w, b):
    """One Lanczos step after w = H v: a = <v|w>, w -= a v + b v_prev; returns (a, |w|).
    Fused threaded loops (keeps BLAS threads, which spin, away from numba's)."""
    a = 0.0
    for k in prange(v.size):
        a += (np.conj(v[k]) * w[k]).real
    nrm2 = 0.0
    for k in prange(v.size):
        x = w[k] - a * v[k] - b * v_prev[k]
        w[k] = x
        nrm2 += (np.conj(x) * x).real
    return a, np.sqrt(nrm2)


def lanczos_coefficients(mv, v0, n_steps, converged=None, coeffs=None, keep=None, keep_max=0):
    """Lanczos recurrence from v0 (normalised inside) for at most n_steps steps.

    Returns (alpha, beta, |v0|²) with beta[k] coupling steps k and k+1; stops early at
    an invariant subspace or when ``converged(alpha, beta)`` (asked every step) is true.
    With ``coeffs`` (a vector in the Krylov basis) returns that vector instead.
    With ``keep`` (a list) the Krylov vectors are appended to it, at most ``keep_max`` of
    them: beyond that the list is emptied and no more are kept."""
    norm2 = float(np.vdot(v0, v0).real)
    if norm2 == 0:
        return (np.zeros(0), np.zeros(0), 0.0) if coeffs is None else np.zeros_like(v0)
    v = v0 / np.sqrt(norm2)
    v_prev = np.zeros_like(v)
    w = np.empty_like(v)
    spare = np.empty_like(v)
    alpha, beta, b = [], [], 0.0
    out = None if coeffs is None else coeffs[0] * v
    for k in range(n_steps):
        if keep is not None:
            if len(keep) < keep_max:
                keep.append(v)
            else:
                keep.clear()
                keep = None
        mv(v, w)
        a, b = _orthogonalise(v, v_prev, w, b)
        alpha.append(a)
        if k == n_steps - 1 or b <= 1e-14 * max(1.0, abs(a)):
            break
        if coeffs is None and converged is not None and converged(alpha, beta):
            break
        beta.append(b)
        w /= b
        if keep is None:  # recycle the oldest vector
            v_prev, v, w, spare = v, w, spare, v_prev
        else:
            v_prev, v, w = v, w, np.empty_like(v)
        if out is not None:
            out += coeffs[k + 1] * v
    return (np.array(alpha), np.array(beta), norm2) if coeffs is None else out


def _lowest(alpha, beta):
    E, Y = eigh_tridiagonal(np.asarray(alpha), np.asarray(beta[:len(alpha) - 1]),
                            select="i", select_range=(0, 0))
    return E[0], Y[:, 0]


def lanczos_ground_state(H, v0, tol=1e-12, max_iter=1000, restarts=3, memory_gb=2.0) -> LanczosResult:
    """Lowest eigenpair of the Hermitian H (scipy CSR, or a function mv(x, out=None) -> H x)
    as a :class:`LanczosResult` (unpacks as energy, state, residual, converged, matvecs).
    The recurrence runs until the lowest Ritz value has changed by less than tol
    (relative) over the last 10 steps; it is restarted from the Ritz vector (at most
    ``restarts`` times) while the residual exceeds sqrt(tol) max(1, |E|).  An
    unconverged result is returned with ``converged = False``, never silently.  The Ritz
    vector is summed from the Krylov vectors, kept when they fit in ``memory_gb``, else
    from a second pass of the recurrence.

    Raises ValueError for max_iter < 1, restarts < 0 or tol not finite and > 0.
    """
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 0:
        raise ValueError(f"restarts must be an integer >= 0, got {restarts!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    mv0 = H if callable(H) else csr_matvec(H)
    count = [0]

    def mv(x, out=None):
        count[0] += 1
        return mv0(x, out)
    v = np.array(v0, dtype=complex if np.iscomplexobj(v0) else float)
    keep_max = int(memory_gb * 2**30 // v.nbytes)
    history = []

    def converged(alpha, beta):  # lowest Ritz value moved by < tol over the last 10 steps
        E = _lowest(alpha, beta)[0]
        history.append(E)
        return len(history) > 10 and abs(E - history[-11]) <= tol * max(1.0, abs(E))

    for _ in range(restarts + 1):
        history.clear()
        keep = []
        alpha, beta, _ = lanczos_coefficients(mv, v, max_iter, converged, keep=keep, keep_max=keep_max)
        E, y = _lowest(alpha, beta)
        if len(keep) == len(alpha):
            psi = np.zeros_like(v)
            for c, u in zip(y, keep):
                psi += c * u
        else:
            psi = lanczos_coefficients(mv, v, len(alpha), coeffs=y)
        del keep
        psi /= np.linalg.norm(psi)
        h_psi = mv(psi)
        E = float(np.vdot(psi, h_psi).real)
        residual = float(np.linalg.norm(h_psi - E * psi))
        converged = residual <= np.sqrt(tol) * max(1.0, abs(E))
        if converged:
            break
        v = psi
    return LanczosResult(E, psi, residual, bool(converged), count[0])


@njit(cache=True, parallel=True)
def _overlaps(Z, x, c):
    """c = Z^H x for Z (n, g), x (n,): g threaded reductions (no BLAS: its spinning
    threads slow numba's kernels that alternate with it)."""
    for j in range(Z.shape[1]):
        c[j] = 0
        acc = c[j]   # zero of c's type (real or complex), whatever the buffer held
        for k in prange(x.size):
            acc += np.conj(Z[k, j]) * x[k]
        c[j] = acc


@njit(cache=True, parallel=True)
def _subtract(Z, c, x, out):
    """out = x - Z c, threaded."""
    for k in prange(x.size):
        acc = x[k]
        for j in range(Z.shape[1]):
            acc -= Z[k, j] * c[j]
        out[k] = acc


def deflated_operator(mv, Z, sigma):
    """x -> P H P x + sigma (1 - P) x with P = 1 - Z Z^H (Z: (n, g) orthonormal columns,
    the states found so far): H restricted to their complement, the found states moved
    up to sigma.  Fused threaded projections; mv(x, out=None) -> H x."""
    Z = np.ascontiguousarray(Z)
    c, d = np.zeros(Z.shape[1], Z.dtype), np.zeros(Z.shape[1], Z.dtype)
    xp = np.empty(Z.shape[0], Z.dtype)

    def op(x, out=None):
        _overlaps(Z, x, c)
        _subtract(Z, c, x, xp)
        y = mv(xp, out)
        _overlaps(Z, y, d)
        _subtract(Z, d - sigma * c, y, y)
        return y
    return op


def lowest_above(mv, v0, threshold, margin=0.05, min_steps=20, max_iter=1000):
    """Whether the lowest eigenvalue of the Hermitian operator mv lies above
    ``threshold``, by Lanczos from v0, stopped as soon as that is decided: the lowest
    Ritz value θ_k (an upper bound that decreases to the eigenvalue) is below the
    threshold (False), or above it and has moved by less than ``margin`` (θ_k -
    threshold) over the last 10 steps, after at least ``min_steps`` (True).  Returns
    (above, θ_k, steps); above is None when max_iter steps decide neither."""
    hist = []
    verdict = [None]

    def decided(alpha, beta):
        E = _lowest(alpha, beta)[0]
        hist.append(E)
        if E <= threshold:
            verdict[0] = False
        elif len(hist) > max(10, min_steps - 1) and hist[-11] - E < margin * (E - threshold):
            verdict[0] = True
        return verdict[0] is not None
    alpha, beta, _ = lanczos_coefficients(mv, v0, max_iter, decided)
    if verdict[0] is None and len(alpha):   # an invariant subspace: the Ritz value is exact
        E = _lowest(alpha, beta)[0]
        if len(alpha) < max_iter:
            verdict[0] = bool(E > threshold)
        hist.append(E)
    return verdict[0], (hist[-1] if hist else float("inf")), len(alpha)
