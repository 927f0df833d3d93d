"""Fast path of the ED Hamiltonian: fixed-N_f Fock basis and hopping matrix in numba.

Same conventions as QuSpin's ``spinless_fermion_basis_general`` so both paths agree
state by state: site i is bit N-1-i of a state's integer, states in descending order,
and fermionic signs from the Jordan–Wigner order of the sites: c†_i c_j (i < j) on a
state gives (-1)^(number of occupied sites strictly between i and j).
"""

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

__all__ = ["sector_states", "hopping_csr"]


@njit(cache=True)
def _states(N, nf, count):
    out = np.empty(count, np.uint64)
    if nf == 0:
        out[0] = 0
        return out
    s = np.uint64((1 << nf) - 1)
    one = np.uint64(1)
    for k in range(count):
        out[count - 1 - k] = s  # ascending generation, stored descending
        # Gosper's hack: next integer with the same number of set bits
        c = s & (~s + one)
        r = s + c
        s = (((r ^ s) >> np.uint64(2)) // c) | r
    return out


def sector_states(N: int, nf: int) -> np.ndarray:
    """All N-bit integers with nf set bits, in descending order (QuSpin's order)."""
    from math import comb
    return _states(N, nf, comb(N, nf))


def _binomials(N):
    from math import comb
    return np.array([[comb(n, k) for k in range(N + 2)] for n in range(N + 1)], dtype=np.int64)


@njit(cache=True)
def _index(s, binom, Ns):
    """Position of state s in the descending basis: Ns - 1 - (combinadic rank of s)."""
    rank = 0
    k = 1
    p = 0
    while s:
        if s & np.uint64(1):
            rank += binom[p, k]
            k += 1
        s >>= np.uint64(1)
        p += 1
    return Ns - 1 - rank


@njit(cache=True)
def _hopping(states, N, bi, bj, t, count_only, rows, counts, vals, binom, ph, cvals):
    n = 0
    for k in range(states.size):
        s = states[k]
        n0 = n
        for b in range(bi.size):
            i, j = bi[b], bj[b]
            pi = np.uint64(N - 1 - i)
            pj = np.uint64(N - 1 - j)
            ni = (s >> pi) & np.uint64(1)
            nj = (s >> pj) & np.uint64(1)
            if ni == nj:
                continue
            if not count_only:
                s2 = s ^ ((np.uint64(1) << pi) | (np.uint64(1) << pj))
                lo, hi = (pj, pi) if pj < pi else (pi, pj)
                between = (s >> (lo + np.uint64(1))) & ((np.uint64(1) << (hi - lo - np.uint64(1))) - np.uint64(1))
                parity = 0
                while between:
                    between &= between - np.uint64(1)
                    parity ^= 1
                rows[n] = _index(s2, binom, states.size)
                amp = -t if parity == 0 else t
                if cvals.size:  # twisted: lo -> hi (i occupied) carries e^{i phi}
                    cvals[n] = amp * np.exp(1j * ph[b]) if ni else amp * np.exp(-1j * ph[b])
                else:
                    vals[n] = amp
            n += 1
        if count_only:
            counts[k] = n - n0
    return n


def hopping_csr(states, N, bonds, t, phases=None):
    """-t Σ_bonds (c†_i c_j + h.c.) on the given basis, scipy CSR; with ``phases`` (one
    per bond (i, j) = (lo, hi)) the hop i -> j is -t e^{iφ} c†_j c_i (complex matrix)."""
    Ns = states.size
    if t == 0 or len(bonds) == 0:
        return sp.csr_matrix((Ns, Ns))
    bi = np.ascontiguousarray(bonds[:, 0], dtype=np.int64)
    bj = np.ascontiguousarray(bonds[:, 1], dtype=np.int64)
    counts = np.zeros(Ns, np.int64)
    binom = _binomials(N)
    twisted = phases is not None and np.any(np.asarray(phases) != 0)
    ph = np.ascontiguousarray(phases if twisted else np.zeros(bi.size), dtype=np.float64)
    nnz = _hopping(states, N, bi, bj, float(t), True, np.empty(0, np.int64), counts, np.empty(0), binom,
                   ph, np.empty(0, np.complex128))
    rows = np.empty(nnz, np.int64)
    vals = np.empty(0 if twisted else nnz)
    cvals = np.empty(nnz if twisted else 0, np.complex128)
    _hopping(states, N, bi, bj, float(t), False, rows, counts, vals, binom, ph, cvals)
    indptr = np.zeros(Ns + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    # entries come column by column: that is the CSC form of H, i.e. the CSR form of
    # H^T, which is H (real symmetric) or conj(H) (complex Hermitian)
    if twisted:
        return sp.csr_matrix((cvals.conj(), rows, indptr), shape=(Ns, Ns))
    return sp.csr_matrix((vals, rows, indptr), shape=(Ns, Ns))


def rank_tables(N, nf, split=None):
    """Tables for O(1) basis indexing (Lin's two-table method on the combinadic rank):
    rank(s) = low[s & (2^m - 1)] + high[s >> m, popcount(s & (2^m - 1))]."""
    from math import comb
    m = N // 2 if split is None else split
    low = np.zeros(1 << m, np.int64)
    pop = np.zeros(1 << m, np.int64)
    for s in range(1 << m):
        k, r = 0, 0
        for p in range(m):
            if s >> p & 1:
                k += 1
                r += comb(p, k)
        low[s], pop[s] = r, k
    high = np.zeros((1 << (N - m), m + 1), np.int64)
    for s in range(1 << (N - m)):
        for j in range(m + 1):
            k, r = j, 0
            for p in range(N - m):
                if s >> p & 1:
                    k += 1
                    r += comb(p + m, k)
            high[s, j] = r
    return m, low, pop, high


@njit(cache=True)
def _popcount(x):
    # SWAR bit count of a uint64
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, parallel=True)
def _matfree(states, diag, N, bi, bj, t, m, low, pop, high, x, y):
    Ns = states.size
    mask = (np.uint64(1) << np.uint64(m)) - np.uint64(1)
    one = np.uint64(1)
    for k in prange(Ns):
        s = states[k]
        acc = diag[k] * x[k]
        for b in range(bi.size):
            pi = np.uint64(N - 1 - bi[b])
            pj = np.uint64(N - 1 - bj[b])
            if ((s >> pi) & one) == ((s >> pj) & one):
                continue
            s2 = s ^ ((one << pi) | (one << pj))
            lo, hi = (pj, pi) if pj < pi else (pi, pj)
            parity = _popcount((s >> (lo + one)) & ((one << (hi - lo - one)) - one)) & one
            sl = s2 & mask
            r = low[sl] + high[s2 >> np.uint64(m), pop[sl]]
            v = x[Ns - 1 - r]
            acc += -t * v if parity == 0 else t * v
        y[k] = acc


def matfree_matvec(states, diag, N, bonds, t):
    """y = H x computed on the fly (no stored matrix): the hopping of ``hopping_csr``
    plus the diagonal ``diag``; for sectors whose CSR matrix would not fit."""
    nf = int(bin(int(states[0])).count("1"))
    m, low, pop, high = rank_tables(N, nf)
    bi = np.ascontiguousarray(bonds[:, 0], dtype=np.int64)
    bj = np.ascontiguousarray(bonds[:, 1], dtype=np.int64)

    def mv(x, out=None):
        y = np.empty(x.size) if out is None else out
        _matfree(states, diag, N, bi, bj, float(t), m, low, pop, high, x, y)
        return y
    return mv
