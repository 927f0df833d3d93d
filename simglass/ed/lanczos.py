"""Plain Lanczos (no reorthogonalisation among the Krylov vectors; states already found can
be locked out of them) for ground states and continued fractions, and a threaded CSR
matrix-vector product.  Loss of orthogonality only adds
spurious copies of converged eigenvalues; the lowest one converges, and the ground-state
residual ||H psi - E psi|| is checked, restarting from psi when needed.
"""

from typing import NamedTuple

import numpy as np
from numba import prange

from simglass.jit import njit
from scipy.linalg import eigh_tridiagonal

__all__ = ["csr_matvec", "lanczos_coefficients", "lanczos_ground_state", "LanczosResult", "lowest_above",
           "pair_lanczos"]


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


@njit(cache=True, parallel=True)
def _overlap(z, x):
    """<z|x> by one threaded reduction."""
    acc = 0.0 * z[0] * x[0]
    for k in prange(x.size):
        acc += np.conj(z[k]) * x[k]
    return acc


@njit(cache=True, parallel=True)
def _orthogonalise_locked(v, v_prev, w, b, Z, c):
    """_orthogonalise that also takes out of w its components c = Z^H w along the
    locked states Z (n, g): overlaps by threaded reductions, one fused update pass.
    Then the components left are summed (classical Gram-Schmidt loses them when w
    shrinks a lot, as at an invariant subspace); while they exceed 1e-12 |w| another
    pass takes them out (at most two more)."""
    g = Z.shape[1]
    a = _overlap(v, w).real
    for j in range(g):
        c[j] = _overlap(Z[:, j], w)
    nrm2 = 0.0
    for k in prange(v.size):
        x = w[k] - a * v[k] - b * v_prev[k]
        for j in range(g):
            x -= Z[k, j] * c[j]
        w[k] = x
        nrm2 += (np.conj(x) * x).real
    for _ in range(2):
        left = 0.0
        for j in range(g):
            c[j] = _overlap(Z[:, j], w)
            left += abs(c[j]) ** 2
        if left <= 1e-24 * nrm2:
            break
        nrm2 = 0.0
        for k in prange(v.size):
            x = w[k]
            for j in range(g):
                x -= Z[k, j] * c[j]
            w[k] = x
            nrm2 += (np.conj(x) * x).real
    return a, np.sqrt(nrm2)


def lanczos_coefficients(mv, v0, n_steps, converged=None, coeffs=None, keep=None, keep_max=0, lock=None):
    """Lanczos recurrence from v0 (normalised inside) for at most n_steps steps.

    Returns (alpha, beta, |v0|²) with beta[k] coupling steps k and k+1; stops early at
    an invariant subspace or when ``converged(alpha, beta)`` (asked every step) is true.
    ``converged`` sees beta with the coupling to the next vector appended (so that a Ritz
    residual, beta[k] |y_k|, can be formed).
    With ``coeffs`` (a vector in the Krylov basis) returns that vector instead.
    With ``keep`` (a list) the Krylov vectors are appended to it, at most ``keep_max`` of
    them: beyond that the list is emptied and no more are kept.  Kept vectors are rows
    of blocks of up to 16 (never beyond keep_max), so that their memory comes in large
    pieces (fewer page faults) and ``combine`` sums them block by block.
    With ``lock`` (an (n, g) array of orthonormal columns, states already found) every
    Krylov vector, v0 included, is orthogonalised against them: the recurrence of P H P
    on the complement of the locked states (P = 1 - Z Z^H), fused into the step."""
    if lock is not None:
        Z = np.asfortranarray(lock)  # columns contiguous for the overlaps
        c = np.zeros(Z.shape[1], np.result_type(Z, v0))
        for _ in range(2):   # twice: a v0 nearly inside span(Z) keeps no locked part
            v0 = v0 - Z @ (Z.conj().T @ v0)
    norm2 = float(np.vdot(v0, v0).real)
    if norm2 == 0:
        return (np.zeros(0), np.zeros(0), 0.0) if coeffs is None else np.zeros_like(v0)
    v = v0 / np.sqrt(norm2)
    v_prev = np.zeros_like(v)
    w = np.empty_like(v)
    spare = np.empty_like(v)
    alpha, beta, b = [], [], 0.0
    out = None if coeffs is None else coeffs[0] * v
    block, used = None, 0
    for k in range(n_steps):
        if keep is not None:
            if len(keep) < keep_max:
                keep.append(v)
            else:
                keep.clear()
                keep = None
        mv(v, w)
        if lock is None:
            a, b = _orthogonalise(v, v_prev, w, b)
        else:
            a, b = _orthogonalise_locked(v, v_prev, w, b, Z, c)
        alpha.append(a)
        if k == n_steps - 1 or b <= 1e-14 * max(1.0, abs(a)):
            break
        if coeffs is None and converged is not None and converged(alpha, beta + [b]):
            break
        beta.append(b)
        w /= b
        if keep is None:  # recycle the oldest vector
            v_prev, v, w, spare = v, w, spare, v_prev
        else:
            if block is None or used == len(block):
                block, used = np.empty((max(1, min(16, keep_max - len(keep))), v.size), v.dtype), 0
            v_prev, v, w = v, w, block[used]
            used += 1
        if out is not None:
            out += coeffs[k + 1] * v
    return (np.array(alpha), np.array(beta), norm2) if coeffs is None else out


def combine(y, vectors):
    """Σ_k y[k] vectors[k] for the vectors kept by ``lanczos_coefficients``: each run of
    consecutive vectors that are consecutive rows of one of its blocks costs one
    matrix-vector product."""
    out = np.zeros_like(vectors[0])
    k = 0
    while k < len(vectors):
        u, base, m = vectors[k], vectors[k].base, 1
        if base is not None and base.ndim == 2 and base.flags.c_contiguous and u.size == base.shape[1]:
            start, rem = divmod(u.ctypes.data - base.ctypes.data, u.nbytes)
            if rem == 0 and 0 <= start < base.shape[0]:
                while (k + m < len(vectors) and start + m < base.shape[0] and vectors[k + m].base is base
                       and vectors[k + m].ctypes.data == u.ctypes.data + m * u.nbytes):
                    m += 1
                out += y[k:k + m] @ base[start:start + m]
                k += m
                continue
        out += y[k] * u
        k += 1
    return out


def _lowest(alpha, beta):
    E, Y = eigh_tridiagonal(np.asarray(alpha), np.asarray(beta[:len(alpha) - 1]),
                            select="i", select_range=(0, 0))
    return E[0], Y[:, 0]


def lanczos_ground_state(H, v0, tol=1e-12, max_iter=1000, restarts=3, memory_gb=2.0,
                         lock=None) -> LanczosResult:
    """Lowest eigenpair of the Hermitian H (scipy CSR, or a function mv(x, out=None) -> H x)
    as a :class:`LanczosResult` (unpacks as energy, state, residual, converged, matvecs).

    The recurrence stops when the lowest Ritz value has changed by less than tol
    (relative to max(1, |E|)) over the last 10 steps (a stop on the Ritz residual ends
    too early while a close pair above the lowest level is unresolved:
    tests/test_exact.py::test_ritz_residual_stop_waits_for_a_close_pair).
    It is restarted from the Ritz vector (at most ``restarts`` times) while the
    residual, computed explicitly, exceeds sqrt(tol) max(1, |E|).  An unconverged result
    is returned with ``converged = False``, never silently.  The Ritz vector is summed
    from the Krylov vectors, kept when they fit in ``memory_gb``, else from a second
    pass of the recurrence.  With ``lock`` (n, g orthonormal columns) the lowest
    eigenpair of H on their complement (``lanczos_coefficients``).

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

    Z = None if lock is None else np.asfortranarray(lock)
    for _ in range(restarts + 1):
        history.clear()
        keep = []
        alpha, beta, _ = lanczos_coefficients(mv, v, max_iter, converged, keep=keep, keep_max=keep_max,
                                              lock=Z)
        E, y = _lowest(alpha, beta)
        if len(keep) == len(alpha):
            psi = combine(y, keep)
        else:
            psi = lanczos_coefficients(mv, v, len(alpha), coeffs=y, lock=Z)
        del keep
        if Z is not None:
            psi -= Z @ (Z.conj().T @ psi)
        psi /= np.linalg.norm(psi)
        h_psi = mv(psi)
        if Z is not None:
            h_psi -= Z @ (Z.conj().T @ h_psi)
        E = float(np.vdot(psi, h_psi).real)
        residual = float(np.linalg.norm(h_psi - E * psi))
        ok = residual <= np.sqrt(tol) * max(1.0, abs(E))
        if ok:
            break
        v = psi
    return LanczosResult(E, psi, residual, bool(ok), count[0])


def lowest_above(mv, v0, threshold, margin=0.05, min_steps=20, max_iter=1000, lock=None):
    """Whether the lowest eigenvalue of the Hermitian operator mv (on the complement of
    the orthonormal columns of ``lock``, when given) lies above
    ``threshold``, by Lanczos from v0, stopped as soon as that is decided: the lowest
    Ritz value θ_k (an upper bound that decreases to the eigenvalue) is below the
    threshold (False), or above it and has moved by less than ``margin`` (θ_k -
    threshold) over the last 10 steps, after at least ``min_steps``, and its Ritz
    residual is below θ_k - threshold (True; without the residual test a Ritz value
    that stalls above a cluster of close levels read as a gap).  Returns
    (above, θ_k, steps); above is None when max_iter steps decide neither."""
    hist = []
    verdict = [None]

    def decided(alpha, beta):
        E, y = _lowest(alpha, beta)
        hist.append(E)
        if E <= threshold:
            verdict[0] = False
        elif (len(hist) > max(10, min_steps - 1) and hist[-11] - E < margin * (E - threshold)
              and abs(beta[len(alpha) - 1] * y[-1]) <= E - threshold):
            verdict[0] = True
        return verdict[0] is not None
    alpha, beta, _ = lanczos_coefficients(mv, v0, max_iter, decided, lock=lock)
    if verdict[0] is None and len(alpha):   # an invariant subspace: the Ritz value is exact
        E = _lowest(alpha, beta)[0]
        if len(alpha) < max_iter:
            verdict[0] = bool(E > threshold)
        hist.append(E)
    return verdict[0], (hist[-1] if hist else float("inf")), len(alpha)


@njit(cache=True, parallel=True)
def _pair_project(Q, Qp, W, Bp):
    """One block step after W = H Q (blocks of two columns, (n, 2)): W -= Qp Bpᵀ, then
    returns A = Qᵀ W as (A00, A01, A10, A11), in one fused threaded pass."""
    b00, b01, b10, b11 = Bp[0, 0], Bp[0, 1], Bp[1, 0], Bp[1, 1]
    a00 = 0.0
    a01 = 0.0
    a10 = 0.0
    a11 = 0.0
    for r in prange(Q.shape[0]):
        w0 = W[r, 0] - (Qp[r, 0] * b00 + Qp[r, 1] * b01)
        w1 = W[r, 1] - (Qp[r, 0] * b10 + Qp[r, 1] * b11)
        W[r, 0] = w0
        W[r, 1] = w1
        a00 += Q[r, 0] * w0
        a01 += Q[r, 0] * w1
        a10 += Q[r, 1] * w0
        a11 += Q[r, 1] * w1
    return a00, a01, a10, a11


@njit(cache=True, parallel=True)
def _pair_subtract(Q, W, a00, a01, a11):
    """W -= Q A for A symmetric (2, 2); returns the Gram matrix of W as (G00, G01, G11)."""
    g00 = 0.0
    g01 = 0.0
    g11 = 0.0
    for r in prange(Q.shape[0]):
        w0 = W[r, 0] - (Q[r, 0] * a00 + Q[r, 1] * a01)
        w1 = W[r, 1] - (Q[r, 0] * a01 + Q[r, 1] * a11)
        W[r, 0] = w0
        W[r, 1] = w1
        g00 += w0 * w0
        g01 += w0 * w1
        g11 += w1 * w1
    return g00, g01, g11


@njit(cache=True, parallel=True)
def _pair_normalise(W, r00, r01, r11):
    """W <- W R⁻¹ for R = [[r00, r01], [0, r11]] (Cholesky QR); returns the Gram matrix of
    the result (the identity up to rounding unless W's columns were nearly parallel)."""
    g00 = 0.0
    g01 = 0.0
    g11 = 0.0
    for r in prange(W.shape[0]):
        q0 = W[r, 0] / r00
        q1 = (W[r, 1] - r01 * q0) / r11
        W[r, 0] = q0
        W[r, 1] = q1
        g00 += q0 * q0
        g01 += q0 * q1
        g11 += q1 * q1
    return g00, g01, g11


def _cholesky2(g00, g01, g11):
    """R (upper) with RᵀR = [[g00, g01], [g01, g11]], or None when it is numerically
    singular (the block's two columns nearly parallel, or zero: an invariant subspace)."""
    if not g00 > 0:
        return None
    r00 = np.sqrt(g00)
    r01 = g01 / r00
    d = g11 - r01 * r01
    if not d > 1e-24 * max(g00, g11):
        return None
    return r00, r01, np.sqrt(d)


def _pair_orthonormalise(W, g):
    """W <- Q with W = Q R (Q orthonormal columns, R upper triangular 2 × 2), given the
    Gram matrix g = (G00, G01, G11) of W: Cholesky QR, repeated once when the first pass
    leaves Q off orthonormal by more than 1e-12; returns R, or None at a breakdown."""
    R = np.eye(2)
    for _ in range(2):
        c = _cholesky2(*g)
        if c is None:
            return None
        R = np.array([[c[0], c[1]], [0.0, c[2]]]) @ R
        g = _pair_normalise(W, *c)
        if abs(g[0] - 1) <= 1e-12 and abs(g[1]) <= 1e-12 and abs(g[2] - 1) <= 1e-12:
            break
    return R


class PairResult(NamedTuple):
    """Result of ``pair_lanczos``: energy, state (normalised), residual and converged as in
    LanczosResult; above: the second-lowest eigenvalue lies above the threshold (True),
    does not (False), or was not decided (None); matvecs: single-vector products (a pair
    counts two); second: with above = False, the second Ritz vector (not normalised,
    not checked: the caller orthogonalises it against ``state`` and tests it)."""
    energy: float
    state: np.ndarray
    residual: float
    converged: bool
    above: bool | None
    matvecs: int
    second: np.ndarray | None = None


def _pair_recurrence(pair, X0, n_steps, decided=None, coeffs=None, keep=None, keep_max=0):
    """Block Lanczos with blocks of two columns from X0 (n, 2), real symmetric H
    (``pair(X, Y)``: Y = H X), for at most n_steps blocks; no reorthogonalisation between
    blocks.  Returns the block-tridiagonal T_k in the lower band form of
    scipy.linalg.eig_banded, shape (3, 2k); stops early at a breakdown (an invariant
    subspace) or when ``decided(band, g)`` is true (asked every step; g = (G00, G01, G11),
    the Gram matrix of the next block before its normalisation, so that the Ritz
    residual of y is sqrt(y_lastᵀ G y_last) with y_last its last two components).  With
    ``coeffs`` (Krylov-basis coefficients, shape (2k,) or (2k, p)) returns
    Σ_k Q_k coeffs[2k:2k+2] instead.  With
    ``keep`` (a list) the blocks Q_k are appended, at most ``keep_max`` of them (beyond
    that the list is emptied and no more are kept)."""
    W = np.array(X0, dtype=float, order="C")
    cols = W.T
    if _pair_orthonormalise(W, (float(cols[0] @ cols[0]), float(cols[0] @ cols[1]),
                                float(cols[1] @ cols[1]))) is None:
        raise ValueError("pair_lanczos needs a start block of two independent columns")
    Q, Qp, Bp = W, np.zeros_like(W), np.zeros((2, 2))
    W = np.empty_like(Q)
    band = np.zeros((3, 2 * n_steps))
    out = None if coeffs is None else Q @ coeffs[:2]
    m = 0
    for k in range(n_steps):
        if keep is not None:
            if len(keep) < keep_max:
                keep.append(Q)
            else:
                keep.clear()
                keep = None
        pair(Q, W)
        a00, a01, a10, a11 = _pair_project(Q, Qp, W, Bp)
        a01 = 0.5 * (a01 + a10)
        g = _pair_subtract(Q, W, a00, a01, a11)
        band[0, 2 * k], band[0, 2 * k + 1], band[1, 2 * k] = a00, a11, a01
        m = 2 * k + 2
        if k == n_steps - 1 or (coeffs is None and decided is not None and decided(band[:, :m], g)):
            break
        R = _pair_orthonormalise(W, g)
        if R is None:
            break
        band[2, 2 * k], band[1, 2 * k + 1], band[2, 2 * k + 1] = R[0, 0], R[0, 1], R[1, 1]
        Bp = R
        if keep is None:    # recycle the oldest block
            Qp, Q, W = Q, W, Qp
        else:
            Qp, Q, W = Q, W, np.empty_like(W)
        if out is not None:
            out += Q @ coeffs[m:m + 2]
    return band[:, :m] if coeffs is None else out


def pair_lanczos(pair, mv, X0, threshold, tol=1e-12, max_iter=500, memory_gb=2.0, margin=0.05,
                 min_steps=20) -> PairResult:
    """Lowest eigenpair of a real symmetric H, and whether its second-lowest eigenvalue
    lies above E0 + threshold max(1, |E0|), in one block Lanczos run with blocks of two
    (``_pair_recurrence``; ``pair(X, Y)``: Y = H X for (n, 2) blocks, ``mv(x, out=None)``:
    H x, for the residual).  Where the two gathers of a pair cost little more than
    one (ed.fock.hopping_operator at sizes beyond the cache), this decides the gap for
    less than the ground state and the gap test of ``lowest_above`` run one after the
    other (docs/validation.md §8c).

    The run stops when (a) the lowest Ritz value θ1 has changed by less than tol
    max(1, |θ1|) over the last 10 steps (the rule of ``lanczos_ground_state``), and
    (b) the second Ritz value θ2 is decided: at or below the threshold (above = False,
    then it stays so: θ2 is an upper bound of the second eigenvalue), or above it and
    moved by less than ``margin`` (θ2 - threshold) over the last 10 steps, after at least
    ``min_steps``, with its Ritz residual below θ2 - threshold (above = True; the rule of
    ``lowest_above``).  That is a stagnation test, not a proof: a Ritz value can stall
    above a cluster of unresolved levels (the residual test makes this rarer).  Without
    reorthogonalisation a copy of a converged θ1 can appear later as θ2: it reads as
    above = False, and the caller then tests the second Ritz vector (``second``) and
    runs the locked search.
    The Ritz vector is summed from the blocks kept within ``memory_gb`` or from a second
    pass; converged means residual <= sqrt(tol) max(1, |E|) (no restart here: the
    caller continues with ``lanczos_ground_state`` from the state).

    Raises ValueError for a start block without two independent columns.
    """
    from scipy.linalg import eig_banded
    X0 = np.asarray(X0, dtype=float)
    keep_max = int(memory_gb * 2**30 // max(X0.nbytes, 1))
    h1, h2 = [], []
    state = {"above": None, "stopped": False}

    def decided(band, g):
        (t1, t2), y = eig_banded(band, lower=True, select="i", select_range=(0, 1))
        h1.append(t1)
        h2.append(t2)
        thr = t1 + threshold * max(1.0, abs(t1))
        y2 = y[-2:, 1]
        r2 = np.sqrt(max(y2[0] ** 2 * g[0] + 2 * y2[0] * y2[1] * g[1] + y2[1] ** 2 * g[2], 0.0))
        if state["above"] is not False:
            if t2 <= thr:
                state["above"] = False
            elif (len(h2) > max(10, min_steps - 1) and h2[-11] - t2 < margin * (t2 - thr)
                  and r2 <= t2 - thr):
                state["above"] = True
            else:
                state["above"] = None
        e0_done = len(h1) > 10 and abs(t1 - h1[-11]) <= tol * max(1.0, abs(t1))
        state["stopped"] = e0_done and state["above"] is not None
        return state["stopped"]

    keep = []
    band = _pair_recurrence(pair, X0, max_iter, decided, keep=keep, keep_max=keep_max)
    m = band.shape[1]
    products = m + 1
    if not state["stopped"]:    # max_iter pairs, or a breakdown: the gap was not decided
        state["above"] = None
    two = state["above"] is False and m >= 4      # the second Ritz vector too
    w, y = eig_banded(band, lower=True, select="i", select_range=(0, 1 if two else 0))
    if len(keep) == m // 2:
        vecs = np.zeros((X0.shape[0], y.shape[1]))
        for k, Q in enumerate(keep):
            vecs += Q @ y[2 * k:2 * k + 2]
    else:
        vecs = _pair_recurrence(pair, X0, m // 2, coeffs=y)
        products += m
    del keep
    psi = np.ascontiguousarray(vecs[:, 0])
    second = np.ascontiguousarray(vecs[:, 1]) if two else None
    psi /= np.linalg.norm(psi)
    h_psi = mv(psi)
    E = float(psi @ h_psi)
    residual = float(np.linalg.norm(h_psi - E * psi))
    ok = residual <= np.sqrt(tol) * max(1.0, abs(E))
    return PairResult(E, psi, residual, bool(ok), state["above"], products, second)
