"""Numba kernels of the t = 0 Monte Carlo (docs/conventions.md).

State of one replica: ``occ`` (int8 0/1), ``phi`` (local fields at mu = 0,
phi_i = eps_i - Σ_j V_ij n_j), and for canonical moves the lists of occupied and empty
sites.  A proposal costs O(1); an accepted move updates all fields in O(N) from two
rows of V (V symmetric, C-contiguous: rows are contiguous).  Random numbers come from
the caller (the Python layer owns the generator), so runs are reproducible.
"""

import numpy as np

from simglass.jit import njit

EPS_STABLE = 1e-12  # relative tolerance of the zero-temperature stability checks


@njit(cache=True)
def fields(V, eps, occ):
    """phi_i = eps_i - Σ_j V_ij n_j from scratch."""
    N = eps.size
    phi = eps.copy()
    for j in range(N):
        if occ[j]:
            row = V[j]
            for k in range(N):
                phi[k] -= row[k]
    return phi


@njit(cache=True)
def energy(V, eps, occ):
    """Σ eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j from scratch."""
    e = 0.0
    N = eps.size
    for i in range(N):
        if occ[i]:
            e += eps[i]
            row = V[i]
            for j in range(N):
                if occ[j]:
                    e -= 0.5 * row[j]
    return e


@njit(cache=True)
def _move(V, phi, i, j):
    # particle i -> j: phi_k += V_ik - V_jk
    ri = V[i]
    rj = V[j]
    for k in range(phi.size):
        phi[k] += ri[k] - rj[k]


@njit(cache=True)
def pair_sweep(V, occ, phi, occ_list, emp_list, beta, ia, ib, u):
    """Metropolis pair moves (occupied i -> empty j), one per entry of ia/ib/u.
    ΔE = phi_j - phi_i + V_ij.  beta = inf gives a zero-temperature sweep.
    Returns (total ΔE, accepted moves)."""
    dE_tot = 0.0
    acc = 0
    for s in range(ia.size):
        a = ia[s]
        b = ib[s]
        i = occ_list[a]
        j = emp_list[b]
        dE = phi[j] - phi[i] + V[i, j]
        if dE <= 0.0 or u[s] < np.exp(-beta * dE):
            _move(V, phi, i, j)
            occ[i] = 0
            occ[j] = 1
            occ_list[a] = j
            emp_list[b] = i
            dE_tot += dE
            acc += 1
    return dE_tot, acc


@njit(cache=True)
def flip_sweep(V, occ, phi, mu, beta, isite, u):
    """Metropolis single flips at fixed mu: ΔE = (1 - 2 n_i)(phi_i - mu).
    Returns (total ΔE of H - mu N, accepted flips)."""
    dE_tot = 0.0
    acc = 0
    N = phi.size
    for s in range(isite.size):
        i = isite[s]
        sgn = 1.0 - 2.0 * occ[i]
        dE = sgn * (phi[i] - mu)
        if dE <= 0.0 or u[s] < np.exp(-beta * dE):
            row = V[i]
            for k in range(N):
                phi[k] -= sgn * row[k]
            occ[i] = 1 - occ[i]
            dE_tot += dE
            acc += 1
    return dE_tot, acc


@njit(cache=True)
def pair_quench(V, occ, phi, occ_list, emp_list, tol):
    """Steepest descent over pair moves until no move lowers the energy by more than
    tol: an exhaustive O(N_f (N - N_f)) scan per step.  Returns (ΔE, moves)."""
    dE_tot = 0.0
    moves = 0
    nf = occ_list.size
    ne = emp_list.size
    while True:
        best = -tol
        ba = -1
        bb = -1
        for a in range(nf):
            i = occ_list[a]
            pi = phi[i]
            row = V[i]
            for b in range(ne):
                j = emp_list[b]
                dE = phi[j] - pi + row[j]
                if dE < best:
                    best = dE
                    ba = a
                    bb = b
        if ba < 0:
            return dE_tot, moves
        i = occ_list[ba]
        j = emp_list[bb]
        _move(V, phi, i, j)
        occ[i] = 0
        occ[j] = 1
        occ_list[ba] = j
        emp_list[bb] = i
        dE_tot += best
        moves += 1


@njit(cache=True)
def flip_quench(V, occ, phi, mu, tol):
    """Steepest descent over single flips at fixed mu.  Returns (ΔE, moves)."""
    dE_tot = 0.0
    moves = 0
    N = phi.size
    while True:
        best = -tol
        bi = -1
        for i in range(N):
            dE = (1.0 - 2.0 * occ[i]) * (phi[i] - mu)
            if dE < best:
                best = dE
                bi = i
        if bi < 0:
            return dE_tot, moves
        sgn = 1.0 - 2.0 * occ[bi]
        row = V[bi]
        for k in range(N):
            phi[k] -= sgn * row[k]
        occ[bi] = 1 - occ[bi]
        dE_tot += best
        moves += 1


@njit(cache=True)
def min_pair_delta(V, occ, phi):
    """min over occupied i, empty j of ΔE = phi_j - phi_i + V_ij (exhaustive)."""
    best = np.inf
    N = phi.size
    for i in range(N):
        if occ[i]:
            for j in range(N):
                if not occ[j]:
                    dE = phi[j] - phi[i] + V[i, j]
                    if dE < best:
                        best = dE
    return best


@njit(cache=True)
def _restore(V, eps, occ, phi, occ_list, emp_list, target):
    """Set the state to the occupation ``target``: fields from scratch, site lists rebuilt
    (in ascending site order)."""
    occ[:] = target
    phi[:] = fields(V, eps, occ)
    na = 0
    nb = 0
    for s in range(occ.size):
        if occ[s]:
            occ_list[na] = s
            na += 1
        else:
            emp_list[nb] = s
            nb += 1


@njit(cache=True)
def _keep(v, s, vals, sites, L, counts, thr, K):
    """Insert site s with key v > thr[L] (checked by the caller) into top-K list L
    (entries L*K .. L*K + counts[L] - 1 of vals, sites, descending keys), dropping the
    last entry of a full list; thr[L] becomes the key a site must beat once the list is
    full.  Ties keep the site offered first."""
    base = L * K
    n = counts[L]
    if n < K:
        pos = n
        counts[L] = n + 1
    else:
        pos = K - 1
    while pos > 0 and v > vals[base + pos - 1]:
        vals[base + pos] = vals[base + pos - 1]
        sites[base + pos] = sites[base + pos - 1]
        pos -= 1
    vals[base + pos] = v
    sites[base + pos] = s
    if counts[L] == K:
        thr[L] = vals[base + K - 1]


@njit(cache=True)
def _consider(v, s, o, free, vals, sites, counts, thr, K):
    """Offer site s (key v, occupation o, not tabu: free) to its two lists."""
    a = 1 - o
    if v > thr[a + 2]:
        _keep(v, s, vals, sites, a + 2, counts, thr, K)
    if free and v > thr[a]:
        _keep(v, s, vals, sites, a, counts, thr, K)


@njit(cache=True)
def _candidates(phi, occ, tabu, it, K, ri, rj, vals, sites, counts, seen, prev, nprev, thr):
    """One pass over the sites: the field update of a pair move (phi_s += ri_s - rj_s;
    none if ri is empty) and the choice of the candidate sites for iteration ``it``:
    list 0 (1) holds the K occupied (empty) sites of highest (lowest) field among the
    sites not tabu at ``it``, list 2 (3) the same among all sites.  List L holds counts[L]
    sites in sites[L*K ...] with keys (phi for occupied, -phi for empty sites) in vals,
    largest first.  After a move the previous lists' sites are offered first (``seen``
    marks them with ``it``; prev, nprev, thr: work space of 4K, 4, 4), so the thresholds
    start near their final values and few other sites need sorting in; the lists do not
    depend on the order in which sites are offered, up to exact ties of the keys."""
    move = ri.size > 0
    for L in range(4):
        nprev[L] = counts[L]
        for m in range(counts[L]):
            prev[L * K + m] = sites[L * K + m]
        counts[L] = 0
        thr[L] = -np.inf                    # the key a site must beat: -inf until a list is full
    if move:
        for L in range(4):
            for m in range(nprev[L]):
                s = prev[L * K + m]
                if seen[s] == it:
                    continue
                seen[s] = it
                o = occ[s]
                v = (phi[s] + (ri[s] - rj[s])) * (2 * o - 1)   # the same arithmetic as below
                _consider(v, s, o, tabu[s] <= it, vals, sites, counts, thr, K)
    for s in range(phi.size):
        if move:
            phi[s] += ri[s] - rj[s]
        o = occ[s]                           # branch-free: occupied key phi, empty key -phi
        v = phi[s] * (2 * o - 1)
        # thr[1 - o] <= thr[3 - o] (list 1 - o is a subset of list 3 - o): one test suffices
        if v > thr[1 - o] and seen[s] != it:     # rarely true
            _consider(v, s, o, tabu[s] <= it, vals, sites, counts, thr, K)


@njit(cache=True)
def tabu_search(V, eps, occ, phi, occ_list, emp_list, iterations, tenure, K, stall, seed):
    """Tabu search over canonical pair moves (occupied i -> empty j, ΔE = phi_j - phi_i
    + V_ij), keeping N_f fixed.  Each iteration takes the best allowed move among the K
    occupied sites of highest field and the K empty sites of lowest field (the moves
    with the lowest ΔE up to the O(J/√N) coupling term), even when it raises the
    energy; both sites are then tabu for ``tenure`` (+ a random part up to ``tenure``)
    iterations.  A tabu move is taken when it would beat the best energy (aspiration).
    After ``stall`` iterations without a new best, the search restarts from the best
    state with a random tenth of the sites made tabu (a perturbation).  Per iteration one
    O(N) pass (``_candidates``: the field update fused with the choice of the candidate
    sites) plus O(K²) move evaluations.  Exact ties of two fields may be broken either
    way.  ``seed`` seeds numba's generator (the caller draws it from its own, so runs are
    reproducible).  K >= 1 (ValueError otherwise).
    On return occ is the best state found, phi its fields computed from scratch and the
    lists its occupied and empty sites in ascending order; returns its energy change."""
    if K < 1:
        raise ValueError("tabu_search: K must be >= 1")
    np.random.seed(seed)
    N = phi.size
    tabu = np.zeros(N, np.int64)
    vals = np.empty(4 * K)
    sites = np.empty(4 * K, np.int64)
    counts = np.zeros(4, np.int64)
    seen = np.full(N, -1, np.int64)
    prev = np.empty(4 * K, np.int64)
    nprev = np.empty(4, np.int64)
    thr = np.empty(4)
    no_move = phi[:0]
    E = 0.0
    best_E = 0.0
    best_occ = occ.copy()
    last = 0
    _candidates(phi, occ, tabu, 0, K, no_move, no_move, vals, sites, counts, seen, prev, nprev, thr)
    for it in range(iterations):
        bd = np.inf
        bi = -1
        bj = -1
        for p in (0, 2):                    # allowed moves, then tabu ones for aspiration
            for a in range(counts[p]):
                i = sites[p * K + a]
                row = V[i]
                for b in range(counts[p + 1]):
                    j = sites[(p + 1) * K + b]
                    d = phi[j] - phi[i] + row[j]
                    if d < bd and (p == 0 or E + d < best_E - 1e-12):
                        bd = d
                        bi = i
                        bj = j
            if bi >= 0 and p == 0 and E + bd >= best_E - 1e-12:
                continue                    # look for an aspirating tabu move too
            if bi >= 0:
                break
        if bi < 0:
            break
        occ[bi] = 0
        occ[bj] = 1
        E += bd
        t = tenure + int(np.random.random() * tenure)
        tabu[bi] = it + t
        tabu[bj] = it + t
        if E < best_E - 1e-12:
            best_E = E
            best_occ[:] = occ
            last = it
        elif it - last > stall:              # back to the best state, fields from scratch
            occ[:] = best_occ               # the site lists are not used until the end
            phi[:] = fields(V, eps, occ)
            E = best_E
            for q in range(N):
                tabu[q] = it + tenure + int(np.random.random() * tenure) if np.random.random() < 0.1 else 0
            last = it
            _candidates(phi, occ, tabu, it + 1, K, no_move, no_move, vals, sites, counts, seen, prev, nprev, thr)
            continue
        _candidates(phi, occ, tabu, it + 1, K, V[bi], V[bj], vals, sites, counts, seen, prev, nprev, thr)
    _restore(V, eps, occ, phi, occ_list, emp_list, best_occ)
    return best_E
