"""Fast path of the ED Hamiltonian: fixed-N_f Fock basis and hopping matrix in numba.

Same conventions as QuSpin's ``spinless_fermion_basis_general`` so both paths agree
state by state: site i is bit N-1-i of a state's integer, states in descending order,
and fermionic signs from the Jordan–Wigner order of the sites: c†_i c_j (i < j) on a
state gives (-1)^(number of occupied sites strictly between i and j).
"""

import numpy as np
import scipy.sparse as sp
from numba import prange

from simglass.jit import njit

__all__ = ["sector_states", "signed_hopping", "hopping_csr", "hopping_operator", "matfree_matvec",
           "density_energies", "site_densities"]


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


@njit(cache=True, parallel=True)
def _density_energies(states, N, V, eps, out):
    one = np.uint64(1)
    for k in prange(states.size):
        s = states[k]
        occ = np.empty(N, np.int64)
        m = 0
        for i in range(N):
            if (s >> np.uint64(N - 1 - i)) & one:
                occ[m] = i
                m += 1
        e = 0.0
        for a in range(m):
            i = occ[a]
            e += eps[i]
            for b in range(a):
                e -= V[i, occ[b]]
        out[k] = e


def density_energies(states, N, V, eps):
    """Σ_i eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j of every basis state (site i = bit N-1-i),
    the diagonal of H; V is symmetrised, (V + V^T) / 2."""
    Vs = 0.5 * (np.asarray(V, float) + np.asarray(V, float).T)
    out = np.empty(states.size)
    _density_energies(states, N, Vs, np.ascontiguousarray(eps, dtype=float), out)
    return out


@njit(cache=True, parallel=True)
def _site_densities(states, N, p, out):
    one = np.uint64(1)
    for i in prange(N):
        shift = np.uint64(N - 1 - i)
        acc = 0.0
        for k in range(states.size):
            acc += p[k] * ((states[k] >> shift) & one)
        out[i] = acc


def site_densities(states, N, p):
    """<n_i> = Σ_k p_k n_i(k) for weights p (Ns,) on the basis states: (N,) array."""
    out = np.empty(N)
    _site_densities(states, N, np.ascontiguousarray(p, dtype=float), out)
    return out


@njit(cache=True)
def _hop_target(s, pi, pj, m, low, pop, high, Ns):
    """(index, parity) of the state c†c s reached by moving the particle between bit
    positions pi and pj (one occupied, one empty); parity of the occupied sites between."""
    one = np.uint64(1)
    s2 = s ^ ((one << pi) | (one << pj))
    lo, hi = (pj, pi) if pj < pi else (pi, pj)
    parity = _popcount((s >> (lo + one)) & ((one << (hi - lo - one)) - one)) & one
    sl = s2 & ((one << np.uint64(m)) - one)
    return Ns - 1 - (low[sl] + high[s2 >> np.uint64(m), pop[sl]]), parity


@njit(cache=True, parallel=True)
def _hop_counts(states, N, bi, bj, counts):
    one = np.uint64(1)
    for k in prange(states.size):
        s = states[k]
        c = 0
        for b in range(bi.size):
            if ((s >> np.uint64(N - 1 - bi[b])) & one) != ((s >> np.uint64(N - 1 - bj[b])) & one):
                c += 1
        counts[k] = c


@njit(cache=True, parallel=True)
def _hop_fill(states, N, bi, bj, m, low, pop, high, indptr, idx, hop):
    one = np.uint64(1)
    Ns = states.size
    for k in prange(Ns):
        s = states[k]
        p = indptr[k]
        for b in range(bi.size):
            pi = np.uint64(N - 1 - bi[b])
            pj = np.uint64(N - 1 - bj[b])
            ni = (s >> pi) & one
            if ni == ((s >> pj) & one):
                continue
            r, parity = _hop_target(s, pi, pj, m, low, pop, high, Ns)
            idx[p] = r if parity == 0 else ~r
            if hop.size:
                hop[p] = 2 * b + ni
            p += 1


def signed_hopping(states, N, bonds, with_bonds=False):
    """The hopping structure of the sector in compact form: (indptr, idx[, hop]).

    Entry p of row k is a hop from state k to state c = idx[p] (idx >= 0, matrix
    element -t) or c = ~idx[p] (idx < 0, element +t, an odd number of fermions passed);
    with ``with_bonds``, hop[p] = 2 b + (1 if site lo of bond b was the occupied one).
    4 bytes per entry (int32 when the sector has fewer than 2^31 states)."""
    Ns = states.size
    m, low, pop, high = rank_tables(N)
    bi = np.ascontiguousarray(bonds[:, 0], dtype=np.int64)
    bj = np.ascontiguousarray(bonds[:, 1], dtype=np.int64)
    counts = np.empty(Ns, np.int64)
    _hop_counts(states, N, bi, bj, counts)
    indptr = np.zeros(Ns + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    del counts
    idx = np.empty(indptr[-1], np.int32 if Ns < 2**31 else np.int64)
    hop = np.empty(indptr[-1] if with_bonds else 0, np.int32)
    _hop_fill(states, N, bi, bj, m, low, pop, high, indptr, idx, hop)
    return (indptr, idx, hop) if with_bonds else (indptr, idx)


def hopping_csr(states, N, bonds, t, phases=None):
    """-t Σ_bonds (c†_i c_j + h.c.) on the given basis, scipy CSR; with ``phases`` (one
    per bond (i, j) = (lo, hi)) the hop i -> j is -t e^{iφ} c†_j c_i (complex matrix)."""
    Ns = states.size
    if t == 0 or len(bonds) == 0:
        return sp.csr_matrix((Ns, Ns))
    twisted = phases is not None and np.any(np.asarray(phases) != 0)
    indptr, idx, hop = signed_hopping(states, N, bonds, with_bonds=True)
    neg = idx < 0
    cols = np.where(neg, ~idx, idx)
    amp = np.where(neg, t, -t)
    # row k lists the elements <k'|H|k>: that is the CSC form of H, i.e. the CSR form of
    # H^T, which is H (real symmetric) or conj(H) (complex Hermitian)
    if twisted:
        ph = np.asarray(phases, float)[hop // 2]
        vals = amp * np.exp(np.where(hop % 2 == 1, -1j, 1j) * ph)  # conj of e^{±iφ}
        return sp.csr_matrix((vals, cols, indptr), shape=(Ns, Ns))
    return sp.csr_matrix((amp, cols, indptr), shape=(Ns, Ns))


@njit(cache=True, parallel=True)
def _signed_matvec(indptr, idx, diag, t, x, y):
    for k in prange(diag.size):
        acc = 0.0
        for p in range(indptr[k], indptr[k + 1]):
            c = idx[p]
            s = c >> 31 if idx.itemsize == 4 else c >> 63  # 0, or -1 for a negative entry
            acc += (1 + 2 * s) * x[c ^ s]  # branch-free: +x[c], or -x[~c]
        y[k] = diag[k] * x[k] - t * acc


@njit(cache=True, parallel=True)
def _signed_matvec2(indptr, idx, diag, t, x, y):
    """_signed_matvec on two vectors at once, the columns of x (Ns, 2) (C order): each
    gathered row brings both, so at sizes where the gathers miss the cache the pair
    costs little more than one vector."""
    for k in prange(diag.size):
        a0 = 0.0
        a1 = 0.0
        for p in range(indptr[k], indptr[k + 1]):
            c = idx[p]
            s = c >> 31 if idx.itemsize == 4 else c >> 63
            f = 1 + 2 * s
            a0 += f * x[c ^ s, 0]
            a1 += f * x[c ^ s, 1]
        y[k, 0] = diag[k] * x[k, 0] - t * a0
        y[k, 1] = diag[k] * x[k, 1] - t * a1


def hopping_operator(states, diag, N, bonds, t):
    """y = H x with the hopping stored compactly (``signed_hopping``, 4 bytes per entry
    instead of scipy's 12) plus the diagonal ``diag``; real hopping (no twist) only.
    ``mv.pair(X, Y)`` sets Y = H X for X, Y of shape (Ns, 2), C order (block Lanczos)."""
    indptr, idx = signed_hopping(states, N, bonds)
    diag = np.ascontiguousarray(diag, dtype=np.float64)

    def mv(x, out=None):
        y = np.empty(x.size) if out is None else out
        _signed_matvec(indptr, idx, diag, float(t), x, y)
        return y

    def pair(X, Y):
        _signed_matvec2(indptr, idx, diag, float(t), X, Y)
        return Y
    mv.nnz = idx.size
    mv.pair = pair
    return mv


@njit(cache=True)
def _rank_tables(N, m, binom, low, pop, high):
    for s in range(1 << m):
        k, r = 0, 0
        for p in range(m):
            if s >> p & 1:
                k += 1
                r += binom[p, k]
        low[s], pop[s] = r, k
    for s in range(1 << (N - m)):
        for j in range(m + 1):
            k, r = j, 0
            for p in range(N - m):
                if s >> p & 1:
                    k += 1
                    r += binom[p + m, k]
            high[s, j] = r


def rank_tables(N, split=None):
    """Tables for O(1) basis indexing (Lin's two-table method on the combinadic rank):
    rank(s) = low[s & (2^m - 1)] + high[s >> m, popcount(s & (2^m - 1))]."""
    from math import comb
    m = N // 2 if split is None else split
    binom = np.array([[comb(n, k) for k in range(N + 2)] for n in range(N + 1)], dtype=np.int64)
    low = np.zeros(1 << m, np.int64)
    pop = np.zeros(1 << m, np.int64)
    high = np.zeros((1 << (N - m), m + 1), np.int64)
    _rank_tables(N, m, binom, low, pop, high)
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
    one = np.uint64(1)
    for k in prange(Ns):
        s = states[k]
        acc = diag[k] * x[k]
        for b in range(bi.size):
            pi = np.uint64(N - 1 - bi[b])
            pj = np.uint64(N - 1 - bj[b])
            if ((s >> pi) & one) == ((s >> pj) & one):
                continue
            r, parity = _hop_target(s, pi, pj, m, low, pop, high, Ns)
            acc += -t * x[r] if parity == 0 else t * x[r]
        y[k] = acc


def matfree_matvec(states, diag, N, bonds, t):
    """y = H x computed on the fly (no stored matrix): the hopping of ``hopping_csr``
    plus the diagonal ``diag``; for sectors whose CSR matrix would not fit."""
    m, low, pop, high = rank_tables(N)
    bi = np.ascontiguousarray(bonds[:, 0], dtype=np.int64)
    bj = np.ascontiguousarray(bonds[:, 1], dtype=np.int64)

    def mv(x, out=None):
        y = np.empty(x.size) if out is None else out
        _matfree(states, diag, N, bi, bj, float(t), m, low, pop, high, x, y)
        return y
    return mv
